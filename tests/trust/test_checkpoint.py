"""`mops verify` remembers the last commit whose history verified clean and replays only
newer commits: never at the cost of a problem (real repositories, real ssh-keygen keys).

The cache is attacked as a user's clone could be: corrupted, tampered with, left behind
by a rewritten history; and a problem, once found, must be found on every later run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mops.trust import checkpoint
from tests.conftest import Mops, git, mops_executable
from tests.policy.helpers import BOB, CAROL, DANA
from tests.trust.helpers import VDIR, Team, commit, make_team
from tests.trust.test_attacks import forge_promotion
from tests.trust.test_provenance_table import FORGERIES


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def cache_file(team: Team) -> Path:
    return team.repo / ".git" / "mops" / checkpoint.FILE


def head(team: Team) -> str:
    return git(team.repo, "rev-parse", "HEAD").strip()


def stored(team: Team) -> list[str]:
    data = json.loads(cache_file(team).read_text())
    return [e["commit"] for e in data["entries"]]


def forge_exception(team: Team) -> str:
    """Bob writes an exception a risk officer never granted, dressed as `mops waive`."""
    return FORGERIES["exception"](team)


def honest_commit(team: Team) -> None:
    team.act(CAROL, "carol")
    team.mops("finding", "add", team.ref, "--severity", "low", "--title", "Tidy the card")


# ----------------------------------------------------------------------------- honest


def test_a_clean_run_is_remembered_and_the_next_replays_only_newer_commits(team: Team):
    first = team.verify(code=0)
    assert first["checkpoint"] is None and first["checked"]["commits"] > 3
    assert stored(team) == [head(team)]
    before = head(team)
    honest_commit(team)
    second = team.verify(code=0)
    assert second["checkpoint"] == before and second["checked"]["commits"] == 1
    assert stored(team)[-1] == head(team)
    full = team.verify("--full", code=0)
    assert full["checkpoint"] is None and full["checked"]["commits"] == first["checked"]["commits"] + 1
    text = team.mops("verify").stdout
    assert "since the checkpoint" in text and head(team)[:12] in text


def test_a_promotion_after_the_checkpoint_is_replayed_on_records_made_before_it(team: Team):
    """The sign-off and evidence lie before the checkpoint; the promotion after it is
    re-gated on them (its signature looked up where it was made), and passes."""
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "validation")
    team.approve()
    team.approve(DANA, "dana", role="risk-officer")
    team.verify(code=0)
    mark = head(team)
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "production")
    data = team.verify(code=0)
    assert data["checkpoint"] == mark and data["checked"]["promotions"] == 1


def test_a_promotion_the_gate_would_refuse_after_the_checkpoint_is_reported(team: Team):
    """The gate (the policy engine, loaded when a replay first meets a promotion) holds a
    hand-made promotion after the checkpoint to the rules, as a replay of everything does."""
    team.mops("promote", team.ref, "--to", "validation")
    team.verify(code=0)
    mark = head(team)
    rel = forge_promotion(team)
    data = team.verify(code=1)
    assert data["checkpoint"] == mark and data["checked"]["promotions"] == 1
    assert any(p["path"] == rel and "BL-INDEPENDENT-SIGNOFF" in p["problem"]
               for p in data["problems"]), data["problems"]
    assert data["problems"] == team.verify("--full", code=1)["problems"]


def test_warnings_of_the_history_behind_the_checkpoint_are_reported_again(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    path = team.repo / "mops.yaml"
    path.write_text(path.read_text().replace("stages: [development, validation, production, "
                                             "retired]", "stages: [development, production, "
                                                         "retired]"))
    team.act(BOB, None)
    commit(team.repo, "fewer stages")
    first = team.verify(code=0)
    assert [w["path"] for w in first["warnings"]] == ["mops.yaml"]
    honest_commit(team)
    again = team.verify(code=0)
    assert again["checkpoint"] is not None
    assert again["warnings"] == first["warnings"]
    strict = team.verify("--strict", code=1)  # --strict still makes them problems
    assert [p["path"] for p in strict["problems"]] == ["mops.yaml"]


# ----------------------------------------------------------------------------- problems stay


@pytest.mark.parametrize("rule_id", sorted(FORGERIES))
def test_every_forgery_after_a_checkpoint_is_found(team: Team, rule_id: str):
    """The provenance table's forgeries, each made after a clean run left a checkpoint."""
    team.verify(code=0)
    mark = head(team)
    path = FORGERIES[rule_id](team)
    data = team.verify(code=1)
    assert path in {p["path"] for p in data["problems"]}, data["problems"]
    assert data["checkpoint"] in (mark, None)  # None: a forgery that moved the rules first
    assert head(team) not in stored(team)


def test_a_problem_found_once_is_found_on_every_later_run(team: Team):
    team.verify(code=0)
    rel = forge_exception(team)
    for _ in range(2):
        assert rel in {p["path"] for p in team.verify(code=1)["problems"]}
    honest_commit(team)  # honest work on top does not bury it
    assert rel in {p["path"] for p in team.verify(code=1)["problems"]}
    assert rel in {p["path"] for p in team.verify("--full", code=1)["problems"]}
    assert head(team) not in stored(team)


