"""Commits built along the changed paths (mktree) have exactly the tree an index would give."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mops import git as mgit
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(PATHS, max_size=5), removals=st.lists(PATHS, max_size=3))
def test_tree_is_the_index_tree(tmp_path_factory, writes: list[str], removals: list[str]):
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
