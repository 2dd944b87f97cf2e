"""Uncommitted changes: what differs between the working tree, the index and HEAD."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mops.git.run import run


def dirty_paths(top: Path, paths: Iterable[str]) -> list[str]:
    """Of ``paths``, those with uncommitted (staged, unstaged or untracked) changes."""
    paths = list(paths)
    if not paths:
        return []
    # --no-optional-locks: status must not take index.lock to refresh stat data.
    out = run(top, "--no-optional-locks", "status", "--porcelain=v1", "-z",
              "--untracked-files=all", "--ignored=no", "--", *paths)
    dirty = []
    for rec in out.split(b"\0"):
        if len(rec) > 3 and rec[2:3] == b" ":
            dirty.append(rec[3:].decode("utf-8", "surrogateescape"))
    return dirty


def uncommitted(top: Path, paths: Iterable[str]) -> dict[str, str]:
    """Paths under ``paths`` (literal pathspecs) with uncommitted changes -> git's two-letter
    status, ignored files included (``!!``) and renames as a deletion and an addition."""
    out = run(top, "--literal-pathspecs", "--no-optional-locks", "status", "--porcelain=v1",
              "-z", "--untracked-files=all", "--ignored=matching", "--no-renames", "--", *paths)
    found = {}
    for rec in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(rec) > 3 and rec[2] == " ":
            found[rec[3:]] = rec[:2]
    return found


def untracked_files(top: Path, under: str = ".") -> list[str]:
    """Files git does not track below ``under`` (not ignored ones), named from the top."""
    out = run(top, "ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", under)
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]
