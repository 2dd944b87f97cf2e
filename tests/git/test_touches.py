"""The index of which commits touched each model (mops.git.touches) answers one model's
history as git's own walk does: the same commits, the same changes per commit, parents
first; in random histories (merges both ways, evil merges, merges the same as both
parents, commits outside models/, a model deleted and added again, a model whose name is
a prefix of another's), after new commits, after history is rewritten, and never from a
damaged or forged shard. git's ``log --full-history --topo-order --raw -- models/M`` is
the oracle throughout."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from mops import git as mgit
from mops.git import history, touches
from mops.inventory import sealed, walks
from tests.conftest import git
from tests.git.test_walks import Kept, _oracle, _readings

MODELS = ["model-1", "model-10", "model-2", "model-3"]


class Indexed(Kept):
    """An in-memory store that indexes ``models`` and counts the index's builds."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def put(self, name: str, value: bytes) -> None:
        self.puts += 1
        super().put(name, value)

    def indexes(self, folder: str) -> bool:
        return folder == "models"


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


class Random:
    """Random histories: commits on several branches, merged either way (an evil change
    now and then), files added, changed (from a few contents, so both sides of a merge
    sometimes agree) and deleted, whole models deleted and added again."""

    def __init__(self, repo: Path, seed: int) -> None:
        self.repo = repo
        self.rnd = random.Random(seed)
        self.n = 0
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.email", "t@example.com")
        git(repo, "config", "user.name", "t")
        (repo / "other.txt").write_text("0")
        _commit_all(repo, "root outside models")
        self.branches = ["main"]

    def _edit(self) -> None:
        rnd, repo = self.rnd, self.repo
        kind = rnd.random()
        model = rnd.choice(MODELS)
        folder = repo / "models" / model
        if kind < 0.1 and folder.exists():
            shutil.rmtree(folder)
        elif kind < 0.25:
            (repo / rnd.choice(["other.txt", "mops.yaml"])).write_text(rnd.choice("xyz"))
        elif kind < 0.35 and folder.exists() and any(folder.rglob("*.md")):
            victim = rnd.choice(sorted(folder.rglob("*.md")))
            victim.unlink()
        else:
            rel = rnd.choice(["card.md", "evidence.md", "versions/1/version.md"])
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(rnd.choice("abc"))

    def commit(self) -> None:
        self.n += 1
        for _ in range(self.rnd.choice([1, 1, 2])):
            self._edit()
        _commit_all(self.repo, f"c{self.n}")

    def branch(self) -> None:
        name = f"b{len(self.branches)}"
        git(self.repo, "checkout", "-q", "-b", name)
        self.branches.append(name)

    def switch(self) -> None:
        git(self.repo, "checkout", "-q", self.rnd.choice(self.branches))

    def merge(self) -> None:
        current = git(self.repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
        other = self.rnd.choice([b for b in self.branches if b != current] or [current])
        if other == current:
            return
        subprocess.run(["git", "merge", "-q", "--no-ff", "--no-commit", other], cwd=self.repo,
                       capture_output=True)
        if self.rnd.random() < 0.3:  # an evil merge: a change of its own
            self._edit()
        # A conflict is committed as it stands (markers and all): content is content.
        self.n += 1
        _commit_all(self.repo, f"merge {other} into {current} ({self.n})")

    def grow(self, steps: int, merges: bool = True) -> None:
        for _ in range(steps):
            roll = self.rnd.random()
            if not merges or roll < 0.6:
                self.commit()
            elif roll < 0.7:
                self.branch()
            elif roll < 0.85:
                self.switch()
            else:
                self.merge()
        git(self.repo, "checkout", "-q", "main")
        if merges:
            self.merge()


def _parents_first(log: list[mgit.LoggedCommit]) -> bool:
    listed = {c.sha for c in log}
    seen: set[str] = set()
    for c in log:
        if any(p in listed and p not in seen for p in c.parents):
            return False
        seen.add(c.sha)
    return True


def _same(repo: Path, store: Indexed, exact: bool = False) -> None:
    """Each model's history from the index is git's walk: same commits, same changes each,
    parents first (``exact``: in git's own order too)."""
    rev = _head(repo)
    for model in [*MODELS, "model-4"]:
        history._WALKS.clear()
        truth = mgit.changes_log(repo, rev, [f"models/{model}"])
        found = mgit.changes_log(repo, rev, [f"models/{model}"], store)
        assert sorted(found, key=lambda c: c.sha) == sorted(truth, key=lambda c: c.sha), model
        assert _parents_first(found), model
        if exact:
            assert found == truth, model


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_with_merges(tmp_path: Path, seed: int):
    maker = Random(tmp_path / "r", seed)
    maker.grow(40)
    assert git(maker.repo, "rev-list", "--merges", "HEAD").strip()
    store = Indexed()
    _same(maker.repo, store)
    assert store.puts == touches.SHARDS  # built once, whole
    # New commits, merges among them: each shard brought forward, not built again.
    maker.grow(15)
    store.puts = 0
    _same(maker.repo, store)
    assert 0 < store.puts < touches.SHARDS


@pytest.mark.parametrize("seed", range(3))
def test_random_linear_histories_in_gits_own_order(tmp_path: Path, seed: int):
    maker = Random(tmp_path / "r", 100 + seed)
    maker.grow(30, merges=False)
    store = Indexed()
    _same(maker.repo, store, exact=True)
    maker.grow(10, merges=False)
    _same(maker.repo, store, exact=True)


def test_a_prefix_of_another_models_name_is_its_own(tmp_path: Path):
    maker = Random(tmp_path / "r", 7)
    for model, text in [("model-1", "a"), ("model-10", "b"), ("model-10", "c")]:
        (maker.repo / "models" / model).mkdir(parents=True, exist_ok=True)
        (maker.repo / "models" / model / "card.md").write_text(text)
        _commit_all(maker.repo, model)
    store = Indexed()
    _same(maker.repo, store, exact=True)
    assert len(mgit.changes_log(maker.repo, _head(maker.repo), ["models/model-1"], store)) == 1


def test_a_merge_the_same_as_both_parents_is_left_out(tmp_path: Path):
    """Both sides make the same change: git's full history leaves the merge out (it is the
    same there as every parent) and lists a merge that differs from one parent only."""
    maker = Random(tmp_path / "r", 8)
    repo = maker.repo
    git(repo, "checkout", "-q", "-b", "side")
    for branch in ("side", "main"):
        git(repo, "checkout", "-q", branch)
        (repo / "models/model-1").mkdir(parents=True, exist_ok=True)
        (repo / "models/model-1/card.md").write_text("same")
        (repo / f"models/model-2-{branch}.md").write_text(branch)
        _commit_all(repo, f"{branch} same change")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "side")
    merge = _head(repo)
    store = Indexed()
    _same(repo, store, exact=True)
    touching = touches.commits_touching(repo, merge, "models", "model-1", store)
    assert touching is not None and merge not in touching and len(touching) == 2
    assert merge in git(repo, "log", "--format=%H", "--full-history", "--", "models/model-2-side.md")


