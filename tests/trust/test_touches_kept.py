"""verify's full replay keeps the index of which commits touched each model
(mops.git.touches); the scoped replay and a one-model report then read a model's history
from it, without a walk of all of history, and still find a forged sign-off, one made
before the index was kept as well as one made after."""

from __future__ import annotations

from pathlib import Path

import pytest

from mops.git import touches
from tests.conftest import Mops
from tests.policy.helpers import BOB, evidence
from tests.trust.helpers import Team, make_team
from tests.trust.test_provenance_table import FORGERIES
from tests.trust.test_scoped_verify import (
    MODEL,
    OTHER,
    honest_work_elsewhere,
    in_scope,
    problems,
    verified,
)


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def _no_build(*args: object, **kw: object) -> object:
    raise AssertionError("the index was built by a walk of all of history")


@pytest.mark.parametrize("forged_after", [False, True])
def test_the_full_replay_keeps_the_index_the_scoped_one_reads(
        team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forged_after: bool):
    honest_work_elsewhere(team, tmp_path)
    forged = None if forged_after else FORGERIES["signoff"](team)
    full = verified(team.repo, None)
    shards = list((team.repo / ".git" / "mops" / "walks").glob("*touches-*"))
    assert len(shards) == touches.SHARDS
    if forged_after:
        forged = FORGERIES["signoff"](team)
        team.act(BOB, "bob")  # honest work after the forgery
        evidence(team.mops, tmp_path, f"{OTHER}@1.0.0", "validation-report", "again\n")
        full = verified(team.repo, None)
    monkeypatch.setattr(touches, "build", _no_build)
    scoped = verified(team.repo, [MODEL])
    assert forged in {p["path"] for p in scoped["problems"]}
    assert problems(scoped) == {p for p in problems(full) if in_scope(p[0], MODEL)}
