"""What was derived from one model's records (its policy results, its ``list`` rows), kept
by the content it was derived from, so that a run evaluates only the models that changed.

An entry's key is a keyed hash of everything its evaluation reads:

- the git blob id of each of the model's record files (card, version records, evidence
  and approval records, monitoring results, findings), with their paths, as the
  working tree holds them now (committed or not);
- the *context*: ``mops.yaml``'s blob id, each pack in force (its path and blob id) and
  a fingerprint of mops's own code (every module's bytes, Python's and PyYAML's
  versions), given by the caller;
- the files read besides the records (evidence files, by their sha256), kept in the
  entry with the digest each had, and checked again (through the digest cache) before
  the entry is believed;
- the clock: each entry holds the instants [from, until) over which every answer its
  evaluation asked of the clock stays the same (the day, for a review date; the whole
  day count, for an age); outside them it is evaluated again.

Nothing else is read: a model's evaluation never looks at another model, at git history
or at who committed what (the caller does not use this cache when a rule needs signed
sign-offs, which are checked against history). Entries are sealed shards
(:class:`mops.inventory.sealed.Shards`) in ``.git/mops/<kind>/``: damaged, foreign or
forged files are ignored, ``MOPS_NO_CACHE=1`` sets them aside, and a fresh clone has none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import marshal
import os
import posixpath
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mops import git
from mops.inventory import layout, sealed
from mops.inventory.digest import DigestCache
from mops.inventory.lastrun import MISSING as MISSING  # re-exported: the engine's
from mops.inventory.lastrun import Entry, LastRun
from mops.inventory.stamps import Unit
from mops.inventory.store import Inventory, ModelFiles, WorktreeSource
from mops.inventory.yamlio import blob_id

#: 2: entries in marshal's format (1: JSON).
FORMAT = 2


def code_fingerprint() -> bytes:
    """A hash of mops's modules (their bytes), and of the Python and PyYAML running them."""
    import mops

    return package_fingerprint(Path(mops.__file__).resolve().parent)


@functools.cache
def package_fingerprint(root: Path) -> bytes:
    """A hash of every file below ``root`` (but ``__pycache__``), with the Python and PyYAML."""
    import yaml

    h = hashlib.blake2b(digest_size=32, person=b"mops-code")
    h.update(f"{sys.version}\0{yaml.__version__}\0{FORMAT}\0".encode())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(folder) / name
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(blob_id(path.read_bytes()))
    return h.digest()


def plain(value: Any) -> Any:
    """``value`` as it is kept and given back: as JSON data gives it back (tuples as lists,
    other objects as text)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _micros(when: dt.datetime | None) -> int | None:
    """Microseconds since the epoch, exactly (a float timestamp could round across an edge)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH) // _MICROSECOND


