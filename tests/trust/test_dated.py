"""Records dated in the future, and a mops.yaml that does not parse (issue 12, item 11).

A sign-off dated after the commit that added it would never age out of
``max_age_days``: ``verify`` reports it (the record is held to its commit's date) and
``check`` does not count a sign-off or evidence dated in the future of its clock.
Each attack has a twin, made the same way with an honest date, that passes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Mops, git
from tests.policy.helpers import BOB, CAROL, act, evidence, pin_clock, register, results

VDIR = "models/credit-pd/versions/1.0.0"


@pytest.fixture
def ref(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pin_clock(monkeypatch)  # records on 2026-05-31T12:00:00Z, the policy clock a day later
    # Versions start in production here, so the sign-off rule applies from registration
    # (an honest history: verify replays every commit).
    settings = inventory / "mops.yaml"
    settings.write_text(settings.read_text().replace(
        "stages: [development, validation, production, retired]", "stages: [production, retired]"))
    git(inventory, "commit", "-qam", "versions start in production (for the test)")
    ref = register(mops, tmp_path)
    evidence(mops, tmp_path, ref, "validation-report")
    return ref


def _redate_last_commit(repo: Path, rel: str, key: str, when: str) -> None:
    """Rewrite the record the last commit added with another date, and re-make that commit
    as the same person: one commit adds the record, as mops would have made it."""
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    path = repo / rel
    path.write_text(path.read_text().replace(
        f"{key}: '{yaml.safe_load(path.read_text())[key]}'", f"{key}: '{when}'"))
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-C", "ORIG_HEAD")  # its message and trailers, as mops made it


def _approve(mops: Mops, inventory: Path, ref: str, monkeypatch: pytest.MonkeyPatch) -> str:
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    (rel,) = (p.relative_to(inventory).as_posix()
              for p in (inventory / VDIR / "approvals").glob("A-*.yaml"))
    return rel


@pytest.mark.parametrize(("when", "attack"), [("2036-05-31T12:00:00Z", True),
                                              ("2026-05-31T11:00:00Z", False)])
def test_a_signoff_dated_after_its_commit(inventory: Path, mops: Mops, ref: str,
                                          monkeypatch: pytest.MonkeyPatch, when: str, attack: bool):
    rel = _approve(mops, inventory, ref, monkeypatch)
    _redate_last_commit(inventory, rel, "at", when)
    problems = {p["path"]: p["problem"] for p in
                mops.json("verify", "--json", code=1 if attack else 0)["problems"]}
    res = results(mops, ref, code=None)["BL-INDEPENDENT-SIGNOFF"]
    if attack:
        assert problems[rel].startswith(f"the sign-off is dated {when}, after the commit that "
                                        f"added it"), problems
        assert res["status"] == "fail" and f"is dated {when}, in the future" in res["message"]
    else:  # the twin: dated (an hour) before its commit, as any honest record is
        assert rel not in problems
        assert res["status"] == "pass", res


@pytest.mark.parametrize(("when", "attack"), [("2030-01-01T00:00:00Z", True),
                                              ("2026-05-30T00:00:00Z", False)])
def test_evidence_dated_after_its_commit(inventory: Path, mops: Mops, ref: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, when: str, attack: bool):
    act(monkeypatch, BOB)
    eid = evidence(mops, tmp_path, ref, "benchmarking")
    rel = f"{VDIR}/evidence/{eid}.yaml"
    _redate_last_commit(inventory, rel, "added_at", when)
    problems = {p["path"]: p["problem"] for p in
                mops.json("verify", "--json", code=None)["problems"]}
    if attack:
        assert "the evidence record is dated 2030-01-01T00:00:00Z, after the commit" in \
            problems[rel]
    else:
        assert rel not in problems


def test_a_signoff_a_little_ahead_of_the_checking_clock_counts(inventory: Path, mops: Mops,
                                                               ref: str,
                                                               monkeypatch: pytest.MonkeyPatch):
    """Clocks differ: a sign-off stamped by a machine a few hours ahead still counts in CI."""
    monkeypatch.setenv("MOPS_NOW", "2026-05-31T09:00:00Z")  # three hours before the record
    _approve(mops, inventory, ref, monkeypatch)
    assert results(mops, ref, code=None)["BL-INDEPENDENT-SIGNOFF"]["status"] == "pass"


def test_verify_is_never_ok_when_mops_yaml_does_not_parse(inventory: Path, mops: Mops, ref: str):
    assert mops.json("verify", "--json")["ok"] is True  # the twin: as it was
    settings = inventory / "mops.yaml"
    settings.write_text(settings.read_text() + "roles: [oops\n")
    data = mops.json("verify", "--json", code=1)
    (problem,) = [p for p in data["problems"] if p["path"] == "mops.yaml"
                  and "invalid YAML" in p["problem"]]
    assert problem["problem"].startswith("line ")
    git(inventory, "commit", "-qam", "broken settings")
    text = mops("verify", code=1).stdout
    assert "mops.yaml: line" in text and text.rstrip().endswith("FAILED: 1 problem(s)")
    settings.write_text(settings.read_text().replace("roles: [oops\n", "signing: sometimes\n"))
    data = mops.json("verify", "--json", code=1)
    assert any(p["path"] == "mops.yaml" and "'signing' must be" in p["problem"]
               for p in data["problems"])
