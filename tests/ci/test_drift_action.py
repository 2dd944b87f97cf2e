"""The mops-drift action's steps, run locally on a real inventory with production logs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.ci.actions import decoy_path, installed, run_action
from tests.conftest import Mops, git, write_card

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github/actions/mops-drift/action.yml"
PLAN = """monitoring:
  reference: data/{model}/reference.csv
  features: [income, utilisation]
  prediction: score
"""


def _log(path: Path, rng: np.random.Generator, n: int, shift: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    income = rng.normal(50 + shift, 10, n)
    util = rng.uniform(0, 1, n)
    score = 1 / (1 + np.exp(-(income - 50) / 10))
    lines = ["income,utilisation,score"] + [f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in
                                            zip(income, util, score, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def _production(inventory: Path, model: str) -> None:
    record = inventory / f"models/{model}/versions/1.0.0/version.yaml"
    record.write_text(record.read_text().replace("stage: development", "stage: production", 1))


@pytest.fixture
def monitored(inventory: Path, mops: Mops) -> Path:
    rng = np.random.default_rng(7)
    settings = inventory / "mops.yaml"
    settings.write_text(settings.read_text() + 'monitoring:\n  logs: "logs/{model}/{version}/*.csv"\n')
    for model in ("steady", "shifted", "unlogged"):
        card = write_card(inventory.parent / f"{model}.md", model,
                          extra=PLAN.replace("{model}", model))
        mops("register", model, "--version", "1.0.0", "--card", str(card))
        _production(inventory, model)
        _log(inventory / f"data/{model}/reference.csv", rng, 3000)
    card = write_card(inventory.parent / "plain.md", "plain")   # no monitoring plan
    mops("register", "plain", "--version", "1.0.0", "--card", str(card))
    _production(inventory, "plain")
    _log(inventory / "logs/steady/1.0.0/2026-11-01.csv", rng, 2000)
    _log(inventory / "logs/steady/1.0.0/2026-11-02.csv", rng, 2000)
    _log(inventory / "logs/shifted/1.0.0/2026-11-01.csv", rng, 2000, shift=8.0)
    git(inventory, "add", ".")
    git(inventory, "commit", "-qm", "production, with logs")
    return inventory


def _drift(monitored: Path, tmp: Path, event_name: str, **kw):
    """Run the action's steps: mops from the (stubbed) install step's venv, decoys first on PATH."""
    env, marker = decoy_path(tmp)
    run = run_action(ACTION, workspace=monitored, tmp=tmp, event_name=event_name, env=env,
                     stubs=installed(), **kw)
    assert not marker.exists(), f"a mops, python or pip from PATH ran: {marker.read_text()}"
    return run


def test_drift_action_flags_the_drifted_model(monitored: Path, tmp_path: Path):
    run = _drift(monitored, tmp_path, "schedule")
    step = run.step("drift")
    assert step.code == 1, step.stdout + step.stderr
    assert run.outputs == {"ok": "false", "drifted": "shifted@1.0.0"}
    errors = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=models/shifted/card.md,title=mops drift::shifted@1.0.0: "
                                "dataset drift")
    assert "income" in errors[0]
    warnings = [line for line in step.stdout.splitlines() if line.startswith("::warning")]
    assert warnings == ["::warning file=models/unlogged/card.md,title=mops drift::unlogged@1.0.0: no "
                        "production logs (no file matches 'logs/{model}/{version}/*.csv'); drift not "
                        "checked"]
    summary = step.summary
    assert summary.startswith("## ❌ mops drift: attention needed")
    assert "| steady | 1.0.0 | 2 | 4,000 | ✅ ok |" in summary
    assert "| shifted | 1.0.0 | 1 | 2,000 | ❌ drift |" in summary
    assert "plain" not in summary   # no monitoring plan: not checked


def test_drift_action_passes_without_drift_and_takes_its_inputs(monitored: Path, tmp_path: Path):
    run = _drift(monitored, tmp_path, "workflow_dispatch",
                 inputs={"models": "steady unlogged", "logs": "logs/{model}/{version}/2026-11-01.csv"})
    step = run.step("drift")
    assert step.code == 0, step.stdout + step.stderr
    assert run.outputs == {"ok": "true", "drifted": ""}
    assert "| steady | 1.0.0 | 1 | 2,000 | ✅ ok |" in step.summary
    assert "shifted" not in step.summary


def test_drift_action_is_mops_drift_all_and_passes_args_as_words(monitored: Path, tmp_path: Path):
    doc = ACTION.read_text()
    assert '"$MOPS_BIN/mops" drift --all' in doc and "drift.py" not in doc
    assert not (ACTION.parent / "drift.py").exists()
    run = _drift(monitored, tmp_path, "workflow_dispatch",
                 inputs={"models": "steady", "args": "--jobs 2 --window 2026-11",
                         "logs": "logs/*/{version}/*-0[12].csv"})
    step = run.step("drift")
    # The pattern reached mops unexpanded: it found shifted's log too, so steady "drifted".
    assert step.code == 1, step.stdout + step.stderr
    assert "| steady | 1.0.0 | 3 | 6,000 | ❌ drift |" in step.summary
