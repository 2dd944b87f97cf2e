"""The evidence digest cache (.git/mops/digests.json) holds what is current: a run over the
whole working tree keeps only the stamps it used, any run drops the older stamps of a file
it found changed, and a pruned cache never gives another digest than no cache at all."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest

from mops.inventory import sealed, stamps
from mops.inventory.digest import DigestCache
from tests.conftest import Mops, git
from tests.inventory.conftest import all_sealed

EVIDENCE = "models/model-{:05d}/versions/1.0.0/evidence/files/E-{:06d}/report.md"


def _cache(root: Path) -> Path:
    return root / ".git" / "mops" / "digests.json"


def _entries(root: Path) -> dict[str, str]:
    payload = sealed.read(_cache(root), sealed.key())
    assert payload is not None
    return json.loads(payload)


def _stamps_of(root: Path, rel: str) -> dict[str, str]:
    """The file entries of ``rel`` (by stamp), key -> sha256."""
    return {k: v for k, v in _entries(root).items() if k.startswith(f"file:{rel}:")}


def _models_in(entries: dict[str, str]) -> set[str]:
    return {k.split("/")[1] for k in entries if k.startswith("file:models/")}


def _truth(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """What check and show say with no cache at all."""
    with monkeypatch.context() as m:
        m.setenv("MOPS_NO_CACHE", "1")
        return _answers(root)


def _answers(root: Path) -> tuple[object, object]:
    return (Mops(root).json("check", "--format", "json", code=None),
            [Mops(root).json("show", f"model-{n:05d}@1.0.0", "--json") for n in (0, 1, 2)])


def _same_as_the_files(root: Path) -> None:
    """Every digest kept is the sha256 of the file as it is now (an independent hash)."""
    kept = {k: v for k, v in _entries(root).items() if k.startswith("file:")}
    assert kept
    for key, digest in kept.items():
        rel = key[len("file:"):key.rfind(":")]
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest, rel


def _settle() -> None:
    time.sleep(stamps.RACY_NS / 1e9)  # a digest is remembered once its stamp has settled


def _edit(root: Path, rel: str) -> None:
    (root / rel).write_text("Rewritten evidence.\n")
    _settle()


def test_an_edited_files_old_stamp_is_gone_after_a_whole_run(inv: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    _settle()
    Mops(inv)("list", "--json")
    rel = EVIDENCE.format(1, 1)
    before = _stamps_of(inv, rel)
    assert len(before) == 1
    _edit(inv, rel)
    assert _answers(inv) == _truth(inv, monkeypatch)  # check is a whole run; show one model
    after = _stamps_of(inv, rel)
    assert len(after) == 1 and not set(after) & set(before)
    assert list(after.values()) != list(before.values())
    _same_as_the_files(inv)
    assert all_sealed([_cache(inv)])


def test_a_whole_run_drops_every_stamp_it_did_not_use(inv: Path, monkeypatch: pytest.MonkeyPatch):
    """Stamps of files moved away (a copied inventory: new inodes) are all dropped by one
    whole run; what is kept is one stamp per file, each the file's sha256."""
    _settle()
    Mops(inv)("check", "--format", "json")
    copy = inv.parent / "copy"
    shutil.copytree(inv, copy, symlinks=True)  # every file a new inode: every stamp new
    _settle()
    old = _entries(inv)
    Mops(copy)("show", "model-00001@1.0.0", "--json")  # one model: its file's new stamp
    kept = set(_entries(copy))
    assert len(kept - set(old)) == 1 and len(kept & set(old)) == len(old) - 1
    Mops(copy)("list", "--json")
    assert len(_entries(copy)) == len(old) and not set(_entries(copy)) & set(old)
    assert _answers(copy) == _truth(copy, monkeypatch)
    _same_as_the_files(copy)


def test_a_single_model_run_keeps_the_other_models_entries(inv: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    _settle()
    Mops(inv)("list", "--json")
    whole = _entries(inv)
    assert _models_in(whole) == {"model-00000", "model-00001", "model-00002"}
    rel = EVIDENCE.format(1, 1)
    _edit(inv, rel)
    Mops(inv)("show", "model-00001@1.0.0", "--json")
    after = _entries(inv)
    others = {k: v for k, v in whole.items() if "model-00001/" not in k}
    assert others.items() <= after.items()  # the other models' entries, as they were
    assert len(_stamps_of(inv, rel)) == 1  # ... and the edited file's old stamp is gone
    assert _answers(inv) == _truth(inv, monkeypatch)
    _same_as_the_files(inv)


def test_forging_twin_a_single_model_run_taken_for_a_whole_one_drops_the_others(
        inv: Path, monkeypatch: pytest.MonkeyPatch):
    """The guard of the test above: were a one-model run saved as a whole one, the other
    models' entries would be lost (only time, never a wrong digest)."""
    _settle()
    Mops(inv)("list", "--json")
    save = DigestCache.save
    monkeypatch.setattr(DigestCache, "save", lambda self, whole=False: save(self, whole=True))
    Mops(inv)("show", "model-00001@1.0.0", "--json")
    assert _models_in(_entries(inv)) == {"model-00001"}
    monkeypatch.undo()
    assert _answers(inv) == _truth(inv, monkeypatch)


def test_a_deleted_models_entries_are_gone_after_a_whole_run(inv: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    _settle()
    Mops(inv)("check", "--format", "json")
    assert "model-00002" in _models_in(_entries(inv))
    git(inv, "rm", "-q", "-r", "models/model-00002")
    Mops(inv)("show", "model-00001@1.0.0", "--json")  # one model: cannot know, keeps them
    assert "model-00002" in _models_in(_entries(inv))
    Mops(inv)("list", "--json")
    assert _models_in(_entries(inv)) == {"model-00000", "model-00001"}
    with monkeypatch.context() as m:
        m.setenv("MOPS_NO_CACHE", "1")
        truth = Mops(inv).json("check", "--format", "json", code=None)
    assert Mops(inv).json("check", "--format", "json", code=None) == truth
    _same_as_the_files(inv)


def test_forging_twin_without_the_whole_runs_pruning_a_deleted_model_stays(
        inv: Path, monkeypatch: pytest.MonkeyPatch):
    """The guard of the test above removed (whole runs saved as one-model runs): the
    deleted model's entries stay, so that test fails."""
    _settle()
    Mops(inv)("check", "--format", "json")
    git(inv, "rm", "-q", "-r", "models/model-00002")
    save = DigestCache.save
    monkeypatch.setattr(DigestCache, "save", lambda self, whole=False: save(self))
    Mops(inv)("list", "--json")
    assert "model-00002" in _models_in(_entries(inv))


def test_a_run_that_fails_half_way_prunes_nothing(inv: Path):
    """A whole run that stops on a bad record has not asked for every file: it keeps the
    entries it did not reach."""
    _settle()
    Mops(inv)("list", "--json")
    whole = _entries(inv)
    (inv / "models" / "model-00002" / "card.md").write_text("---\nid: [unclosed\n---\n")
    Mops(inv)("list", "--json", code=None)
    assert whole.items() <= _entries(inv).items()


def test_history_entries_by_blob_id_are_kept_by_whole_runs(inv: Path):
    """A report reads evidence from a commit (by blob id): a later whole working-tree run
    keeps those entries, which every full replay of history asks for again."""
    _settle()
    Mops(inv)("audit", "--out", str(inv.parent / "report.html"))
    blobs = {k: v for k, v in _entries(inv).items() if k.startswith("blob:")}
    assert blobs
    Mops(inv)("list", "--json")
    assert blobs.items() <= _entries(inv).items()
