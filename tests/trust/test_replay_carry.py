"""A whole replay carries each model's files forward along lines of first parents: what it
finds for every commit is what git's own tree holds there, through branches, merges (one
that brings in more than either side had, too) and commits that touch nothing governed."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from mops import git as mgit
from mops.inventory.layout import INVENTORY_PATHS
from mops.inventory.store import Inventory
from mops.trust.replay import Replay
from tests.conftest import git

MODELS = ["alpha", "beta", "gamma", "delta"]


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", message)


def _touch(repo: Path, rng: random.Random, models: list[str], n: int) -> None:
    """Add, change or remove a file of one of ``models``."""
    model = rng.choice(models)
    folder = repo / "models" / model / "versions" / rng.choice(["1.0.0", "2.0.0"])
    files = sorted(p for p in (repo / "models" / model).rglob("*") if p.is_file())
    if files and rng.random() < 0.2:
        rng.choice(files).unlink()
    else:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / rng.choice(["version.yaml", "a.yaml", "b.json"])).write_text(f"{n}\n")


def _history(repo: Path, seed: int) -> None:
    """Two branches taking turns, merged both ways, with commits outside models/ and one
    merge that adds a file neither side had."""
    rng = random.Random(seed)
    git(repo, "init", "-q", "-b", "main")
    (repo / "mops.yaml").write_text("inventory: carry\n")
    (repo / "models").mkdir()
    (repo / "models" / ".gitkeep").write_text("")
    _commit(repo, "init")
    git(repo, "branch", "side")
    for n in range(60):
        branch = rng.choice(["main", "side"])
        git(repo, "checkout", "-q", branch)
        roll = rng.random()
        if roll < 0.1:
            (repo / "README.md").write_text(f"{n}\n")  # governs nothing: not logged
            _commit(repo, f"readme {n}")
        elif roll < 0.22:
            other = "side" if branch == "main" else "main"
            _merge(repo, other)
            if rng.random() < 0.3:  # an evil merge: more than either side had
                _touch(repo, rng, MODELS, n)
            _commit(repo, f"merge {other} into {branch} {n}")
        else:
            # Each branch mostly keeps to its own models, and sometimes crosses over.
            mine = MODELS[:2] if branch == "main" else MODELS[2:]
            _touch(repo, rng, MODELS if rng.random() < 0.2 else mine, n)
            _commit(repo, f"{branch} {n}")
    git(repo, "checkout", "-q", "main")
    _merge(repo, "side")
    _commit(repo, "last merge")


def _merge(repo: Path, other: str) -> None:
    """Merge ``other`` without committing; a conflict (a change against a removal) is
    settled by keeping what the working tree holds."""
    subprocess.run(["git", "merge", "-q", "--no-ff", "--no-commit", "-X", "theirs", other],
                   cwd=repo, capture_output=True)


def _replayed(repo: Path, carry: bool, monkeypatch: pytest.MonkeyPatch) -> Replay:
    """A replay that has worked out every logged commit's files (as for promotions)."""
    monkeypatch.setattr(Replay, "CARRY", carry)
    replay = Replay(Inventory.open(repo))
    head = mgit.head(repo)
    assert head is not None
    paths = list(INVENTORY_PATHS)
    log = mgit.changes_log(repo, head, paths)
    replay.commits = {c.sha: c for c in log}
    replay.merge_diffs = mgit.merge_changes(
        repo, [(c.sha, p) for c in log if c.is_merge for p in c.parents], paths)
    replay._snapshots(log)
    replay.store.close()
    return replay


def _tree_files(repo: Path, commit: str, model: str) -> dict[str, tuple[str, str]]:
    """git's own answer: the model's files in the commit's tree."""
    out = git(repo, "ls-tree", "-r", "-z", commit, "--", f"models/{model}/")
    files = {}
    for rec in out.split("\0"):
        if rec:
            meta, _, path = rec.partition("\t")
            mode, _kind, sha = meta.split()
            files[path] = (mode, sha)
    return files


@pytest.mark.parametrize("seed", range(6))
def test_each_commits_files_are_the_trees(tmp_path: Path, seed: int,
                                          monkeypatch: pytest.MonkeyPatch):
    repo = tmp_path / "r"
    repo.mkdir()
    _history(repo, seed)
    assert int(git(repo, "rev-list", "--count", "--merges", "HEAD")) >= 3
    carried = _replayed(repo, True, monkeypatch)
    checked = 0
    for sha, delta in carried._deltas.items():
        for model, files in delta.items():
            assert files == _tree_files(repo, sha, model), (sha, model)
            checked += 1
    assert checked > 30
    # Every model's files before each commit were carried, and are the parent's tree.
    for (sha, model), files in carried._files_before.items():
        parent = carried.commits[sha].parents[0]
        assert files == _tree_files(repo, parent, model), (sha, model)
    # The walk back, kept for replays after a checkpoint, finds the same.
    walked = _replayed(repo, False, monkeypatch)
    assert walked._deltas == carried._deltas
    assert not walked._files_before
