"""`mops drift --all`: every version in a stage with a plan, on the logs its pattern finds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pytest
from scipy import stats

from tests.conftest import Mops, git, snapshot, write_card

PLAN = """monitoring:
  reference: data/{model}/reference.csv
  features: [income, utilisation]
  prediction: score
"""


def write_log(path: Path, rng: np.random.Generator, n: int, shift: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    income = rng.normal(50 + shift, 10, n)
    util = rng.uniform(0, 1, n)
    score = 1 / (1 + np.exp(-(income - 50) / 10))
    lines = ["income,utilisation,score"] + [f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in
                                            zip(income, util, score, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def set_stage(inventory: Path, model: str, stage: str) -> None:
    record = inventory / f"models/{model}/versions/1.0.0/version.yaml"
    record.write_text(record.read_text().replace("stage: development", f"stage: {stage}", 1))


@pytest.fixture
def monitored(inventory: Path, mops: Mops) -> Path:
    """steady and shifted (logs), unlogged (none), plain (no plan): all in production."""
    rng = np.random.default_rng(7)
    settings = inventory / "mops.yaml"
    settings.write_text(settings.read_text() + 'monitoring:\n  logs: "logs/{model}/{version}/*.csv"\n')
    for model in ("steady", "shifted", "unlogged"):
        card = write_card(inventory.parent / f"{model}.md", model, extra=PLAN.replace("{model}", model))
        mops("register", model, "--version", "1.0.0", "--card", str(card))
        set_stage(inventory, model, "production")
        write_log(inventory / f"data/{model}/reference.csv", rng, 3000)
    card = write_card(inventory.parent / "plain.md", "plain")
    mops("register", "plain", "--version", "1.0.0", "--card", str(card))
    set_stage(inventory, "plain", "production")
    write_log(inventory / "logs/steady/1.0.0/2026-11-01.csv", rng, 2000)
    write_log(inventory / "logs/steady/1.0.0/2026-11-02.csv", rng, 2000)
    write_log(inventory / "logs/shifted/1.0.0/2026-11-01.csv", rng, 2000, shift=8.0)
    git(inventory, "add", ".")
    git(inventory, "commit", "-qm", "production, with logs")
    return inventory


def column(path: Path, name: str) -> np.ndarray:
    return pcsv.read_csv(path).column(name).to_numpy()


def by_model(doc: dict) -> dict[str, dict]:
    return {r["model"]: r for r in doc["results"]}


def test_all_json_checks_each_version_on_its_logs(monitored: Path, mops: Mops):
    doc = mops.json("drift", "--all", "--format", "json", code=1)
    assert doc["ok"] is False and doc["stage"] == "production"
    assert doc["summary"] == {"ok": 1, "drift": 1, "data_quality": 0, "error": 0, "no_logs": 1}
    results = by_model(doc)
    assert set(results) == {"steady", "shifted", "unlogged"}  # plain has no plan
    steady, shifted = results["steady"], results["shifted"]
    assert steady["status"] == "ok" and steady["logs"] == ["logs/steady/1.0.0/2026-11-01.csv",
                                                           "logs/steady/1.0.0/2026-11-02.csv"]
    assert steady["drift"]["rows"] == {"reference": 3000, "current": 4000}
    assert steady["pattern"] == "logs/{model}/{version}/*.csv" and steady["card"] == "models/steady/card.md"
    # The oracle: scipy on the raw values of the files the pattern found.
    ref = column(monitored / "data/shifted/reference.csv", "income")
    cur = column(monitored / "logs/shifted/1.0.0/2026-11-01.csv", "income")
    income = next(c for c in shifted["drift"]["columns"] if c["column"] == "income")
    expected = stats.wasserstein_distance(ref, cur) / ref.std()
    assert income["statistic"] == pytest.approx(expected, abs=1e-6) and expected >= 0.1
    assert shifted["status"] == "drift" and shifted["drift"]["dataset_drift"] is True
    assert results["unlogged"]["status"] == "no_logs" and results["unlogged"]["drift"] is None
    assert results["unlogged"]["message"] == "no file matches 'logs/{model}/{version}/*.csv'"


def test_all_text_and_exit_codes(monitored: Path, mops: Mops):
    r = mops("drift", "--all", code=1)
    assert "steady    1.0.0    2     4,000  no drift" in r.stdout
    assert "shifted" in r.stdout and "dataset drift" in r.stdout
    assert "warning: unlogged@1.0.0: no production logs" in r.stderr
    assert r.stdout.rstrip().endswith("1 drifted, 1 without logs, 1 without drift; ok=false")
    r = mops("drift", "--all", "steady", "unlogged", code=0)  # only these models
    assert "shifted" not in r.stdout


def test_a_bad_file_is_exit_2_and_the_others_are_still_checked(monitored: Path, mops: Mops):
    (monitored / "logs/steady/1.0.0/2026-11-03.csv").write_text("income,utilisation\n1,2\n")
    doc = mops.json("drift", "--all", "--json", code=2)
    results = by_model(doc)
    assert results["steady"]["status"] == "error"
    assert "2026-11-03.csv: missing column 'score'" in results["steady"]["message"]
    assert results["shifted"]["status"] == "drift" and results["shifted"]["drift"]["dataset_drift"]
    r = mops("drift", "--all", code=2)
    assert "error: steady@1.0.0: drift check failed:" in r.stderr and "shifted" in r.stdout


def test_unusable_data_in_one_version_is_exit_2(monitored: Path, mops: Mops):
    path = monitored / "logs/steady/1.0.0/2026-11-01.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0]] + [f",{line.split(',', 1)[1]}" for line in lines[1:]]) + "\n")
    (monitored / "logs/steady/1.0.0/2026-11-02.csv").unlink()
    doc = mops.json("drift", "--all", "--json", code=2)
    steady = by_model(doc)["steady"]
    assert steady["status"] == "data_quality" and steady["drift"]["problems"][0]["column"] == "income"


def test_pattern_order_logs_option_then_card_then_settings(monitored: Path, mops: Mops):
    card = monitored / "models/shifted/card.md"
    card.write_text(card.read_text().replace("  prediction: score\n",
                                             '  prediction: score\n  logs: "logs/steady/{version}/*-01.csv"\n'))
    results = by_model(mops.json("drift", "--all", "--json", code=0))
    assert results["shifted"]["pattern"] == "logs/steady/{version}/*-01.csv"
    assert results["shifted"]["status"] == "ok" and len(results["steady"]["logs"]) == 2
    every = by_model(mops.json("drift", "--all", "--json", "--logs", "logs/**/2026-11-02.csv", code=0))
    assert {m: r["logs"] for m, r in every.items()} == {m: ["logs/steady/1.0.0/2026-11-02.csv"]
                                                        for m in ("steady", "shifted", "unlogged")}
    absolute = str(monitored / "logs/{model}/{version}/2026-11-01.csv")
    results = by_model(mops.json("drift", "--all", "--json", "--logs", absolute, code=1))
    assert results["unlogged"]["status"] == "no_logs" and results["shifted"]["status"] == "drift"


def test_a_malformed_pattern_or_card_is_an_error_for_that_model_only(monitored: Path, mops: Mops):
    card = monitored / "models/shifted/card.md"
    card.write_text(card.read_text().replace("  prediction: score\n", "  prediction: score\n  logs: 5\n"))
    steady_card = monitored / "models/steady/card.md"
    steady_card.write_text(steady_card.read_text().replace("tier: 1", "tier: high"))
    results = by_model(mops.json("drift", "--all", "--json", code=2))
    assert results["shifted"]["status"] == "error" and "monitoring.logs: expected a pattern" in \
        results["shifted"]["message"]
    assert results["steady"]["status"] == "error" and "tier" in results["steady"]["message"]
    assert results["unlogged"]["status"] == "no_logs"


def test_stage_option_and_unknown_names(monitored: Path, mops: Mops):
    set_stage(monitored, "plain", "validation")  # no plan: still nothing to check there
    record = monitored / "models/steady/versions/1.0.0/version.yaml"
    record.write_text(record.read_text().replace("stage: production", "stage: validation", 1))
    results = by_model(mops.json("drift", "--all", "--stage", "validation", "--json", code=0))
    assert list(results) == ["steady"]
    assert "--stage staging: not a stage" in mops("drift", "--all", "--stage", "staging", code=2).stderr
    assert "unknown model 'nope'" in mops("drift", "--all", "nope", code=2).stderr


def test_nothing_to_check_is_a_warning(inventory: Path, mops: Mops):
    r = mops("drift", "--all", code=0)
    assert "no model version in stage production has a monitoring plan" in r.stderr
    assert mops.json("drift", "--all", "--json", code=0) == {
        "ok": True, "stage": "production", "results": [],
        "summary": {"ok": 0, "drift": 0, "data_quality": 0, "error": 0, "no_logs": 0}}


def test_record_makes_one_commit_per_checked_version(monitored: Path, mops: Mops):
    head = git(monitored, "rev-parse", "HEAD").strip()
    doc = mops.json("drift", "--all", "--json", "--record", "--window", "2026-11", code=1)
    assert git(monitored, "rev-list", "--count", f"{head}..HEAD").strip() == "2"
    results = by_model(doc)
    for model in ("steady", "shifted"):
        path = results[model]["record"]
        assert path.startswith(f"models/{model}/versions/1.0.0/monitoring/D-")
        record = json.loads((monitored / path).read_text())
        assert record["window"] == "2026-11" and record["model"] == model
        made = git(monitored, "log", "-1", "--format=%H%x00%s", "--", path).strip().split("\0")
        assert [results[model]["commit"], results[model]["subject"]] == made
    assert results["unlogged"]["record"] is None
    assert results["unlogged"]["commit"] is None and results["unlogged"]["subject"] is None
    subjects = git(monitored, "log", "-2", "--format=%s").splitlines()
    assert sorted(subjects) == ["drift: shifted@1.0.0 (drift, 2026-11)", "drift: steady@1.0.0 (no drift, 2026-11)"]


def test_record_in_text_names_each_commit(monitored: Path, mops: Mops):
    r = mops("drift", "--all", "--record", "--window", "2026-11", code=1)
    for sha, subject in (line.split("\0") for line in
                         git(monitored, "log", "-2", "--format=%H%x00%s").splitlines()):
        assert f"[{sha[:12]}] {subject}" in r.stderr


def test_github_format_annotates_summarises_and_sets_outputs(monitored: Path, mops: Mops, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    r = mops("drift", "--all", "--format", "github", code=1)
    lines = r.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=models/shifted/card.md,title=mops drift::shifted@1.0.0: "
                                "dataset drift") and "income" in errors[0]
    assert [line for line in lines if line.startswith("::warning")] == [
        "::warning file=models/unlogged/card.md,title=mops drift::unlogged@1.0.0: no production logs "
        "(no file matches 'logs/{model}/{version}/*.csv'); drift not checked"]
    assert "steady@1.0.0: no drift (0% of columns drifted)" in lines
    text = summary.read_text()
    assert text.startswith("## ❌ mops drift: attention needed")
    assert "| steady | 1.0.0 | 2 | 4,000 | ✅ ok |" in text
    assert "| shifted | 1.0.0 | 1 | 2,000 | ❌ drift |" in text and "plain" not in text
    assert output.read_text() == "ok=false\ndrifted=shifted@1.0.0\n"


def test_github_format_of_one_version(monitored: Path, mops: Mops):
    before = snapshot(monitored)
    r = mops("drift", "shifted", "--current", "logs/shifted/1.0.0/2026-11-01.csv", "--format", "github",
             code=1)
    assert r.stdout.startswith("::error file=models/shifted/card.md,title=mops drift::shifted@1.0.0: "
                               "dataset drift")
    assert snapshot(monitored) == before
