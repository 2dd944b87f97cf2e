"""Which paths mops would overwrite: the same answer as ``git status``, in every state a path
can be in, with or without the shortcut that skips git for the files of a new record and for
a committed record's file that is as committed."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path

import pytest

from mops import git as mgit
from mops.git import status
from tests.conftest import Mops, git, snapshot

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


def _index_form(repo: Path, index: str) -> None:
    """Rewrite the index as ``v2``, ``v3``, ``v4`` or ``split``."""
    if index == "split":
        git(repo, "update-index", "--split-index")
    else:
        git(repo, "update-index", "--index-version", index[1:])


@pytest.mark.parametrize(("state", "index"), list(itertools.product(
    STATES, ["v2", "v3", "v4", "split"])))
def test_dirty_paths_is_what_git_status_says(tmp_path: Path, state: str, index: str):
    repo = _repo(tmp_path)
    make, dirty = STATES[state]
    make(repo, NEW)
    # Beside a clean, new path, the dirty one is still named.
    _agrees_with_git_status(repo, index, NEW, dirty,
                            beside="models/m/versions/1.0.0/evidence/E-0a1b2c.yaml")


def _agrees_with_git_status(repo: Path, index: str, path: str, dirty: bool, *,
                            beside: str) -> None:
    """With the index rewritten in the ``index`` form after the path's state was made (so
    that its entry, if any, is compressed (v4) or kept in the shared file (split)),
    ``dirty_paths`` names ``path`` as git status does, alone and after ``beside``."""
    _index_form(repo, index)
    named = _by_status(repo, path)
    assert bool(named) is dirty  # the oracle agrees with the table
    assert mgit.dirty_paths(repo, [path]) == named
    assert mgit.dirty_paths(repo, [beside, path]) == named


def test_the_shortcut_answers_only_for_paths_nothing_knows(tmp_path: Path):
    """Of the states above, git is skipped exactly for a path absent from HEAD, the index and
    the working tree (each twin below fails if one of the three looks is left out), and for
    a committed file as committed (see the tracked states below)."""
    for name, (make, _dirty) in STATES.items():
        repo = _repo(tmp_path / name.replace(" ", "-").replace(",", ""))
        make(repo, NEW)
        assert status._all_clean(repo, [NEW]) is (name in ("new", "committed and clean")), name


def test_a_folder_whose_staged_files_were_deleted_is_not_new(tmp_path: Path):
    """A folder (as the reports ask of a model's) in neither HEAD nor the working tree whose
    files are staged is dirty; its path is in the index only as their names' start."""
    repo = _repo(tmp_path)
    folder = "models/m/versions/9.0.0"
    _put(repo, folder + "/version.yaml", "staged\n")
    git(repo, "add", folder)
    (repo / folder / "version.yaml").unlink()
    (repo / folder).rmdir()
    assert _by_status(repo, folder) == [folder + "/version.yaml"]
    assert status._all_clean(repo, [folder]) is False
    assert mgit.dirty_paths(repo, [folder]) == [folder + "/version.yaml"]


def test_the_shortcut_reads_the_index_git_is_told_to_use(tmp_path: Path, monkeypatch):
    repo = _repo(tmp_path)
    _put(repo, NEW, "staged\n")
    other = tmp_path / "other-index"
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    git(repo, "read-tree", "HEAD")
    git(repo, "add", NEW)
    (repo / NEW).unlink()
    assert status._all_clean(repo, [NEW]) is False
    assert mgit.dirty_paths(repo, [NEW]) == [NEW]
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert mgit.dirty_paths(repo, [NEW]) == []  # the repository's own index never had it


OLD = "models/m/versions/1.0.0/version.yaml"  # a committed record's file, rewritten


def _modify_keeping_stat(r: Path, p: str) -> None:
    st = (r / p).stat()
    (r / p).write_text("C\n")  # same size
    os.utime(r / p, ns=(st.st_atime_ns, st.st_mtime_ns))


def _symlink_to_same_bytes(r: Path, p: str) -> None:
    _put(r, "models/m/twin.yaml", "c\n")
    (r / p).unlink()
    (r / p).symlink_to("../../twin.yaml")


def _executable_to_symlink(r: Path, p: str) -> None:
    """(A symlink's own mode has every executable bit set.)"""
    (r / p).chmod(0o755)
    git(r, "add", p)
    git(r, "commit", "-qm", "executable")
    _symlink_to_same_bytes(r, p)


def _conflict(r: Path, p: str) -> None:
    git(r, "checkout", "-q", "-b", "theirs")
    _put(r, p, "theirs\n")
    git(r, "commit", "-qam", "theirs")
    git(r, "checkout", "-q", "main")
    _put(r, p, "ours\n")
    git(r, "commit", "-qam", "ours")
    subprocess.run(["git", "merge", "-q", "theirs"], cwd=r, capture_output=True)


def _conflict_resolved(r: Path, p: str) -> None:
    """Resolved as HEAD had it: the index's resolve-undo extension holds the path again."""
    _conflict(r, p)
    _put(r, p, "ours\n")
    git(r, "add", p)


def _crlf_blob_under_text(where: str):
    """Committed with CRLF, then marked text: git's blob of the same bytes is LF now."""
    def make(r: Path, p: str) -> None:
        (r / p).write_bytes(b"c\r\n")
        git(r, "add", p)
        git(r, "commit", "-qm", "crlf")
        attributes = ".git/info/attributes" if where == "info" else "models/.gitattributes"
        _put(r, attributes, "version.yaml text eol=crlf\n")
        if where in ("committed", "deleted"):
            git(r, "add", attributes)
            git(r, "commit", "-qm", "attributes")
        if where == "deleted":
            (r / attributes).unlink()  # git reads the index's
        then = (r / p).stat().st_mtime - 100
        os.utime(r / p, (then, then))  # git must hash the file again
    return make


def _symlink_as_file(r: Path, p: str) -> None:
    """A committed symlink checked out as a plain file holding its target."""
    git(r, "config", "core.symlinks", "false")
    (r / p).unlink()
    (r / p).symlink_to("twin.yaml")
    git(r, "add", p)
    git(r, "commit", "-qm", "link")
    (r / p).unlink()
    git(r, "checkout", "--", p)


# Each way a committed file mops is about to rewrite can stand: (what to do, dirty?).
TRACKED = {
    "committed and clean": (lambda r, p: None, False),
    "modified, same size and mtime": (_modify_keeping_stat, True),
    "modified and staged": (lambda r, p: (_put(r, p, "staged\n"), git(r, "add", p)), True),
    "staged, then put back in the working tree": (
        lambda r, p: (_put(r, p, "staged\n"), git(r, "add", p), _put(r, p, "c\n")), True),
    "made executable": (lambda r, p: (r / p).chmod(0o755), True),
    "made executable and staged": (
        lambda r, p: ((r / p).chmod(0o755), git(r, "add", p)), True),
    "a symlink to the same bytes": (_symlink_to_same_bytes, True),
    "an executable, then a symlink to the same bytes": (_executable_to_symlink, True),
    "deleted": (lambda r, p: (r / p).unlink(), True),
    "assume-unchanged": (lambda r, p: git(r, "update-index", "--assume-unchanged", p), False),
    "skip-worktree": (lambda r, p: git(r, "update-index", "--skip-worktree", p), False),
    "removed from the index only": (lambda r, p: git(r, "rm", "-q", "--cached", p), True),
    "removed from the index, then intent to add": (
        lambda r, p: (git(r, "rm", "-q", "--cached", p), git(r, "add", "-N", p)), True),
    "in a merge conflict": (_conflict, True),
    "a merge conflict resolved as committed": (_conflict_resolved, False),
    "committed with CRLF, then marked text": (_crlf_blob_under_text("committed"), True),
    "the same, the attributes untracked": (_crlf_blob_under_text("untracked"), True),
    "the same, the attributes deleted": (_crlf_blob_under_text("deleted"), True),
    "the same, the attributes in info/": (_crlf_blob_under_text("info"), True),
    "a symlink checked out as a file": (_symlink_as_file, False),
    "another path ends with it": (
        lambda r, p: (_put(r, "x" + p, "c\n"), git(r, "add", "x" + p),
                      git(r, "commit", "-qm", "x")), False),
    "another path starts with it": (
        lambda r, p: (_put(r, p + ".bak", "c\n"), git(r, "add", p + ".bak"),
                      git(r, "commit", "-qm", "bak")), False),
}


def _tracked_repo(tmp_path: Path) -> Path:
    repo = _repo(tmp_path)
    _put(repo, OLD, "c\n")
    git(repo, "add", OLD)
    git(repo, "commit", "-qm", "version")
    return repo


@pytest.mark.parametrize(("state", "index"), list(itertools.product(
    TRACKED, ["v2", "v3", "v4", "split"])))
def test_dirty_paths_of_a_committed_file_is_what_git_status_says(tmp_path: Path, state: str,
                                                                 index: str):
    repo = _tracked_repo(tmp_path)
    make, dirty = TRACKED[state]
    make(repo, OLD)
    _agrees_with_git_status(repo, index, OLD, dirty, beside=NEW)  # beside a new record's file


def test_the_shortcut_answers_only_for_a_file_as_committed(tmp_path: Path):
    """Of the states above, git is skipped exactly for a file whose index entry, HEAD's blob
    and bytes agree, with no flag, attribute or other occurrence of its path in the index
    to doubt: each twin fails if one of the checks is left out (the entry's flags:
    assume-unchanged, skip-worktree, intent to add, conflict; a second occurrence: the
    resolved conflict; its mode: the symlink as a file; HEAD's blob and mode: the staged
    states; the bytes: modified; the executable bit; a regular file: the executable's
    symlink; the attributes: CRLF; the index's .gitattributes: deleted)."""
    for name in TRACKED:
        repo = _tracked_repo(tmp_path / name.replace(" ", "-").replace(",", ""))
        TRACKED[name][0](repo, OLD)
        clean = name in ("committed and clean", "another path starts with it")
        assert status._all_clean(repo, [OLD]) is clean, name
        assert status._all_clean(repo, [NEW, OLD]) is clean, name


def test_the_shortcut_asks_git_under_autocrlf_or_an_index_of_other_form(tmp_path: Path):
    repo = _tracked_repo(tmp_path)
    assert status._all_clean(repo, [OLD]) is True
    for value in ("true", "input"):
        git(repo, "config", "core.autocrlf", value)
        assert status._all_clean(repo, [OLD]) is False, value
    git(repo, "config", "core.autocrlf", "false")
    assert status._all_clean(repo, [OLD]) is True
    for form in ("4", "3"):  # v3 without extended entries is v2's layout
        git(repo, "update-index", "--index-version", form)
        assert status._all_clean(repo, [OLD]) is (form == "3"), form


def test_a_committed_file_under_another_index_is_left_to_git(tmp_path: Path, monkeypatch):
    repo = _tracked_repo(tmp_path)
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "other-index"))
    git(repo, "read-tree", "HEAD")
    assert status._all_clean(repo, [OLD]) is False
    assert mgit.dirty_paths(repo, [OLD]) == []
    _put(repo, OLD, "mine\n")
    assert mgit.dirty_paths(repo, [OLD]) == [OLD]


