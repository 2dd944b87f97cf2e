"""Knowing nothing changed from stamps (.git/mops/stamps, and the evidence digest cache):
a warm run lists no model folder and reads no record, and every change a hand can make is
still seen, warm answers equal to those of a run with no cache (``MOPS_NO_CACHE=1``)."""

from __future__ import annotations

import marshal
import os
import pickle
import time
from pathlib import Path

import pytest

from mops.inventory import sealed, stamps
from mops.inventory.yamlio import blob_id
from tests.conftest import Mops, git
from tests.inventory.conftest import all_sealed, damage
from tests.inventory.test_memo import CARD, M1, V1, _follows, _run, _stale, _truth, _verdict
from tests.inventory.test_scale import _reads


@pytest.fixture(autouse=True)
def _beneath_the_last_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are of the stamps, which a whole run's answers kept by stamp stand in
    front of (test_lastrun.py): here every model is asked of the layer beneath."""
    from mops.inventory import lastrun

    monkeypatch.setattr(lastrun.LastRun, "get", lambda self, model, at: lastrun.MISSING)


def _settle() -> None:
    """Wait until every file written so far is outside the racy window: only then is its
    stamp remembered."""
    time.sleep(stamps.RACY_NS / 1e9 + 0.05)


@pytest.fixture
def settled(inv: Path) -> Path:
    """The inventory of test_memo, after one run of each command, its files settled."""
    _settle()
    _run(inv)
    return inv


def _opened(root: Path, seen: list[str]) -> set[str]:
    """The paths below ``models/`` in ``seen``, relative to the inventory."""
    top = os.fspath(root) + os.sep
    return {p[len(top):] for p in seen if p.startswith(top + "models" + os.sep)}


def _spied_list(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, set[str]]:
    with monkeypatch.context() as m:
        seen = _reads(m)
        rows = Mops(root).json("list", "--json")
    return rows, _opened(root, seen)


def test_a_warm_run_lists_no_model_folder_and_reads_no_record(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    rows, seen = _spied_list(settled, monkeypatch)
    assert seen == set()
    assert rows == _truth(settled, monkeypatch)[0]
    # The twin: with no cache, the same run lists and reads every model's files.
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    _, seen = _spied_list(settled, monkeypatch)
    assert CARD in seen and f"{V1}/version.yaml" in seen and M1 in seen


def test_no_cache_keeps_no_stamps(inv: Path, monkeypatch: pytest.MonkeyPatch):
    _settle()
    _truth(inv, monkeypatch)
    assert not (inv / ".git" / "mops" / stamps.FOLDER).exists()
    _run(inv)
    assert any((inv / ".git" / "mops" / stamps.FOLDER).iterdir())


def test_a_record_edited_by_hand_with_its_size_is_seen(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    before = _run(settled)
    card = settled / CARD
    size = card.stat().st_size
    _stale(settled)  # same length: "applications" -> "loans" + padding below
    text = card.read_text()
    card.write_text(text + " " * (size - len(text.encode())))
    assert card.stat().st_size == size
    assert _follows(settled, monkeypatch) != before and _verdict(settled) is False


def test_a_record_edited_with_its_mtime_put_back_is_seen(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    """Size, inode and mtime as they were (os.utime, as `touch -d` does): the change time,
    which nobody can set, tells."""
    before = _run(settled)
    card = settled / CARD
    st = card.stat()
    data = card.read_bytes()
    edited = data.replace(b"Scores applications.", b"Scores applicatiOns.")
    assert edited != data and len(edited) == len(data)
    with open(card, "r+b") as fh:  # in place: the same inode
        fh.write(edited)
    os.utime(card, ns=(st.st_atime_ns, st.st_mtime_ns))
    now = card.stat()
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert _follows(settled, monkeypatch) != before and _verdict(settled) is False


def test_records_added_and_removed_are_seen(settled: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder's own stamp changes when an entry is added, removed or renamed: its
    remembered listing is not believed."""
    before = _run(settled)
    approval = next((settled / V1 / "approvals").iterdir())
    approval.unlink()  # a record removed from a folder that stays
    assert _follows(settled, monkeypatch) != before and _verdict(settled) is False
    git(settled, "checkout", "--", str(approval.relative_to(settled)))
    assert _follows(settled, monkeypatch) == before
    _settle()
    _run(settled)
    finding = settled / M1 / "findings" / "F-000001.yaml"  # a record added, in a new folder
    finding.parent.mkdir()
    finding.write_text("id: F-000001\nmodel: model-00001\nkind: finding\nseverity: high\n"
                       "title: Broken\nstatus: open\nopened_by: bob@acme.test\n"
                       "opened_at: '2026-05-01T00:00:00Z'\n")
    with_one = _follows(settled, monkeypatch)
    assert with_one != before
    _settle()
    _run(settled)
    second = finding.with_name("F-000002.yaml")  # added to a folder remembered
    second.write_text(finding.read_text().replace("F-000001", "F-000002"))
    assert _follows(settled, monkeypatch) != with_one
    _settle()
    _run(settled)
    second.rename(second.with_name("F-000002.yaml.bak"))  # renamed: no longer a record
    assert _follows(settled, monkeypatch) == with_one


