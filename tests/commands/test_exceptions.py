"""Who may grant an exception, for how long, and who may close a finding (issue 12, item 6).

Each refusal is exit 1 with nothing written and a message naming the setting; each
hand-written forgery of what the command refuses (an exception file, a closed finding)
counts for nothing in ``check``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.commands.test_governance import load, refused
from tests.conftest import Mops, git
from tests.policy.helpers import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    act,
    pin_clock,
    register,
    results,
    set_settings,
)

RULE = "BL-INDEPENDENT-SIGNOFF"  # fails for the fresh version: no validator sign-off yet
FINDINGS = "models/credit-pd/findings"


@pytest.fixture
def ref(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """credit-pd@1.0.0 in production (so its sign-off and findings rules apply), registered
    by bob, a developer of the model; alice owns it."""
    pin_clock(monkeypatch)  # records on 2026-05-31, the policy clock on 2026-06-01
    ref = register(mops, tmp_path)
    vfile = inventory / "models/credit-pd/versions/1.0.0/version.yaml"
    vfile.write_text(vfile.read_text().replace("stage: development", "stage: production"))
    git(inventory, "commit", "-qam", "in production (by hand, for the test)")
    return ref


def waive(mops: Mops, ref: str, expires: str, code: int = 0):
    return mops("waive", ref, "--rule", RULE, "--expires", expires, "--reason", "urgent use",
                code=code)


# ----------------------------------------------------------------------------- mops waive


def test_only_an_independent_risk_officer_grants_exceptions(inventory: Path, mops: Mops, ref: str,
                                                            monkeypatch: pytest.MonkeyPatch):
    # bob develops the model and registered the version; listing him as risk officer does
    # not let him waive rules on his own model, nor does it let alice, its owner.
    set_settings(inventory, roles={"validator": ["carol@acme.test"],
                                   "risk-officer": ["dana@acme.test", "bob@acme.test",
                                                    "alice@acme.test"]})
    args = ["waive", ref, "--rule", RULE, "--expires", "2026-07-01", "--reason", "urgent"]
    for who, tie in ((BOB, "a developer of the model and the person who registered version "
                           "1.0.0"), (ALICE, "the model's owner")):
        act(monkeypatch, who)
        err = refused(inventory, mops, args, f"{who[1]} may not grant an exception on credit-pd", 1)
        assert f"must be independent of the model, and {who[1]} is {tie}" in err
        assert f"no exception to {RULE} was recorded" in err
    # carol is listed, but as validator: a role is not enough, it must be one that grants.
    act(monkeypatch, CAROL)
    err = refused(inventory, mops, args, "carol@acme.test may not grant exceptions", 1)
    assert "only people listed for risk-officer in mops.yaml may (exceptions.granted_by" in err
    # The twin: dana, an independent risk officer, may.
    act(monkeypatch, DANA)
    wid = mops(*args).stdout.split()[1]
    assert load(inventory, f"{FINDINGS}/{wid}.yaml")["approved_by"] == "dana@acme.test"
    assert results(mops, ref, code=0)[RULE]["status"] == "waived"


def test_an_exception_runs_at_most_max_days(inventory: Path, mops: Mops, ref: str,
                                            monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, DANA)
    # granted on 2026-05-31 (the record's date): 365 days is 2027-05-31
    err = refused(inventory, mops, ["waive", ref, "--rule", RULE, "--expires", "2027-06-01",
                                    "--reason", "r"],
                  "an exception may run at most 365 days (exceptions.max_days in mops.yaml)", 1)
    assert "the latest expiry allowed is 2027-05-31" in err
    waive(mops, ref, "2027-05-31")
    # The inventory may set its own limit (and who grants).
    set_settings(inventory, extra="exceptions:\n  granted_by: [validator]\n  max_days: 30\n")
    act(monkeypatch, CAROL)
    refused(inventory, mops, ["waive", ref, "--rule", RULE, "--expires", "2026-07-01",
                              "--reason", "r"], "at most 30 days", 1)
    waive(mops, ref, "2026-06-30")
    act(monkeypatch, DANA)
    refused(inventory, mops, ["waive", ref, "--rule", RULE, "--expires", "2026-06-30",
                              "--reason", "r"], "only people listed for validator", 1)


def test_bad_exception_settings_are_file_and_line(inventory: Path, mops: Mops, ref: str):
    for extra, message in (("exceptions:\n  max_days: 0\n", "mops.yaml:"),
                           ("exceptions:\n  max_days: forever\n", "'exceptions.max_days'"),
                           ("exceptions:\n  granted_by: Risk Officer\n", "'exceptions.granted_by': invalid role"),
                           ("exceptions:\n  grantors: [risk-officer]\n",
                            "'exceptions.grantors' is not a setting"),
                           ("findings:\n  closed_by: {a: 1}\n", "'findings.closed_by'")):
        set_settings(inventory, extra=extra)
        assert message in mops("check", code=2).stderr
        git(inventory, "checkout", "-q", "HEAD~1", "--", "mops.yaml")
        git(inventory, "commit", "-qam", "undo")


def _hand_written(inventory: Path, wid: str, **fields: object) -> None:
    record = {"id": wid, "kind": "exception", "model": "credit-pd", "version": "1.0.0",
              "rule": RULE, "title": f"Exception to {RULE}", "reason": "urgent use",
              "status": "open", "opened_at": "2026-05-31T12:00:00Z", "expires": "2026-07-01"}
    record.update(fields)
    path = inventory / FINDINGS / f"{wid}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(record, sort_keys=False))
    git(inventory, "add", "-A", "models")
    git(inventory, "commit", "-qm", f"{wid} by hand")


@pytest.mark.parametrize(("fields", "why"), [
    ({"approved_by": "bob@acme.test", "opened_by": "bob@acme.test"},
     "bob@acme.test may not grant exceptions"),
    ({"approved_by": "carol@acme.test", "opened_by": "carol@acme.test"},
     "carol@acme.test may not grant exceptions"),
    ({"approved_by": "dana@acme.test", "opened_by": "dana@acme.test", "expires": "2028-12-31"},
     "an exception may run at most 365 days"),
    ({"approved_by": "dana@acme.test", "opened_by": "dana@acme.test",
      "opened_at": "2026-12-01T00:00:00Z", "expires": "2026-12-31"}, "it is dated 2026-12-01, in the future"),
])
def test_a_hand_written_exception_that_waive_would_refuse_counts_for_nothing(
        inventory: Path, mops: Mops, ref: str, fields: dict, why: str):
    _hand_written(inventory, "W-forged", **fields)
    res = results(mops, ref, code=1)[RULE]
    assert res["status"] == "fail", res
    assert f"exception W-forged does not count: {why}" in res["message"]


def test_the_twin_a_hand_written_exception_as_waive_writes_it_counts(inventory: Path, mops: Mops,
                                                                      ref: str):
    _hand_written(inventory, "W-fine", approved_by="dana@acme.test", opened_by="dana@acme.test")
    assert results(mops, ref, code=0)[RULE]["status"] == "waived"


# ----------------------------------------------------------------------------- mops finding close


def test_who_closes_a_finding(inventory: Path, mops: Mops, ref: str,
                              monkeypatch: pytest.MonkeyPatch):
    set_settings(inventory, roles={"validator": ["carol@acme.test", "bob@acme.test",
                                                 "erin@acme.test"],
                                   "risk-officer": ["dana@acme.test"]})
    act(monkeypatch, CAROL)
    fid = mops("finding", "add", ref, "--severity", "high", "--title", "Unstable").stdout.strip()
    # bob is listed as validator, but develops the model: he may not close carol's finding.
    act(monkeypatch, BOB)
    err = refused(inventory, mops, ["finding", "close", "credit-pd", fid],
                  f"bob@acme.test may not close {fid}, raised by carol@acme.test", 1)
    assert "must be independent of the model" in err and "nothing was changed" in err
    # alice, the owner, is listed for no closing role.
    act(monkeypatch, ALICE)
    err = refused(inventory, mops, ["finding", "close", "credit-pd", fid],
                  f"alice@acme.test may not close {fid}", 1)
    assert "validator and risk-officer in mops.yaml may (findings.closed_by)" in err
    # erin, an independent validator, may; so may the raiser (carol) for her own findings.
    act(monkeypatch, ERIN)
    mops("finding", "close", "credit-pd", fid)
    act(monkeypatch, BOB)
    own = mops("finding", "add", ref, "--severity", "low", "--title", "Typo").stdout.strip()
    mops("finding", "close", "credit-pd", own)  # the raiser closes their own finding


def test_only_the_grantor_or_a_grantor_role_withdraws_an_exception(
        inventory: Path, mops: Mops, ref: str, monkeypatch: pytest.MonkeyPatch):
    act(monkeypatch, DANA)
    wid = waive(mops, ref, "2026-07-01").stdout.split()[1]
    act(monkeypatch, CAROL)
    refused(inventory, mops, ["finding", "close", "credit-pd", wid],
            f"carol@acme.test may not withdraw exception {wid}: only its grantor "
            f"(dana@acme.test)", 1)
    act(monkeypatch, DANA)
    mops("finding", "close", "credit-pd", wid)


@pytest.mark.parametrize(("closed_by", "counts"), [
    ("bob@acme.test", False),   # a developer of the model closed it by editing the file
    (None, False),              # status: closed, and no one named
    ("carol@acme.test", True),  # the twin: the raiser, as `mops finding close` would record
])
def test_a_finding_closed_by_hand_by_someone_who_may_not_stays_open(
        inventory: Path, mops: Mops, ref: str, monkeypatch: pytest.MonkeyPatch,
        closed_by: str | None, counts: bool):
    act(monkeypatch, CAROL)
    fid = mops("finding", "add", ref, "--severity", "high", "--title", "Unstable").stdout.strip()
    mops("approve", ref, "--role", "validator")
    path = inventory / FINDINGS / f"{fid}.yaml"
    record = yaml.safe_load(path.read_text())
    record.update(status="closed", closed_at="2026-05-31T13:00:00Z")
    if closed_by:
        record["closed_by"] = closed_by
    path.write_text(yaml.safe_dump(record, sort_keys=False))
    git(inventory, "commit", "-qam", "closed by hand")
    res = results(mops, ref, code=None)["BL-NO-HIGH-FINDINGS"]
    if counts:
        assert res["status"] == "pass", res
    else:
        assert res["status"] == "fail" and f"{fid} (high): Unstable (its closure does not " \
                                           f"count: " in res["message"], res


def test_an_exception_stamped_a_little_ahead_of_the_clock_counts(inventory: Path, mops: Mops,
                                                                  ref: str):
    """The granter's clock may run ahead of the checking one (across midnight, too)."""
    _hand_written(inventory, "W-ahead", approved_by="dana@acme.test", opened_by="dana@acme.test",
                  opened_at="2026-06-02T01:00:00Z")  # the policy clock: 2026-06-01T12:00:00Z
    assert results(mops, ref, code=0)[RULE]["status"] == "waived"