# ----------------------------------------------------------------------------- the cache attacked


def _planted(team: Team) -> tuple[str, str]:
    """A clean checkpoint, then a forged exception after it: (its path, the forged HEAD)."""
    team.verify(code=0)
    rel = forge_exception(team)
    return rel, head(team)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "moved-commit",
                                    "wrong-format", "not-an-object"])
def test_a_corrupt_or_tampered_cache_is_ignored(team: Team, damage: str):
    rel, forged = _planted(team)
    path = cache_file(team)
    text = path.read_text()
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "empty":
        path.write_text("")
    elif damage == "moved-commit":  # claims the forged HEAD verified clean
        data = json.loads(text)
        data["entries"][-1]["commit"] = forged
        path.write_text(json.dumps(data))
    elif damage == "wrong-format":
        data = json.loads(text)
        data["format"] = 99
        path.write_text(json.dumps(data))
    else:
        path.write_text("[1, 2, 3]")
    damaged = path.read_bytes()
    data = team.verify(code=1)
    assert rel in {p["path"] for p in data["problems"]}
    assert data["checkpoint"] is None
    assert path.read_bytes() == damaged  # a run with a problem stores nothing


def test_a_checkpoint_for_another_key_is_not_used(team: Team):
    """Stored by other code (another mops), or for another trust anchor: replay all."""
    team.verify(code=0)
    path = cache_file(team)
    data = json.loads(path.read_text())
    entry = data["entries"][-1]
    entry["key"]["code"] = "0" * 64
    body = {"commit": entry["commit"], "key": entry["key"], "warnings": entry["warnings"]}
    entry["check"] = checkpoint._digest(body)  # a well-formed entry, for other code
    path.write_text(json.dumps(data))
    honest_commit(team)
    assert team.verify(code=0)["checkpoint"] is None


def test_history_rewritten_under_the_checkpoint_is_replayed_whole(team: Team):
    """The checkpoint's commit is no longer in HEAD's history: main was force-moved to a
    forged history (the exception slipped in below where the checkpoint was)."""
    base = head(team)
    honest_commit(team)
    honest_commit(team)
    team.verify(code=0)
    mark = head(team)
    git(team.repo, "reset", "-q", "--hard", base)
    rel = forge_exception(team)
    honest_commit(team)
    data = team.verify(code=1)
    assert rel in {p["path"] for p in data["problems"]}
    assert data["checkpoint"] is None
    assert subprocess.run(["git", "merge-base", "--is-ancestor", mark, "HEAD"],
                          cwd=team.repo).returncode == 1


def test_a_merge_after_the_checkpoint_is_replayed_whole(team: Team):
    """A merge may take files whose makers lie before the checkpoint: the whole history is
    replayed, and what a side branch forged is found."""
    team.verify(code=0)
    git(team.repo, "checkout", "-q", "-b", "side")
    rel = forge_exception(team)
    git(team.repo, "checkout", "-q", "main")
    honest_commit(team)
    team.act(BOB, None)
    git(team.repo, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge side", "side")
    data = team.verify(code=1)
    assert rel in {p["path"] for p in data["problems"]}
    assert data["checkpoint"] is None


def test_the_installed_command_uses_and_refreshes_the_checkpoint(team: Team):

    def run(*args: str) -> dict:
        proc = subprocess.run([mops_executable(), "verify", "--json", *args], cwd=team.repo,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert run()["checkpoint"] is None
    mark = head(team)
    honest_commit(team)
    assert run()["checkpoint"] == mark
    assert run("--full")["checkpoint"] is None


def test_a_key_revoked_after_the_checkpoint_fails_its_old_signoffs(team: Team):
    """Signatures are history, but git's verdict on them also depends on
    gpg.ssh.revocationFile: revoking Carol's key must fail her sign-off made before the
    checkpoint, without --full (and with it)."""
    aid = team.approve()
    assert team.verify(code=0)["problems"] == []
    revoked = team.repo.parent / "revoked_keys"
    revoked.write_text(team.keys.public("carol") + "\n")
    git(team.repo, "config", "gpg.ssh.revocationFile", str(revoked))
    rel = f"{VDIR}/approvals/{aid}.yaml"
    for args in ((), ("--full",)):
        data = team.verify(*args, code=1)
        assert rel in {p["path"] for p in data["problems"]}, data["problems"]
        assert data["checkpoint"] is None


def test_another_ssh_keygen_checks_everything_again(team: Team, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    """An upgraded (here: another) ssh-keygen may judge old signatures otherwise."""
    import os
    import shutil

    team.approve()
    team.verify(code=0)
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "ssh-keygen").symlink_to(shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen")
    monkeypatch.setenv("PATH", f"{other}{os.pathsep}{os.environ['PATH']}")
    assert team.verify(code=0)["checkpoint"] is None
    honest_commit(team)
    assert team.verify(code=0)["checkpoint"] is not None  # and the new one is used again