def test_a_committed_file_that_cannot_be_read_is_left_to_git(tmp_path: Path, monkeypatch):
    """(Tests run as root here, where chmod 000 does not stop a read.)"""
    repo = _tracked_repo(tmp_path)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert status._all_clean(repo, [OLD]) is False
    assert mgit.dirty_paths(repo, [OLD]) == []


def test_an_index_entry_is_found_only_where_an_entry_can_start(tmp_path: Path):
    """``_entry`` against git's own listing, and the same bytes shifted or padded wrongly."""
    repo = _tracked_repo(tmp_path)
    data = (repo / ".git/index").read_bytes()
    mode, sha, _stage = git(repo, "ls-files", "-s", "--", OLD).split("\t")[0].split()
    assert status._entry(data, OLD) == (mode, sha)
    assert status._entry(data, "models/m/versions/1.0.0/none.yaml") is None
    at = data.index(OLD.encode() + b"\0")
    shifted = data[:12] + b"\0" * 4 + data[12:]
    assert status._entry(shifted, OLD) == ("", "")
    padded = data[:at + len(OLD) + 1] + b"x" + data[at + len(OLD) + 2:]
    assert status._entry(padded, OLD) == ("", "")
    git(repo, "update-index", "--chmod=+x", OLD)
    data = (repo / ".git/index").read_bytes()
    assert status._entry(data, OLD) == ("100755", sha)


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


