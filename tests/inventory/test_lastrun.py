"""The last whole run's answers, believed by stamps (``.git/mops/last-rows-1``,
``last-results-1``): a warm ``list`` or ``check`` of an unchanged inventory asks no cache
about any model, and every change a hand (or git) can make is still followed: the answers
are those of a run with no cache (``MOPS_NO_CACHE=1``), and only the models changed are
asked again. Damaged, foreign or forged files are ignored."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import time
from pathlib import Path

import pytest

from mops.inventory import lastrun, memo, sealed, stamps
from mops.inventory.store import Inventory, WorktreeSource
from tests.conftest import Mops, git, use_pack
from tests.inventory.conftest import all_sealed, damage
from tests.inventory.test_memo import (
    CARD,
    M1,
    PACK,
    V1,
    _entries,
    _run,
    _stale,
    _truth,
    _verdict,
)

#: The racy margin in these tests (the real one is 2 s): every stamp kept is at least this
#: much older than the run that kept it, so a later write (ctime: now) has another stamp.
RACY = 200_000_000
MODELS = [f"model-0000{i}" for i in range(3)]


def _settle() -> None:
    time.sleep(RACY / 1e9 + 0.05)


def _files(root: Path) -> list[Path]:
    return sorted((root / ".git" / "mops").glob("last-*"))


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The models asked of the caches beneath (not answered from the last run's file)."""
    seen: list[str] = []
    real = memo.Memo.model_key

    def spy(self: memo.Memo, model_id: str) -> bytes | None:
        seen.append(model_id)
        return real(self, model_id)

    monkeypatch.setattr(memo.Memo, "model_key", spy)
    return seen