def test_a_symlink_put_in_a_remembered_folder_is_refused(
        settled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    outside = tmp_path / "outside.yaml"
    approval = next((settled / V1 / "approvals").iterdir())
    outside.write_bytes(approval.read_bytes())
    approval.unlink()
    os.symlink(outside, approval)
    warm = Mops(settled)("list", "--json", code=None)
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    cold = Mops(settled)("list", "--json", code=None)
    assert (warm.exit_code, warm.stdout) == (cold.exit_code, cold.stdout)
    assert warm.exit_code == 2 and "symbolic link" in warm.stderr


def test_a_record_read_in_its_racy_window_is_read_again(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    """Written, read at once, rewritten with the same size and mtime: a write in the same tick
    of the filesystem's clock would leave the stamp as it was, so a stamp younger than the
    margin is never remembered: the next run reads the file again (and sees the rewrite)."""
    card = settled / CARD
    data = card.read_bytes()
    card.write_bytes(data)  # a fresh write: racy until RACY_NS have passed
    st = card.stat()
    _run(settled)  # reads it, and must not remember it
    _, seen = _spied_list(settled, monkeypatch)
    assert CARD in seen  # not believed: read again
    edited = data.replace(b"Scores applications.", b"Scores applicatiOns.")
    with open(card, "r+b") as fh:  # the same size, inode and mtime
        fh.write(edited)
    os.utime(card, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _follows(settled, monkeypatch) and _verdict(settled) is False
    # Once settled, it is remembered and not read again.
    _settle()
    _run(settled)
    _, seen = _spied_list(settled, monkeypatch)
    assert CARD not in seen


def test_an_evidence_file_hashed_in_its_racy_window_is_hashed_again(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    """The same rule for the evidence digest cache (one mechanism: mops.inventory.stamps)."""
    report = next((settled / V1 / "evidence" / "files").rglob("report.md"))
    rel = report.relative_to(settled).as_posix()
    report.write_bytes(report.read_bytes())  # the same content, written now
    _run(settled)
    _, seen = _spied_list(settled, monkeypatch)
    assert rel in seen  # hashed again: its digest was not remembered
    _settle()
    _run(settled)
    _, seen = _spied_list(settled, monkeypatch)
    assert rel not in seen


def _units(root: Path) -> list[Path]:
    return sorted((root / ".git" / "mops" / stamps.FOLDER).glob("*"))


def test_damaged_stamp_files_are_ignored_and_rewritten(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    truth = _truth(settled, monkeypatch)
    assert _units(settled)
    damage(_units(settled))
    assert _run(settled) == truth
    assert all_sealed(_units(settled))


def _forge(root: Path, secret: bytes, original: bytes) -> None:
    """Seal, with ``secret``, a stamp entry saying the card as it is *now* has the blob id
    of ``original`` (the text whose results are kept)."""
    store = stamps.StampCache(root / ".git" / "mops" / stamps.FOLDER)
    unit = store.unit(M1)
    assert unit is not None and unit.folders, "the model's folder is remembered"
    name = CARD[len(M1):]
    unit.blobs[name] = stamps.stamp(os.stat(root / CARD)) + blob_id(original)
    path = store.store.file(store._name(M1)[0])
    shard = pickle.loads(sealed.read(path, sealed.key()) or pickle.dumps({}))
    shard[store._name(M1)] = store.encoded(M1, unit)
    sealed.write(path, secret, pickle.dumps(shard))


def test_a_forged_stamp_is_not_believed(settled: Path, monkeypatch: pytest.MonkeyPatch):
    original = (settled / CARD).read_bytes()
    _stale(settled)
    _forge(settled, b"k" * 32, original)  # sealed with someone else's key: ignored
    assert _verdict(settled) is False
    assert _run(settled) == _truth(settled, monkeypatch)


def test_forging_twin_a_stamp_sealed_with_the_users_key_is_believed(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    """The trust boundary is the user's key (this twin shows the test above could fail);
    MOPS_NO_CACHE=1 sets even this aside."""
    original = (settled / CARD).read_bytes()
    _stale(settled)
    secret = sealed.key()
    assert secret is not None
    _forge(settled, secret, original)
    assert _verdict(settled) is True
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    assert _verdict(settled) is False


def test_history_reset_under_the_stamps(settled: Path, monkeypatch: pytest.MonkeyPatch):
    before = _run(settled)
    _stale(settled)
    git(settled, "commit", "-q", "-am", "card edited")
    _settle()
    edited = _follows(settled, monkeypatch)
    assert edited != before
    git(settled, "reset", "-q", "--hard", "HEAD~1")
    assert _follows(settled, monkeypatch) == before
    _settle()
    _run(settled)
    git(settled, "reset", "-q", "--hard", "HEAD@{1}")
    assert _follows(settled, monkeypatch) == edited


def test_a_model_folder_gone_is_dropped(settled: Path):
    """A run over every model keeps only the folders there are."""
    def units() -> set[str]:
        out = set()
        for f in _units(settled):
            shard = pickle.loads(sealed.read(f, sealed.key()) or pickle.dumps({}))
            out |= {marshal.loads(v)[0] for v in shard.values()}
        return out

    assert units() == {f"models/model-0000{i}" for i in range(3)}
    git(settled, "rm", "-q", "-r", "models/model-00002")
    Mops(settled).json("list", "--json")
    assert units() == {f"models/model-0000{i}" for i in range(2)}


def _unit(root: Path) -> stamps.Unit:
    unit = stamps.StampCache(root / ".git" / "mops" / stamps.FOLDER).unit(M1)
    assert unit is not None
    return unit


def _forge_paths(root: Path, derived: tuple[bytes, tuple[str, ...]]) -> None:
    """Seal, with the user's key, the model folder's record paths as ``derived`` says."""
    store = stamps.StampCache(root / ".git" / "mops" / stamps.FOLDER)
    unit = store.unit(M1)
    assert unit is not None and unit.folders
    unit.derived = derived
    unit.dirty = True
    store.save()


def test_record_paths_are_remembered_with_the_listing_and_the_code(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    """A model's record paths are derived from its folders' listing by mops's code: kept
    with the listing (forgotten when it changes) and under the code's fingerprint. Paths
    kept under other code are not used. Wrong paths kept under this code (only the user's
    key can seal them) make a key nothing is kept under: the model is evaluated from its
    files as listed now (the right answer), and the paths are derived again."""
    from mops.inventory.memo import code_fingerprint

    truth = _truth(settled, monkeypatch)
    approval = next((settled / V1 / "approvals").iterdir()).relative_to(settled).as_posix()
    tag, paths = _unit(settled).derived or (b"", ())
    assert tag == code_fingerprint() and CARD in paths and approval in paths
    wrong = tuple(p for p in paths if p != approval)
    _forge_paths(settled, (b"other code".ljust(32), wrong))
    rows, seen = _spied_list(settled, monkeypatch)
    assert rows == truth[0] and seen == set()  # derived again, no record read
    assert _unit(settled).derived == (tag, paths)
    _forge_paths(settled, (tag, wrong))  # the twin: under this code, they are used
    rows, seen = _spied_list(settled, monkeypatch)
    assert rows == truth[0] and CARD in seen and approval in seen
    assert _unit(settled).derived == (tag, paths)
    _run(settled)  # (kept again: that run kept nothing under the wrong key, nor the right)
    assert _spied_list(settled, monkeypatch)[1] == set()
    (settled / V1 / "approvals" / "note.txt").write_text("x")  # the listing changes
    _stale(settled)
    assert _follows(settled, monkeypatch) != truth and _verdict(settled) is False