def _rewritten(repo: Path, how: str) -> None:
    if how == "amend":
        (repo / "models/model-1/card.md").write_text("amended")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--amend", "-m", "amended")
    elif how == "reset":
        git(repo, "reset", "-q", "--hard", "HEAD~3")
        (repo / "models/model-2").mkdir(parents=True, exist_ok=True)
        (repo / "models/model-2/card.md").write_text("after reset")
        _commit_all(repo, "after reset")
    elif how == "rebase":
        base = git(repo, "rev-parse", "HEAD~4").strip()
        git(repo, "checkout", "-q", "-b", "onto", base)
        (repo / "models/model-3").mkdir(parents=True, exist_ok=True)
        (repo / "models/model-3/new.md").write_text("onto")
        _commit_all(repo, "onto")
        git(repo, "checkout", "-q", "main")
        git(repo, "rebase", "-q", "-X", "theirs", "onto")
    else:  # back to an older commit
        git(repo, "reset", "-q", "--hard", "HEAD~2")


@pytest.mark.parametrize("how", ["amend", "reset", "rebase", "back"])
def test_history_rewritten_under_the_index(tmp_path: Path, how: str):
    """The commits no longer in history leave the index (the twin of the guard: keeping
    them would list commits git does not), without building it again."""
    maker = Random(tmp_path / "r", 9)
    maker.grow(25, merges=False)
    store = Indexed()
    _same(maker.repo, store, exact=True)
    old = _head(maker.repo)
    _rewritten(maker.repo, how)
    assert subprocess.run(["git", "merge-base", "--is-ancestor", old, _head(maker.repo)],
                          cwd=maker.repo).returncode == 1
    store.puts = 0
    _same(maker.repo, store, exact=True)
    assert store.puts < touches.SHARDS