@pytest.fixture
def settled(inv: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """test_memo's inventory, its files settled, after one run of ``list`` and ``check``."""
    monkeypatch.setattr(stamps, "RACY_NS", RACY)
    _settle()
    _run(inv)
    return inv


def _warm(root: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run both commands warm, check them against no cache; the models asked beneath."""
    asked.clear()
    warm = _run(root)
    seen = sorted(set(asked))
    assert warm == _truth(root, monkeypatch)
    return seen


def test_an_unchanged_inventory_is_answered_from_the_last_run(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    # check --format json keeps each model's lines written; list its rows.
    assert [f.name for f in _files(settled)] == ["last-results-text-1", "last-rows-1"]
    assert all_sealed(_files(settled))
    written = {f: f.stat().st_mtime_ns for f in _files(settled)}
    assert _warm(settled, asked, monkeypatch) == []
    assert {f: f.stat().st_mtime_ns for f in _files(settled)} == written  # nothing rewritten
    # The other formats keep the results themselves.
    text = Mops(settled)("check", code=None).stdout
    assert (settled / ".git" / "mops" / "last-results-1").exists()
    asked.clear()
    assert Mops(settled)("check", code=None).stdout == text and asked == []
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    assert Mops(settled)("check", code=None).stdout == text
    monkeypatch.delenv("MOPS_NO_CACHE")
    # The twin: without the file, every model is asked again (and the file made again).
    for f in _files(settled):
        f.unlink()
    assert _warm(settled, asked, monkeypatch) == MODELS
    assert _warm(settled, asked, monkeypatch) == []


def _same_size_edit(path: Path, old: bytes, new: bytes) -> None:
    """Rewrite ``path`` with ``old`` replaced by ``new`` (as long), its mtime put back."""
    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def _card_same_size(root: Path) -> None:
    _same_size_edit(root / CARD, b"Scores applications.", b"Scores Applications.")


def _evidence_same_size(root: Path) -> None:
    report = next((root / V1 / "evidence" / "files").rglob("report.md"))
    _same_size_edit(report, report.read_bytes()[:8], report.read_bytes()[:8].swapcase())


def _record_added(root: Path) -> None:
    finding = root / M1 / "findings" / "F-000001.yaml"
    finding.parent.mkdir()
    finding.write_text("id: F-000001\nmodel: model-00001\nkind: finding\nseverity: high\n"
                       "title: Broken\nstatus: open\nopened_by: bob@acme.test\n"
                       "opened_at: '2026-05-01T00:00:00Z'\n")


def _record_removed(root: Path) -> None:
    next((root / V1 / "approvals").iterdir()).unlink()


def _version_renamed(root: Path) -> None:
    folder = root / M1 / "versions" / "2.0.0"
    record = folder / "version.yaml"
    record.write_text(record.read_text().replace("2.0.0", "2.1.0"))
    folder.rename(folder.with_name("2.1.0"))


def _card_swapped_for_a_link(root: Path) -> None:
    card = root / CARD
    copy = root / M1 / "card-copy.md"
    shutil.copy(card, copy)
    copy.write_text(copy.read_text().replace("Scores applications.", "Scores loans."))
    card.unlink()
    card.symlink_to("card-copy.md")


@pytest.mark.parametrize("edit", [_card_same_size, _evidence_same_size, _record_added,
                                  _record_removed, _version_renamed, _card_swapped_for_a_link,
                                  _stale])
def test_every_change_to_a_model_is_followed_and_only_that_model_asked_again(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch, edit):
    before = _run(settled)
    edit(settled)
    assert _warm(settled, asked, monkeypatch) == ["model-00001"]
    assert _run(settled) != before
    _settle()
    _run(settled)  # kept again, now that the change has settled
    assert _warm(settled, asked, monkeypatch) == ([] if edit is not _card_swapped_for_a_link
                                                  else ["model-00001"])  # a link: not kept


def test_a_model_added_or_removed_asks_every_model(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    """So that every cache drops what belongs to a model no longer there."""
    git(settled, "rm", "-q", "-r", "models/model-00002")
    assert _warm(settled, asked, monkeypatch) == MODELS[:2]
    assert _entries(settled, "rows") == _entries(settled, "results") == 2
    _settle()
    _run(settled)
    assert _warm(settled, asked, monkeypatch) == []
    git(settled, "checkout", "-q", "HEAD", "--", "models/model-00002")
    assert _warm(settled, asked, monkeypatch) == MODELS


def test_the_memo_entries_of_content_a_model_no_longer_has_are_dropped(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    assert _entries(settled, "rows") == _entries(settled, "results") == 3
    for text in (b"Scores Applications.", b"Scores applicationS.", b"Scores applications!"):
        card = (settled / CARD).read_bytes()
        (settled / CARD).write_bytes(card.replace(card.split(b"\n")[-2], text))
        _settle()
        assert _warm(settled, asked, monkeypatch) == ["model-00001"]
        assert _entries(settled, "rows") == _entries(settled, "results") == 3


def test_settings_and_packs_are_followed(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    settings = settled / "mops.yaml"
    settings.write_text(settings.read_text().replace("validator: [carol@acme.test]",
                                                     "validator: [erin@acme.test]"))
    assert _warm(settled, asked, monkeypatch) == MODELS and _verdict(settled) is False
    _settle()
    _run(settled)
    pack = use_pack(settled, PACK.replace("months: 12", "months: 240").replace(
        "max_age_days: 30", "max_age_days: 9000"), "acme.yaml")
    assert _warm(settled, asked, monkeypatch) == MODELS
    _settle()
    _run(settled)
    pack.write_text(PACK)  # only the pack's file changes
    assert _warm(settled, asked, monkeypatch) == MODELS


def test_the_clock_is_followed(inv: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    """An answer holds over the window its evaluation kept (here: until the evidence is
    31 days old); outside it, the model is asked again."""
    monkeypatch.setattr(stamps, "RACY_NS", RACY)
    use_pack(inv, PACK.replace("months: 12", "months: 240"), "acme.yaml")
    from tests.benchmarks import scale_bench

    edge = scale_bench.START + dt_days(7 / 1440 + 31)  # the evidence's added_at + 31 days
    monkeypatch.setenv("MOPS_NOW", (edge - dt_days(1)).isoformat())
    _settle()
    _run(inv)
    assert _warm(inv, asked, monkeypatch) == [] and _verdict(inv) is True
    monkeypatch.setenv("MOPS_NOW", edge.isoformat())
    assert _warm(inv, asked, monkeypatch) == MODELS and _verdict(inv) is False


def dt_days(days: float):
    import datetime as dt

    return dt.timedelta(days=days)


def test_history_rewritten_under_the_answers(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    before = _run(settled)
    _stale(settled)
    git(settled, "commit", "-q", "-am", "card edited")
    _settle()
    edited = _run(settled)
    assert edited != before and _warm(settled, asked, monkeypatch) == []
    git(settled, "reset", "-q", "--hard", "HEAD~1")
    assert _warm(settled, asked, monkeypatch) == ["model-00001"]
    assert _run(settled) == before


def test_a_file_written_in_the_racy_window_is_not_kept(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    card = settled / CARD
    st = card.stat()
    card.write_bytes(card.read_bytes())  # the same content, written now, and its mtime
    # put 30 s ahead: inside the racy window for every run below, however slow the machine
    os.utime(card, ns=(st.st_atime_ns, time.time_ns() + 30_000_000_000))
    assert _warm(settled, asked, monkeypatch) == ["model-00001"]
    assert _warm(settled, asked, monkeypatch) == ["model-00001"]  # still not settled: not kept
    os.utime(card, ns=(st.st_atime_ns, st.st_mtime_ns))
    _settle()
    _run(settled)
    assert _warm(settled, asked, monkeypatch) == []


def test_damaged_files_are_ignored_and_rewritten(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    damage(_files(settled))
    assert _warm(settled, asked, monkeypatch) == MODELS
    assert all_sealed(_files(settled))
    assert _warm(settled, asked, monkeypatch) == []


def _forge_pass(root: Path, secret: bytes) -> None:
    """Seal, with ``secret``, the last run's files with model-00001's ``list`` rows and
    ``check`` lines saying it complies, its stamps as they are now (the files a real run
    would believe)."""
    def forge(name: str, forged) -> None:
        path = root / ".git" / "mops" / name
        context, models, entries = marshal.loads(sealed.read(path, sealed.key()) or b"")
        entry = list(entries["model-00001"])
        entry[-1] = forged(entry[-1])
        entries["model-00001"] = tuple(entry)
        sealed.write(path, secret, marshal.dumps((context, models, entries)))

    def rows(value):
        out = []
        for stage, text in value:
            row = json.loads(text)
            row.update(compliant=True, compliance="compliant", failing_rules=[])
            out.append([stage, "  " + json.dumps(row, indent=2).replace("\n", "\n  ")])
        return out

    def lines(value):
        (fail, waived, passed, na), text = value
        assert fail
        return [[0, waived, passed + fail, na], text.replace(b'"fail"', b'"pass"')]

    forge("last-rows-1", rows)
    forge("last-results-text-1", lines)


def _passes(root: Path) -> bool:
    """Whether ``check --format json`` exits 0 (and its document says so)."""
    result = Mops(root)("check", "--format", "json", code=None)
    assert json.loads(result.stdout)["ok"] is (result.exit_code == 0)
    return result.exit_code == 0


def test_a_forged_pass_is_not_believed(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    _stale(settled)
    _settle()
    _run(settled)
    assert _verdict(settled) is False and _warm(settled, asked, monkeypatch) == []
    _forge_pass(settled, b"k" * 32)  # sealed with someone else's key: ignored
    assert _warm(settled, asked, monkeypatch) == MODELS  # (the answers: those of no cache)
    assert _verdict(settled) is False and _passes(settled) is False


def test_forging_twin_a_file_sealed_with_the_users_key_is_believed(
        settled: Path, monkeypatch: pytest.MonkeyPatch):
    """The trust boundary is the user's key (this twin shows the test above could fail);
    MOPS_NO_CACHE=1 sets even this aside."""
    _stale(settled)
    _settle()
    _run(settled)
    secret = sealed.key()
    assert secret is not None
    _forge_pass(settled, secret)
    assert _verdict(settled) is True and _passes(settled) is True
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    assert _verdict(settled) is False and _passes(settled) is False


def test_a_run_of_some_models_leaves_the_file_alone(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    written = {f: f.read_bytes() for f in _files(settled)}
    _stale(settled)
    _settle()
    Mops(settled).json("check", "model-00001", "--format", "json", code=None)
    assert {f: f.read_bytes() for f in _files(settled)} == written
    assert _warm(settled, asked, monkeypatch) == ["model-00001"]


def test_answered_runs_prune_no_cache(
        settled: Path, asked: list[str], monkeypatch: pytest.MonkeyPatch):
    """A model answered from the file asked nothing of the caches beneath: what they keep
    of it is still live, and is not dropped as unused."""
    digests = settled / ".git" / "mops" / "digests.json"
    kept = json.loads(sealed.read(digests, sealed.key()) or b"{}")
    assert len([k for k in kept if k.startswith("file:")]) == 3  # an evidence file a model
    _stale(settled)
    assert _warm(settled, asked, monkeypatch) == ["model-00001"]
    assert json.loads(sealed.read(digests, sealed.key()) or b"{}") == kept
    assert _entries(settled, "rows") == 3


def test_an_entry_is_kept_only_of_settled_stamps_inside_the_model(settled: Path):
    """What each entry stamps: every folder of the model's tree, every record file and the
    evidence file read, each with the stamp it has now (all settled)."""
    _, _, entries = marshal.loads(
        sealed.read(settled / ".git" / "mops" / "last-rows-1", sealed.key()) or b"")
    assert sorted(entries) == MODELS
    entry = lastrun._entry(entries["model-00001"])
    tree = [M1] + [p.relative_to(settled).as_posix() for p in (settled / M1).rglob("*")
                   if p.is_dir()]
    files = {p.relative_to(settled).as_posix() for p in (settled / M1).rglob("*")
             if p.is_file() and p.suffix != ".csv"}
    assert sorted(entry.folders) == sorted(tree)
    assert set(entry.files) == files
    root = os.fspath(settled) + os.sep
    assert entry.holds(root, entry.lo or 0)
    for path, seen in zip(entry.files, [entry.file_stamps[i:i + stamps.SIZE] for i in
                                        range(0, len(entry.file_stamps), stamps.SIZE)],
                          strict=True):
        assert seen == stamps.stamp(os.stat(root + path))


def _old_model_ids(root: Path) -> list[str]:
    """Inventory.model_ids as it was: each entry of models/ asked whether it holds a card
    through the folder's index (a fresh source, no stamps)."""
    source = WorktreeSource(root)
    return [n for n in source.listdir("models") if source.isfile(f"models/{n}/card.md")]


def _model_ids(root: Path) -> list[str] | str:
    try:
        return Inventory.open(root).model_ids()
    except Exception as e:  # the same refusal both ways
        return type(e).__name__


def _old(root: Path) -> list[str] | str:
    try:
        return _old_model_ids(root)
    except Exception as e:
        return type(e).__name__


def test_model_ids_are_those_each_folder_index_gives(inv: Path, tmp_path: Path):
    models = inv / "models"
    (models / "no-card").mkdir()
    (models / "card-is-a-folder" / "card.md").mkdir(parents=True)
    (models / "README").write_text("a file\n")
    shutil.copytree(models / "model-00000", models / "linked-target")
    (models / "linked").symlink_to("linked-target")
    (models / "card-link" ).mkdir()
    (models / "card-link" / "card.md").symlink_to("../model-00000/card.md")
    (models / "dangling").mkdir()
    (models / "dangling" / "card.md").symlink_to("nowhere.md")
    (models / "fifo").mkdir()
    os.mkfifo(models / "fifo" / "card.md")
    assert _model_ids(inv) == _old(inv)
    assert {"linked", "card-link", "model-00001"} <= set(_model_ids(inv))
    assert "no-card" not in _model_ids(inv) and "card-is-a-folder" not in _model_ids(inv)
    outside = tmp_path / "outside.md"
    outside.write_text("---\nid: x\n---\n")
    (models / "escape").mkdir()
    (models / "escape" / "card.md").symlink_to(outside)
    assert _model_ids(inv) == _old(inv) == "RecordError"
    (models / "escape" / "card.md").unlink()
    # models/ itself a link: every path is checked, as before.
    shutil.move(models, inv / "real-models")
    models.symlink_to("real-models")
    assert _model_ids(inv) == _old(inv)
