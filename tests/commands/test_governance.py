"""evidence, approve, promote, retire, finding, waive: through the CLI, on real git repositories."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from tests.conftest import Mops, git, snapshot
from tests.policy.helpers import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    act,
    edit_card,
    evidence,
    pin_clock,
    record_drift,
    register,
    results,
    set_settings,
)


@pytest.fixture
def ref(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pin_clock(monkeypatch)
    return register(mops, tmp_path)


def refused(repo: Path, mops: Mops, args: list[str], message: str, code: int) -> str:
    """Run a command that must fail with ``code``, say ``message`` and change nothing."""
    before = snapshot(repo)
    r = mops(*args, code=code)
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert snapshot(repo) == before, "a refused command changed the repository"
    return r.stderr


def last_commit_files(repo: Path) -> list[str]:
    return git(repo, "show", "--name-only", "--format=", "HEAD").split()


def load(repo: Path, rel: str) -> dict:
    return yaml.safe_load((repo / rel).read_text())


VDIR = "models/credit-pd/versions/1.0.0"


# ----------------------------------------------------------------------------- evidence


def test_evidence_add_copies_files_with_digests_in_one_commit(inventory: Path, mops: Mops, ref: str,
                                                              tmp_path: Path):
    a, b = tmp_path / "report.pdf", tmp_path / "backtest.csv"
    a.write_bytes(b"%PDF validation report")
    b.write_text("month,default_rate\n2025-01,0.02\n")
    head = git(inventory, "rev-parse", "HEAD")
    out = mops("evidence", "add", ref, str(a), str(b), "--kind", "validation-report",
               "--title", "Annual validation", "--metric", "gini=0.52", "--metric", "ks=0.31").stdout
    eid = out.split()[2]
    assert git(inventory, "rev-parse", "HEAD~1") == head
    rec = load(inventory, f"{VDIR}/evidence/{eid}.yaml")
    assert rec["kind"] == "validation-report" and rec["title"] == "Annual validation"
    assert rec["metrics"] == {"gini": 0.52, "ks": 0.31}
    assert rec["added_by"] == "bob@acme.test" and rec["added_at"] == "2026-05-31T12:00:00Z"
    assert [f["path"] for f in rec["files"]] == [f"evidence/files/{eid}/report.pdf",
                                                 f"evidence/files/{eid}/backtest.csv"]
    for f, src in zip(rec["files"], (a, b), strict=True):
        assert f["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
        assert (inventory / VDIR / f["path"]).read_bytes() == src.read_bytes()
    assert sorted(last_commit_files(inventory)) == sorted(
        [f"{VDIR}/evidence/{eid}.yaml", f"{VDIR}/evidence/files/{eid}/report.pdf",
         f"{VDIR}/evidence/files/{eid}/backtest.csv"])
    msg = git(inventory, "log", "-1", "--format=%B")
    assert "Mops-Action: evidence" in msg and "Mops-Version: 1.0.0" in msg
    shown = mops.json("show", ref, "--json")["evidence"]
    assert shown[0]["id"] == eid and shown[0]["files"][0]["sha256"] == rec["files"][0]["sha256"]
    assert git(inventory, "status", "--porcelain") == ""


def test_evidence_title_defaults_to_file_names_and_model_alone_means_latest(
        inventory: Path, mops: Mops, ref: str, tmp_path: Path):
    register(mops, tmp_path, version="1.1.0")
    f = tmp_path / "cs.md"
    f.write_text("conceptual soundness")
    eid = mops("evidence", "add", "credit-pd", str(f), "--kind", "my-own-kind").stdout.split()[2]
    rec = load(inventory, f"models/credit-pd/versions/1.1.0/evidence/{eid}.yaml")
    assert rec["title"] == "cs.md" and rec["kind"] == "my-own-kind"


def test_evidence_bad_input_changes_nothing(inventory: Path, mops: Mops, ref: str, tmp_path: Path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("y")
    cases = [
        (["evidence", "add", ref, str(tmp_path / "missing.pdf"), "--kind", "benchmarking"],
         "missing.pdf: no such file"),
        (["evidence", "add", ref, str(tmp_path / "sub"), "--kind", "benchmarking"],
         "is a directory"),
        (["evidence", "add", ref, str(f), str(tmp_path / "sub" / "a.txt"), "--kind", "benchmarking"],
         "two evidence files are named 'a.txt'"),
        (["evidence", "add", ref, str(f), "--kind", "Bad Kind"], "--kind 'Bad Kind'"),
        (["evidence", "add", "nope@1", str(f), "--kind", "benchmarking"], "unknown model 'nope'"),
        (["evidence", "add", "credit-pd@9", str(f), "--kind", "benchmarking"],
         "has no version '9'"),
        (["evidence", "add", ref, str(f), "--kind", "benchmarking", "--metric", "x"],
         "write NAME=VALUE"),
    ]
    for args, message in cases:
        refused(inventory, mops, args, message, 2)


# ----------------------------------------------------------------------------- approve


def test_approve_records_content_digest_and_github_actor(inventory: Path, mops: Mops, ref: str,
                                                         monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, CAROL)
    monkeypatch.setenv("GITHUB_ACTOR", "carol-gh")
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "bot")
    out = mops("approve", ref, "--role", "validator", "--comment", "Sound.",
               "--expires", "2027-06-01").stdout
    assert out.startswith("carol@acme.test approved credit-pd@1.0.0 as validator")
    files = last_commit_files(inventory)
    assert len(files) == 1 and files[0].startswith(f"{VDIR}/approvals/A-")
    rec = load(inventory, files[0])
    show = mops.json("show", ref, "--json")
    assert rec["digest"] == show["digest"]
    assert set(rec["digest_parts"]) == {"card", "version", "evidence"}
    assert (rec["role"], rec["decision"], rec["by"], rec["comment"]) == (
        "validator", "approve", "carol@acme.test", "Sound.")
    assert str(rec["expires"]) == "2027-06-01"
    assert rec["github_actor"] == "carol-gh" and rec["github_triggering_actor"] == "bot"
    msg = git(inventory, "log", "-1", "--format=%B")
    assert "Mops-Actor: carol@acme.test" in msg and "Mops-GitHub-Actor: carol-gh" in msg
    assert show["approvals"][0]["stale"] is False


def test_approve_refusals(inventory: Path, mops: Mops, ref: str, monkeypatch: pytest.MonkeyPatch):
    # bob (a developer) is not listed as validator
    err = refused(inventory, mops, ["approve", ref, "--role", "validator"],
                  "bob@acme.test may not sign off as validator", 1)
    assert "carol@acme.test" in err
    refused(inventory, mops, ["approve", ref, "--role", "auditor"], "unknown role 'auditor'", 2)
    act(monkeypatch, CAROL)
    refused(inventory, mops, ["approve", ref, "--role", "validator", "--expires", "2026-05-31"],
            "--expires 2026-05-31 is in the past", 2)
    refused(inventory, mops, ["approve", ref, "--role", "validator", "--expires", "soon"],
            "--expires 'soon'", 2)
    refused(inventory, mops, ["approve", "credit-pd@2.0", "--role", "validator"],
            "has no version '2.0'", 2)
    refused(inventory, mops, ["approve", "ghost", "--role", "validator"], "unknown model 'ghost'", 2)


def test_approve_refuses_owner_developer_or_registrant_when_a_rule_needs_independence(
        inventory: Path, mops: Mops, ref: str, monkeypatch: pytest.MonkeyPatch):
    set_settings(inventory, roles={"validator": ["carol@acme.test", "bob@acme.test",
                                                 "alice@acme.test"],
                                   "risk-officer": ["bob@acme.test"]})
    for who, what in ((BOB, "a developer of the model"), (ALICE, "the model's owner")):
        act(monkeypatch, who)
        err = refused(inventory, mops, ["approve", ref, "--role", "validator"],
                      f"{who[1]} may not sign off credit-pd@1.0.0 as validator", 1)
        assert "BL-INDEPENDENT-SIGNOFF" in err and what in err and "MEASURE 1.3" in err
    # No rule asks risk officers to be independent: bob may sign off in that role.
    act(monkeypatch, BOB)
    mops("approve", ref, "--role", "risk-officer")


def test_later_signoff_supersedes_earlier(inventory: Path, mops: Mops, ref: str,
                                          monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    first = last_commit_files(inventory)[0]
    mops("approve", ref, "--role", "validator", "--reject", "--comment", "PSI too high")
    second = load(inventory, last_commit_files(inventory)[0])
    assert second["decision"] == "reject" and second["supersedes"] == Path(first).stem
    act(monkeypatch, BOB)
    err = mops("promote", ref, "--to", "production", code=1).stderr
    assert "rejected by carol@acme.test" in err and "PSI too high" in err
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "production")


# ----------------------------------------------------------------------------- staleness


def test_staleness_says_what_changed_and_ignores_stage_monitoring_and_other_signoffs(
        inventory: Path, mops: Mops, ref: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    act(monkeypatch, DANA)
    mops("approve", ref, "--role", "risk-officer")
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "validation")
    record_drift(inventory, ref, "2026-05-31T00:00:00Z")
    assert [a["stale"] for a in mops.json("show", ref, "--json")["approvals"]] == [False, False]

    evidence(mops, tmp_path, ref, "benchmarking")
    approvals = mops.json("show", ref, "--json")["approvals"]
    assert all(a["stale"] for a in approvals) and approvals[0]["changed"] == ["the evidence"]

    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    edit_card(inventory, "credit-pd", "Commercial lending.", "Commercial and SME lending.")
    res = results(mops, ref, code=0)  # validation stage: no sign-off rule applies yet
    assert res["BL-INDEPENDENT-SIGNOFF"]["status"] == "n/a"
    act(monkeypatch, BOB)
    err = mops("promote", ref, "--to", "production", code=1).stderr
    assert "is stale: the model card changed after it was given" in err


def test_hand_edit_after_signoff_turns_the_gate_red(inventory: Path, mops: Mops, ref: str,
                                                   monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "production")
    assert mops.json("check", "--format", "json")["ok"] is True
    assert mops.json("list", "--json")[0]["compliant"] is True
    vfile = inventory / VDIR / "version.yaml"
    vfile.write_text(vfile.read_text().replace("metrics: {}", "metrics: {auc: 0.99}"))
    git(inventory, "commit", "-qam", "sneaky metric edit")
    r = mops("check", code=1)
    assert "FAIL" in r.stdout and "BL-INDEPENDENT-SIGNOFF" in r.stdout
    assert "the version's artifact, data or metrics changed" in r.stdout
    assert mops.json("list", "--json")[0]["compliant"] is False


# ----------------------------------------------------------------------------- promote


def test_promote_refuses_listing_every_unmet_rule_with_citation(inventory: Path, mops: Mops,
                                                                ref: str):
    set_settings(inventory, packs=["baseline", "us-sr26-2"])
    err = refused(inventory, mops, ["promote", ref, "--to", "production"],
                  "cannot promote credit-pd@1.0.0 to production", 1)
    for rule in ("BL-INDEPENDENT-SIGNOFF", "SR26-CONCEPTUAL-SOUNDNESS", "SR26-OUTCOMES-ANALYSIS",
                 "SR26-BENCHMARKING", "SR26-VALIDATION-REPORT", "SR26-EFFECTIVE-CHALLENGE",
                 "SR26-ONGOING-MONITORING"):
        assert f"  {rule}: " in err, rule
    assert "[SR 26-2 / OCC Bulletin 2026-13, Model validation and monitoring: outcomes analysis]" in err
    assert "no outcomes-analysis evidence" in err
    assert "SR26-REVIEW-FREQUENCY" not in err  # reviewed 2026-01-15, tier 1: due 2027-01-15
    assert "7 rule(s) unmet" in err


def test_promote_bad_stage_is_usage_error(inventory: Path, mops: Mops, ref: str):
    refused(inventory, mops, ["promote", ref, "--to", "prod"], "--to 'prod': stages of this", 2)
    refused(inventory, mops, ["promote", ref, "--to", "development"], "already in stage development", 2)
    refused(inventory, mops, ["promote", ref, "--to", "retired"], "mops retire", 2)
    refused(inventory, mops, ["promote", "credit-pd@7", "--to", "validation"], "no version '7'", 2)


def test_promote_records_transition(inventory: Path, mops: Mops, ref: str):
    out = mops("promote", ref, "--to", "validation").stdout
    assert "from development to validation" in out
    assert last_commit_files(inventory) == [f"{VDIR}/version.yaml"]
    rec = load(inventory, f"{VDIR}/version.yaml")
    assert rec["stage"] == "validation"
    last = rec["stage_history"][-1]
    assert (last["stage"], last["from"], last["by"]) == ("validation", "development", "bob@acme.test")
    assert last["digest"] == mops.json("show", ref, "--json")["digest"]
    assert "Mops-Stage: validation" in git(inventory, "log", "-1", "--format=%B")


# ----------------------------------------------------------------------------- retire


def test_retire_version_and_model_keeps_everything(inventory: Path, mops: Mops, ref: str,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    register(mops, tmp_path, version="1.1.0")
    evidence(mops, tmp_path, ref, "benchmarking")
    files_before = set(git(inventory, "ls-files").split())
    mops("retire", ref, "--reason", "superseded by 1.1.0")
    rec = load(inventory, f"{VDIR}/version.yaml")
    assert rec["stage"] == "retired" and rec["retired"]["reason"] == "superseded by 1.1.0"
    assert rec["stage_history"][-1]["reason"] == "superseded by 1.1.0"
    assert set(git(inventory, "ls-files").split()) == files_before
    res = results(mops, ref, code=0)
    assert res["BL-RETIRED-KEPT"]["status"] == "pass"
    assert res["BL-INVENTORY"]["status"] == "n/a"
    refused(inventory, mops, ["retire", ref, "--reason", "again"], "already retired", 2)
    refused(inventory, mops, ["promote", ref, "--to", "production"], "stays retired", 2)
    refused(inventory, mops, ["retire", "credit-pd", "--reason", " "], "--reason must not be empty", 2)
    mops("retire", "credit-pd", "--reason", "product withdrawn")
    assert mops.json("show", "credit-pd@1.1.0", "--json")["stage"] == "retired"
    assert last_commit_files(inventory) == ["models/credit-pd/versions/1.1.0/version.yaml"]
    refused(inventory, mops, ["retire", "credit-pd", "--reason", "x"], "already retired", 2)
    assert {r["stage"] for r in mops.json("list", "--json")} == {"retired"}


# ----------------------------------------------------------------------------- findings


def test_finding_add_prints_id_and_close(inventory: Path, mops: Mops, ref: str,
                                         monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, CAROL)
    fid = mops("finding", "add", ref, "--severity", "high", "--title", "Overfits 2020",
               "--due", "2026-09-30").stdout.strip()
    assert fid.startswith("F-") and len(fid.split()) == 1
    rec = load(inventory, f"models/credit-pd/findings/{fid}.yaml")
    assert (rec["severity"], rec["status"], rec["version"], rec["opened_by"]) == (
        "high", "open", "1.0.0", "carol@acme.test")
    data = mops.json("finding", "add", "credit-pd", "--severity", "low", "--title", "Typo",
                     "--json")
    assert list(data) == ["id", "commit", "subject"] and data["id"].startswith("F-")
    assert data["subject"].startswith("finding: low ")
    mops("approve", ref, "--role", "validator")
    act(monkeypatch, BOB)
    err = refused(inventory, mops, ["promote", ref, "--to", "production"], "BL-NO-HIGH-FINDINGS", 1)
    assert f"{fid} (high): Overfits 2020" in err
    # A developer may not close the validator's finding.
    refused(inventory, mops, ["finding", "close", "credit-pd", fid], "may not close", 1)
    act(monkeypatch, CAROL)
    mops("finding", "close", "credit-pd", fid, "--comment", "Retrained")
    rec = load(inventory, f"models/credit-pd/findings/{fid}.yaml")
    assert (rec["status"], rec["closed_by"], rec["close_comment"]) == (
        "closed", "carol@acme.test", "Retrained")
    refused(inventory, mops, ["finding", "close", "credit-pd", fid], "already closed", 2)
    refused(inventory, mops, ["finding", "close", "credit-pd", "F-000000"], "no finding 'F-000000'", 2)
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "production")


def test_finding_bad_input(inventory: Path, mops: Mops, ref: str):
    refused(inventory, mops, ["finding", "add", ref, "--severity", "urgent", "--title", "x"],
            "--severity 'urgent'", 2)
    refused(inventory, mops, ["finding", "add", "credit-pd@3", "--severity", "low", "--title", "x"],
            "no version '3'", 2)
    refused(inventory, mops, ["finding", "add", ref, "--severity", "low", "--title", "x",
                              "--due", "31/12/2026"], "--due '31/12/2026'", 2)


# ----------------------------------------------------------------------------- waive


def test_waiver_reports_waived_until_it_expires(inventory: Path, mops: Mops, ref: str,
                                                monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, DANA)
    out = mops("waive", ref, "--rule", "BL-INDEPENDENT-SIGNOFF", "--expires", "2026-07-01",
               "--reason", "Urgent use", "--controls", "Daily monitoring; limit 10m").stdout
    wid = out.split()[1]
    rec = load(inventory, f"models/credit-pd/findings/{wid}.yaml")
    assert (rec["kind"], rec["rule"], rec["approved_by"], rec["controls"]) == (
        "exception", "BL-INDEPENDENT-SIGNOFF", "dana@acme.test", "Daily monitoring; limit 10m")
    act(monkeypatch, BOB)
    r = mops("promote", ref, "--to", "production")
    assert "promoted under exceptions for BL-INDEPENDENT-SIGNOFF" in r.stderr
    assert load(inventory, f"{VDIR}/version.yaml")["stage_history"][-1]["waived"] == [
        "BL-INDEPENDENT-SIGNOFF"]
    res = results(mops, ref, code=0)["BL-INDEPENDENT-SIGNOFF"]
    assert res["status"] == "waived" and res["waiver"] == wid and "Urgent use" in res["message"]
    # after its expiry the exception counts for nothing
    monkeypatch.setenv("MOPS_NOW", "2026-07-02")
    res = results(mops, ref, code=1)["BL-INDEPENDENT-SIGNOFF"]
    assert res["status"] == "fail" and f"exception {wid} expired on 2026-07-01" in res["message"]


def test_waive_refusals(inventory: Path, mops: Mops, ref: str, monkeypatch: pytest.MonkeyPatch):
    refused(inventory, mops, ["waive", ref, "--rule", "BL-OWNER", "--expires", "2026-07-01",
                              "--reason", "x"], "bob@acme.test may not grant exceptions", 1)
    act(monkeypatch, DANA)
    refused(inventory, mops, ["waive", ref, "--rule", "NOPE-1", "--expires", "2026-07-01",
                              "--reason", "x"], "unknown rule 'NOPE-1'", 2)
    refused(inventory, mops, ["waive", ref, "--rule", "BL-OWNER", "--expires", "2026-01-01",
                              "--reason", "x"], "is in the past", 2)
    refused(inventory, mops, ["waive", ref, "--rule", "BL-OWNER", "--expires", "2026-07-01",
                              "--reason", ""], "--reason must not be empty", 2)


# ----------------------------------------------------------------------------- the whole way


def test_registration_to_production_with_builtin_packs(inventory: Path, mops: Mops, ref: str,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A developer, a validator and a risk officer take a model to production under SR 26-2."""
    set_settings(inventory, packs=["baseline", "us-sr26-2"])
    err = mops("promote", ref, "--to", "validation", code=1).stderr
    assert "SR26-CONCEPTUAL-SOUNDNESS" in err
    evidence(mops, tmp_path, ref, "conceptual-soundness")
    mops("promote", ref, "--to", "validation")
    act(monkeypatch, CAROL)
    for kind in ("outcomes-analysis", "benchmarking", "validation-report"):
        evidence(mops, tmp_path, ref, kind)
    fid = mops("finding", "add", ref, "--severity", "high", "--title", "Unstable in 2020").stdout.strip()
    mops("approve", ref, "--role", "validator")
    record_drift(inventory, ref, "2026-05-30T00:00:00Z")
    act(monkeypatch, BOB)
    err = mops("promote", ref, "--to", "production", code=1).stderr
    assert "1 rule(s) unmet" in err and "BL-NO-HIGH-FINDINGS" in err
    act(monkeypatch, CAROL)
    mops("finding", "close", "credit-pd", fid, "--comment", "Fixed by recalibration")
    act(monkeypatch, DANA)
    mops("approve", ref, "--role", "risk-officer")
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "production")
    assert mops.json("check", "--format", "json")["ok"] is True
    actions = [e["action"] for e in mops.json("log", "credit-pd", "--json")]
    assert actions[:3] == ["promote", "approve", "finding-close"]


