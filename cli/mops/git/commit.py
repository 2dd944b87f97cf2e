"""Building a commit from blobs without touching anything visible; the user's index.

Writes use plumbing so that a mops commit contains exactly the files mops wrote:
blobs are hashed into the object store, a tree is built in a *temporary* index
from the parent plus those blobs, the commit is made with ``commit-tree`` and
HEAD is moved with a compare-and-swap ``update-ref`` (:func:`mops.git.refs.advance_head`).
The user's own index and working tree changes are never part of it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mops.git.objects import tree_entry
from mops.git.run import ZERO, run


def make_commit(top: Path, parent: str | None, blobs: Mapping[str, tuple[str, str]],
                message: str, *, sign: bool = False, removals: Iterable[str] = (),
                env: Mapping[str, str] | None = None) -> str:
    """Create a commit of ``parent``'s tree plus ``blobs`` (path -> (mode, sha)).

    Nothing visible changes: the caller moves HEAD with ``advance_head``. ``env`` may
    set who commits and when (``GIT_AUTHOR_*``, ``GIT_COMMITTER_*``).
    """
    with tempfile.TemporaryDirectory(prefix="mops-index-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if parent:
            run(top, "read-tree", parent, env=index)
        else:
            run(top, "read-tree", "--empty", env=index)
        info = "".join(f"{mode} {sha}\t{path}\n" for path, (mode, sha) in blobs.items())
        info += "".join(f"0 {ZERO}\t{path}\n" for path in removals)
        run(top, "update-index", "--index-info", input=info.encode("utf-8"), env=index)
        tree = run(top, "write-tree", env=index).decode().strip()
    args = ["commit-tree", tree]
    if parent:
        args += ["-p", parent]
    if sign:
        args.append("-S")
    return run(top, *args, input=message.encode("utf-8"), env=env).decode().strip()


def update_index(top: Path, blobs: Mapping[str, tuple[str, str]]) -> None:
    """Record our new blobs in the user's index, leaving every other entry alone."""
    info = "".join(f"{mode} {sha}\t{path}\n" for path, (mode, sha) in blobs.items())
    run(top, "update-index", "--add", "--index-info", input=info.encode("utf-8"))


def refresh_index(top: Path, paths: Iterable[str]) -> None:
    """Refresh stat info for our paths, so `git status` shows them clean."""
    paths = list(paths)
    if paths:
        run(top, "update-index", "-q", "--refresh", "--", *paths, check=False)


def restore_index(top: Path, parent: str | None, paths: Sequence[str]) -> None:
    """Put the index entries of ``paths`` back as they are in ``parent`` (absent if not there)."""
    info = []
    for path in paths:
        entry = tree_entry(top, parent, path) if parent else None
        if entry:
            info.append(f"{entry[0]} {entry[1]}\t{path}\n")
        else:
            info.append(f"0 {ZERO}\t{path}\n")
    run(top, "update-index", "--index-info", input="".join(info).encode())


def commit_paths(top: Path, paths: Sequence[str], message: str, *,
                 env: Mapping[str, str] | None = None) -> None:
    """``git add`` ``paths`` and ``git commit`` them as a person would (no mops trailers)."""
    run(top, "add", "--", *paths, env=env)
    run(top, "commit", "-q", "-m", message, env=env)
