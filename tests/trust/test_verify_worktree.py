"""`mops verify` after its checkpoint re-checks only the part of the working tree that can
have changed (mops.trust.worktree): never at the cost of a problem.

Every attack is made after a clean run kept what it saw, on settled files (so that the
shortcut is taken: each test asserts it was), and must be reported exactly as
`verify --full`, which keeps nothing, reports it. The kept file is attacked too:
corrupted, sealed by someone else, left behind by a rewritten history."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mops.inventory import sealed, stamps
from mops.trust import verify as verify_mod
from mops.trust import worktree
from tests.conftest import Mops, git
from tests.policy.helpers import CAROL
from tests.trust.helpers import VDIR, Team, commit, make_team


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def settle() -> None:
    """Let every file and folder's stamp settle (older than the racy margin)."""
    time.sleep(stamps.RACY_NS / 1e9 + 0.05)


def kept_file(team: Team) -> Path:
    return team.repo / ".git" / "mops" / worktree.FILE


class Spy:
    """Which of verify's ways each run took: what was kept was used, and what was read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.used: list[bool] = []
        self.read: list[str] = []
        self.hashed: list[str] = []
        load, read, digests = worktree.load, verify_mod._read_records, verify_mod._digests

        def spy_load(*args, **kwargs):
            got = load(*args, **kwargs)
            self.used.append(got is not None)
            return got

        def spy_read(inv, result, files, *args, **kwargs):
            self.read += files
            return read(inv, result, files, *args, **kwargs)

        def spy_digests(inv, rels):
            self.hashed += rels
            return digests(inv, rels)

        monkeypatch.setattr(worktree, "load", spy_load)
        monkeypatch.setattr(verify_mod, "_read_records", spy_read)
        monkeypatch.setattr(verify_mod, "_digests", spy_digests)

    def reset(self) -> None:
        self.used, self.read, self.hashed = [], [], []


@pytest.fixture
def primed(team: Team, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Team, str, Spy]]:
    """A signed inventory with a sign-off; a clean run kept what it saw of settled files."""
    aid = team.approve()
    settle()
    spy = Spy(monkeypatch)
    team.verify(code=0)  # the whole history: stores the checkpoint and what it saw
    assert kept_file(team).exists()
    spy.reset()
    yield team, aid, spy


def signoff(aid: str) -> str:
    return f"{VDIR}/approvals/{aid}.yaml"


def new_version_signoff(team: Team, aid: str, new_id: str) -> str:
    """A copy of sign-off ``aid`` dropped by hand into a version folder nobody made (9.9.9)."""
    forged = f"models/credit-pd/versions/9.9.9/approvals/{new_id}.yaml"
    (team.repo / forged).parent.mkdir(parents=True)
    (team.repo / forged).write_text((team.repo / signoff(aid)).read_text())
    return forged


def evidence_file(repo: Path) -> str:
    [folder] = (repo / VDIR / "evidence" / "files").iterdir()
    [path] = folder.iterdir()
    return path.relative_to(repo).as_posix()


def fast_and_full(team: Team, spy: Spy) -> set[tuple[str, str]]:
    """The problems of a run from what was kept (asserted to be one), which must be those
    of ``verify --full`` (which keeps nothing and reads everything)."""
    spy.reset()
    fast = team.verify(code=1)
    assert spy.used == [True] and fast["checkpoint"] is not None
    spy.reset()
    full = team.verify("--full", code=1)
    assert spy.used == [] and full["checkpoint"] is None
    found = {(p["path"], p["problem"]) for p in fast["problems"]}
    assert found == {(p["path"], p["problem"]) for p in full["problems"]}
    return found


def put_back_times(path: Path, st: os.stat_result) -> None:
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


# ----------------------------------------------------------------------------- honest


def test_a_run_from_the_checkpoint_reads_only_what_changed(primed):
    team, aid, spy = primed
    full = team.verify("--full", code=0)
    spy.reset()
    again = team.verify(code=0)
    assert spy.used == [True] and spy.read == [] and spy.hashed == []
    assert again["checked"]["signoffs"] == full["checked"]["signoffs"] == 1
    assert again["checked"]["evidence_files"] == full["checked"]["evidence_files"] == 1
    # One more sign-off, made by mops: only it is read, and the files git names are asked.
    spy.reset()
    new = team.approve()
    after = team.verify(code=0)
    assert spy.used == [True] and spy.read == [signoff(new)] and spy.hashed == []
    assert after["checked"]["signoffs"] == 2 and after["checked"]["commits"] == 1
    settle()
    spy.reset()
    assert team.verify(code=0)["checked"]["signoffs"] == 2 and spy.used == [True]


def test_a_folder_made_after_the_checkpoint_is_kept_and_watched(primed):
    """A new folder (a model's first finding makes `findings/`) is kept with the folders read
    back from the file, and a file dropped into it later is seen, as `--full` sees it."""
    team, _, spy = primed
    team.act(CAROL, "carol")
    team.mops("finding", "add", "credit-pd", "--severity", "low", "--title", "t")
    assert team.verify(code=0)["checkpoint"] is not None  # the folder kept, not yet settled
    settle()
    team.verify(code=0)  # and kept again, now by its stamp
    spy.reset()
    team.verify(code=0)
    assert spy.used == [True]
    forged = "models/credit-pd/findings/F-0forged.yaml"
    (team.repo / forged).write_text((team.repo / forged).with_name(
        sorted(p.name for p in (team.repo / forged).parent.iterdir())[0]).read_text())
    found = fast_and_full(team, spy)
    assert {p for p, _ in found} == {forged}


def test_full_and_a_fresh_clone_use_nothing_kept(primed, tmp_path: Path):
    team, _, spy = primed
    team.verify("--full", code=0)
    assert spy.used == []
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(team.repo), str(clone))
    assert not (clone / ".git" / "mops" / worktree.FILE).exists()


def test_nothing_is_kept_without_caches(team: Team, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    team.verify(code=0)
    assert not kept_file(team).exists()


# ----------------------------------------------------------------------------- attacks


def test_evidence_rewritten_in_place_with_its_size_and_mtime_put_back(primed):
    team, _, spy = primed
    rel = evidence_file(team.repo)
    path = team.repo / rel
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])  # same size
    put_back_times(path, st)
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size
    found = fast_and_full(team, spy)
    assert {p for p, _ in found} == {rel}
    assert any("the file was replaced" in t for _, t in found)


def test_evidence_rewritten_so_under_a_users_lax_stat_settings(primed):
    """`core.trustctime=false` and `core.checkStat=minimal` in the user's config would
    let git call the file clean by its mtime and size: verify asks git its own way."""
    team, _, spy = primed
    git(team.repo, "config", "core.trustctime", "false")
    git(team.repo, "config", "core.checkStat", "minimal")
    git(team.repo, "reset", "-q")  # the index written now: no entry is racily clean
    rel = evidence_file(team.repo)
    path = team.repo / rel
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    put_back_times(path, st)
    assert git(team.repo, "status", "--porcelain") == ""  # git, so set up, sees nothing
    found = fast_and_full(team, spy)
    assert {p for p, _ in found} == {rel}


@pytest.mark.parametrize("how", ["untracked", "ignored"])
def test_a_signoff_dropped_in_with_the_folders_mtime_put_back(primed, how: str):
    team, aid, spy = primed
    folder = team.repo / VDIR / "approvals"
    st = folder.stat()
    forged = signoff("A-111111")
    (team.repo / forged).write_text((team.repo / signoff(aid)).read_text()
                                    .replace(f"id: {aid}", "id: A-111111"))
    if how == "ignored":  # a .gitignore that hides itself and the sign-off
        (folder / ".gitignore").write_text("*\n")
    put_back_times(folder, st)
    assert folder.stat().st_mtime_ns == st.st_mtime_ns
    found = fast_and_full(team, spy)
    wanted = "not committed" if how == "untracked" else "git ignores"
    assert any(p == forged and wanted in t for p, t in found)


def test_a_new_version_folder_with_a_signoff_in_it(primed):
    """A folder nobody saw before (made below one whose mtime is put back)."""
    team, aid, spy = primed
    versions = team.repo / VDIR / ".."
    st = versions.stat()
    forged = new_version_signoff(team, aid, "A-333333")
    put_back_times(versions, st)
    found = fast_and_full(team, spy)
    assert any(p == forged and "not committed" in t for p, t in found)


@pytest.mark.parametrize("staged", [True, False])
def test_a_signoff_edited(primed, staged: bool):
    team, aid, spy = primed
    path = team.repo / signoff(aid)
    path.write_text(path.read_text().replace("decision: approve", "decision: reject"))
    if staged:
        git(team.repo, "add", signoff(aid))
    found = fast_and_full(team, spy)
    assert found == {(signoff(aid), "a sign-off record with uncommitted changes: records are "
                                    "never edited")}


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_a_signoff_edited_behind_an_index_flag(primed, flag: str):
    """git status never compares such an entry with its file: verify does."""
    team, aid, spy = primed
    git(team.repo, "update-index", flag, signoff(aid))
    path = team.repo / signoff(aid)
    path.write_text(path.read_text().replace("decision: approve", "decision: reject"))
    assert git(team.repo, "status", "--porcelain") == ""
    found = fast_and_full(team, spy)
    assert found == {(signoff(aid), "a sign-off record with uncommitted changes: records are "
                                    "never edited")}


def test_a_record_replaced_by_a_symbolic_link(primed, tmp_path: Path):
    team, aid, spy = primed
    path = team.repo / signoff(aid)
    outside = tmp_path / "elsewhere.yaml"
    shutil.copy(path, outside)
    path.unlink()
    path.symlink_to(outside)
    found = fast_and_full(team, spy)
    assert {p for p, _ in found} == {signoff(aid)}


def test_an_evidence_file_replaced_by_a_symbolic_link(primed, tmp_path: Path):
    team, _, spy = primed
    rel = evidence_file(team.repo)
    path = team.repo / rel
    outside = tmp_path / "report.md"
    shutil.copy(path, outside)
    path.unlink()
    path.symlink_to(outside)
    found = fast_and_full(team, spy)
    assert rel in {p for p, _ in found}


def test_a_leftover_file_is_warned_about_on_every_run(primed):
    team, _, spy = primed
    leftover = team.repo / VDIR / "approvals" / ".A-1.yaml.mops-abcd1234"
    leftover.write_text("half\n")
    settle()
    for _ in range(3):
        spy.reset()
        data = team.verify(code=0)
        assert spy.used == [True]
        assert [w["path"] for w in data["warnings"]] == [leftover.relative_to(team.repo)
                                                          .as_posix()]


# ----------------------------------------------------------------------------- the kept file


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "another-key"])
def test_a_damaged_or_foreign_file_is_ignored(primed, damage: str):
    team, aid, spy = primed
    path = kept_file(team)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not sealed")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:  # sealed with someone else's key: a forger who can write .git/mops
        payload = sealed.read(path, sealed.key())
        assert payload is not None
        sealed.write(path, os.urandom(32), payload)
    # Under it, a dropped-in sign-off (the folder's mtime put back): found all the same.
    folder = team.repo / VDIR / "approvals"
    st = folder.stat()
    forged = signoff("A-444444")
    (team.repo / forged).write_text((team.repo / signoff(aid)).read_text())
    put_back_times(folder, st)
    spy.reset()
    data_out = team.verify(code=1)
    assert spy.used == [False]
    assert forged in {p["path"] for p in data_out["problems"]}


def test_history_rewritten_under_it_is_not_trusted(primed):
    """The kept file belongs to a checkpoint's commit: main force-moved to another history
    leaves both behind."""
    team, aid, spy = primed
    base = git(team.repo, "rev-parse", "HEAD~1").strip()
    team.act(CAROL, "carol")
    git(team.repo, "reset", "-q", "--hard", base)
    # A forged sign-off, committed by hand (unsigned), where the clean one was.
    path = team.repo / signoff("A-555555")
    path.parent.mkdir(exist_ok=True)
    path.write_text("id: A-555555\n")
    commit(team.repo, "approve: credit-pd@1.0.0")
    spy.reset()
    data = team.verify(code=1)
    assert spy.used == [] and data["checkpoint"] is None
    assert signoff("A-555555") in {p["path"] for p in data["problems"]}


def test_a_folder_read_before_it_settled_is_listed_again(tmp_path: Path):
    """A folder whose stamp is within the racy margin of the check is kept as "look
    again", never by a stamp a write in the same clock tick could leave unchanged."""
    (tmp_path / "models" / "m").mkdir(parents=True)
    found = worktree.walk(str(tmp_path) + os.sep, "models", time.time_ns())
    assert found == {"models": worktree.AGAIN, "models/m": worktree.AGAIN}
    assert worktree.changed_dirs(str(tmp_path) + os.sep, found) == ["models", "models/m"]
    settle()
    found = worktree.walk(str(tmp_path) + os.sep, "models", time.time_ns())
    assert worktree.AGAIN not in found.values()
    assert worktree.changed_dirs(str(tmp_path) + os.sep, found) == []
    (tmp_path / "models" / "m" / "x.yaml").write_text("x\n")
    assert worktree.changed_dirs(str(tmp_path) + os.sep, found) == ["models/m"]


def test_a_kept_file_of_another_line_of_history_is_not_used(primed):
    """Kept for the tip of another branch: back on main, main's checkpoint holds, but
    what was seen there is not what main's working tree was."""
    team, _, spy = primed
    git(team.repo, "checkout", "-q", "-b", "side")
    team.approve()
    settle()
    assert team.verify(code=0)["checked"]["signoffs"] == 2
    git(team.repo, "checkout", "-q", "main")
    spy.reset()
    data = team.verify(code=0)
    assert spy.used == [False] and data["checkpoint"] is not None
    assert data["checked"]["signoffs"] == 1


@pytest.mark.parametrize("gone", [[], ["models/m4"], ["models/m0", "models/new"]])
def test_kept_stamps_change_as_a_dict_does(gone: list[str]):
    """Folders read back as names and one bytes of stamps: each change a run makes (a stamp
    renewed, a folder new, one gone) reads, iterates and is kept as the same change to a
    dict (the oracle) would be; the copy changed leaves what was read as it was."""
    width = worktree.WIDTH
    before = {f"models/m{i}": bytes([i + 1]) * width for i in range(6)}
    kept = worktree.Stamps(*worktree.packed(before))
    assert kept == before and len(kept) == 6 and list(kept) == list(before)
    fresh, oracle = kept.copy(), dict(before)
    for one in (fresh, oracle):
        one["models/m2"] = worktree.AGAIN
        one["models/new"] = b"\x09" * width
        for rel in gone:
            del one[rel]
    assert dict(fresh.items()) == oracle and list(fresh) == list(oracle)
    assert all((rel in fresh) == (rel in oracle) for rel in [*before, "models/new", "x"])
    assert fresh["models/m2"] == worktree.AGAIN and kept["models/m2"] == before["models/m2"]
    assert kept == before and "models/new" not in kept
    names, blob = worktree.packed(fresh)
    assert worktree.Stamps(names, blob) == oracle
    with pytest.raises(KeyError):
        fresh["models/m9"]  # noqa: B018 - a folder never kept
    with pytest.raises(ValueError):
        worktree.Stamps(names, blob[:-1])  # a damaged file: not believed (load says None)


def test_models_missing_then_made_with_a_record_in_it(tmp_path: Path):
    """An inventory without `models/` (its stamp kept as "look again"): a folder made there
    later, with a file in it, is asked about; a `models` that is a link is asked about."""
    root = str(tmp_path) + os.sep
    kept = worktree.walk(root, "models", time.time_ns())
    assert kept == {"models": worktree.AGAIN}
    fresh, ask = worktree.rescan(root, kept, worktree.changed_dirs(root, kept), time.time_ns())
    assert fresh == {"models": worktree.AGAIN} and ask == []
    (tmp_path / "models" / "m").mkdir(parents=True)
    (tmp_path / "models" / "m" / "card.md").write_text("x\n")
    fresh, ask = worktree.rescan(root, fresh, worktree.changed_dirs(root, fresh), time.time_ns())
    assert ask == ["models/m"] and set(fresh) == {"models", "models/m"}
    shutil.rmtree(tmp_path / "models")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "models").symlink_to(tmp_path / "elsewhere")
    fresh, ask = worktree.rescan(root, fresh, worktree.changed_dirs(root, fresh), time.time_ns())
    assert ask == ["models"] and fresh == {"models": worktree.AGAIN}


def test_a_version_folder_hidden_whole_by_a_gitignore(primed):
    """git names an ignored new folder, not the files in it: each file in it is a record
    nobody proved all the same (`--full` and a run from the checkpoint alike)."""
    team, aid, spy = primed
    versions = team.repo / VDIR / ".."
    st = versions.stat()
    forged = new_version_signoff(team, aid, "A-666666")
    (versions / ".gitignore").write_text("*\n")
    put_back_times(versions, st)
    assert "!! models/credit-pd/versions/9.9.9/" in git(team.repo, "status", "--porcelain",
                                                         "--ignored=matching", "-uall")
    found = fast_and_full(team, spy)
    assert any(p == forged and "git ignores" in t for p, t in found)
