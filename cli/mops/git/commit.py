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
    raw = store.raw_tree(base) if base else b""
    if len(raw) >= SPLICE_BYTES:
        places = _places(raw, 32 if len(base or "") == 64 else 20, changes)
        if places is not None:
            return _splice(store, writer, raw, places, changes)
    entries = ObjectStore.parse_tree(base, raw) if base else {}
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


#: A folder whose tree object is this large or larger (about 400 entries: ``models/`` in a
#: large inventory) is edited in place when every change replaces or removes an entry of
#: the same kind, without parsing the thousands of entries that stay, and stored with
#: ``git hash-object -t tree`` (which checks its format); smaller folders, and any that
#: gain an entry (whose place in git's order mktree finds), go through ``git mktree``.
SPLICE_BYTES = 16 * 1024

#: Where a changed entry lies in a tree object: (start, end, its id's bytes).
_Place = tuple[int, int, bytes]


def _places(raw: bytes, width: int, changes: _Changes) -> dict[str, _Place] | None:
    """Each changed name's entry in ``raw``, or None when one is new or changes kind
    (a file becoming a folder moves in git's order)."""
    wanted = {name.encode("utf-8", "surrogateescape"): name for name in changes}
    found: dict[str, _Place] = {}
    pos, size, index = 0, len(raw), raw.index
    while pos < size and len(found) < len(wanted):
        nul = index(b"\0", pos)
        space = index(b" ", pos, nul)
        end = nul + 1 + width
        name = wanted.get(raw[space + 1:nul])
        if name is not None:
            change = changes[name]
            if change is not None and isinstance(change, dict) != (raw[pos:space] == _TREE):
                return None
            found[name] = (pos, end, raw[nul + 1:end])
        pos = end
    return found if len(found) == len(wanted) else None


def _splice(store: ObjectStore, writer: _TreeWriter, raw: bytes, places: dict[str, _Place],
            changes: _Changes) -> str | None:
    """``raw`` with each changed entry written again in its place, or left out."""
    pieces, pos = [], 0
    for name, (start, end, oid) in sorted(places.items(), key=lambda item: item[1][0]):
        change = changes[name]
        pieces.append(raw[pos:start])
        pos = end
        if isinstance(change, dict):
            sub = _write_tree(store, writer, oid.hex(), change)
            entry = None if sub is None else (_TREE, sub)
        else:
            entry = None if change is None else (change[0].lstrip("0").encode(), change[1])
        if entry is not None:
            pieces.append(entry[0] + b" " + name.encode("utf-8", "surrogateescape") + b"\0"
                          + bytes.fromhex(entry[1]))
    pieces.append(raw[pos:])
    data = b"".join(pieces)
    return writer.write_raw(data) if data else None


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

    def write_raw(self, data: bytes) -> str:
        """Store a tree object given as git's own bytes."""
        return run(self.top, "hash-object", "-w", "-t", "tree", "--stdin",
                   input=data).decode().strip()


TREE_MODE = "040000"
_TREE = b"40000"  # a folder's mode as a tree object spells it
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
