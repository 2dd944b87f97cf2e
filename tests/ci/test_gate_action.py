"""The mops-gate action's shell steps, run locally on a real inventory with a failing rule."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.ci.actions import run_action
from tests.conftest import Mops, git, write_card

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github/actions/mops-gate/action.yml"


@pytest.fixture
def repo(inventory: Path, mops: Mops) -> Path:
    """Two compliant models, then a pull request that breaks one of them."""
    for model in ("fraud", "credit-pd"):
        mops("register", model, "--version", "1.0.0",
             "--card", str(write_card(inventory.parent / f"{model}.md", model)))
    git(inventory, "tag", "base")
    git(inventory, "checkout", "-q", "-b", "pr")
    card = inventory / "models/credit-pd/card.md"
    card.write_text(card.read_text().replace("limitations: [Trained on 2019-2024 data only]\n", ""))
    git(inventory, "commit", "-qam", "drop the limitations")
    return inventory


def _env() -> dict[str, str]:
    # The test venv's mops and python, as `pip install` would put them on PATH.
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def _gate(repo: Path, tmp: Path, event_name: str = "pull_request", **kw):
    base = git(repo, "rev-parse", "base").strip()
    event = {"pull_request": {"base": {"sha": base}}} if event_name == "pull_request" else {}
    return run_action(ACTION, workspace=repo, tmp=tmp, event_name=event_name, event=event,
                      env=_env(), **kw)


def _errors(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::error")]


def test_pull_request_breaking_policy(repo: Path, tmp_path: Path):
    run = _gate(repo, tmp_path)
    check = run.step("check")
    assert check.outputs["code"] == "1", check.stdout + check.stderr
    errors = _errors(check.stdout)
    assert errors, check.stdout
    # Only the model the pull request changed, annotated on its card, with the citation.
    assert all(e.startswith("::error file=models/credit-pd/card.md,title=") for e in errors), errors
    assert any(",title=BL-LIMITATIONS::credit-pd@1.0.0: " in e and "Mitchell et al. (2019)" in e
               for e in errors), errors
    assert "fraud" not in check.stdout
    # The job summary: a table for the changed model.
    assert check.summary.startswith("## ❌ mops check failed")
    assert "### credit-pd" in check.summary and "### fraud" not in check.summary
    assert "| 1.0.0 | **BL-LIMITATIONS**" in check.summary
    assert check.outputs["ok"] == "false"
    # The gate fails the job, after the report was rendered, and says why in its outputs.
    gate = run.step("gate")
    assert run.failed is gate and gate.code == 1
    assert run.outputs["ok"] == "false"
    report = Path(run.outputs["report"])
    assert report.is_file() and report == repo / "mops-audit-report.html"
    upload = run.uses("actions/upload-artifact")
    assert upload.reached
    assert upload.with_ == {"name": "mops-audit-report", "path": str(report), "if-no-files-found": "warn"}


def test_push_checks_every_model(repo: Path, tmp_path: Path):
    git(repo, "checkout", "-q", "main")
    card = repo / "models/fraud/card.md"
    card.write_text(card.read_text().replace("owner: alice@acme.test\n", ""))
    run = _gate(repo, tmp_path, event_name="push", inputs={"report-path": ""})
    check = run.step("check")
    files = {e.split(",title=")[0] for e in _errors(check.stdout)}
    assert files == {"::error file=models/fraud/card.md"}
    assert "### fraud" in check.summary and "### credit-pd" in check.summary
    assert run.outputs == {"ok": "false", "report": ""}
    assert not run.uses("actions/upload-artifact").reached


def test_a_settings_change_checks_every_model(repo: Path, tmp_path: Path):
    settings = repo / "mops.yaml"
    settings.write_text(settings.read_text() + "# reviewed\n")
    run = _gate(repo, tmp_path, inputs={"report-path": ""})
    summary = run.step("check").summary
    assert "### fraud" in summary and "### credit-pd" in summary


def test_compliant_pull_request_passes(repo: Path, tmp_path: Path):
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "pr2")
    card = repo / "models/fraud/card.md"
    card.write_text(card.read_text() + "\nMore evaluation detail.\n")
    run = _gate(repo, tmp_path, inputs={"report-path": "out/report.html",
                                        "artifact-name": "governance"})
    assert run.failed is None, [(s.name, s.stdout, s.stderr) for s in run.steps if s.ran]
    assert run.outputs == {"ok": "true", "report": str(repo / "out/report.html")}
    assert _errors(run.stdout) == []
    assert run.step("check").summary.startswith("## ✅ mops check passed")
    # `mops verify` ran and passed, or this mops has none yet and the step says so.
    verify = run.step("verify")
    assert verify.outputs["code"] == "0"
    assert verify.stdout == "" or "verify" in verify.stdout


def test_inputs_reach_the_shell_as_data(repo: Path, tmp_path: Path):
    """An input is never code: `$(...)` and `;` in args stay arguments for mops."""
    marker = tmp_path / "pwned"
    run = _gate(repo, tmp_path, inputs={"args": f"fraud;touch$IFS{marker} $(touch {marker})",
                                        "report-path": ""})
    assert not marker.exists()
    assert run.step("check").outputs["code"] == "2"   # unknown model names: a usage error
    assert run.outputs["ok"] == "false"


def test_unknown_base_is_a_usage_error_that_fails_the_gate(repo: Path, tmp_path: Path):
    event = {"pull_request": {"base": {"sha": "0" * 40}}}
    run = run_action(ACTION, workspace=repo, tmp=tmp_path, event_name="pull_request", event=event,
                     env=_env(), inputs={"report-path": ""})
    check = run.step("check")
    assert check.outputs["code"] == "2"
    assert "fetch-depth: 0" in check.stderr
    assert run.step("gate").code == 2
