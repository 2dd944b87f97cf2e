"""A walk of history kept between runs gives what git's own walk gives, at the same commit,
after a line of new commits, after a merge, after history is rewritten, and never with a
damaged or forged file (git's own output is the oracle throughout)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mops import git as mgit
from mops.git import history
from mops.inventory import sealed, walks
from tests.conftest import git
from tests.git.test_changes_log import _commit, _history

RULES = ["mops.yaml", "policies", ".mops", "report_templates"]
FOLDER = "models/m"


class Kept:
    """An in-memory store that counts what was asked of it."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        return self.files.get(name)

    def put(self, name: str, value: bytes) -> None:
        self.files[name] = value


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _events(found: tuple[dict, dict]) -> tuple[dict, dict]:
    commits, events = found
    return commits, {path: sorted(evs, key=lambda e: (e.commit, e.status))
                     for path, evs in events.items()}


def _readings(repo: Path, rev: str, store: mgit.WalkStore | None) -> dict[str, object]:
    """Everything mops reads from a kept walk, at ``rev``."""
    history._WALKS.clear()  # what this process read: each reading goes to the store
    return {
        "changes": mgit.changes_log(repo, rev, [FOLDER], store),
        "rules": mgit.changes_log(repo, rev, RULES, store),
        "apart": mgit.changes_log_of(repo, rev, [RULES, [FOLDER]], store),
        "events": _events(mgit.path_history(repo, rev, [FOLDER], store)),
        "trail": mgit.log_records(repo, [FOLDER], rev=rev, with_paths=True, store=store,
                                  shared=True),
        "log": mgit.log_records(repo, [FOLDER], rev=rev, store=store),
        "log-shared": mgit.log_records(repo, [FOLDER], rev=rev, store=store, shared=True),
        "rules-trail": mgit.log_records(repo, RULES, rev=rev, with_paths=True, store=store,
                                        shared=True),
        "rules-log": mgit.log_records(repo, RULES, rev=rev, with_paths=True, store=store),
    }


def _oracle(repo: Path, rev: str) -> dict[str, object]:
    return _readings(repo, rev, None)


