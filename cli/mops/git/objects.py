"""Git's object store: blobs in, blobs and trees out; reading a commit without a checkout."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mops.git.run import popen, run


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    sha: str
    size: int


class CommitReader:
    """Reads files of one commit straight from git's object store (no checkout)."""

    def __init__(self, top: Path, commit: str, prefix: str = "") -> None:
        self.top = top
        self.commit = commit
        self.prefix = prefix
        self.entries: dict[str, TreeEntry] = {}
        self.dirs: dict[str, set[str]] = {"": set()}
        out = run(top, "ls-tree", "-r", "-z", "--long", "--full-tree", commit)
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, _, name = rec.partition(b"\t")
            mode, _type, sha, size = meta.decode().split()
            path = name.decode("utf-8", "surrogateescape")
            if prefix:
                if not path.startswith(prefix + "/"):
                    continue
                path = path[len(prefix) + 1:]
            self.entries[path] = TreeEntry(mode, sha, int(size) if size != "-" else 0)
            parts = path.split("/")
            for i in range(len(parts)):
                parent = "/".join(parts[:i])
                self.dirs.setdefault(parent, set()).add(parts[i])
        self._proc: subprocess.Popen[bytes] | None = None
        self._prefetched: dict[str, bytes] = {}

    def _batch(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            self._proc = popen(self.top, "cat-file", "--batch")
        return self._proc

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

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


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


def tree_entry(top: Path, commit: str, path: str) -> tuple[str, str] | None:
    """(mode, blob id) of ``path`` in ``commit``'s tree, or None when it is not there."""
    entry = run(top, "ls-tree", commit, "--", path, check=False).strip()
    if not entry:
        return None
    meta, _, _name = entry.partition(b"\t")
    mode, _type, sha = meta.decode().split()
    return mode, sha
