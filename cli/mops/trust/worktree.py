"""What ``mops verify`` saw of the working tree at its checkpoint, so that the next run
re-checks only what may have changed since.

A run that found no problem keeps, beside its checkpoint (:mod:`mops.trust.checkpoint`),
sealed in ``.git/mops/verify-worktree`` (:mod:`mops.inventory.sealed`: a file this
user's mops did not write, or a damaged one, is ignored):

- the stamp of every folder below ``models/`` (:mod:`mops.inventory.stamps`: device,
  inode, size, modification and change time), taken before the folder was checked and
  only once settled (older than the check by the racy margin), else a mark that says
  "look again";
- the path of every sign-off, and of every evidence record with the files it lists and
  their sha256 (all of them parsed and matched at that run).

The next run from that checkpoint (the same commit, the same key) checks:

- **tracked files** with ``git status --untracked-files=no`` under
  :data:`mops.git.status.STRICT_STATUS` (each file's stat data in full, its change
  time included; no fsmonitor, no untracked cache), and the entries git would not compare
  (assume-unchanged, skip-worktree) by their content against HEAD;
- **files git does not track** (untracked or ignored) only in the folders whose stamp is
  not the one kept: adding, removing or renaming an entry changes its folder's change
  time, which nobody can set back, so a sign-off dropped into ``approvals/`` with the
  folder's mtime put back is seen; each entry of such a folder that is not a folder kept
  is asked of ``git status --untracked-files=all --ignored=matching``;
- **records and evidence files** that git names, or that a commit after the checkpoint
  touched, are read and hashed as a run without this file reads them; any other is the
  blob it was at the checkpoint (clean in the working tree, untouched in history since),
  whose parse and sha256 that run checked, so it is counted, not read again.

The checks of the rules' files (``mops.yaml``, ``.mops/``, ``policies/``,
``report_templates/``) are always whole. ``verify --full``, a fresh clone and
``MOPS_NO_CACHE=1`` use no such file.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import stat
from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops.inventory import sealed, stamps
from mops.inventory.layout import MODELS_DIR
from mops.inventory.store import Inventory
from mops.trust.checkpoint import cache_folder

FILE = "verify-worktree"
#: 2: the folders' names in one string and their stamps in one bytes (:class:`Stamps`).
FORMAT = 2
#: The bytes of a stamp (:func:`mops.inventory.stamps.stamp`).
WIDTH = 40
#: A folder's stamp that was not settled when it was checked (no folder has it): the folder
#: is listed again on every run.
AGAIN = bytes(WIDTH)
#: More entries to ask git about than this, and ``models/`` is asked about whole.
MAX_ASKED = 2000


def key_digest(key: dict[str, Any]) -> str:
    """The checkpoint key this file belongs to, as one digest."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


