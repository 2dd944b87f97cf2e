"""A checkpoint names a commit whose history need not be replayed again: one written by
anyone but this user's mops (who can write ``.git/mops``, or sent the repository as an
archive) could name a forged HEAD. Its entries are sealed with this user's cache key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mops.inventory import sealed
from mops.trust import checkpoint
from tests.conftest import Mops, git
from tests.trust.helpers import Team, make_team
from tests.trust.test_checkpoint import cache_file, forge_exception


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def _claim_forged_head(team: Team, *, secret: bytes) -> str:
    """After a clean run, a forged exception is committed and the checkpoint file rewritten
    to claim the forged HEAD verified clean, every field right (its digest too), sealed
    with ``secret``."""
    team.verify(code=0)
    rel = forge_exception(team)
    forged = git(team.repo, "rev-parse", "HEAD").strip()
    path = cache_file(team)
    data = json.loads(path.read_text())
    entry = data["entries"][-1]
    body = {"commit": forged, "key": entry["key"], "warnings": entry["warnings"]}
    entry.update(commit=forged, check=checkpoint._digest(body),
                 seal=checkpoint._seal(secret, body))
    path.write_text(json.dumps(data))
    return rel


def test_an_entry_sealed_by_someone_else_is_not_believed(team: Team):
    rel = _claim_forged_head(team, secret=b"m" * 32)  # Mallory's key, not this user's
    data = team.verify(code=1)
    assert data["checkpoint"] is None
    assert rel in {p["path"] for p in data["problems"]}


def test_the_same_entry_sealed_by_this_user_would_be(team: Team):
    """The twin: what the seal guards. Sealed with this user's key (only this user's mops
    can), the claim is believed and the forged commit is not replayed."""
    key = sealed.key()
    assert key is not None
    _claim_forged_head(team, secret=key)
    data = team.verify(code=0)
    assert data["checkpoint"] == git(team.repo, "rev-parse", "HEAD").strip()


def test_without_caches_no_checkpoint_is_kept_or_used(team: Team,
                                                      monkeypatch: pytest.MonkeyPatch):
    team.verify(code=0)
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    team.mops("finding", "add", team.ref, "--severity", "low", "--title", "t", code=None)
    data = team.verify(code=None)
    assert data["checkpoint"] is None
