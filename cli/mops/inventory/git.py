"""The only module that runs git.

Writes use plumbing so that a mops commit contains exactly the files mops wrote:
blobs are hashed into the object store, a tree is built in a *temporary* index
from HEAD plus those blobs, the commit is made with ``commit-tree`` and HEAD is
moved with a compare-and-swap ``update-ref``. The user's own index and working
tree changes are never part of it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops.errors import GitError, UsageError

ZERO = "0" * 40


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Messages we parse must not be translated; pagers and prompts must never start.
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"})
    if extra:
        env.update(extra)
    return env


def git(cwd: Path | str, *args: str, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> bytes:
    """Run git and return stdout; a failure raises ``GitError`` with git's own words."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                              env=_env(env))
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; mops needs git") from None
    if check and proc.returncode != 0:
        err = [line for line in proc.stderr.decode("utf-8", "replace").strip().splitlines()
               if not line.startswith("hint:")]
        # git's own verdict is the "fatal:"/"error:" line; hints and context come around it.
        msg = next((line for line in err if line.startswith(("fatal:", "error:"))),
                   err[0] if err else f"exit status {proc.returncode}")
        raise GitError(f"git {args[0]} failed: {msg.removeprefix('fatal: ').removeprefix('error: ')}")
    return proc.stdout


def toplevel(path: Path) -> Path | None:
    proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path,
                          capture_output=True, env=_env())
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip())


def git_dir(top: Path) -> Path:
    out = git(top, "rev-parse", "--absolute-git-dir").decode().strip()
    return Path(out)


def head(top: Path) -> str | None:
    """The commit HEAD points to, or None in a repository without commits."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD^{commit}"], cwd=top,
                          capture_output=True, env=_env())
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def resolve(top: Path, rev: str) -> str:
    """Resolve a revision to a full commit id; an unknown one is a usage error."""
    if rev.startswith("-"):
        raise UsageError(f"invalid revision {rev!r}")
    proc = subprocess.run(["git", "rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], cwd=top,
                          capture_output=True, env=_env())
    if proc.returncode != 0:
        raise UsageError(f"unknown revision {rev!r}: not a commit in this repository")
    return proc.stdout.decode().strip()


def commit_before(top: Path, when: dt.datetime) -> str | None:
    """The last commit on HEAD's history committed at or before ``when``."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    out = git(top, "rev-list", "-1", "--first-parent", f"--before={stamp}", "HEAD", check=False)
    sha = out.decode().strip()
    return sha or None


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    when: dt.datetime

    @property
    def timestamp(self) -> str:
        return self.when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_IDENT_RE = re.compile(r"^(?P<name>.*) <(?P<email>[^>]*)> (?P<ts>\d+) (?P<tz>[+-]\d{4})$")


def identity(top: Path) -> Identity:
    """The acting person: git's committer identity (``git var GIT_COMMITTER_IDENT``)."""
    proc = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], cwd=top, capture_output=True,
                          env=_env())
    text = proc.stdout.decode("utf-8", "replace").strip()
    match = _IDENT_RE.match(text)
    if proc.returncode != 0 or not match or not match["email"]:
        raise UsageError("git does not know who you are: run `git config user.name \"Your Name\"` "
                         "and `git config user.email you@example.com` (mops records git's "
                         "committer identity as the acting person)")
    when = dt.datetime.fromtimestamp(int(match["ts"]), dt.UTC)
    return Identity(name=match["name"], email=match["email"].lower(), when=when)


# ----------------------------------------------------------------------------- reading a commit


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
        out = git(top, "ls-tree", "-r", "-z", "--long", "--full-tree", commit)
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
            self._proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.top,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          env=_env())
        return self._proc

    def prefetch(self, paths: Iterable[str], *, max_size: int = 1024 * 1024) -> None:
        """Read many small files with one ``git cat-file --batch --buffer`` (instead of a
        pipe round trip per file). Files over ``max_size`` are left to :meth:`read`."""
        wanted = sorted({p for p in paths if p in self.entries and p not in self._prefetched
                         and self.entries[p].size <= max_size})
        if not wanted:
            return
        request = b"".join(self.entries[p].sha.encode() + b"\n" for p in wanted)
        out = git(self.top, "cat-file", "--batch", "--buffer", input=request)
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


# ----------------------------------------------------------------------------- writing a commit


