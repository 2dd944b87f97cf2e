"""`mops demo` builds an inventory that shows every part of the flow."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Mops, git


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("demo")
    r = Mops(base)("demo", "inv")
    return base / "inv", r.stdout


def test_demo_prints_inventory_and_report_paths(demo):
    path, out = demo
    assert f"Demo inventory: {path}" in out
    report = path / "reports" / "audit-report.html"
    assert f"Audit report: {report}" in out and report.stat().st_size > 10_000
    assert git(path, "status", "--porcelain") == ""  # logs, artifacts, reports are ignored


def test_demo_shows_every_part_of_the_flow(demo):
    path, _ = demo
    m = Mops(path)
    rows = {(r["model"], r["version"]): r for r in m.json("list", "--json")}
    assert {r["stage"] for r in rows.values()} == {"development", "validation", "production", "retired"}
    assert rows[("credit-pd", "1.0.0")]["compliant"] is False  # drift breach + high finding
    assert rows[("fraud-detect", "2.3.0")]["compliant"] is True  # under a waiver
    show = m.json("show", "credit-pd@1.1.0", "--json")
    assert [a["stale"] for a in show["approvals"]] == [True]
    prod = m.json("show", "credit-pd@1.0.0", "--json")
    assert {a["role"] for a in prod["approvals"]} == {"validator", "risk-officer"}
    assert not any(a["stale"] for a in prod["approvals"])
    assert [mon["breach"] for mon in prod["monitoring"]] == [False, False, True]
    assert any(f["severity"] == "high" and f["status"] == "open" for f in prod["findings"])
    check = m.json("check", "--format", "json", code=1)
    statuses = {(r["model"], r["rule"]): r["status"] for r in check["results"] if r["version"] != "1.1.0"}
    assert statuses[("fraud-detect", "SR26-ONGOING-MONITORING")] == "waived"
    assert statuses[("credit-pd", "BL-NO-HIGH-FINDINGS")] == "fail"


def test_demo_history_is_chronological_and_by_several_people(demo):
    path, _ = demo
    dates = git(path, "log", "--format=%cI").split()
    assert dates == sorted(dates, reverse=True)
    actors = {e["actor"] for e in Mops(path).json("log", "--json")}
    assert {"bob@acme.test", "carol@acme.test", "dana@acme.test"} <= actors


def test_demo_inside_another_repository_gets_its_own(tmp_path: Path):
    """`make demo` builds the demo inside mops's own checkout, which ignores the folder."""
    outer = tmp_path / "checkout"
    outer.mkdir()
    git(outer, "init", "-q")
    (outer / ".gitignore").write_text("demo-inventory/\n")
    Mops(outer)("demo", "demo-inventory")
    inner = outer / "demo-inventory"
    assert git(inner, "rev-parse", "--show-toplevel").strip() == str(inner.resolve())
    assert git(outer, "status", "--porcelain") == "?? .gitignore\n"


def test_demo_refuses_a_non_empty_folder(tmp_path: Path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    r = Mops(tmp_path)("demo", "x", code=2)
    assert "not an empty folder" in r.stderr
    assert (tmp_path / "x" / "file").read_text() == "keep me"


def test_drift_records_are_valid_json_with_verdicts(demo):
    path, _ = demo
    records = sorted(path.glob("models/credit-pd/versions/1.0.0/monitoring/*.json"))
    assert len(records) == 3
    for rec in records:
        doc = json.loads(rec.read_text())
        assert {"at", "verdict", "result", "reference", "inputs"} <= doc.keys()
    out = subprocess.run(["git", "log", "--format=%(trailers:key=Mops-Action,valueonly)"], cwd=path,
                         capture_output=True, text=True, check=True).stdout.split()
    assert {"init", "register", "evidence", "approve", "promote", "waive", "retire", "drift",
            "finding"} <= set(out)
