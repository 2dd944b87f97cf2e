"""Uncommitted changes: what differs between the working tree, the index and HEAD."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mops.git.run import probe, run


def dirty_paths(top: Path, paths: Iterable[str]) -> list[str]:
    """Of ``paths``, those with uncommitted (staged, unstaged or untracked) changes."""
    paths = list(paths)
    if not paths or _all_clean(top, paths):
        return []
    # --no-optional-locks: status must not take index.lock to refresh stat data.
    out = run(top, "--no-optional-locks", "status", "--porcelain=v1", "-z",
              "--untracked-files=all", "--ignored=no", "--", *paths)
    dirty = []
    for rec in out.split(b"\0"):
        if len(rec) > 3 and rec[2:3] == b" ":
            dirty.append(rec[3:].decode("utf-8", "surrogateescape"))
    return dirty


def _all_clean(top: Path, paths: list[str]) -> bool:
    """Whether ``git status`` would say nothing of ``paths``, known without asking it.

    ``git status`` reads the whole index, 11 MB and 0.06 s at 10,000 models, so two cases
    are answered here: a path nothing knows (the file of a new record: not in the working
    tree, the index or HEAD), and a tracked file as committed (a record rewritten). An
    index entry holds its path whole, followed by NULs, in index versions 2 and 3; a path
    whose bytes are nowhere in the index file is not in it, and one found exactly once is
    checked as the entry it must then be (see :func:`_entry`). The file is then clean when
    HEAD holds the same blob with the same mode, and the file's own bytes hash to it with
    the executable bit of that mode. Anything else answers False, and ``git status``
    decides: a path that is not ASCII or not a regular file; index version 4 (compressed
    paths) or a split index (entries in another file); an entry's flags, conflict stages
    or a second occurrence of its path; an index other than the repository's own; a
    SHA-256 repository; and any attribute on the path, a ``.gitattributes`` anywhere in the
    index or ``core.autocrlf``, under which git's blob need not be the file's bytes.
    """
    files: dict[str, os.stat_result] = {}
    for path in paths:
        if not path.isascii():
            return False
        try:
            st = os.lstat(top / path)
        except FileNotFoundError:
            continue
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or os.environ.get("GIT_INDEX_FILE"):
            return False
        files[path] = st
    index = top / run(top, "rev-parse", "--git-path", "index").decode().strip()
    try:
        with open(index, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        data = b""  # no index yet: nothing is staged
    if data and (data[:8] not in (b"DIRC\0\0\0\x02", b"DIRC\0\0\0\x03")
                 or any(index.parent.glob("sharedindex.*"))):
        return False
    staged: dict[str, tuple[str, str]] = {}
    for path in paths:
        entry = _entry(data, path)
        if (entry is None) is (path in files) or entry == ("", ""):
            return False  # in the index and not a file, or the reverse, or in doubt
        if entry is not None:
            staged[path] = entry
    head = probe(top, "--literal-pathspecs", "ls-tree", "-z", "HEAD", "--", *paths)
    if head is None:
        return False  # no commit yet, or git cannot read HEAD
    committed: dict[str, tuple[str, str]] = {}
    for rec in head.split("\0"):
        if rec:
            info, _, name = rec.partition("\t")
            mode, _, sha = info.split(" ")
            committed[name] = (mode, sha)
    if committed.keys() != staged.keys():
        return False
    for path, (mode, sha) in staged.items():
        if committed[path] != (mode, sha) or len(sha) != 40:
            return False
        try:
            body = (top / path).read_bytes()
        except OSError:
            return False
        if hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest() != sha \
                or bool(files[path].st_mode & 0o100) != (mode == "100755"):
            return False
    if staged:
        autocrlf = run(top, "config", "--default", "false", "--get", "core.autocrlf")
        if autocrlf.strip().lower() not in (b"false", b"no", b"off", b"0") \
                or b".gitattributes\0" in data:
            return False
        # check-attr reads the whole index, for its .gitattributes, unless it has none to
        # read (one that does not exist is empty); those of the index are looked for above.
        with tempfile.TemporaryDirectory() as empty:
            if run(top, "check-attr", "-z", "-a", "--", *staged,
                   env={"GIT_INDEX_FILE": os.path.join(empty, "index")}):
                return False
    return True


def _entry(index: bytes, path: str) -> tuple[str, str] | None:
    """The (mode, object id) of ``path``'s entry in an index of version 2 or 3: None when
    its bytes are nowhere in the index (not even as a folder of entries), and ("", "") in
    doubt.

    An entry is 40 bytes of stat data (its mode among them), a 20-byte SHA-1 object id,
    16 bits of flags (the name's length in the low 12; assume-unchanged, extended and the
    conflict stage above them, all zero for a plain entry), the name and 1 to 8 NULs up to
    a multiple of 8 bytes; entries follow the 12-byte header. An entry with extended flags
    (skip-worktree, intent-to-add) has 2 more bytes before its name, so it fails these
    checks, as does a path found inside another (``xa/f`` holds ``a/f``, in doubt anyway
    since it occurs twice).
    """
    name = path.encode()
    first = index.find(name)
    if first < 0:
        return None
    at = index.find(name + b"\0", first)  # (-1, so start < 12, when only a folder's)
    start, end = at - 62, at + len(name)
    size = (62 + len(name) + 8) & ~7
    if index.find(name + b"\0", at + 1) >= 0 or start < 12 or start % 8 != 4 \
            or int.from_bytes(index[at - 2:at], "big") != len(name) \
            or index[end:start + size].strip(b"\0"):
        return ("", "")
    mode = int.from_bytes(index[start + 24:start + 28], "big")
    if mode not in (0o100644, 0o100755):
        return ("", "")
    return (f"{mode:o}", index[start + 40:start + 60].hex())


#: Settings under which ``git status`` compares every tracked file's stat data in full
#: (its change time included, which no user can set) and takes no other program's or
#: cache's word for a file or a folder: a user's ``core.trustctime=false``,
#: ``core.checkStat=minimal``, fsmonitor hook or untracked cache cannot make a changed or
#: an added file look clean. (Entries marked assume-unchanged or skip-worktree are not
#: compared at all: see :func:`unchecked_entries`.)
STRICT_STATUS = ("-c", "core.fsmonitor=false", "-c", "core.trustctime=true",
                 "-c", "core.checkStat=default", "-c", "core.ignoreStat=false",
                 "-c", "core.untrackedCache=false")


def uncommitted(top: Path, paths: Iterable[str], *, untracked: bool = True) -> dict[str, str]:
    """Paths under ``paths`` (literal pathspecs) with uncommitted changes -> git's two-letter
    status, ignored files included (``!!``) and renames as a deletion and an addition;
    ``untracked=False``: changes to tracked files only (no folder is listed)."""
    paths = list(paths)
    if not paths:
        return {}
    which = ("--untracked-files=all", "--ignored=matching") if untracked else \
        ("--untracked-files=no",)
    out = run(top, "--literal-pathspecs", *STRICT_STATUS, "--no-optional-locks", "status",
              "--porcelain=v1", "-z", *which, "--no-renames", "--", *paths)
    found = {}
    for rec in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(rec) > 3 and rec[2] == " ":
            found[rec[3:]] = rec[:2]
    return found


def untracked_files(top: Path, under: str = ".") -> list[str]:
    """Files git does not track below ``under`` (not ignored ones), named from the top."""
    out = run(top, "ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", under)
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def unchecked_entries(top: Path, paths: Iterable[str]) -> list[str]:
    """Index entries under ``paths`` that ``git status`` never compares with the working
    tree: marked assume-unchanged (``update-index --assume-unchanged``, or added under
    ``core.ignoreStat``) or skip-worktree. What the file holds must be checked otherwise."""
    paths = list(paths)
    if not paths:
        return []
    out = run(top, "--literal-pathspecs", "ls-files", "-z", "-v", "--", *paths)
    # Each entry is "<tag> <path>\0": a lowercase tag is assume-unchanged, S skip-worktree.
    # When every entry is tagged H (no path holds a NUL), none is: known from two counts,
    # without the pattern's walk of 70,000 entries (0.05 s).
    if out.startswith(b"H ") + out.count(b"\0H ") == out.count(b"\0"):
        return []
    return [m.decode("utf-8", "surrogateescape") for m in _UNCHECKED_RE.findall(out)]


_UNCHECKED_RE = re.compile(rb"(?:^|\0)(?:[a-z]|S) ([^\0]+)")
