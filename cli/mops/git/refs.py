"""HEAD, branches and revisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from mops import clock
from mops.errors import UsageError
from mops.git.run import ZERO, probe, run


def head(top: Path) -> str | None:
    """The commit HEAD points to, or None in a repository without commits."""
    return probe(top, "rev-parse", "--verify", "-q", "HEAD^{commit}")


def resolve(top: Path, rev: str) -> str:
    """Resolve a revision to a full commit id; an unknown one is a usage error."""
    if rev.startswith("-"):
        raise UsageError(f"invalid revision {rev!r}")
    commit = probe(top, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    if commit is None:
        raise UsageError(f"unknown revision {rev!r}: not a commit in this repository")
    return commit


def commit_before(top: Path, when: dt.datetime) -> str | None:
    """The last commit on HEAD's history committed at or before ``when``."""
    stamp = clock.format_timestamp(when)
    out = run(top, "rev-list", "-1", "--first-parent", f"--before={stamp}", "HEAD", check=False)
    sha = out.decode().strip()
    return sha or None


def symbolic_ref(top: Path, name: str) -> str:
    """What the symbolic ref ``name`` points to, short (``main``, ``origin/main``); "" if none."""
    return run(top, "symbolic-ref", "-q", "--short", name, check=False).decode().strip()


def advance_head(top: Path, new: str, old: str | None, reflog: str, *,
                 env: Mapping[str, str] | None = None) -> None:
    """Move HEAD (its branch) from ``old`` to ``new``; fails if someone else moved it.

    ``env`` names who the reflog entry is by (as for a commit)."""
    run(top, "update-ref", "-m", reflog, "HEAD", new, old or ZERO, env=env)


def delete_head(top: Path, old: str, *, env: Mapping[str, str] | None = None) -> None:
    """Make HEAD's branch unborn again (undo a first commit), if it is still at ``old``."""
    run(top, "update-ref", "-d", "HEAD", old, env=env)