def test_every_mutating_command_makes_exactly_one_commit(inventory: Path, mops: Mops, ref: str,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    f = tmp_path / "bt.csv"
    f.write_text("a,b\n")

    def count() -> int:
        return int(git(inventory, "rev-list", "--count", "HEAD"))

    steps = [
        (BOB, ["evidence", "add", ref, str(f), "--kind", "benchmarking"]),
        (CAROL, ["approve", ref, "--role", "validator"]),
        (CAROL, ["finding", "add", ref, "--severity", "low", "--title", "Minor"]),
        (DANA, ["waive", ref, "--rule", "BL-OWNER", "--expires", "2026-12-31", "--reason", "r"]),
        (BOB, ["promote", ref, "--to", "production"]),
        (BOB, ["retire", ref, "--reason", "replaced"]),
    ]
    ids = {}
    for who, args in steps:
        act(monkeypatch, who)
        before = count()
        out = mops(*args).stdout
        ids[args[0]] = out.split()[0] if args[0] == "finding" else out.split()[1]
        assert count() == before + 1, args
        assert git(inventory, "status", "--porcelain") == "", args
    act(monkeypatch, DANA)
    out = mops("finding", "close", "credit-pd", ids["waive"], "--comment", "revoked").stdout
    assert out.startswith(f"Closed exception {ids['waive']}")  # an exception is revoked like this
    assert git(inventory, "log", "-1", "--format=%s").startswith("finding-close: ")
    assert load(inventory, f"models/credit-pd/findings/{ids['waive']}.yaml")["status"] == "closed"
