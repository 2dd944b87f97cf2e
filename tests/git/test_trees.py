"""Commits built along the changed paths (mktree) have exactly the tree an index would give."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mops import git as mgit
from mops.git import commit
from mops.git.run import run
from tests.conftest import git

NAMES = st.sampled_from(["a", "b", "models", "m-1", "é ü", "x.yaml", "card.md", "v"])
PATHS = st.lists(NAMES, min_size=1, max_size=4).map("/".join)


def _by_index(top: Path, parent: str | None, blobs: dict[str, tuple[str, str]],
              removals: list[str]) -> str:
    """The tree git's own index makes of the same change (read-tree, update-index, write-tree)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": f"{tmp}/index"}
        run(top, "read-tree", parent or "--empty", env=env)
        info = "".join(f"{m} {s}\t{p}\n" for p, (m, s) in blobs.items())
        info += "".join(f"0 {mgit.ZERO}\t{p}\n" for p in removals)
        run(top, "update-index", "--index-info", input=info.encode(), env=env)
        return run(top, "write-tree", env=env).decode().strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    (repo / "models" / "m-1" / "v").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for rel in ("a", "models/m-1/card.md", "models/m-1/v/x.yaml", "b/é ü"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(rel + "\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    return repo


def _disjoint(paths: list[str]) -> list[str]:
    """Paths none of which is a folder of another (a file and a folder of one name clash)."""
    out: list[str] = []
    for p in paths:
        if not any(q == p or q.startswith(p + "/") or p.startswith(q + "/") for q in out):
            out.append(p)
    return out


@pytest.mark.parametrize("splice", [False, True], ids=["mktree", "edited-in-place"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(PATHS, max_size=5), removals=st.lists(PATHS, max_size=3))
def test_tree_is_the_index_tree(tmp_path_factory, monkeypatch, splice: bool, writes: list[str],
                                removals: list[str]):
    # Edited in place: every folder, however small, takes the path large ones take.
    monkeypatch.setattr(commit, "SPLICE_BYTES", 0 if splice else 1 << 40)
    repo = _repo(tmp_path_factory.mktemp("t"))
    head = mgit.head(repo)
    existing = set(git(repo, "ls-files", "-z").split("\0")[:-1])
    writes = _disjoint([w for w in writes if not any(e.startswith(w + "/") or w.startswith(e + "/")
                                                      for e in existing)])
    blob = mgit.hash_blob(repo, b"new\n")
    blobs = {w: ("100644", blob) for w in writes}
    gone = [r for r in removals if r in existing and r not in blobs]
    assert mgit.build_tree(repo, head, blobs, gone) == _by_index(repo, head, blobs, gone)


def test_removing_every_file_leaves_the_empty_tree(tmp_path: Path):
    repo = _repo(tmp_path)
    files = git(repo, "ls-files", "-z").split("\0")[:-1]
    tree = mgit.build_tree(repo, mgit.head(repo), {}, files)
    assert tree == _by_index(repo, mgit.head(repo), {}, files)
    assert git(repo, "cat-file", "-t", tree).strip() == "tree"


def test_first_commit_and_executable_mode(tmp_path: Path):
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    blob = mgit.hash_blob(repo, b"#!/bin/sh\n")
    blobs = {"bin/run": ("100755", blob), "mops.yaml": ("100644", blob)}
    assert mgit.build_tree(repo, None, blobs) == _by_index(repo, None, blobs, [])


def test_a_large_folder_is_edited_in_place_as_the_index_would_write_it(tmp_path: Path,
                                                                        monkeypatch):
    """``models/`` of a large inventory: its entry is replaced without a mktree of the folder;
    a new entry (which must be sorted in) and a file becoming a folder go through mktree."""
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    blob = mgit.hash_blob(repo, b"x\n")
    paths = [f"models/m-{i:04d}/card.md" for i in range(0, 1200, 2)] + ["models/m-0006.md"]
    info = "".join(f"100644 {blob}\t{p}\n" for p in paths)
    run(repo, "update-index", "--add", "--index-info", input=info.encode())
    git(repo, "commit", "-qm", "base")
    head = mgit.head(repo)
    assert len(git(repo, "cat-file", "-p", "HEAD:models").splitlines()) > 400
    raw = []
    monkeypatch.setattr(commit._TreeWriter, "write_raw",
                        lambda self, data, real=commit._TreeWriter.write_raw:
                        raw.append(len(data)) or real(self, data))
    new = mgit.hash_blob(repo, b"y\n")
    for blobs, removals, spliced in [
            ({"models/m-0006/card.md": ("100644", new)}, [], True),     # a sub-folder replaced
            ({"models/m-0006.md": ("100755", new)}, ["models/m-1198/card.md"], True),
            ({"models/m-0007/card.md": ("100644", new)}, [], False),    # a new folder
            ({"models/m-0006.md/x": ("100644", new)}, ["models/m-0006.md"], False)]:  # file -> folder
        raw.clear()
        assert mgit.build_tree(repo, head, blobs, removals) == _by_index(repo, head, blobs, removals)
        assert bool(raw) is spliced
    run(repo, "fsck", "--strict", "--no-dangling")
