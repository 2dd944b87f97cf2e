"""Knowing a file or folder did not change from its stat alone, as git's index knows it.

A *stamp* is what ``stat`` says of a path: device, inode, size, modification and change
times (to the nanosecond the filesystem keeps). Writing a file changes its change time
(ctime), which nobody can set: ``touch -d`` and ``os.utime`` put an old mtime back but
set the ctime to now, and a file replaced by a rename has another inode. Adding, removing
or renaming an entry of a folder changes the folder's own mtime and ctime. So a path whose
stamp is the one it had when it was read holds what was read then, with one exception
git calls "racy git": a write in the same tick of the filesystem's clock as the stamp,
after the read, leaves the stamp as it was. So a stamp is remembered only when it is
*settled*: its mtime and ctime at least :data:`RACY_NS` older than the moment reading
began (by ``time.time_ns``), and ``stat`` said the same before and after the read; any
later write then gets a later ctime. A path read inside that window is read again on the
next run, until its stamp has settled.

What it cannot see: a clock set back by more than the margin (the machine's, or a
network filesystem server's, whose clock stamps its files), and whoever can write the
cache (sealed: :mod:`mops.inventory.sealed`). Used by the evidence digest cache
(:mod:`mops.inventory.digest`) and, per model folder, by the working tree's reader
(:class:`StampCache`: each folder's listing and each record file's git blob id).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mops.inventory import sealed

#: How much older than the read a stamp's mtime and ctime must be to be remembered: more
#: than any filesystem's timestamp tick (FAT's is 2 s) and than the kernel's coarse clock.
RACY_NS = 2_000_000_000
FORMAT = 1
#: The folder of :class:`StampCache`, in ``.git/mops/``.
FOLDER = "stamps"

Stamp = bytes
T = TypeVar("T")
_STRUCT = struct.Struct("<QQQqq")
#: How a stamp is packed (:func:`stamp`); loops over many folders call it directly.
PACK = _STRUCT.pack
#: A stamp's length in bytes.
SIZE = _STRUCT.size


def stamp(st: os.stat_result) -> Stamp:
    """(device, inode, size, mtime, ctime) of a ``stat`` result, packed (40 bytes)."""
    return PACK(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def settled(st: os.stat_result, since_ns: int) -> bool:
    """Whether a path stat'ed as ``st`` and read from ``since_ns`` on may be known again by
    its stamp: its mtime and ctime well before the read (not in a tick a write can share)."""
    return max(st.st_mtime_ns, st.st_ctime_ns) + RACY_NS <= since_ns


def observe(path: str, compute: Callable[[str], T], *,
            stat: Callable[[str], os.stat_result] = os.stat) -> tuple[T, Stamp | None]:
    """``compute(path)`` and the stamp to remember it by: None when the path changed while
    it was read or its stamp has not settled (then nothing may be remembered)."""
    since = time.time_ns()
    before = stat(path)
    value = compute(path)
    after = stat(path)
    seen = stamp(after)
    return value, (seen if stamp(before) == seen and settled(after, since) else None)


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


class Unit:
    """What is remembered of one folder tree (a model's folder): every folder in it with
    its stamp, the tree they make (each folder's sorted entries, the files), and each
    file's stamp followed by its git blob id. The tree is believed only while *every*
    folder has its stamp (an entry added, removed or renamed changes its folder's).

    ``derived``: something its reader derived from the tree alone (the model's record
    files), with the tag it was derived under (the code's fingerprint); forgotten whenever
    the tree is listed anew."""

    __slots__ = ("folders", "stamps", "dirs", "files", "blobs", "derived", "dirty")

    def __init__(self, folders: tuple[str, ...] = (), stamps: tuple[Stamp, ...] = (),
                 dirs: dict[str, list[str]] | None = None, files: frozenset[str] = frozenset(),
                 blobs: dict[str, bytes] | None = None,
                 derived: tuple[bytes, tuple[str, ...]] | None = None) -> None:
        self.folders = folders
        self.stamps = stamps
        self.dirs: dict[str, list[str]] = dirs if dirs is not None else {}
        self.files = files
        self.blobs: dict[str, bytes] = blobs if blobs is not None else {}
        self.derived = derived if folders else None
        self.dirty = False

    def derive(self, tag: bytes, value: tuple[str, ...]) -> None:
        """Remember ``value``, derived from this tree (as listed) under ``tag``."""
        if self.folders and self.derived != (tag, value):
            self.derived = (tag, value)
            self.dirty = True

    def unchanged(self, root: str) -> bool:
        """Whether every folder remembered is still as it was (none: nothing is known)."""
        if not self.folders:
            return False
        lstat, pack = os.lstat, PACK  # (10,000 model folders: every lookup counts)
        try:
            for folder, seen in zip(self.folders, self.stamps, strict=True):
                st = lstat(root + folder)
                if pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) != seen:
                    return False
        except OSError:
            return False
        return True

    def remember(self, top: str, seen: dict[str, Stamp | None], dirs: dict[str, list[str]],
                 files: set[str]) -> None:
        """The tree of ``top`` just listed, with each folder's stamp (None: not settled, and
        then nothing is remembered: the next run lists it again). The blob ids of files no
        longer there are forgotten."""
        gone = [name for name in self.blobs if top + name not in files]
        for name in gone:
            del self.blobs[name]
        self.dirty = self.dirty or bool(gone)
        if all(v is not None for v in seen.values()):
            folders, stamps = tuple(seen), tuple(v for v in seen.values() if v is not None)
            kept = frozenset(files)
        else:
            folders, stamps, dirs, kept = (), (), {}, frozenset()
        if (folders, stamps) != (self.folders, self.stamps):
            self.folders, self.stamps, self.dirs, self.files = folders, stamps, dirs, kept
            self.derived = None
            self.dirty = True


class StampCache:
    """:class:`Unit` s by folder, in sealed shards of ``.git/mops/stamps/`` (one small
    file per key prefix, read only when a folder in it is asked for; damaged, foreign or
    forged shards read as empty; nothing is kept with ``MOPS_NO_CACHE=1``)."""

    def __init__(self, folder: Path | None) -> None:
        self.store = sealed.Shards(folder, f"stamps-{FORMAT}")
        self._units: dict[str, Unit] = {}

    @staticmethod
    def _name(unit: str) -> bytes:
        return hashlib.blake2b(unit.encode(), digest_size=16, person=b"mops-stamps").digest()

    def unit(self, unit: str) -> Unit | None:
        """What is remembered of ``unit`` (an empty record when nothing is); None when no
        cache is kept."""
        if not self.store.enabled:
            return None
        got = self._units.get(unit)
        if got is None:
            got = self._units[unit] = self._load(unit)
        return got

    def _load(self, unit: str) -> Unit:
        raw = self.store.get(self._name(unit))
        if raw is None:
            return Unit()
        try:
            name, folders, seen, dirs, files, blobs, derived = marshal.loads(raw)
            if name != unit or type(folders) is not tuple or type(seen) is not tuple \
                    or type(files) is not frozenset or type(dirs) is not dict \
                    or type(blobs) is not dict or not (
                        derived is None or type(derived) is tuple and len(derived) == 2
                        and type(derived[0]) is bytes and type(derived[1]) is tuple):
                raise TypeError
            unit_ = Unit(folders, seen, dirs, files, blobs, derived)
        except Exception:  # not what this version writes: forget it
            self.store.drop(self._name(unit))
            return Unit()
        return unit_

    @staticmethod
    def encoded(unit: str, data: Unit) -> bytes:
        """What is kept of ``unit``, as :meth:`unit` reads it back."""
        return marshal.dumps((unit, data.folders, data.stamps, data.dirs, data.files, data.blobs,
                              data.derived))

    def save(self, *, prune: bool = False) -> None:
        """Write the units that changed; with ``prune``, drop those this process did not
        ask for (a run that asked for every folder there is)."""
        for unit, data in self._units.items():
            if data.dirty:
                self.store.put(self._name(unit), self.encoded(unit, data))
                data.dirty = False
        self.store.save(prune=prune)