def test_a_tip_that_is_gone_builds_the_index_again(tmp_path: Path):
    maker = Random(tmp_path / "r", 10)
    maker.grow(10, merges=False)
    store = Indexed()
    _same(maker.repo, store)
    for name, value in list(store.files.items()):
        data = json.loads(value)
        data["tip"] = "f" * 40  # a commit this repository does not have
        store.files[name] = json.dumps(data).encode()
    store.puts = 0
    _same(maker.repo, store, exact=True)
    assert store.puts == touches.SHARDS


@pytest.mark.parametrize("damage", ["other folder", "other shard", "other format", "not json",
                                    "entry of another shard", "not a commit"])
def test_a_shard_not_of_this_index_is_not_believed(tmp_path: Path, damage: str):
    """A shard whose contents belong elsewhere, or are not a shard, reads as absent (each
    forged here to hide a commit) and the index is built again."""
    maker = Random(tmp_path / "r", 11)
    maker.grow(20, merges=False)
    store = Indexed()
    _same(maker.repo, store)
    head = _head(maker.repo)
    shard = touches.shard_of("model-1")
    name = touches.shard_name("models", shard)
    data = json.loads(store.files[name])
    hidden = data["entries"]["model-1"].pop()
    if damage == "other folder":
        data["folder"] = "elsewhere"
    elif damage == "other shard":
        data["shard"] = (shard + 1) % touches.SHARDS
    elif damage == "other format":
        data["format"] = "mops-touches-0"
    elif damage == "entry of another shard":
        stray = next(f"x{i}" for i in range(1000) if touches.shard_of(f"x{i}") != shard)
        data["entries"][stray] = []
    elif damage == "not a commit":
        data["entries"]["model-1"].append("HEAD")
    raw = json.dumps(data).encode()
    store.files[name] = raw[:-5] if damage == "not json" else raw
    found = touches.commits_touching(maker.repo, head, "models", "model-1", store)
    assert found is not None and hidden in found


@pytest.mark.parametrize("sealed_by", ["someone else", "this user"])
def test_a_forged_index_is_not_believed(tmp_path: Path, sealed_by: str):
    """A shard that leaves out a commit: sealed by someone else it is ignored and the
    index built again; the twin, sealed with the user's own key (the trust boundary),
    would hide the commit, so the forgery is a real one."""
    maker = Random(tmp_path / "r", 12)
    maker.grow(20, merges=False)
    repo = maker.repo
    store = walks.store(repo)
    assert store is not None and store.indexes("models")
    head = _head(repo)
    truth = touches.commits_touching(repo, head, "models", "model-1", store)
    assert truth
    hide = truth[-1]
    path = store._file(touches.shard_name("models", touches.shard_of("model-1")))
    data = json.loads(sealed.read(path, sealed.key()) or b"")
    data["entries"]["model-1"].remove(hide)
    key = sealed.key() if sealed_by == "this user" else b"k" * 32
    sealed.write(path, key, json.dumps(data).encode())
    found = touches.commits_touching(repo, head, "models", "model-1", store)
    assert found is not None
    assert (hide not in found) is (sealed_by == "this user")
    if sealed_by == "someone else":
        assert found == truth


def test_a_damaged_index_is_built_again(tmp_path: Path):
    maker = Random(tmp_path / "r", 13)
    maker.grow(20)
    repo = maker.repo
    store = walks.store(repo)
    assert store is not None
    head = _head(repo)
    truth = {m: touches.commits_touching(repo, head, "models", m, store) for m in MODELS}
    shards = sorted(store.folder.glob("*touches-*"))
    assert len(shards) == touches.SHARDS
    for i, path in enumerate(shards):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if i % 2 else data[:-3] + b"xyz")
    assert {m: touches.commits_touching(repo, head, "models", m, store) for m in MODELS} == truth
    assert all(sealed.read(p, sealed.key()) is not None for p in shards)


def test_only_one_entry_of_an_indexed_folder_is_answered_from_the_index():
    store = Indexed()
    assert touches.indexed(store, ["models/m"]) == ("models", "m")
    for paths in (["models/m", "mops.yaml"], ["models"], ["other/m"], ["models/"],
                  ["models/m/card.md"]):
        assert touches.indexed(store, paths) is None
    assert touches.indexed(Kept(), ["models/m"]) is None
    sealed_store = walks.SealedWalks(Path("/nonexistent"))
    assert sealed_store.indexes("models") and sealed_store.indexes("sub/models")
    assert not sealed_store.indexes("notmodels")


