"""Building a commit from blobs without touching anything visible; the user's index.

Writes use plumbing so that a mops commit contains exactly the files mops wrote:
blobs are hashed into the object store, the parent's tree is rewritten along the
changed paths only (``mktree``), the commit is made with ``commit-tree`` and
HEAD is moved with a compare-and-swap ``update-ref`` (:func:`mops.git.refs.advance_head`).
The user's own index and working tree changes are never part of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mops.errors import GitError
from mops.git.objects import BatchProcess, ObjectStore, TreeEntry, tree_entry
from mops.git.run import ZERO, run


def make_commit(top: Path, parent: str | None, blobs: Mapping[str, tuple[str, str]],
                message: str, *, sign: bool = False, removals: Iterable[str] = (),
                env: Mapping[str, str] | None = None) -> str:
    """Create a commit of ``parent``'s tree plus ``blobs`` (path -> (mode, sha)).

    Nothing visible changes: the caller moves HEAD with ``advance_head``. ``env`` may
    set who commits and when (``GIT_AUTHOR_*``, ``GIT_COMMITTER_*``).
    """
    tree = build_tree(top, parent, blobs, removals)
    args = ["commit-tree", tree]
    if parent:
        args += ["-p", parent]
    if sign:
        args.append("-S")
    return run(top, *args, input=message.encode("utf-8"), env=env).decode().strip()


#: A folder's changes: name -> a sub-folder's changes, (mode, blob id), or None (removed).
_Changes = dict[str, "_Changes | tuple[str, str] | None"]


def build_tree(top: Path, parent: str | None, blobs: Mapping[str, tuple[str, str]],
               removals: Iterable[str] = ()) -> str:
    """The id of ``parent``'s tree with ``blobs`` written and ``removals`` removed.

    Only the folders on the changed paths are read and written again (``git mktree``),
    so a commit costs the same in an inventory of ten thousand models as in one of ten:
    reading the whole tree into an index would cost a line per file of the repository.
    """
    changes: _Changes = {}
    for path, value in [*((p, None) for p in removals), *blobs.items()]:
        *folders, name = path.split("/")
        node = changes
        for part in folders:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[name] = value
    store = ObjectStore(top)
    writer = _TreeWriter(top)
    try:
        root = store.root_tree(parent) if parent else None
        return _write_tree(store, writer, root, changes) or writer.write({})
    finally:
        writer.close()
        store.close()


def _write_tree(store: ObjectStore, writer: _TreeWriter, base: str | None,
                changes: _Changes) -> str | None:
    """The new id of the folder ``base`` (None: a new folder) with ``changes``; None when
    nothing is left in it (git keeps no empty folders)."""
    entries = dict(store.tree(base)) if base else {}
    for name, change in changes.items():
        if isinstance(change, dict):
            old = entries.get(name)
            sub = _write_tree(store, writer, old.sha if old and old.mode == TREE_MODE else None,
                              change)
            if sub is None:
                entries.pop(name, None)
            else:
                entries[name] = TreeEntry(TREE_MODE, sub, -1)
        elif change is None:
            entries.pop(name, None)
        else:
            entries[name] = TreeEntry(change[0], change[1], -1)
    return writer.write(entries) if entries else None


class _TreeWriter(BatchProcess):
    """One ``git mktree --batch -z``: a tree per request, its id in return."""

    def __init__(self, top: Path) -> None:
        self.top = top

    def write(self, entries: Mapping[str, TreeEntry]) -> str:
        proc = self._process("mktree", "--batch", "-z", "--missing")
        assert proc.stdin is not None and proc.stdout is not None
        body = b"".join(f"{e.mode} {_KINDS.get(e.mode, 'blob')} {e.sha}\t".encode()
                        + name.encode("utf-8", "surrogateescape") + b"\0"
                        for name, e in entries.items())
        proc.stdin.write(body + b"\0")
        proc.stdin.flush()
        oid = proc.stdout.readline().decode().strip()
        if not oid:
            raise GitError("git mktree failed: it wrote no tree")
        return oid


TREE_MODE = "040000"
_KINDS = {TREE_MODE: "tree", "160000": "commit"}


def update_index(top: Path, blobs: Mapping[str, tuple[str, str]]) -> None:
    """Record our new blobs in the user's index, leaving every other entry alone."""
    info = "".join(f"{mode} {sha}\t{path}\n" for path, (mode, sha) in blobs.items())
    run(top, "update-index", "--add", "--index-info", input=info.encode("utf-8"))


def stage_written(top: Path, paths: Iterable[str]) -> None:
    """Record files just written in the user's index as git reads them from the working
    tree, with their stat data (so `git status` shows them clean), every other entry left
    alone: one ``update-index``, which never refreshes the whole index."""
    paths = list(paths)
    if paths:
        run(top, "--literal-pathspecs", "update-index", "-q", "--add", "--", *paths)


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