def hash_blob(top: Path, data: bytes | None = None, *, path: Path | None = None) -> str:
    """Store a blob in the object database (streaming from ``path`` when given)."""
    if path is not None:
        return git(top, "hash-object", "-w", "--no-filters", "--", str(path)).decode().strip()
    return git(top, "hash-object", "-w", "--no-filters", "--stdin", input=data).decode().strip()


def make_commit(top: Path, parent: str | None, blobs: Mapping[str, tuple[str, str]],
                message: str, *, sign: bool = False, removals: Iterable[str] = ()) -> str:
    """Create a commit of ``parent``'s tree plus ``blobs`` (path -> (mode, sha)).

    Nothing visible changes: the caller moves HEAD with :func:`advance_head`.
    """
    with tempfile.TemporaryDirectory(prefix="mops-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if parent:
            git(top, "read-tree", parent, env=env)
        else:
            git(top, "read-tree", "--empty", env=env)
        info = "".join(f"{mode} {sha}\t{path}\n" for path, (mode, sha) in blobs.items())
        info += "".join(f"0 {ZERO}\t{path}\n" for path in removals)
        git(top, "update-index", "--index-info", input=info.encode("utf-8"), env=env)
        tree = git(top, "write-tree", env=env).decode().strip()
    args = ["commit-tree", tree]
    if parent:
        args += ["-p", parent]
    if sign:
        args.append("-S")
    return git(top, *args, input=message.encode("utf-8")).decode().strip()


def advance_head(top: Path, new: str, old: str | None, reflog: str) -> None:
    """Move HEAD (its branch) from ``old`` to ``new``; fails if someone else moved it."""
    git(top, "update-ref", "-m", reflog, "HEAD", new, old or ZERO)


def update_index(top: Path, blobs: Mapping[str, tuple[str, str]]) -> None:
    """Record our new blobs in the user's index, leaving every other entry alone."""
    info = "".join(f"{mode} {sha}\t{path}\n" for path, (mode, sha) in blobs.items())
    git(top, "update-index", "--add", "--index-info", input=info.encode("utf-8"))


def refresh_index(top: Path, paths: Iterable[str]) -> None:
    """Refresh stat info for our paths, so `git status` shows them clean."""
    paths = list(paths)
    if paths:
        git(top, "update-index", "-q", "--refresh", "--", *paths, check=False)


def dirty_paths(top: Path, paths: Iterable[str]) -> list[str]:
    """Of ``paths``, those with uncommitted (staged, unstaged or untracked) changes."""
    paths = list(paths)
    if not paths:
        return []
    # --no-optional-locks: status must not take index.lock to refresh stat data.
    out = git(top, "--no-optional-locks", "status", "--porcelain=v1", "-z",
              "--untracked-files=all", "--ignored=no", "--", *paths)
    dirty = []
    for rec in out.split(b"\0"):
        if len(rec) > 3 and rec[2:3] == b" ":
            dirty.append(rec[3:].decode("utf-8", "surrogateescape"))
    return dirty


def log_records(top: Path, paths: Iterable[str], *, rev: str = "HEAD",
                with_paths: bool = False) -> list[dict[str, Any]]:
    """Commits touching ``paths``, newest first, with their ``Mops-*`` trailers.

    ``with_paths`` also lists, per commit, the files it touched (``paths``): one
    ``git log --name-only`` instead of one ``git log`` per model keeps a report of
    hundreds of models fast, and lets the caller attribute commits.
    """
    fmt = "%x1e%H%x1f%cI%x1f%an%x1f%ae%x1f%s%x1f%G?%x1f%(trailers:only,unfold)%x1f"
    args = ["-c", "core.quotePath=false", "log", f"--format={fmt}"]
    if with_paths:
        args.append("--name-only")
    out = git(top, *args, rev, "--", *paths, check=False)
    records: list[dict[str, Any]] = []
    for chunk in out.decode("utf-8", "replace").split("\x1e"):
        fields = chunk.split("\x1f")
        if len(fields) < 8:
            continue
        sha, at, name, email, subject, sig, trailers = fields[:7]
        rec: dict[str, Any] = {"commit": sha, "at": at, "name": name, "email": email.lower(),
                               "subject": subject, "signature": sig}
        if with_paths:
            rec["paths"] = [p for p in fields[7].splitlines() if p]
        for line in trailers.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.startswith("Mops-"):
                rec[key] = value.strip()
        records.append(rec)
    return records


def commit_time(top: Path, rev: str) -> str:
    """When ``rev`` was committed (committer date), as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    out = git(top, "show", "-s", "--format=%ct", rev, "--").decode().strip()
    return dt.datetime.fromtimestamp(int(out), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


