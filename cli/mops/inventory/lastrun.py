"""What the last whole run answered for each model, believed again by stamps alone.

``list`` and ``check`` of a whole inventory derive one value per model (its ``list`` rows,
its policy results) and keep it by content (:mod:`mops.inventory.memo`). Finding that
content unchanged still costs, per model, loading what was remembered of its folder
(:mod:`mops.inventory.stamps`), a hash of its record files' blob ids and a read of the
memo's shard: at 10,000 models, most of a warm run. This file keeps, for every model the
last whole run answered, the value with the stamp of everything it was derived from:

- every folder of the model's folder tree (an entry added, removed or renamed changes its
  folder's stamp, so the record files are the ones listed then);
- every record file the memo's key was made of (a write changes a file's ctime, which
  nobody can set back);
- every file the evaluation read besides the records (evidence, by its digest);

and, for the whole file, the memo's context (``mops.yaml``, the packs in force, mops's
own code). A model whose every path still has its stamp has the content the value was
derived from, so the value is the one evaluation would give again, while the clock stays
in the value's window. Every stamp kept is one the caches had already *settled* (older
than the racy margin when it was read, and the same before and after the read:
:func:`mops.inventory.stamps.observe`), and it is taken from them, never by a new
``stat`` after the evaluation, which could see a file written since.

A model with any path changed (or a path outside its folder, or a stamp not settled) is
answered the usual way and noted again. The file holds the models of the last whole run
only, in one sealed file per kind (``.git/mops/last-<kind>``): a damaged, foreign or
forged file is ignored, and ``MOPS_NO_CACHE=1`` sets it aside like every cache.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path
from typing import Any

from mops.inventory import sealed
from mops.inventory.stamps import PACK, SIZE

#: What :meth:`LastRun.get` (and :meth:`mops.inventory.memo.Memo.get`) returns for a value
#: it does not hold, or does not believe.
MISSING: Any = object()
FORMAT = 1


class Entry:
    """One model's value and what it was derived from (paths relative to the inventory's
    root): folders are compared by ``lstat``, files by ``stat`` (as the caches saw them)."""

    __slots__ = ("key", "folders", "folder_stamps", "files", "file_stamps", "lo", "hi", "value")

    def __init__(self, key: bytes, folders: tuple[str, ...], folder_stamps: bytes,
                 files: tuple[str, ...], file_stamps: bytes, lo: int | None, hi: int | None,
                 value: Any) -> None:
        #: The memo's key of the content (its entries are dropped when the model changes).
        self.key = key
        self.folders = folders
        self.folder_stamps = folder_stamps
        self.files = files
        self.file_stamps = file_stamps
        self.lo = lo
        self.hi = hi
        self.value = value

    def holds(self, root: str, at: int) -> bool:
        """Whether the value still holds at ``at`` (microseconds since the epoch): every
        path has its stamp and the instant is in the window."""
        if (self.lo is not None and at < self.lo) or (self.hi is not None and at >= self.hi):
            return False
        pack = PACK
        try:
            for paths, kept, stat in ((self.folders, self.folder_stamps, os.lstat),
                                      (self.files, self.file_stamps, os.stat)):
                seen = []
                for path in paths:
                    st = stat(root + path)
                    seen.append(pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                     st.st_ctime_ns))
                if b"".join(seen) != kept:
                    return False
        except OSError:
            return False
        return True

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.key, self.folders, self.folder_stamps, self.files, self.file_stamps,
                self.lo, self.hi, self.value)


def _entry(raw: Any) -> Entry:
    """An entry as :meth:`Entry.as_tuple` kept it; TypeError when it is not one."""
    key, folders, folder_stamps, files, file_stamps, lo, hi, value = raw
    if type(key) is not bytes or type(folders) is not tuple or type(files) is not tuple \
            or type(folder_stamps) is not bytes or type(file_stamps) is not bytes \
            or len(folder_stamps) != SIZE * len(folders) \
            or len(file_stamps) != SIZE * len(files) \
            or not all(type(p) is str for p in folders + files) \
            or not (lo is None or type(lo) is int) or not (hi is None or type(hi) is int):
        raise TypeError
    return Entry(key, folders, folder_stamps, files, file_stamps, lo, hi, value)


class LastRun:
    """The entries of one kind of value, for a run over every model of a working tree
    (``root``: the inventory's folder, with a trailing separator), under ``context`` (the
    memo's, which covers the settings, the packs and the code)."""

    def __init__(self, folder: Path | None, kind: str, context: bytes, root: str) -> None:
        self.path = folder / f"last-{kind}-{FORMAT}" if folder is not None else None
        self.context = context
        self.root = root
        self._secret = sealed.key() if folder is not None else None
        self._kept: dict[str, Entry] | None = None
        #: The models the last run asked for (some may have no entry), and this run's.
        self._models: frozenset[str] = frozenset()
        self.models: list[str] = []
        #: This run's entries, by model, in the order asked.
        self.entries: dict[str, Entry] = {}
        #: Whether any model was answered from the file (then the caches it stands for were
        #: not asked about that model: nothing may be pruned as unused).
        self.answered = False
        self._changed = False
        #: Whether this run asks for the models the last one answered, no more, no fewer.
        self._same = False
        #: The memo keys of content a model of the last run no longer has.
        self.replaced: list[bytes] = []

    def _load(self) -> dict[str, Entry]:
        if self._kept is None:
            self._kept = {}
            payload = sealed.read_view(self.path, self._secret) if self.path is not None \
                else None
            if payload is not None:
                try:
                    context, models, raw = marshal.loads(payload)
                    if type(context) is not bytes or type(models) is not frozenset \
                            or type(raw) is not dict:
                        raise TypeError
                    if context == self.context:
                        self._kept = {model: _entry(entry) for model, entry in raw.items()
                                      if model in models}
                        self._models = models
                except Exception:  # not what this version writes: ignored, and replaced
                    self._kept = {}
                    self._changed = True
        return self._kept

    def begin(self, models: list[str]) -> None:
        """This run asks for ``models``. When they are not those of the last run (a model
        added or removed), nothing is answered from the file: every cache is asked about
        every model, so that each can drop what belongs to a model no longer there."""
        self._load()
        self.models = models
        self._same = self._models == frozenset(models)

    def get(self, model: str, at: int) -> Any:
        """The value the last run kept for ``model`` if it still holds at ``at``
        (microseconds since the epoch); :data:`MISSING` otherwise."""
        if not self._same:
            return MISSING
        entry = self._load().get(model)
        if entry is None or not entry.holds(self.root, at):
            return MISSING
        self.entries[model] = entry
        self.answered = True
        return entry.value

    def note(self, model: str, key: bytes | None, entry: Entry | None) -> None:
        """``model``'s value as this run gave it, from content of the memo's ``key``
        (None: not kept by content), with what it was derived from (None: it cannot be
        kept)."""
        self._changed = True
        old = self._load().get(model)
        if old is not None and old.key != key:
            self.replaced.append(old.key)
        if entry is not None:
            self.entries[model] = entry

    def save(self) -> None:
        """Keep this run's entries (call only when the run asked for every model, and
        answered them all), when they are not the file's already."""
        if self.path is None or self._secret is None:
            return
        kept = self._load()
        models = frozenset(self.models)
        if not self._changed and models == self._models and kept.keys() == self.entries.keys():
            return
        payload = marshal.dumps((self.context, models,
                                 {m: e.as_tuple() for m, e in self.entries.items()}))
        sealed.write(self.path, self._secret, payload)
