"""The demo's outcome monitoring end to end: drift records, `drift --all`, `check` and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Mops
from tests.report.helpers import parse

MODELS = {"claims-severity@2.1": "regression", "claims-triage@1.0": "multiclass", "card-approval@1.0": "binary"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("demo")
    Mops(base)("demo", "inv")
    return base / "inv"


def test_each_model_has_a_recorded_result_of_its_task(demo: Path):
    for ref, task in MODELS.items():
        model, version = ref.split("@")
        records = sorted((demo / "models" / model / "versions" / version / "monitoring").glob("*.json"))
        assert records, ref
        doc = json.loads(records[-1].read_text())
        assert doc["verdict"]["task"] == task and doc["result"]["task"] == task
        assert doc["result"][{"binary": "calibration"}.get(task, task)]


def test_breaches_exit_1_and_name_what_moved(demo: Path):
    mops = Mops(demo)
    expected = {"claims-severity": "mae_increase", "claims-triage": "accuracy_drop",
                "card-approval": "demographic_parity_ratio"}
    for model, threshold in expected.items():
        log = next((demo / "logs" / model).glob("*.parquet"))
        doc = mops.json("drift", model, "--current", str(log), "--json", code=1)
        assert threshold in {b["threshold"] for b in doc["breaches"]}
    doc = mops.json("drift", "card-approval", "--all", "--stage", "development", "--logs", "logs/{model}/*.parquet",
                    "--format", "json", code=1)
    (result,) = doc["results"]
    assert result["drift"]["fairness"][0]["column"] == "sex"
    assert [s["value"] for s in result["drift"]["segments"]] == ["branch", "online", "partner"]


def test_check_and_the_report_read_them(demo: Path):
    mops = Mops(demo)
    result = mops("check", "card-approval", code=None)
    assert result.exit_code in (0, 1) and "card-approval" in result.stdout
    root = parse((demo / "reports" / "audit-report.html").read_text())
    captions = [c.text() for c in root.find_all("caption")]
    assert any(c.startswith("Calibration per grade") for c in captions)
    assert any(c.startswith("Fairness by sex") for c in captions)
    assert any(c.startswith("Multiclass metrics") for c in captions)
    assert any(c.startswith("Regression metrics") for c in captions)