class Memo:
    """Entries of each kind in ``derive`` (e.g. ``results``, ``rows``) for the models of a
    working tree: ``derive[kind](model, results)`` makes the value kept (JSON data).

    The policy engine gives the context (:meth:`use`: the hash of the settings and packs
    in force) and fills every kind when it evaluates a model. Not used for an inventory
    read from a commit. The one who makes a memo saves it (:meth:`save`).
    """

    def __init__(self, inv: Inventory, derive: Mapping[str, Callable[..., Any]]) -> None:
        self.inv = inv
        self.derive = dict(derive)
        folder = git.git_dir(inv.top) / layout.CACHE_DIR
        self.stores = {kind: sealed.Shards(folder / kind, f"{kind}-{FORMAT}") for kind in derive}
        self._folder = folder
        self.usable = isinstance(inv.source, WorktreeSource) and inv.commit is None and \
            all(store.enabled for store in self.stores.values())
        self._context: bytes | None = None
        #: The model of the last key (:meth:`model_key`), its record files when listed (see
        #: :attr:`files`), and the blob ids of the record files the key was made of.
        self._model: str | None = None
        self._files: ModelFiles | None = None
        self._ids: dict[str, bytes] = {}
        self._code: bytes | None = None
        self._unit: Unit | None = None
        #: The instant last asked about, in microseconds (:meth:`get`, once per model).
        self._now: tuple[dt.datetime, int] | None = None
        self._key: bytes | None = None
        self._data: dict[str, bytes] | None = None
        #: A key whose files were found changed when read (:attr:`data`): nothing is kept
        #: under it.
        self._unkept: bytes | None = None
        #: Set when every model of the inventory was asked for: then :meth:`save` drops the
        #: entries of content that is gone (another version of a record, of the settings,
        #: of mops), which would otherwise pile up in the shards every run reads.
        self.whole = False
        #: Set by the engine when every model asked for was answered (an error half-way
        #: must not drop the entries of the models it did not reach).
        self.done = False
        self._asked: set[str] = set()
        #: The window and the files read of the last value :meth:`get` gave.
        self._got: tuple[int | None, int | None, dict[str, str]] | None = None
        self._last: dict[str, LastRun] = {}

    def use(self, context: bytes | None) -> None:
        """Key entries by ``context`` (None: keep nothing, e.g. a rule reads git history)."""
        if context is None:
            self._context = None
            return
        h = hashlib.blake2b(digest_size=32, person=b"mops-memo")
        h.update(code_fingerprint())
        h.update(context)
        self._context = h.digest()

    def model_key(self, model_id: str) -> bytes | None:
        """The key of ``model_id``'s entries as its record files stand now (None: this model
        is not kept, e.g. a record that cannot be read; it is evaluated, and fails there)."""
        if not self.usable or self._context is None:
            return None
        h = hashlib.blake2b(self._context, digest_size=32, person=b"mops-memo-model")
        h.update(model_id.encode() + b"\0")
        source = self.inv.source
        assert isinstance(source, WorktreeSource)
        self._files, self._data, self._ids, self._key, self._unit = None, None, {}, None, None
        self._got = None
        self._model = model_id
        code = self._code = self._code or code_fingerprint()
        try:
            # The record files' paths: derived from the model folder's listing (by this
            # code), so remembered with it while every folder keeps its stamp.
            tree = source._tree(layout.model_dir(model_id))
            unit = self._unit = tree.unit if tree is not None else None
            derived = unit.derived if unit is not None else None
            if derived is not None and derived[0] == code:
                paths: Sequence[str] = derived[1]
            else:
                self._files = self.inv.model_files(model_id)
                paths = self._files.paths()
                if unit is not None:
                    unit.derive(code, tuple(paths))
            # Known by stamp when the file is as it was when last read (mops.inventory.stamps)
            ids = dict(zip(paths, source.blob_ids(paths), strict=True))
        except Exception:  # a name or a file the loader will refuse, with its own message
            return None
        h.update(b"".join(path.encode() + b"\0" + blob for path, blob in ids.items()))
        self._ids = ids
        self._key = h.digest()
        return self._key

    @property
    def files(self) -> ModelFiles | None:
        """The record files the last key (:meth:`model_key`) was made of, listed now: if
        they are not the ones the key was made of, nothing is kept under it (None: they
        cannot be listed; then the model is read as it stands, and nothing is kept)."""
        if self._files is None and self._model is not None:
            try:
                self._files = self.inv.model_files(self._model)
            except Exception:  # the loader says why, when it reads the model
                self._unkept = self._key
                return None
            paths = self._files.paths()
            if paths != list(self._ids):
                self._unkept = self._key
                if self._unit is not None and self._code is not None:  # not what the
                    self._unit.derive(self._code, tuple(paths))  # listing gives: derived again
        return self._files

    @property
    def data(self) -> dict[str, bytes]:
        """The bytes of the last key's record files, read now, for a model evaluated under
        that key (:meth:`Inventory.pinned`): if one is no longer what the key was made of,
        what is evaluated is still what was read, and nothing is kept under the key."""
        if self._data is None:
            self._data = {path: self.inv.read(path) for path in self._ids}
            if any(blob_id(content) != self._ids[path] for path, content in self._data.items()):
                self._unkept = self._key
        return self._data

    def get(self, kind: str, key: bytes, now: dt.datetime, digests: DigestCache) -> Any:
        """The value kept for ``key`` if it still holds at ``now`` and every file it read has
        the digest it had; :data:`MISSING` otherwise."""
        store = self.stores[kind]
        self._asked.add(kind)
        raw = store.get(key)
        if raw is None:
            return MISSING
        at = self.micros(now)
        self._got = None
        try:
            lo, hi, reads, value = marshal.loads(raw)
            if type(reads) is not dict or (lo is not None and type(lo) is not int) \
                    or (hi is not None and type(hi) is not int):
                raise TypeError
            if (lo is not None and at < lo) or (hi is not None and at >= hi):
                return MISSING
        except Exception:
            store.drop(key)  # not what this version of mops writes: forget it
            return MISSING
        for rel, digest in reads.items():
            if digests.file_sha256(rel) != digest:
                return MISSING
        self._got = (lo, hi, reads)
        return value

    def last_run(self, kind: str) -> LastRun | None:
        """The values of ``kind`` the last run over every model gave, believed by stamps
        (:mod:`mops.inventory.lastrun`); None unless this run asks for every model of a
        working tree and keeps values."""
        if not (self.whole and self.usable and self._context is not None):
            return None
        last = self._last.get(kind)
        if last is None or last.context != self._context:
            source = self.inv.source
            assert isinstance(source, WorktreeSource)
            last = self._last[kind] = LastRun(self._folder, kind, self._context,
                                              os.fspath(source.root) + os.sep)
        return last

    def micros(self, now: dt.datetime) -> int:
        """``now`` in microseconds since the epoch (as windows are kept)."""
        if self._now is None or self._now[0] is not now:
            micros = _micros(now)
            assert micros is not None
            self._now = (now, micros)
        return self._now[1]

    def entry(self, value: Any, window: list[dt.datetime | None] | None,
              reads: dict[str, str] | None, digests: DigestCache) -> Entry | None:
        """The last key's model's ``value`` (as kept: :func:`plain`, or what was derived from
        that) with the stamp of every path it was derived from, as the caches *settled* them
        (None: one is not, or is outside the model's folder, or nothing was kept under the
        key). With no ``window``, the window and reads are those of the value :meth:`get`
        just gave."""
        unit, key, model = self._unit, self._key, self._model
        if unit is None or not unit.folders or key is None or key == self._unkept \
                or model is None:
            return None
        if window is None:
            if self._got is None:
                return None
            lo, hi, reads = self._got
        else:
            lo, hi = _micros(window[0]), _micros(window[1])
        assert reads is not None
        top = layout.model_dir(model)
        inside = top + "/"
        if not all(f == top or f.startswith(inside) for f in unit.folders):
            return None
        files, seen = [], []
        for rel, blob in self._ids.items():
            kept = unit.blobs.get(rel[len(top):])
            if kept is None or kept[-20:] != blob or not rel.startswith(inside):
                return None
            files.append(rel)
            seen.append(kept[:-20])
        for rel, digest in reads.items():
            stamp = digests.stamp_of(rel, digest)
            if stamp is None or not rel.startswith(inside) or posixpath.normpath(rel) != rel:
                return None
            files.append(rel)
            seen.append(stamp)
        return Entry(key, unit.folders, b"".join(unit.stamps), tuple(files), b"".join(seen), lo,
                     hi, value)

    @property
    def pruning(self) -> bool:
        """Whether the caches may drop what this run did not ask for: it asked for every
        model, answered them all, and asked every cache (none was answered by the last
        run's file, which stands for them)."""
        return self.whole and self.done and not any(
            last.answered for last in self._last.values())

    def put(self, kind: str, key: bytes, value: Any, window: list[dt.datetime | None],
            reads: dict[str, str]) -> None:
        if key == self._unkept:
            return
        self.stores[kind].put(key, self.encoded(value, (_micros(window[0]), _micros(window[1])),
                                                reads))

    @staticmethod
    def encoded(value: Any, window: tuple[int | None, int | None], reads: dict[str, str]) -> bytes:
        """An entry as :meth:`get` reads it: the window's instants (microseconds since the
        epoch, None: unbounded), the files read with their digests, and the value as JSON
        data (as ``json`` would give it back: tuples as lists, other objects as text), in
        marshal's format, which reads back in a third of JSON's time."""
        return marshal.dumps((window[0], window[1], dict(reads), plain(value)))

    def save(self) -> None:
        if self.whole and self.done:
            for last in self._last.values():
                last.save()
                for key in last.replaced:  # content a model no longer has
                    for store in self.stores.values():
                        store.drop(key)
        for kind, store in self.stores.items():
            prune = self.pruning and kind in self._asked
            store.save(prune=prune)
            if prune and store.folder is not None:  # the shards of earlier formats
                for old in range(1, FORMAT):
                    for path in store.folder.glob(f"*.{kind}-{old}"):
                        with contextlib.suppress(OSError):
                            path.unlink()