@pytest.mark.parametrize("flagged", [("a",), ("c",), ("e",), ("a", "e"), ("b", "c", "d")])
@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_a_flagged_entry_anywhere_in_the_listing_is_named(tmp_path: Path, flagged: tuple[str, ...],
                                                          flag: str):
    """The first entry, the last, or any between: none is taken for an entry git compares
    (the listing is told apart from one of plain entries without walking it)."""
    repo = _repo(tmp_path)
    for name in "abcde":
        _put(repo, f"models/m/{name}.yaml", "x\n")
    git(repo, "add", "models")
    git(repo, "commit", "-qm", "five")
    for name in flagged:
        git(repo, "update-index", flag, f"models/m/{name}.yaml")
    assert sorted(status.unchecked_entries(repo, ["models"])) == \
        [f"models/m/{name}.yaml" for name in flagged]
    assert status.unchecked_entries(repo, ["models/m/f.yaml"]) == []


@pytest.mark.parametrize("edit", ["edited", "edited, same size and mtime"])
def test_promote_refuses_a_version_record_edited_by_hand(inventory: Path, mops: Mops,
                                                         tmp_path: Path, edit: str):
    """The file promote rewrites, edited and not committed, is neither overwritten nor
    committed; its clean twin (a second version, as committed) is promoted."""
    from tests.policy.helpers import register

    ref = register(mops, tmp_path)
    twin = register(mops, tmp_path, version="2.0.0")
    path = "models/credit-pd/versions/1.0.0/version.yaml"
    record = inventory / path
    st = record.stat()
    text = record.read_text().replace("stage: development", "stage: production ", 1)
    assert len(text) == st.st_size
    record.write_text(text if edit != "edited" else text + "# mine\n")
    if edit != "edited":
        os.utime(record, ns=(st.st_atime_ns, st.st_mtime_ns))
    before = snapshot(inventory)
    r = mops("promote", ref, "--to", "validation", code=2)
    assert f"{path}: has uncommitted changes" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert snapshot(inventory) == before
    assert "stage: production " in record.read_text()
    assert status._all_clean(inventory, ["models/credit-pd/versions/2.0.0/version.yaml"])
    mops("promote", twin, "--to", "validation")
    assert "stage: production " in record.read_text()
    assert git(inventory, "show", "--name-only", "--format=", "HEAD").split() == [
        "models/credit-pd/versions/2.0.0/version.yaml"]