class Stamps(MutableMapping[str, bytes]):
    """Folder -> stamp as a run kept them: the names in one list and the stamps, WIDTH bytes
    each in the same order, in one bytes, with what changed since on top. Read back
    without a dict of every folder being built (90,000 at 10,000 models), and written
    back with its changes patched in (:meth:`packed`)."""

    def __init__(self, names: list[str], blob: bytes) -> None:
        if len(blob) != WIDTH * len(names):
            raise ValueError("a stamp for each folder")
        self.names, self.blob = names, blob
        self.changed: dict[str, bytes] = {}
        self.removed: set[str] = set()
        #: name -> position, made when first asked for, shared by the copies.
        self._index: list[dict[str, int]] = []

    def _position(self, rel: str) -> int | None:
        if not self._index:
            self._index.append({name: i for i, name in enumerate(self.names)})
        return self._index[0].get(rel)

    def _kept(self) -> Iterator[tuple[str, bytes]]:
        blob = self.blob
        return zip(self.names, (blob[i:i + WIDTH] for i in range(0, len(blob), WIDTH)),
                   strict=True)

    def _pairs(self) -> Iterator[tuple[str, bytes]]:
        if not self.changed and not self.removed:
            yield from self._kept()
            return
        for rel, kept in self._kept():
            if rel not in self.removed:
                yield rel, self.changed.get(rel, kept)
        for rel, value in self.changed.items():
            if self._position(rel) is None:
                yield rel, value

    def __getitem__(self, rel: str) -> bytes:
        if rel in self.changed:
            return self.changed[rel]
        at = None if rel in self.removed else self._position(rel)
        if at is None:
            raise KeyError(rel)
        return self.blob[at * WIDTH:(at + 1) * WIDTH]

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and (rel in self.changed or rel not in self.removed
                                         and self._position(rel) is not None)

    def __setitem__(self, rel: str, value: bytes) -> None:
        self.changed[rel] = value
        self.removed.discard(rel)

    def __delitem__(self, rel: str) -> None:
        if rel not in self:
            raise KeyError(rel)
        self.changed.pop(rel, None)
        if self._position(rel) is not None:
            self.removed.add(rel)

    def __iter__(self) -> Iterator[str]:
        return (rel for rel, _ in self._pairs())

    def __len__(self) -> int:
        return sum(1 for _ in self._pairs())

    def items(self) -> ItemsView[str, bytes]:
        return _Items(self)

    def copy(self) -> Stamps:
        out = Stamps.__new__(Stamps)
        out.names, out.blob, out._index = self.names, self.blob, self._index
        out.changed, out.removed = dict(self.changed), set(self.removed)
        return out

    def packed(self) -> tuple[list[str], bytes]:
        """The names and the stamps as kept, changes applied (new folders last)."""
        if not self.changed and not self.removed:
            return self.names, self.blob
        if self.removed:
            pairs = list(self._pairs())
            return [rel for rel, _ in pairs], b"".join(value for _, value in pairs)
        blob = bytearray(self.blob)
        new: dict[str, bytes] = {}
        for rel, value in self.changed.items():
            at = self._position(rel)
            if len(value) != WIDTH:
                raise ValueError(f"a stamp of {WIDTH} bytes for {rel}")
            if at is None:
                new[rel] = value
            else:
                blob[at * WIDTH:(at + 1) * WIDTH] = value
        return self.names + list(new), bytes(blob) + b"".join(new.values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Stamps):
            return self.packed() == other.packed()
        return isinstance(other, Mapping) and dict(self._pairs()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dict


class _Items(ItemsView[str, bytes]):
    """:meth:`Stamps.items`, walked over the kept list and bytes, not key by key."""

    _mapping: Stamps

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return self._mapping._pairs()


def packed(dirs: Mapping[str, bytes]) -> tuple[list[str], bytes]:
    """``dirs`` as a list of names and their stamps in one bytes."""
    if isinstance(dirs, Stamps):
        return dirs.packed()
    if any(len(value) != WIDTH for value in dirs.values()):
        raise ValueError(f"a stamp of {WIDTH} bytes for each folder")
    return list(dirs), b"".join(dirs.values())


@dataclass
class Seen:
    """The working tree as a clean run saw it at ``commit``."""

    commit: str
    key: str
    #: Inventory-relative folder (``models`` and below) -> its stamp (:data:`AGAIN`: none).
    dirs: MutableMapping[str, bytes] = field(default_factory=dict)
    signoffs: tuple[str, ...] = ()
    #: Evidence record -> ((file, sha256), ...) of the files it lists, version-relative.
    evidence: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def _path(inv: Inventory) -> Path:
    return cache_folder(inv.top) / FILE


def load(inv: Inventory, commit: str, key: dict[str, Any]) -> Seen | None:
    """What was kept for ``commit`` under ``key``; None when nothing (valid) was."""
    payload = sealed.read_view(_path(inv), sealed.key())
    if payload is None:
        return None
    try:
        # Sealed by this user's mops, under a key that names the code that wrote it (the
        # checkpoint's): the layout is this module's; only its shape is checked.
        fmt, got_commit, got_key, names, blob, signoffs, evidence = marshal.loads(payload)
        if fmt != FORMAT or got_commit != commit or got_key != key_digest(key) \
                or type(names) is not str or type(blob) is not bytes \
                or type(signoffs) is not str or type(evidence) is not dict:
            return None
        dirs = Stamps(names.split("\0") if names else [], blob)
    except Exception:  # noqa: BLE001 - anything but what this version writes: not believed
        return None
    return Seen(got_commit, got_key, dirs, tuple(signoffs.split("\0")) if signoffs else (),
                evidence)


def store(inv: Inventory, seen: Seen) -> None:
    names, blob = packed(seen.dirs)
    payload = marshal.dumps((FORMAT, seen.commit, seen.key, "\0".join(names), blob,
                             "\0".join(seen.signoffs), seen.evidence))
    sealed.write(_path(inv), sealed.key(), payload)


# ----------------------------------------------------------------------------- folders


def changed_dirs(root: str, dirs: Mapping[str, bytes]) -> list[str]:
    """The folders kept whose stamp is not the one kept (or that are gone, or were not
    settled)."""
    out = []
    lstat = os.lstat
    pack = stamps.PACK  # stamps.stamp, inlined: this loop is most of a run with nothing new
    names, kept = packed(dirs)  # each stamp compared where it lies in the kept bytes
    try:
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return names
    try:
        for rel, at in zip(names, range(0, len(kept), WIDTH), strict=True):
            try:
                st = lstat(rel, dir_fd=top)  # the names below root, as root + rel names them
            except OSError:
                out.append(rel)
                continue
            if not kept.startswith(pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                        st.st_ctime_ns), at):
                out.append(rel)
    finally:
        os.close(top)
    return out


