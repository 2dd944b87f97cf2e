"""Paths that records name, kept inside the inventory.

A model card's ``monitoring.reference`` and ``monitoring.logs`` (and mops.yaml's
``monitoring.logs``) arrive by pull request like any other line of a record. Read as
given, an absolute path, a ``..`` or a committed symbolic link would make mops read
any file of the machine it runs on (a CI runner's secrets) and print what it found.
So such a path must be relative, without ``..``, and resolve (symbolic links
followed) to a file inside the inventory; paths a person types on the command line
(``--reference``, ``--current``, ``--logs``) are theirs to choose.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from mops.errors import UsageError

RULE = ("paths in records must stay inside the inventory: relative, without '..', and not "
        "through a symbolic link that leads out")


def check_relative(value: str, what: str) -> None:
    """Refuse an absolute path or pattern, or one with a ``..`` component (no IO)."""
    parts = [*PurePosixPath(value).parts, *PureWindowsPath(value).parts]
    if (os.path.isabs(value) or PurePosixPath(value).is_absolute()
            or PureWindowsPath(value).drive or PureWindowsPath(value).root
            or value.startswith("~") or ".." in parts):
        raise UsageError(f"{what}: {value!r} is not inside the inventory; {RULE}")


def is_inside(root: Path, path: str | Path) -> bool:
    """Whether ``path``, every symbolic link followed, is ``root`` or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def inside(root: Path, value: str, what: str) -> Path:
    """``value`` (relative to the inventory ``root``) as a path that stays inside it."""
    check_relative(value, what)
    path = root / value
    if not is_inside(root, path):
        raise UsageError(f"{what}: {value!r} leads outside the inventory through a symbolic "
                         f"link, and mops does not follow it; {RULE}")
    return path
