"""The demo's outcome monitoring end to end: drift records, `drift --all`, `check` and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Mops, git
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


def test_the_in_house_pack_judges_calibration_auc_and_fairness(demo: Path):
    """The demo's own pack (policies/acme-model-monitoring.yaml) makes `check` read the drift
    records' calibration, AUC change and fairness: card-approval is calibrated and keeps its AUC,
    and its intended parity gap by sex fails; the claims models' breaches fail the monitoring rule."""
    check = Mops(demo).json("check", "--format", "json", code=1)
    acme = {(r["model"], r["rule"]): r for r in check["results"] if r["pack"] == "acme-model-monitoring"}
    status = {key: r["status"] for key, r in acme.items()}
    assert status[("card-approval", "ACME-MON-CALIBRATION")] == "pass"
    assert status[("card-approval", "ACME-MON-AUC")] == "pass"
    fairness = acme[("card-approval", "ACME-MON-FAIRNESS")]
    assert fairness["status"] == "fail" and "sex" in fairness["message"]
    assert fairness["file"].startswith("models/card-approval/versions/1.0/monitoring/")
    for model in ("claims-severity", "claims-triage", "card-approval"):
        assert status[(model, "ACME-MON-RESULT")] == "fail"
    for model in ("claims-severity", "claims-triage"):  # not binary, no protected column
        assert {status[(model, r)] for r in ("ACME-MON-CALIBRATION", "ACME-MON-AUC", "ACME-MON-FAIRNESS")} == {"n/a"}
    kinds = {b["demand"]: b["kind"] for b in fairness["basis"]}
    assert kinds["examination for possible biases"] == "text"
    assert kinds["approval-rate ratio between groups at least min_parity_ratio (0.8)"] == "practice"


def test_the_in_house_pack_is_a_governed_change(demo: Path, tmp_path: Path):
    """The risk officer adopted the pack in a governed commit: `verify --strict` is clean; the
    forging twin - a developer loosening the parity limit by hand - is a problem."""
    import shutil

    assert Mops(demo)("verify", "--full", "--strict").exit_code == 0
    copy = tmp_path / "inv"
    shutil.copytree(demo, copy, symlinks=True)
    pack = copy / "policies" / "acme-model-monitoring.yaml"
    pack.write_text(pack.read_text().replace("    default: 0.8\n", "    default: 0.5\n"))
    git(copy, "-c", "user.name=Bob Developer", "-c", "user.email=bob@acme.test",
        "commit", "-q", "-m", "Parity limit", "--", "policies/acme-model-monitoring.yaml")
    check = Mops(copy).json("check", "card-approval", "--format", "json", code=None)
    assert {r["rule"]: r["status"] for r in check["results"]}["ACME-MON-FAIRNESS"] == "pass"
    r = Mops(copy)("verify", "--full", "--strict", code=1)  # signing optional: only --strict refuses it
    assert "policies/acme-model-monitoring.yaml" in r.stdout + r.stderr and "bob@acme.test" in r.stdout + r.stderr


def test_a_fairness_figure_edited_by_hand_passes_check_but_not_verify(demo: Path, tmp_path: Path):
    """Forging twin of the fairness rule: Bob raises card-approval's recorded parity ratio in
    the monitoring record itself. `check` believes the record; `verify` reports it, strict or not."""
    import shutil

    copy = tmp_path / "inv"
    shutil.copytree(demo, copy, symlinks=True)

    def raise_ratio(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "demographic_parity_ratio":
                    node[key] = 0.95
                else:
                    raise_ratio(value)
        elif isinstance(node, list):
            for item in node:
                raise_ratio(item)

    forged = []
    for path in sorted((copy / "models" / "card-approval" / "versions" / "1.0" / "monitoring").glob("*.json")):
        doc = json.loads(path.read_text())
        raise_ratio(doc)
        path.write_text(json.dumps(doc))
        forged.append(str(path.relative_to(copy)))
    git(copy, "-c", "user.name=Bob Developer", "-c", "user.email=bob@acme.test",
        "commit", "-q", "-am", "Fairness figures")
    check = Mops(copy).json("check", "card-approval", "--format", "json", code=None)
    assert {r["rule"]: r["status"] for r in check["results"]}["ACME-MON-FAIRNESS"] == "pass"
    r = Mops(copy)("verify", code=1)
    assert any(rel in r.stdout + r.stderr for rel in forged)