@pytest.mark.parametrize("rewrite", [False, True])
def test_the_readings_of_one_model_from_the_index(tmp_path: Path, rewrite: bool):
    """Everything mops reads of one model's history (changes, events, trail, log) from an
    indexing store is what git's walks give, before and after new commits or a rewrite."""
    from tests.git.test_changes_log import _history
    from tests.git.test_walks import _line

    repo = tmp_path / "r"
    _history(repo)
    store = Indexed()
    head = _head(repo)
    assert _readings(repo, head, store) == _oracle(repo, head)
    _line(repo)
    if rewrite:
        git(repo, "reset", "-q", "--hard", "HEAD~2")
        _line(repo, "again")
    head = _head(repo)
    assert _readings(repo, head, store) == _oracle(repo, head)


@pytest.mark.parametrize("merges", [False, True])
def test_one_models_log_from_the_index_is_gits_log(tmp_path: Path, merges: bool):
    """``mops log MODEL`` (log_records, shared): in a history without merges, its commits
    come from the index and are git's default log of the folder; with merges, git's walk."""
    maker = Random(tmp_path / "r", 0 if merges else 20)
    maker.grow(30, merges=merges)
    assert bool(git(maker.repo, "rev-list", "--merges", "HEAD").strip()) is merges
    store = Indexed()
    head = _head(maker.repo)
    for model in MODELS:
        history._WALKS.clear()
        truth = mgit.log_records(maker.repo, [f"models/{model}"], rev=head)
        assert mgit.log_records(maker.repo, [f"models/{model}"], rev=head, store=store,
                                shared=True) == truth
    assert any(name.startswith("touches-") for name in store.files) is not merges


@pytest.mark.parametrize("seed", range(3))
def test_the_index_kept_from_a_walk_of_all_models(tmp_path: Path, seed: int):
    """verify's full replay walks all of models/ (with the rules): the index kept from that
    log is the one built apart (merges and roots diffed again), and no walk follows."""
    maker = Random(tmp_path / "r", 30 + seed)
    maker.grow(40)
    head = _head(maker.repo)
    paths = ["mops.yaml", "models", "other.txt"]
    log = mgit.changes_log(maker.repo, head, paths)
    store = Indexed()
    assert mgit.keep_touches(maker.repo, head, "models", log, paths, store)
    assert store.puts == touches.SHARDS
    assert not mgit.keep_touches(maker.repo, head, "models", log, paths, store)  # kept
    built = Indexed()
    for model in [*MODELS, "model-4"]:
        assert touches.commits_touching(maker.repo, head, "models", model, store) == \
            touches.commits_touching(maker.repo, head, "models", model, built)
    store.puts = 0
    _same(maker.repo, store)
    assert store.puts == 0
    assert not mgit.keep_touches(maker.repo, "HEAD", "models", log, paths, Indexed())
    assert not mgit.keep_touches(maker.repo, head, "models", log, paths, Kept())


def test_a_root_in_the_kept_log_is_diffed_again(tmp_path: Path):
    """A root's changes are in a log only while ``log.showRoot`` is on: the index kept from
    a log diffs each root itself."""
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "log.showRoot", "false")
    (repo / "models/model-1").mkdir(parents=True)
    (repo / "models/model-1/card.md").write_text("root")
    _commit_all(repo, "root adds a model")
    root = _head(repo)
    (repo / "models/model-1/card.md").write_text("later")
    _commit_all(repo, "later")
    head = _head(repo)
    log = mgit.changes_log(repo, head, ["mops.yaml", "models"])
    store = Indexed()
    assert mgit.keep_touches(repo, head, "models", log, ["mops.yaml", "models"], store)
    assert touches.commits_touching(repo, head, "models", "model-1", store) == [root, head]


def test_a_long_history_split_among_git_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The diffs of a long history, split among git processes (a merge's parents in two of
    them), give the index one process gives."""
    maker = Random(tmp_path / "r", 40)
    maker.grow(40)
    head = _head(maker.repo)
    whole = touches.build(maker.repo, head, "models")
    monkeypatch.setattr(touches, "SPLIT_FROM", 3)
    commits = touches._commits(maker.repo, head)
    assert commits is not None
    pairs = [(sha, p) for sha, parents in commits for p in parents or ("",)]
    straddled = False
    for parts in (2, 3, 4):
        monkeypatch.setattr(touches.os, "cpu_count", lambda parts=parts: parts)
        cut = -(-len(pairs) // parts)
        straddled |= any(pairs[i][0] == pairs[i - 1][0] for i in range(cut, len(pairs), cut))
        assert touches.build(maker.repo, head, "models") == whole
    assert straddled  # a merge's parents in two processes, at least once
