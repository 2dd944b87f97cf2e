"""`mops packs upgrade` refuses exactly whom `mops verify` would report: only a member of a
`governance.changed_by` role changes the packs in force (real ssh-keygen keys)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Mops, snapshot
from tests.policy.helpers import CAROL, DANA
from tests.trust.helpers import Team, commit, make_team


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    team = make_team(inventory, mops, tmp_path, monkeypatch)
    team.act(DANA, "dana")  # the governor pins baseline at version 1, so there is an upgrade
    path = inventory / "mops.yaml"
    path.write_text(re.sub(r"(?m)^policies: .*$", "policies: [baseline@1]", path.read_text()))
    commit(inventory, "pin baseline 1", sign=True)
    return team


def mops_yaml_problems(team: Team, *args: str) -> list[str]:
    data = team.verify(*args, code=None)
    return [p["problem"] for p in data["problems"] if p["path"] == "mops.yaml"]


def test_a_governor_upgrades_and_verify_agrees(team: Team):
    team.act(DANA, "dana")
    team.mops("packs", "upgrade")
    assert "policies: [baseline@" in (team.repo / "mops.yaml").read_text()
    assert "baseline@1" not in (team.repo / "mops.yaml").read_text()
    data = team.verify()
    assert data["ok"], data["problems"]
    assert not [w for w in data["warnings"] if w["path"] == "mops.yaml"]


def test_someone_outside_governance_is_refused_and_the_same_change_by_hand_is_reported(
        team: Team):
    team.act(CAROL, "carol")  # a validator with a listed key, not a governor
    before = snapshot(team.repo)
    r = team.mops("packs", "upgrade", code=1)
    assert "carol@acme.test may not change the inventory's rules" in r.stderr
    assert "governance.changed_by" in r.stderr and "risk-officer" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert snapshot(team.repo) == before
    # The forging twin: what the command would have written, committed by hand, signed
    # with Carol's own key and dressed with the command's trailers.
    path = team.repo / "mops.yaml"
    path.write_text(path.read_text().replace("policies: [baseline@1]", "policies: [baseline@2]"))
    commit(team.repo, "packs-upgrade: baseline 1 -> 2\n\nMops-Action: packs-upgrade\n"
                      "Mops-Actor: carol@acme.test\nMops-Packs: baseline@2\n", sign=True)
    found = mops_yaml_problems(team)
    assert found and any("governance.changed_by" in p for p in found), found


def test_under_optional_signing_the_refusal_matches_verify_strict(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    team.act(DANA, "dana")
    path = inventory / "mops.yaml"
    path.write_text(re.sub(r"(?m)^policies: .*$", "policies: [baseline@1]", path.read_text()))
    commit(inventory, "pin baseline 1", sign=True)
    team.act(CAROL, None)
    team.mops("packs", "upgrade", code=1)
    path.write_text(path.read_text().replace("policies: [baseline@1]", "policies: [baseline@2]"))
    commit(inventory, "packs-upgrade: baseline 1 -> 2\n\nMops-Action: packs-upgrade\n"
                      "Mops-Actor: carol@acme.test\n")
    data = team.verify(code=None)
    assert [w for w in data["warnings"] if w["path"] == "mops.yaml"]
    assert mops_yaml_problems(team, "--strict")