def _line(repo: Path, tag: str = "") -> None:
    """Commits in a line: on the folder, on the rules, on neither, and one dated years
    before the others (git's date order is not its topological order)."""
    _commit(repo, "line model", **{"models__m__card.md": f"4{tag}\n"})
    _commit(repo, "line rules", **{"mops.yaml": f"d{tag}\n"})
    _commit(repo, "line other", **{"other.txt": f"z{tag}"})
    env = dict(os.environ, GIT_COMMITTER_DATE="2001-01-01T00:00:00Z",
               GIT_AUTHOR_DATE="2001-01-01T00:00:00Z")
    (repo / "models/m/versions/1").mkdir(parents=True, exist_ok=True)
    (repo / "models/m/versions/1/version.yaml").write_text(f"backdated{tag}\n")
    git(repo, "add", "-A")
    subprocess.run(["git", "commit", "-q", "-m", "backdated"], cwd=repo, env=env, check=True)
    _commit(repo, "line model again", **{"models__m__evidence.md": f"e{tag}\n"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    _history(repo)
    return repo


@pytest.mark.parametrize("graph", [False, True])
def test_a_line_of_new_commits_extends_the_kept_walk(repo: Path, graph: bool,
                                                     monkeypatch: pytest.MonkeyPatch):
    if graph:
        git(repo, "commit-graph", "write", "--reachable", "--changed-paths")
    store = Kept()
    old = _head(repo)
    assert _readings(repo, old, store) == _oracle(repo, old)
    assert store.files
    _line(repo)
    new = _head(repo)
    ranges: list[str] = []
    real = history.run

    def spy(top: Path, *args: str, **kw: object) -> bytes:
        ranges.extend(a for a in args if ".." in a)
        return real(top, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(history, "run", spy)
    found = _readings(repo, new, store)
    monkeypatch.undo()
    assert found == _oracle(repo, new)
    assert f"{old}..{new}" in ranges  # only the new commits were walked
    # And the kept output is, byte for byte, git's walk at the new commit.
    for value in store.files.values():
        tip, _, kept = value.partition(b"\n")
        assert tip.decode() == new
    args = ["--literal-pathspecs", "-c", "log.showSignature=false", "-c", "core.quotePath=false",
            "log", "-z", "--raw", "--no-renames", "--no-abbrev", "--full-history", "--topo-order",
            "--no-color", "--format=%x1e%H%x1f%P%x1f%ct%x1f%ae%x1f%ce%x1f%(trailers:only,unfold)%x1d"]
    history._WALKS.clear()
    assert mgit.walk(repo, args, new, [FOLDER], store) == \
        git(repo, *args, new, "--", FOLDER).encode()


def test_a_history_without_merges_reads_the_trail_from_the_shared_walk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Without a merge in history, the trail's commits are the replay's (git's log of a path
    lists what its --full-history log lists): only they are read, and what is read is
    what git's own log gives; the first merge ends it."""
    repo = tmp_path / "line"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    _commit(repo, "base", **{"mops.yaml": "a\n", "models__m__card.md": "1\n", "other.txt": "x"})
    _line(repo)
    store = Kept()
    head = _head(repo)
    walked: list[tuple[str, ...]] = []
    real = history.run

    def spy(top: Path, *args: str, **kw: object) -> bytes:
        walked.append(args)
        return real(top, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(history, "run", spy)
    found = _readings(repo, head, store)
    monkeypatch.undo()
    assert found == _oracle(repo, head)
    assert any("--no-walk=unsorted" in a and "--name-only" in a for a in walked)
    _line(repo, "again")
    head = _head(repo)
    assert _readings(repo, head, store) == _oracle(repo, head)
    git(repo, "checkout", "-q", "-b", "side", "HEAD~2")
    _commit(repo, "side model", **{"models__m__card.md": "side\n"})
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    head = _head(repo)
    assert _readings(repo, head, store) == _oracle(repo, head)


def test_a_merge_since_walks_everything_again(repo: Path):
    store = Kept()
    old = _head(repo)
    _readings(repo, old, store)
    git(repo, "checkout", "-q", "-b", "later")
    _commit(repo, "later model", **{"models__m__card.md": "5\n"})
    git(repo, "checkout", "-q", "main")
    _commit(repo, "main rules", **{"mops.yaml": "e\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge later", "later")
    new = _head(repo)
    assert _readings(repo, new, store) == _oracle(repo, new)


def test_history_rewritten_under_the_kept_walk(repo: Path):
    """The kept commit is no longer below HEAD (a branch reset and rebuilt, with a line of
    ordinary commits on top): everything is walked again."""
    _line(repo)
    store = Kept()
    old = _head(repo)
    _readings(repo, old, store)
    git(repo, "reset", "-q", "--hard", "HEAD~4")
    _commit(repo, "rewritten", **{"models__m__card.md": "rewritten\n"})
    _commit(repo, "rewritten 2", **{"other.txt": "w"})
    new = _head(repo)
    assert subprocess.run(["git", "merge-base", "--is-ancestor", old, new],
                          cwd=repo).returncode == 1
    assert _readings(repo, new, store) == _oracle(repo, new)
    # And back to a commit below the kept one: walked again, not cut from it.
    git(repo, "reset", "-q", "--hard", "HEAD~2")
    back = _head(repo)
    assert _readings(repo, back, store) == _oracle(repo, back)


def without_commit(shard: bytes, hide: str) -> bytes:
    """A shard of the index of the models' commits (mops.git.touches) without ``hide``."""
    index = json.loads(shard)
    kept = {name: [c for c in commits if c != hide] for name, commits in index["entries"].items()}
    if kept == index["entries"]:
        return shard
    return json.dumps(index | {"entries": kept}).encode()


def _forged(repo: Path, store: walks.SealedWalks, hide: str) -> int:
    """Rewrite every kept walk, and the index of the models' commits, without commit
    ``hide``, sealed with a key that is not the user's; the number of files changed."""
    changed = 0
    for path in store.folder.iterdir():
        data = sealed.read(path, sealed.key())
        assert data is not None
        if data.startswith(b"{"):  # a shard of the index of the models folder's entries
            shard = without_commit(data, hide)
            if shard != data:
                changed += 1
                sealed.write(path, b"k" * 32, shard)
            continue
        tip, _, out = data.partition(b"\n")
        records = out.split(b"\x1e")
        kept = [r for r in records if not r.startswith(hide.encode())]
        if len(kept) != len(records):
            changed += 1
            sealed.write(path, b"k" * 32, tip + b"\n" + b"\x1e".join(kept))
    return changed


@pytest.mark.parametrize("sealed_by", ["someone else", "this user"])
def test_a_forged_kept_walk_is_not_believed(repo: Path, sealed_by: str):
    """A kept walk that leaves out a commit: unsealed or sealed by someone else it is
    ignored and history walked again; the forging twin, sealed with the user's own key
    (the trust boundary), would hide the commit, so the forgery is a real one."""
    head = _head(repo)
    hide = git(repo, "log", "-1", "--format=%H", "--grep=side model").strip()
    store = walks.store(repo)
    assert store is not None
    truth = _readings(repo, head, store)
    assert hide in {c.sha for c in truth["changes"]}  # type: ignore[attr-defined]
    assert _forged(repo, store, hide) > 0
    if sealed_by == "this user":
        for path in store.folder.iterdir():  # seal the forgery with the user's own key
            data = sealed.read(path, b"k" * 32)
            if data is not None:
                sealed.write(path, sealed.key(), data)
    found = _readings(repo, head, store)
    hidden = hide not in {c.sha for c in found["changes"]}  # type: ignore[attr-defined]
    assert hidden is (sealed_by == "this user")
    if sealed_by == "someone else":
        assert found == truth


def test_a_damaged_kept_walk_is_walked_again(repo: Path):
    head = _head(repo)
    store = walks.store(repo)
    assert store is not None
    truth = _readings(repo, head, store)
    for i, path in enumerate(sorted(store.folder.iterdir())):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if i % 2 else data[:-3] + b"xyz")
    assert _readings(repo, head, store) == truth
    assert all(sealed.read(p, sealed.key()) is not None for p in store.folder.iterdir())


def test_no_cache_keeps_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    assert walks.store(repo) is None


def test_a_kept_order_that_misses_a_commit_never_drops_it(repo: Path):
    """The scoped replay sorts what it read by the kept order of all of history: a commit
    missing there (a kept file believed but wrong) is not dropped; git is asked again."""
    head = _head(repo)
    truth = mgit.changes_log_of(repo, head, [RULES, [FOLDER]])
    store = Kept()
    history._WALKS.clear()
    assert mgit.changes_log_of(repo, head, [RULES, [FOLDER]], store) == truth
    hide = truth[1].sha.encode()
    changed = 0
    for name, value in store.files.items():
        if b"\x1e" not in value:  # rev-list's lines, not a log's records
            store.files[name] = b"\n".join(line for line in value.split(b"\n") if line != hide)
            changed += 1
    assert changed == 1
    history._WALKS.clear()
    assert mgit.changes_log_of(repo, head, [RULES, [FOLDER]], store) == truth
