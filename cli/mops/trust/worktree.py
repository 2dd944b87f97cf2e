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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops import git
from mops.inventory import sealed, stamps
from mops.inventory.layout import CACHE_DIR, MODELS_DIR
from mops.inventory.store import Inventory

FILE = "verify-worktree"
FORMAT = 1
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


@dataclass
class Seen:
    """The working tree as a clean run saw it at ``commit``."""

    commit: str
    key: str
    #: Inventory-relative folder (``models`` and below) -> its stamp (:data:`AGAIN`: none).
    dirs: dict[str, bytes] = field(default_factory=dict)
    signoffs: tuple[str, ...] = ()
    #: Evidence record -> ((file, sha256), ...) of the files it lists, version-relative.
    evidence: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def _path(inv: Inventory) -> Path:
    return git.git_dir(inv.top) / CACHE_DIR / FILE


def load(inv: Inventory, commit: str, key: dict[str, Any]) -> Seen | None:
    """What was kept for ``commit`` under ``key``; None when nothing (valid) was."""
    payload = sealed.read(_path(inv), sealed.key())
    if payload is None:
        return None
    try:
        # Sealed by this user's mops, under a key that names the code that wrote it (the
        # checkpoint's): the layout is this module's; only its shape is checked.
        fmt, got_commit, got_key, dirs, signoffs, evidence = marshal.loads(payload)
        if fmt != FORMAT or got_commit != commit or got_key != key_digest(key) \
                or type(dirs) is not dict or type(signoffs) is not str \
                or type(evidence) is not dict:
            return None
    except Exception:  # noqa: BLE001 - anything but what this version writes: not believed
        return None
    return Seen(got_commit, got_key, dirs, tuple(signoffs.split("\0")) if signoffs else (),
                evidence)


def store(inv: Inventory, seen: Seen) -> None:
    payload = marshal.dumps((FORMAT, seen.commit, seen.key, seen.dirs,
                             "\0".join(seen.signoffs), seen.evidence))
    sealed.write(_path(inv), sealed.key(), payload)


# ----------------------------------------------------------------------------- folders


def changed_dirs(root: str, dirs: dict[str, bytes]) -> list[str]:
    """The folders kept whose stamp is not the one kept (or that are gone, or were not
    settled)."""
    out = []
    lstat = os.lstat
    pack = stamps.PACK  # stamps.stamp, inlined: this loop is most of a run with nothing new
    for rel, kept in dirs.items():
        try:
            st = lstat(root + rel)
        except OSError:
            out.append(rel)
            continue
        if pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) != kept:
            out.append(rel)
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


def rescan(root: str, dirs: dict[str, bytes], changed: Iterable[str],
           since_ns: int) -> tuple[dict[str, bytes], list[str]]:
    """The folders' stamps brought up to date for ``changed`` ones (each listed again;
    folders that appeared below them walked whole), and the entries of the changed
    folders that are not folders kept: what git must be asked about (files git may not
    track, and new folders, recursively)."""
    fresh = dict(dirs)
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


def again(dirs: dict[str, bytes], paths: Iterable[str]) -> None:
    """Mark the folders holding ``paths`` to be checked on every run (a leftover file the
    run warned about must be warned about again)."""
    for path in paths:
        parent = path.rpartition("/")[0]
        if parent in dirs:
            dirs[parent] = AGAIN


def under_models(path: str) -> bool:
    return path == MODELS_DIR or path.startswith(MODELS_DIR + "/")
