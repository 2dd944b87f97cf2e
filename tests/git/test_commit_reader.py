"""A commit read lazily, one model folder at a time, gives exactly what reading its whole
tree gives; reading one model lists no other model's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mops import git as mgit
from mops.git import objects
from tests.conftest import git

FILES = ("mops.yaml", "policies/p.yaml", ".mops/allowed_signers", "models/.gitkeep",
         "models/a/card.md", "models/a/versions/1.0.0/version.yaml", "models/a-b/card.md",
         "models/é ü/card.md", "models/c/versions/2/evidence/files/E-1/x.bin", "README.md")


def _repo(tmp_path: Path, prefix: str, models: int = 0) -> tuple[Path, str]:
    repo = tmp_path / "r"
    base = repo / prefix if prefix else repo
    extra = tuple(f"models/m{i:02d}/card.md" for i in range(models))
    for rel in (*FILES, *extra):
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(rel + "\n")
    os.symlink("../../mops.yaml", base / "models" / "a" / "link")
    (repo / "outside.txt").write_text("not the inventory\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    return repo, git(repo, "rev-parse", "HEAD").strip()


def _paths() -> list[str]:
    """Files, folders and paths that are not there, inside and outside the models."""
    return [*FILES, "models/a/link", "", "models", "models/a", "models/a/versions",
            "models/é ü", "policies", "models/zz/card.md", "models/a/nope", "nope", "models/a/"]


@pytest.mark.parametrize("prefix", ["", "inv", "sub/inv"])
def test_a_lazy_reader_gives_what_the_whole_tree_gives(tmp_path: Path, prefix: str):
    repo, head = _repo(tmp_path, prefix)
    eager = objects.CommitReader(repo, head, prefix)
    assert "models/a/card.md" in eager.entries
    assert ("outside.txt" in eager.entries) is (not prefix)
    # Asked path by path, each on a reader that has listed nothing yet...
    for path in _paths():
        lazy = objects.CommitReader(repo, head, prefix, lazy="models")
        assert (path in lazy.entries, path in lazy.dirs) == (path in eager.entries,
                                                             path in eager.dirs), path
        assert lazy.entries.get(path) == eager.entries.get(path), path
        assert lazy.dirs.get(path) == eager.dirs.get(path), path
        assert lazy.is_symlink(path) == eager.is_symlink(path)
    # ...one model's files, and everything at once.
    lazy = objects.CommitReader(repo, head, prefix, lazy="models")
    assert sorted(lazy.under(["models/a"])) == sorted(p for p in eager.entries
                                                      if p.startswith("models/a/"))
    assert lazy.read("models/a/card.md") == b"models/a/card.md\n"
    assert dict(lazy.entries) == dict(eager.entries)
    assert dict(lazy.dirs) == dict(eager.dirs)
    assert sorted(objects.CommitReader(repo, head, prefix, lazy="models").under(["models"])) \
        == sorted(p for p in eager.entries if p.startswith("models/"))


def test_reading_one_model_lists_no_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    repo, head = _repo(tmp_path, "", models=40)
    calls: list[tuple[str, ...]] = []
    real = objects.run

    def spy(top: Path, *args: str, **kw):  # records what git is asked to list
        calls.append(args)
        return real(top, *args, **kw)

    monkeypatch.setattr(objects, "run", spy)
    lazy = objects.CommitReader(repo, head, "", lazy="models")
    assert lazy.entries.get("models/m07/card.md") is not None
    assert sorted(lazy.dirs["models/m07"]) == ["card.md"]
    recursive = [c for c in calls if "-r" in c]
    listed = [p for c in recursive for p in c[c.index("--") + 1:]]
    assert "models/m07/" in listed
    assert not [p for p in listed if p.startswith("models") and p != "models/m07/"], listed
    # Past UNITS folders one by one, the rest are listed together, once.
    for i in range(objects.CommitReader.UNITS + 5):
        assert f"models/m{i:02d}/card.md" in lazy.entries
    whole = [c for c in calls if "-r" in c and "models/" in c]
    assert len(whole) == 1
    eager = mgit.CommitReader(repo, head)
    assert dict(lazy.entries) == dict(eager.entries)
