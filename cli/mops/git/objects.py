"""Git's object store: blobs in, blobs and trees out; reading a commit without a checkout."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops.git.run import popen, run


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    sha: str
    size: int


class BatchProcess:
    """One long-lived git process (``cat-file --batch``, ``mktree --batch``) fed request
    by request: started on first use, ended by :meth:`close`."""

    top: Path
    _proc: subprocess.Popen[bytes] | None = None

    def _process(self, *args: str) -> subprocess.Popen[bytes]:
        if self._proc is None:
            self._proc = popen(self.top, *args)
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


class _Lazy(Mapping[str, Any]):
    """A mapping of a :class:`CommitReader` that reads the folders a key needs first
    (iterating it reads them all)."""

    def __init__(self, reader: CommitReader, data: dict[str, Any]) -> None:
        self._reader = reader
        self._data = data

    def __getitem__(self, key: str) -> Any:
        self._reader._need(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        self._reader._need(key)
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        self._reader._need_all()
        return iter(self._data)

    def __len__(self) -> int:
        self._reader._need_all()
        return len(self._data)


class CommitReader(BatchProcess):
    """Reads files of one commit straight from git's object store (no checkout).

    With ``lazy`` (a folder, inventory-relative), each folder directly in it (one model's)
    is listed only when a path in it is first asked for, so that reading one model of a
    large inventory never lists the others; after :data:`UNITS` such folders, the rest are
    listed at once. ``entries`` and ``dirs`` are the same either way.
    """

    #: Folders below ``lazy`` listed one at a time before the rest are listed together.
    UNITS = 16

    def __init__(self, top: Path, commit: str, prefix: str = "", lazy: str | None = None) -> None:
        self.top = top
        self.commit = commit
        self.prefix = prefix
        self._entries: dict[str, TreeEntry] = {}
        self._dirs: dict[str, set[str]] = {"": set()}
        #: Files (path -> entry) and folders (path -> names in it), inventory-relative.
        self.entries: Mapping[str, TreeEntry] = _Lazy(self, self._entries)
        self.dirs: Mapping[str, set[str]] = _Lazy(self, self._dirs)
        self._prefetched: dict[str, bytes] = {}
        self._lazy = lazy
        #: Folders below ``lazy`` not listed yet, and how many were listed one by one.
        self._pending: set[str] = set()
        self._units = 0
        if lazy is None:
            self._list(["-r"], [self.prefix] if prefix else [])
            return
        base = self._git_path(lazy)
        top_level = self._list([], [self._git_path("") + "/"] if prefix else [])
        rest = [self._git_path(name) for name, kind in top_level if name != lazy]
        if rest:
            self._list(["-r"], rest)
        self._list_lazy(base)

    def _list_lazy(self, base: str) -> None:
        """The folders directly in ``lazy`` (pending), and its own files: one ``ls-tree``,
        parsed lightly (10,000 models are 10,000 lines)."""
        out = run(self.top, "--literal-pathspecs", "ls-tree", "-z", "--long", "--full-tree",
                  self.commit, "--", base + "/")
        files = []
        for rec in out.split(b"\0"):
            meta, _, name = rec.partition(b"\t")
            if meta[7:11] == b"tree":
                self._pending.add(name.rpartition(b"/")[2].decode("utf-8", "surrogateescape"))
            elif rec:
                files.append(rec)
        if self._pending and self._lazy is not None:
            parts = self._lazy.split("/")
            for i in range(len(parts)):
                self._dirs.setdefault("/".join(parts[:i]), set()).add(parts[i])
            self._dirs.setdefault(self._lazy, set()).update(self._pending)
        for rec in files:  # e.g. models/.gitkeep
            meta, _, name = rec.partition(b"\t")
            self._add(meta, name)

    def _git_path(self, rel: str) -> str:
        return "/".join(p for p in (self.prefix, rel) if p)

    def _list(self, flags: list[str], paths: list[str]) -> list[tuple[str, str]]:
        """Run ``git ls-tree`` and add what it lists; returns (path, type) of each entry
        (a folder, listed without ``-r``, is recorded in ``dirs`` only)."""
        out = run(self.top, "--literal-pathspecs", "ls-tree", *flags, "-z", "--long",
                  "--full-tree", self.commit, *(["--", *paths] if paths else []))
        listed = []
        for rec in out.split(b"\0"):
            if rec:
                meta, _, name = rec.partition(b"\t")
                found = self._add(meta, name)
                if found is not None:
                    listed.append(found)
        return listed

    def _add(self, meta: bytes, name: bytes) -> tuple[str, str] | None:
        """Record one ``ls-tree --long`` line; (inventory-relative path, type), or None when
        it lies outside the prefix."""
        mode, kind, sha, size = meta.decode().split()
        path = name.decode("utf-8", "surrogateescape")
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return None
            path = path[len(self.prefix) + 1:]
        parts = path.split("/")
        for i in range(len(parts)):
            self._dirs.setdefault("/".join(parts[:i]), set()).add(parts[i])
        if kind == "tree":
            self._dirs.setdefault(path, set())
        else:
            self._entries[path] = TreeEntry(mode, sha, int(size) if size != "-" else 0)
        return path, kind

    def _need(self, path: str) -> None:
        """List the folder below ``lazy`` that ``path`` lies in, if not yet."""
        if not self._pending or self._lazy is None or not path.startswith(self._lazy + "/"):
            return
        unit = path[len(self._lazy) + 1:].split("/", 1)[0]
        if unit not in self._pending:
            return
        if self._units >= self.UNITS:
            self._need_all()
            return
        self._units += 1
        self._pending.discard(unit)
        self._list(["-r"], [self._git_path(f"{self._lazy}/{unit}") + "/"])

    def _need_all(self) -> None:
        if self._pending and self._lazy is not None:
            self._pending.clear()
            self._list(["-r"], [self._git_path(self._lazy) + "/"])

    def under(self, folders: Iterable[str]) -> list[str]:
        """The files below ``folders`` (inventory-relative), listing only those folders."""
        prefixes = tuple(f"{f}/" for f in folders)
        for f in prefixes:
            if self._lazy is not None and f.startswith(self._lazy + "/") \
                    and f != self._lazy + "/":
                self._need(f)
            else:
                self._need_all()
        return [p for p in self._entries if p.startswith(prefixes)]

    def _batch(self) -> subprocess.Popen[bytes]:
        return self._process("cat-file", "--batch")

    def prefetch(self, paths: Iterable[str], *, max_size: int = 1024 * 1024) -> None:
        """Read many small files with one ``git cat-file --batch --buffer`` (instead of a
        pipe round trip per file). Files over ``max_size`` are left to :meth:`read`."""
        wanted = sorted({p for p in paths if p in self.entries and p not in self._prefetched
                         and self.entries[p].size <= max_size})
        if not wanted:
            return
        request = b"".join(self.entries[p].sha.encode() + b"\n" for p in wanted)
        out = run(self.top, "cat-file", "--batch", "--buffer", input=request)
        pos = 0
        for p in wanted:
            eol = out.index(b"\n", pos)
            size = int(out[pos:eol].split()[2])
            self._prefetched[p] = out[eol + 1:eol + 1 + size]
            pos = eol + 2 + size

    def read(self, path: str) -> bytes:
        if path in self._prefetched:
            return self._prefetched[path]
        entry = self.entries.get(path)
        if entry is None:
            raise FileNotFoundError(path)
        proc = self._batch()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(entry.sha.encode() + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        size = int(header[2])
        data = proc.stdout.read(size)
        proc.stdout.read(1)
        return data

    def is_symlink(self, path: str) -> bool:
        entry = self.entries.get(path)
        return entry is not None and entry.mode == "120000"


def hash_blob(top: Path, data: bytes | None = None, *, path: Path | None = None) -> str:
    """Store a blob in the object database (streaming from ``path`` when given)."""
    if path is not None:
        return run(top, "hash-object", "-w", "--no-filters", "--", str(path)).decode().strip()
    return run(top, "hash-object", "-w", "--no-filters", "--stdin", input=data).decode().strip()


def read_blob(top: Path, spec: str) -> bytes:
    """The blob ``rev:path`` names; empty when there is none."""
    return run(top, "cat-file", "blob", spec, check=False)


def cat_blobs(top: Path, specs: list[str]) -> dict[str, bytes | None]:
    """The contents of ``rev:path`` objects, in one ``git cat-file --batch``; None if missing."""
    if not specs:
        return {}
    out = run(top, "cat-file", "--batch", input="".join(f"{s}\n" for s in specs).encode())
    found: dict[str, bytes | None] = {}
    pos = 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] != b"missing":
            size = int(header[2])
            found[spec] = out[pos:pos + size] if header[1] == b"blob" else None
            pos += size + 1
        else:
            found[spec] = None
    return found


def tree_blobs(top: Path, rev: str, paths: Iterable[str]) -> dict[str, str]:
    """path -> blob id of every file under ``paths`` in ``rev``, in one ``git ls-tree``."""
    out = run(top, "--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", rev, "--", *paths)
    found = {}
    for rec in out.split(b"\0"):
        meta, _, name = rec.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            found[name.decode("utf-8", "surrogateescape")] = parts[2].decode()
    return found


def tree_entry(top: Path, commit: str, path: str) -> tuple[str, str] | None:
    """(mode, blob id) of ``path`` in ``commit``'s tree, or None when it is not there."""
    entry = run(top, "ls-tree", commit, "--", path, check=False).strip()
    if not entry:
        return None
    meta, _, _name = entry.partition(b"\t")
    mode, _type, sha = meta.decode().split()
    return mode, sha


def object_ids(top: Path, specs: Iterable[str]) -> dict[str, str | None]:
    """The object id each ``rev:path`` names (None when there is none), in one
    ``git cat-file --batch-check``; nothing is read but the ids."""
    specs = list(dict.fromkeys(specs))
    if not specs:
        return {}
    out = run(top, "cat-file", "--batch-check=%(objectname) %(objecttype)", "--buffer",
              input="".join(f"{s}\n" for s in specs).encode())
    found: dict[str, str | None] = {}
    for spec, line in zip(specs, out.decode().splitlines(), strict=True):
        oid, _, kind = line.partition(" ")
        found[spec] = oid if kind == "blob" else None
    return found


# ----------------------------------------------------------------------------- lazy trees


class ObjectStore(BatchProcess):
    """Objects by id (or ``rev:path``), read in batches or one by one, and kept.

    :meth:`prefetch` reads many objects with one ``git cat-file --batch`` (history
    replay warms everything it will need, level by level); anything else goes through
    one long-lived ``cat-file --batch``. Trees are parsed once and kept by id, so many
    commits that share most of their trees cost little more than one.
    """

    #: Blobs larger than this are read, never kept.
    KEEP = 1024 * 1024

    def __init__(self, top: Path) -> None:
        self.top = top
        self._trees: dict[str, dict[str, TreeEntry]] = {}
        self._commit_trees: dict[str, str] = {}
        self._blobs: dict[str, bytes] = {}
        #: ``rev:path`` (or an id) -> the id it names; None when there is none.
        self._names: dict[str, str | None] = {}

    def _keep(self, name: str, oid: str, kind: str, data: bytes) -> None:
        self._names[name] = oid
        if kind == "tree" and oid not in self._trees:
            self._trees[oid] = self.parse_tree(oid, data)
        elif kind == "blob" and len(data) <= self.KEEP:
            self._blobs[oid] = data
        elif kind == "commit":
            self._commit_trees[oid] = data.split(b"\n", 1)[0].split()[1].decode()

    def _ask(self, name: str, *, keep: bool = True) -> tuple[str, str, bytes]:
        proc = self._process("cat-file", "--batch")
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) != 3:
            self._names[name] = None
            return "", "missing", b""
        size = int(header[2])
        data = proc.stdout.read(size)
        proc.stdout.read(1)
        oid, kind = header[0].decode(), header[1].decode()
        if keep:
            self._keep(name, oid, kind, data)
        return oid, kind, data

    def prefetch(self, names: Iterable[str]) -> None:
        """Read ``names`` (ids or ``rev:path``) with one ``git cat-file --batch``."""
        todo = [n for n in dict.fromkeys(names)
                if n not in self._names and n not in self._trees and n not in self._blobs]
        if not todo:
            return
        out = run(self.top, "cat-file", "--batch",
                  input="".join(f"{n}\n" for n in todo).encode("utf-8", "surrogateescape"))
        pos = 0
        for name in todo:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) != 3 or header[1] == b"missing":
                self._names[name] = None
                continue
            size = int(header[2])
            self._keep(name, header[0].decode(), header[1].decode(), out[pos:pos + size])
            pos += size + 1

    def resolve(self, name: str) -> str | None:
        """The id ``name`` (``rev:path``) names; None when there is none."""
        if name not in self._names:
            self._ask(name)
        return self._names.get(name)

    def blob(self, oid: str) -> bytes:
        if oid in self._blobs:
            return self._blobs[oid]
        _, kind, data = self._ask(oid)
        if kind != "blob":
            raise FileNotFoundError(oid)
        return data

    def root_tree(self, commit: str) -> str:
        if commit not in self._commit_trees:
            _, kind, _ = self._ask(commit)
            if kind != "commit":
                raise FileNotFoundError(commit)
        return self._commit_trees[commit]

    def tree(self, oid: str) -> dict[str, TreeEntry]:
        if oid not in self._trees:
            _, kind, _ = self._ask(oid)
            if kind != "tree":
                raise FileNotFoundError(oid)
        return self._trees[oid]

    def raw_tree(self, oid: str) -> bytes:
        """A tree's bytes as git stores it, neither parsed nor kept."""
        _, kind, data = self._ask(oid, keep=False)
        if kind != "tree":
            raise FileNotFoundError(oid)
        return data

    def cached_tree(self, oid: str) -> dict[str, TreeEntry] | None:
        return self._trees.get(oid)

    @staticmethod
    def parse_tree(oid: str, data: bytes) -> dict[str, TreeEntry]:
        entries: dict[str, TreeEntry] = {}
        width = 32 if len(oid) == 64 else 20
        pos = 0
        while pos < len(data):
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            mode = data[pos:space].decode()
            name = data[space + 1:nul].decode("utf-8", "surrogateescape")
            entries[name] = TreeEntry(mode.rjust(6, "0"), data[nul + 1:nul + 1 + width].hex(), -1)
            pos = nul + 1 + width
        return entries

    def warm(self, roots: Iterable[str], read_blob: Callable[[str], bool] = lambda _p: True
             ) -> None:
        """Read every tree below ``roots`` (``rev:path`` of folders), and the blobs for whose
        path (relative to its root) ``read_blob`` is true, one batch per level."""
        names = list(dict.fromkeys(roots))
        self.prefetch(names)
        level = [(self._names.get(n), "") for n in names]
        while level:
            wanted: list[tuple[str, str]] = []
            for oid, path in level:
                tree = self._trees.get(oid) if oid else None
                for name, entry in (tree or {}).items():
                    child = f"{path}/{name}" if path else name
                    if entry.mode == "040000" or entry.mode in ("100644", "100755") \
                            and read_blob(child):
                        wanted.append((entry.sha, child))
            self.prefetch(oid for oid, _ in wanted)
            level = [(oid, path) for oid, path in wanted if oid in self._trees]


