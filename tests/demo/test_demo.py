"""`mops demo` builds an inventory that shows every part of the flow."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import yaml

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
    statuses = {(r["model"], r["version"], r["rule"]): r["status"] for r in check["results"]}
    assert statuses[("fraud-detect", "2.3.0", "SR26-ONGOING-MONITORING")] == "waived"
    assert statuses[("fraud-detect", "2.3.0", "OSFI-P3.6-MONITORING")] == "waived"
    assert statuses[("credit-pd", "1.0.0", "BL-NO-HIGH-FINDINGS")] == "fail"


def test_demo_history_is_chronological_and_by_several_people(demo):
    path, _ = demo
    dates = git(path, "log", "--format=%cI").split()
    assert dates == sorted(dates, reverse=True)
    actors = {e["actor"] for e in Mops(path).json("log", "--json")}
    assert {"bob@acme.test", "carol@acme.test", "dana@acme.test"} <= actors


def test_legacy_scorecard_went_through_every_stage_before_retirement(demo):
    """The story an examiner expects: development → validation → production → retired, each
    step its own commit, read back from history (not from the final record)."""
    path, _ = demo
    record = "models/legacy-scorecard/versions/3.2/version.yaml"
    stages = []
    for sha in git(path, "log", "--reverse", "--format=%H", "--", record).split():
        stage = yaml.safe_load(git(path, "show", f"{sha}:{record}"))["stage"]
        if not stages or stages[-1] != stage:
            stages.append(stage)
    assert stages == ["development", "validation", "production", "retired"]
    actions = [e["action"] for e in Mops(path).json("log", "legacy-scorecard", "--json")]
    assert actions.count("promote") == 2 and actions[0] == "retire"
    assert {"approve", "evidence", "drift"} <= set(actions)


def test_demo_is_dated_up_to_today_and_never_after(demo):
    path, _ = demo
    now = dt.datetime.now(dt.UTC)
    dates = [dt.datetime.fromisoformat(d) for d in git(path, "log", "--format=%cI").split()]
    assert max(dates) <= now
    assert now - max(dates) < dt.timedelta(days=1), "the story's last commit is not today"
    assert now - min(dates) > dt.timedelta(days=300)


@pytest.mark.parametrize("now", ["2026-11-29T23:10:00Z", "2026-11-29T09:30:00Z",
                                 "2026-11-29T00:20:00Z", "2026-03-01T10:00:00Z"])
def test_story_clock_never_runs_ahead_of_now(monkeypatch: pytest.MonkeyPatch, now: str):
    from mops.demo.story import _Clock

    monkeypatch.setenv("MOPS_NOW", now)
    c = _Clock()
    moment = dt.datetime.fromisoformat(now)
    latest = dt.datetime.fromisoformat(c.ago(0, minutes=59))
    assert latest <= moment and moment - latest < dt.timedelta(hours=15)
    assert c.at(1) < c.at(0) and c.at(2) < c.at(1)
    assert c.date(0) == moment.date()


def test_demo_uses_a_newer_pack(demo):
    path, _ = demo
    settings = yaml.safe_load((path / "mops.yaml").read_text())
    assert any(p.startswith("osfi-e23@") for p in settings["policies"])
    check = Mops(path).json("check", "--format", "json", code=1)
    assert any(r["rule"].startswith("OSFI-") and r["status"] == "pass" for r in check["results"])


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