def _observe_listing(full: str, since_ns: int) -> tuple[list[os.DirEntry[str]] | None, bytes]:
    """A folder's entries (None: not a folder) and the stamp to keep for it."""
    try:
        before = os.lstat(full)
    except OSError:
        return None, AGAIN
    if not stat.S_ISDIR(before.st_mode):  # a symbolic link (lstat): not followed
        return None, AGAIN
    try:
        with os.scandir(full) as it:
            entries = list(it)
        after = os.lstat(full)
    except OSError:
        return None, AGAIN
    seen = stamps.stamp(after)
    keep = seen if stamps.stamp(before) == seen and stamps.settled(after, since_ns) else AGAIN
    return entries, keep


def rescan(root: str, dirs: MutableMapping[str, bytes], changed: Iterable[str],
           since_ns: int) -> tuple[MutableMapping[str, bytes], list[str]]:
    """The folders' stamps brought up to date for ``changed`` ones (each listed again;
    folders that appeared below them walked whole), and the entries of the changed
    folders that are not folders kept: what git must be asked about (files git may not
    track, and new folders, recursively)."""
    fresh: MutableMapping[str, bytes] = dirs.copy() if isinstance(dirs, Stamps) else dict(dirs)
    ask: list[str] = []
    gone: list[str] = []
    for rel in changed:
        entries, keep = _observe_listing(root + rel, since_ns)
        if entries is None:
            gone.append(rel)
            if os.path.lexists(root + rel):  # no longer a folder: a link, a file
                ask.append(rel)
            continue
        fresh[rel] = keep
        for entry in entries:
            sub = f"{rel}/{entry.name}"
            if sub in dirs and entry.is_dir(follow_symlinks=False):
                continue
            ask.append(sub)
            if entry.is_dir(follow_symlinks=False):
                fresh.update(walk(root, sub, since_ns))
    if gone:  # and every folder below one that is gone (or no longer a folder)
        out, below = set(gone), tuple(f"{rel}/" for rel in gone)
        fresh = {rel: v for rel, v in fresh.items() if rel not in out and not rel.startswith(below)}
        if MODELS_DIR in out:  # looked at on every run until it is a folder again
            fresh[MODELS_DIR] = AGAIN
    return fresh, ask


def walk(root: str, top: str, since_ns: int) -> dict[str, bytes]:
    """Every folder from ``top`` down (symbolic links are not followed), with its stamp;
    ``top`` itself always (as :data:`AGAIN` when it is missing or not a folder: what
    appears there later is seen)."""
    found: dict[str, bytes] = {top: AGAIN}
    stack = [top]
    while stack:
        rel = stack.pop()
        entries, keep = _observe_listing(root + rel, since_ns)
        if entries is None:
            continue
        found[rel] = keep
        stack += [f"{rel}/{e.name}" for e in entries if e.is_dir(follow_symlinks=False)]
    return found


def again(dirs: MutableMapping[str, bytes], paths: Iterable[str]) -> None:
    """Mark the folders holding ``paths`` to be checked on every run (a leftover file the
    run warned about must be warned about again)."""
    for path in paths:
        parent = path.rpartition("/")[0]
        if parent in dirs:
            dirs[parent] = AGAIN


def under_models(path: str) -> bool:
    return path == MODELS_DIR or path.startswith(MODELS_DIR + "/")