class _Entries(Mapping[str, TreeEntry]):
    """The files of a :class:`TreeReader`, looked up one folder at a time."""

    def __init__(self, reader: TreeReader) -> None:
        self.reader = reader

    def __getitem__(self, path: str) -> TreeEntry:
        folder, _, name = path.rpartition("/")
        entries = self.reader.folder(folder)
        entry = entries.get(name) if entries is not None else None
        if entry is None or entry.mode == "040000":
            raise KeyError(path)
        return entry

    def __iter__(self) -> Iterator[str]:
        stack = [""]
        while stack:
            folder = stack.pop()
            for name, entry in (self.reader.folder(folder) or {}).items():
                path = f"{folder}/{name}" if folder else name
                if entry.mode == "040000":
                    stack.append(path)
                else:
                    yield path

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Dirs(Mapping[str, set[str]]):
    """The folders of a :class:`TreeReader` and their entries' names."""

    def __init__(self, reader: TreeReader) -> None:
        self.reader = reader

    def __getitem__(self, path: str) -> set[str]:
        entries = self.reader.folder(path)
        if entries is None:
            raise KeyError(path)
        return set(entries)

    def __iter__(self) -> Iterator[str]:
        stack = [""]
        while stack:
            folder = stack.pop()
            yield folder
            for name, entry in (self.reader.folder(folder) or {}).items():
                if entry.mode == "040000":
                    stack.append(f"{folder}/{name}" if folder else name)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _StoreReader(CommitReader):
    """A :class:`CommitReader` whose blobs come from a shared :class:`ObjectStore`
    (which batches and caches them), so it has nothing of its own to prefetch or close."""

    store: ObjectStore

    def read(self, path: str) -> bytes:
        entry = self.entries.get(path)
        if entry is None:
            raise FileNotFoundError(path)
        return self.store.blob(entry.sha)

    def prefetch(self, paths: Iterable[str], *, max_size: int = 1024 * 1024) -> None:
        return None

    def close(self) -> None:
        return None


