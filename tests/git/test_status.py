"""Which paths mops would overwrite: the same answer as ``git status``, in every state a path
can be in, with or without the shortcut that skips git for the files of a new record."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest

from mops import git as mgit
from mops.git import status
from tests.conftest import git

NEW = "models/m/versions/1.0.0/approvals/A-0a1b2c.yaml"


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "models/m").mkdir(parents=True)
    (repo / "models/m/card.md").write_text("card\n")
    (repo / ".gitignore").write_text("*.tmp\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    return repo


def _by_status(repo: Path, *paths: str) -> list[str]:
    """git's own answer (the oracle): what ``git status`` names at or under the paths."""
    out = git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=no",
              "--", *paths)
    return [rec[3:] for rec in out.split("\0") if len(rec) > 3]


def _put(repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)


# Each way a path mops is about to write can stand: (what to do, dirty by git status?).
STATES = {
    "new": (lambda r, p: None, False),
    "untracked": (lambda r, p: _put(r, p, "mine\n"), True),
    "staged, then deleted from the working tree": (
        lambda r, p: (_put(r, p, "staged\n"), git(r, "add", p), (r / p).unlink()), True),
    "intent to add, then deleted": (
        lambda r, p: (_put(r, p, "x\n"), git(r, "add", "-N", p), (r / p).unlink()), True),
    "committed, then removed with git rm": (
        lambda r, p: (_put(r, p, "c\n"), git(r, "add", p), git(r, "commit", "-qm", "c"),
                      git(r, "rm", "-q", p)), True),
    "committed, then removed from the index only": (
        lambda r, p: (_put(r, p, "c\n"), git(r, "add", p), git(r, "commit", "-qm", "c"),
                      git(r, "rm", "-q", "--cached", p), (r / p).unlink()), True),
    "committed and clean": (
        lambda r, p: (_put(r, p, "c\n"), git(r, "add", p), git(r, "commit", "-qm", "c")), False),
    "a folder of that name": (lambda r, p: _put(r, p + "/x", "x\n"), True),
}


@pytest.mark.parametrize(("state", "index"), list(itertools.product(
    STATES, ["v2", "v3", "v4", "split"])))
def test_dirty_paths_is_what_git_status_says(tmp_path: Path, state: str, index: str):
    repo = _repo(tmp_path)
    make, dirty = STATES[state]
    make(repo, NEW)
    # The index is rewritten in that form after the path's state is made, so that its entry
    # (if any) is compressed (v4) or kept in the shared file (split).
    if index == "split":
        git(repo, "update-index", "--split-index")
    else:
        git(repo, "update-index", "--index-version", index[1:])
    named = _by_status(repo, NEW)
    assert bool(named) is dirty  # the oracle agrees with the table
    assert mgit.dirty_paths(repo, [NEW]) == named
    # Beside a clean, new path, the dirty one is still named.
    other = "models/m/versions/1.0.0/evidence/E-0a1b2c.yaml"
    assert mgit.dirty_paths(repo, [other, NEW]) == named


def test_the_shortcut_answers_only_for_paths_nothing_knows(tmp_path: Path):
    """Of the states above, git is skipped exactly for a path absent from HEAD, the index and
    the working tree (each twin below fails if one of the three looks is left out)."""
    for name, (make, _dirty) in STATES.items():
        repo = _repo(tmp_path / name.replace(" ", "-").replace(",", ""))
        make(repo, NEW)
        assert status._all_new(repo, [NEW]) is (name == "new"), name


def test_the_shortcut_reads_the_index_git_is_told_to_use(tmp_path: Path, monkeypatch):
    repo = _repo(tmp_path)
    _put(repo, NEW, "staged\n")
    other = tmp_path / "other-index"
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    git(repo, "read-tree", "HEAD")
    git(repo, "add", NEW)
    (repo / NEW).unlink()
    assert status._all_new(repo, [NEW]) is False
    assert mgit.dirty_paths(repo, [NEW]) == [NEW]
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert mgit.dirty_paths(repo, [NEW]) == []  # the repository's own index never had it


def test_a_commit_onto_a_path_staged_then_deleted_is_refused(tmp_path: Path):
    """Through a mops write: the user's staged file at the path is not overwritten."""
    from mops.errors import UsageError
    from mops.inventory.actions.change import Change
    from mops.inventory.store import Inventory

    repo = _repo(tmp_path)
    (repo / "mops.yaml").write_text("inventory: t\n")
    git(repo, "add", "mops.yaml")
    git(repo, "commit", "-qm", "settings")
    _put(repo, NEW, "mine, staged\n")
    git(repo, "add", NEW)
    (repo / NEW).unlink()
    head, index = mgit.head(repo), (repo / ".git/index").read_bytes()
    inv = Inventory.open(repo)
    change = Change(inv, "approve")
    change.write(NEW, "theirs\n")
    with pytest.raises(UsageError, match="uncommitted changes"):
        change.commit()
    assert mgit.head(repo) == head and (repo / ".git/index").read_bytes() == index
    assert not (repo / NEW).exists()


def test_git_status_is_not_asked_to_trust_a_users_settings(tmp_path: Path):
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text("one\n")
    git(repo, "add", "f")
    git(repo, "commit", "-qm", "f")
    time.sleep(1.1)
    git(repo, "reset", "-q")  # the index written a second after the file: not racy
    git(repo, "config", "core.trustctime", "false")
    git(repo, "config", "core.checkStat", "minimal")
    st = (repo / "f").stat()
    (repo / "f").write_text("two\n")
    os.utime(repo / "f", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert git(repo, "status", "--porcelain") == ""
    assert status.uncommitted(repo, ["f"], untracked=False) == {"f": " M"}
    assert status.uncommitted(repo, ["f"]) == {"f": " M"}


def test_entries_git_status_never_compares_are_named(tmp_path: Path):
    """assume-unchanged and skip-worktree entries: git status says nothing of a change to
    their file (the oracle), so mops is told which they are."""
    repo = _repo(tmp_path)
    for name in ("a", "b", "c"):
        _put(repo, f"models/m/{name}.yaml", "x\n")
    git(repo, "add", "models")
    git(repo, "commit", "-qm", "three")
    git(repo, "update-index", "--assume-unchanged", "models/m/a.yaml")
    git(repo, "update-index", "--skip-worktree", "models/m/b.yaml")
    for name in ("a", "b", "c"):
        _put(repo, f"models/m/{name}.yaml", "changed\n")
    assert _by_status(repo, "models") == ["models/m/c.yaml"]
    assert sorted(status.unchecked_entries(repo, ["models"])) == ["models/m/a.yaml",
                                                                  "models/m/b.yaml"]
    assert status.unchecked_entries(repo, ["mops.yaml"]) == []
