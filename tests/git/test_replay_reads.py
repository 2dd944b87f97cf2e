"""What history replay reads from git: changes with blob ids, merges per parent, lazy trees."""

from __future__ import annotations

from pathlib import Path

from mops import git as mgit
from tests.conftest import git


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "m").mkdir()
    (repo / "m" / "a").write_text("1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base\n\nMops-Action: init\nMops-Actor: bob@acme.test")
    git(repo, "checkout", "-qb", "side")
    (repo / "m" / "b").write_text("2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "side")
    git(repo, "checkout", "-q", "main")
    (repo / "m" / "c").write_text("3\n")
    (repo / "other").write_text("x\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "main")
    git(repo, "merge", "-q", "--no-commit", "side")
    (repo / "m" / "evil").write_text("e\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "merge")
    return repo


def test_changes_log_lists_blobs_trailers_and_merges(tmp_path: Path):
    repo = _repo(tmp_path)
    log = mgit.changes_log(repo, "HEAD", ["m"])
    assert [c.is_merge for c in log] == [False, False, False, True]
    base = log[0]
    assert base.parents == () and base.trailers == {"Mops-Action": "init",
                                                    "Mops-Actor": "bob@acme.test"}
    [change] = base.changes
    blob = git(repo, "rev-parse", "HEAD:m/a").strip()
    assert (change.status, change.path, change.old, change.new, change.mode) == \
        ("A", "m/a", "", blob, "100644")
    assert log[-1].changes == ()


def test_merge_changes_per_parent(tmp_path: Path):
    repo = _repo(tmp_path)
    merge = git(repo, "rev-parse", "HEAD").strip()
    first, second = git(repo, "rev-parse", "HEAD^1", "HEAD^2").split()
    found = mgit.merge_changes(repo, [(merge, first), (merge, second)], ["m"])
    assert sorted(c.path for c in found[(merge, first)]) == ["m/b", "m/evil"]
    assert sorted(c.path for c in found[(merge, second)]) == ["m/c", "m/evil"]


def test_tree_reader_reads_only_what_is_asked(tmp_path: Path):
    repo = _repo(tmp_path)
    store = mgit.ObjectStore(repo)
    try:
        reader = mgit.TreeReader(store, git(repo, "rev-parse", "HEAD~1").strip())
        assert reader.read("m/c") == b"3\n"
        assert "m/evil" not in reader.entries and "m" in reader.dirs
        assert sorted(reader.dirs["m"]) == ["a", "c"]
        assert reader.entries["m/a"].sha == git(repo, "rev-parse", "HEAD:m/a").strip()
        assert sorted(reader.entries) == ["m/a", "m/c", "other"]
        ids = mgit.object_ids(repo, ["HEAD:m/a", "HEAD:nothing", "HEAD:m"])
        assert ids == {"HEAD:m/a": reader.entries["m/a"].sha, "HEAD:nothing": None, "HEAD:m": None}
    finally:
        store.close()