class TreeReader(_StoreReader):
    """A :class:`CommitReader` that reads folders only when asked, from a shared
    :class:`ObjectStore` (for reading many commits, each only in part)."""

    def __init__(self, store: ObjectStore, commit: str, prefix: str = "") -> None:
        self.top = store.top
        self.commit = commit
        self.prefix = prefix
        self.store = store
        self._folders: dict[str, dict[str, TreeEntry] | None] = {}
        self.entries = _Entries(self)
        self.dirs = _Dirs(self)
        self._proc = None
        self._prefetched = {}

    def folder(self, path: str) -> dict[str, TreeEntry] | None:
        """The entries of folder ``path`` (inventory-relative); None when there is none."""
        if path in self._folders:
            return self._folders[path]
        parts = path.split("/") if path else []
        # Down from the nearest folder already read; else straight to it (``rev:path``),
        # never through the (large, ever-changing) trees above it.
        for i in range(len(parts) - 1, 0, -1):
            above = "/".join(parts[:i])
            if above in self._folders:
                found = self._folders[above]
                for j in range(i, len(parts)):
                    entry = found.get(parts[j]) if found is not None else None
                    found = self.store.tree(entry.sha) if entry and entry.mode == "040000" \
                        else None
                    self._folders["/".join(parts[:j + 1])] = found
                return found
        full = "/".join(p for p in (self.prefix, path) if p)
        oid = self.store.resolve(f"{self.commit}:{full}")
        self._folders[path] = self.store.cached_tree(oid) if oid else None  # None: a file
        return self._folders[path]



class MappedReader(_StoreReader):
    """A :class:`CommitReader` over files already known (path -> (mode, blob id)), their
    contents read from an :class:`ObjectStore` (history replay, which knows each commit's
    files from the changes it replayed)."""

    def __init__(self, store: ObjectStore, commit: str, files: Mapping[str, tuple[str, str]]
                 ) -> None:
        self.top = store.top
        self.commit = commit
        self.prefix = ""
        self.store = store
        entries = {path: TreeEntry(mode, sha, -1) for path, (mode, sha) in files.items()}
        dirs: dict[str, set[str]] = {"": set()}
        for path in entries:
            parts = path.split("/")
            for i in range(len(parts)):
                dirs.setdefault("/".join(parts[:i]), set()).add(parts[i])
        self.entries = entries
        self.dirs = dirs
        self._proc = None
        self._prefetched = {}

