"""History: log with trailers, what changed between commits, who touched a path when."""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from mops import clock
from mops.errors import GitError
from mops.git import touches
from mops.git.run import probe, run

# ----------------------------------------------------------------------------- walks kept


class WalkStore(Protocol):
    """Where the output of history walks is kept between runs (name -> bytes); the caller
    makes sure that what it gives back is what it was given (a sealed file)."""

    def get(self, name: str) -> bytes | None: ...

    def put(self, name: str, value: bytes) -> None: ...


_COMMIT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
#: Walks read by this process: (repository, walk, commit) -> output; a commit's history
#: never changes, so an entry is never stale.
_WALKS: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
_WALKS_KEPT = 64


def _line_between(top: Path, tip: str, rev: str) -> bool:
    """Whether ``rev`` is ``tip`` followed by a line of commits of one parent each."""
    out = run(top, "rev-list", "--parents", f"{tip}..{rev}", "--", check=False).decode()
    lines = [line.split() for line in out.splitlines()]
    if not lines or lines[0][0] != rev or any(len(line) != 2 for line in lines):
        return False
    return all(a[1] == b[0] for a, b in zip(lines, lines[1:], strict=False)) \
        and lines[-1][1] == tip


def walk(top: Path, args: Iterable[str], rev: str, paths: Iterable[str],
         store: WalkStore | None = None) -> bytes:
    """git's output of ``git ARGS REV -- PATHS`` (a log, newest first), kept in ``store``.

    A walk of history costs what the whole history costs, even when git's changed-path
    filters skip most of it; its output for a commit never changes. So it is kept, under
    the commit it was read at: the next walk at the same commit reads it back, and a walk
    at a commit that follows it by a line of ordinary commits (no merge) walks only those
    and puts their output before what was kept -- the bytes git gives for the whole walk
    (for a line above the old tip, git lists its commits first, then exactly what it
    listed from the old tip). Anything else (a merge since, history rewritten so that the
    old tip is no longer below, ``rev`` not a full commit id, nothing kept) walks all of
    history again. ``args`` must give one record per commit, each starting with the
    same mark, as the formats here do.
    """
    args, paths = list(args), list(paths)
    if store is None or not _COMMIT_ID.fullmatch(rev):
        return run(top, *args, rev, "--", *paths)
    name = hashlib.sha256("\0".join([*args, "--", *paths]).encode(
        "utf-8", "surrogateescape")).hexdigest()[:40]
    memo = (str(top), name, rev)
    if memo in _WALKS:
        _WALKS.move_to_end(memo)
        return _WALKS[memo]
    kept = store.get(name)
    tip, sep, before = (kept or b"").partition(b"\n")
    since = tip.decode("ascii", "replace") if sep else ""
    if since == rev:
        out = before
    elif _COMMIT_ID.fullmatch(since) and _line_between(top, since, rev):
        out = run(top, *args, f"{since}..{rev}", "--", *paths) + before
    else:
        out = run(top, *args, rev, "--", *paths)
    if since != rev:
        store.put(name, rev.encode() + b"\n" + out)
    _WALKS[memo] = out
    if len(_WALKS) > _WALKS_KEPT:
        _WALKS.popitem(last=False)
    return out


def log_records(top: Path, paths: Iterable[str], *, rev: str = "HEAD",
                with_paths: bool = False, store: WalkStore | None = None,
                shared: bool = False) -> list[dict[str, Any]]:
    """Commits touching ``paths``, newest first, with their ``Mops-*`` trailers.

    ``with_paths`` also lists, per commit, the files it touched (``paths``): one
    ``git log --name-only`` instead of one ``git log`` per model keeps a report of
    hundreds of models fast, and lets the caller attribute commits.

    ``store``: the walk is kept (:func:`walk`; each commit's signature is then asked of
    git apart: it depends on the signers git is told of, not on the commit alone).
    ``shared``: in a history without merges, git's log of a path lists the commits its
    ``--full-history`` log lists (each that changed the path from its one parent), so the
    commits are taken from :func:`changes_log`'s walk, kept and shared with a replay or
    signature scan of the same paths in this process, and only they are read; with
    merges, git's simplification of history decides, and this log is walked itself.
    """
    fmt = "%x1e%H%x1f%cI%x1f%an%x1f%ae%x1f%s%x1f%G?%x1f%(trailers:only,unfold)%x1f"
    args = ["-c", "core.quotePath=false", "log", f"--format={fmt}"]
    if with_paths:
        args.append("--name-only")
    paths = list(paths)
    apart = False  # each commit's signature asked of git apart
    if store is None:
        out = run(top, *args, rev, "--", *paths, check=False)
    elif shared and not _has_merges(top, rev, store):
        listed = [c.sha for c in reversed(changes_log(top, rev, paths, store))]
        # The paths only to name the files each touched: git would diff every commit
        # again to decide what is already decided (each touched them).
        out = run(top, *args, "--no-walk=unsorted", "--stdin", "--", *(paths if with_paths else ()),
                  input="".join(f"{c}\n" for c in listed).encode()) if listed else b""
    else:
        apart = True
        out = walk(top, [a.replace("%G?", "") for a in args], rev, paths, store)
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
    if apart and records:
        marks = signature_marks(top, [rec["commit"] for rec in records])
        for rec in records:
            rec["signature"] = marks.get(rec["commit"], "E")
    return records


def _has_merges(top: Path, rev: str, store: WalkStore) -> bool:
    """Whether ``rev``'s history has a merge (the answer kept as :func:`walk` keeps a walk)."""
    return bool(walk(top, ["rev-list", "--min-parents=2", "--max-count=1"], rev, [],
                     store).strip())


def signature_marks(top: Path, commits: Iterable[str]) -> dict[str, str]:
    """Each commit's ``%G?`` (git's one-letter verdict on its signature, as configured)."""
    out = run(top, "log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%G?",
              input="".join(f"{c}\n" for c in dict.fromkeys(commits)).encode())
    return dict(line.split("\x1f", 1) for line in out.decode("utf-8", "replace").splitlines()
                if "\x1f" in line)


def touched_paths(top: Path, commits: Iterable[str], paths: Iterable[str]) -> dict[str, list[str]]:
    """Of ``commits``, those that changed something under ``paths``, each with the files it
    changed there (as ``git log --name-only`` limited to them lists them); one ``git log
    --no-walk`` over exactly these commits."""
    commits = list(dict.fromkeys(commits))
    if not commits:
        return {}
    out = run(top, "--literal-pathspecs", "-c", "core.quotePath=false", "log",
              "--no-walk=unsorted", "--stdin", "--name-only", "--format=%x1e%H", "--", *paths,
              input="".join(f"{c}\n" for c in commits).encode())
    found: dict[str, list[str]] = {}
    for chunk in out.decode("utf-8", "replace").split("\x1e")[1:]:
        sha, *names = chunk.split("\n")
        found[sha.strip()] = [n for n in names if n]
    return found


#: A history shorter than this is read fast enough without git's commit-graph.
GRAPH_FROM = 1000


def index_history(top: Path, gitdir: Path, head: str, state: Path) -> None:
    """Have git's commit-graph, with changed-path Bloom filters, cover ``head``, so that a
    log limited to one model's folder skips the commits that did not touch it without
    reading their trees (its cost follows the model's history, not the repository's).

    This is git's own index (``git commit-graph write``, as ``git maintenance`` does):
    git checks it and ignores what it does not cover, so it never changes what a log
    shows. ``state`` remembers the commit last covered (one file read when nothing
    moved); only new commits are added (``--split``); a history shorter than
    :data:`GRAPH_FROM` commits is left alone, and any failure (a read-only repository,
    another writer holding the lock) only costs time.
    """
    try:
        if state.read_text().strip() == head:
            return
    except OSError:
        pass
    info = gitdir / "objects" / "info"
    if not (info / "commit-graph").exists() and not (info / "commit-graphs").is_dir():
        count = run(top, "rev-list", "--count", f"--max-count={GRAPH_FROM}", head, check=False)
        if int(count.strip() or 0) < GRAPH_FROM:
            return
    if probe(top, "commit-graph", "write", "--reachable", "--changed-paths", "--split",
             "--no-progress") is None:
        return
    try:
        state.parent.mkdir(exist_ok=True)
        tmp = state.with_name(f".{state.name}.{os.getpid()}")
        tmp.write_text(head + "\n")
        os.replace(tmp, state)
    except OSError:
        pass


def commit_time(top: Path, rev: str) -> str:
    """When ``rev`` was committed (committer date), as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    # ``log``, not ``show -s``: show reads the commit's whole diff against its parent
    # before discarding it (0.2 s for a commit that adds 10,000 models).
    out = run(top, "log", "-1", "--no-walk", "--format=%ct", rev, "--").decode().strip()
    return clock.format_timestamp(clock.from_epoch(int(out)))


def commit_subject(top: Path, rev: str) -> str:
    """The first line of ``rev``'s message (``top``: any folder of the repository)."""
    return run(top, "log", "-1", "--no-walk", "--format=%s", rev, "--").decode(
        "utf-8", "replace").strip()


def merge_base(top: Path, a: str, b: str) -> str | None:
    """The best common ancestor of ``a`` and ``b``; None for unrelated histories."""
    return run(top, "merge-base", a, b, check=False).decode().strip() or None


def _split(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def diff_names(top: Path, base: str, commit: str) -> list[str]:
    """Paths that differ between two commits (renames as a deletion and an addition)."""
    return _split(run(top, "diff", "--name-only", "-z", "--no-renames", base, commit))


def worktree_diff_names(top: Path, base: str) -> list[str]:
    """Paths whose working-tree state differs from ``base`` (tracked files only)."""
    # --no-optional-locks keeps git from rewriting the index under another process's feet.
    return _split(run(top, "--no-optional-locks", "diff", "--name-only", "-z", "--no-renames",
                      base, "--"))


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    time: int
    author: str
    committer: str


@dataclass(frozen=True)
class Event:
    """One commit's change to one path: ``A`` added, ``M`` modified, ``D`` deleted, ``T`` type."""

    status: str
    commit: str


_HEADER_RE = re.compile(r"\x1e[0-9a-f]{40,64}\x1f")


def path_history(top: Path, rev: str, paths: Iterable[str], store: WalkStore | None = None,
                 ) -> tuple[dict[str, CommitInfo], dict[str, list[Event]]]:
    """Every commit in ``rev``'s history touching ``paths``, and per path its events,
    oldest first; one ``git log --name-status`` pass.

    With ``store``, the same from :func:`changes_log`'s walk, kept there (:func:`walk`)
    and shared with a replay of the same paths in this process: the same commits, and the
    same events per path, a merge's found with one ``diff-tree`` against each parent.
    """
    if store is not None:
        return _events(top, changes_log(top, rev, paths, store), list(paths))
    fmt = "%x1e%H%x1f%P%x1f%ct%x1f%ae%x1f%ce"
    # --cc: a merge lists the paths it leaves different from *every* parent — what the
    # merge itself changed (an "evil merge"), never what a side branch brought.
    out = run(top, "--literal-pathspecs", "-c", "log.showSignature=false", "log", "-z",
              "--no-renames", "--full-history", "--cc", "--name-status", "--no-color",
              f"--format={fmt}", rev, "--", *paths)
    commits: dict[str, CommitInfo] = {}
    events: dict[str, list[Event]] = {}
    tokens = out.decode("utf-8", "surrogateescape").split("\0")
    current: str | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        i += 1
        if _HEADER_RE.match(token):
            sha, parents, when, author, committer = (token[1:].split("\x1f", 4) + [""] * 5)[:5]
            current = sha
            commits[sha] = CommitInfo(sha, tuple(parents.split()), int(when or 0),
                                      author.lower(), committer.lower())
        elif token and current is not None and i < len(tokens):
            # A status letter, then the path; a merge has one letter per parent: new
            # to every parent is an addition, gone from every parent a deletion, and
            # anything else a change to a file that already existed.
            path = tokens[i]
            i += 1
            letters = set(token)
            status = token if len(token) == 1 else \
                "A" if letters == {"A"} else "D" if letters == {"D"} else "M"
            events.setdefault(path, []).append(Event(status, current))
    for evs in events.values():
        evs.reverse()
    return commits, events


def _events(top: Path, log: list[LoggedCommit], paths: list[str],
            ) -> tuple[dict[str, CommitInfo], dict[str, list[Event]]]:
    """:func:`path_history` from a :func:`changes_log` (parents first)."""
    diffs = merge_changes(top, [(c.sha, p) for c in log if c.is_merge for p in c.parents],
                          paths)
    commits: dict[str, CommitInfo] = {}
    events: dict[str, list[Event]] = {}
    for c in log:
        commits[c.sha] = CommitInfo(c.sha, c.parents, c.time, c.author, c.committer)
        if not c.is_merge:
            for ch in c.changes:
                events.setdefault(ch.path, []).append(Event(ch.status, c.sha))
            continue
        # As --cc lists them: the paths the merge leaves different from every parent.
        per_parent = [{ch.path: ch.status for ch in diffs[(c.sha, p)]} for p in c.parents]
        for path in sorted(set(per_parent[0]).intersection(*per_parent[1:])):
            letters = {d[path] for d in per_parent}
            status = "A" if letters == {"A"} else "D" if letters == {"D"} else "M"
            events.setdefault(path, []).append(Event(status, c.sha))
    return commits, events


# ----------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Change:
    """One path's change between two commits, with the blob ids on both sides.

    ``status`` is ``A`` added, ``M`` modified, ``D`` deleted, ``T`` type changed;
    ``old``/``new`` are blob ids (``""`` for the side where the path is absent);
    ``mode`` is the new mode (``120000`` a symlink, ``""`` when deleted).
    """

    status: str
    path: str
    old: str
    new: str
    mode: str


@dataclass(frozen=True)
class LoggedCommit:
    """A commit of :func:`changes_log`: who, when, its ``Mops-*`` trailers, what it changed.

    ``changes`` are against the only parent (or the empty tree for a root); a merge
    lists none here: :func:`merge_changes` gives its difference from each parent.
    """

    sha: str
    parents: tuple[str, ...]
    time: int
    author: str
    committer: str
    trailers: dict[str, str]
    changes: tuple[Change, ...]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


def _raw_changes(tokens: list[str], i: int, out: list[Change]) -> int:
    """Parse ``--raw -z`` entries (``:old new oldsha newsha S`` then the path) from ``i``."""
    while i + 1 < len(tokens) and tokens[i].startswith(":"):
        meta = tokens[i][1:].split()
        path = tokens[i + 1]
        i += 2
        if len(meta) < 5:
            continue
        _old_mode, new_mode, old, new, status = meta[:5]
        out.append(Change(status[:1], path, "" if not old.strip("0") else old,
                          "" if not new.strip("0") else new,
                          "" if not new_mode.strip("0") else new_mode))
    return i


def changes_log(top: Path, rev: str, paths: Iterable[str], store: WalkStore | None = None,
                ) -> list[LoggedCommit]:
    """Every commit in ``rev``'s history touching ``paths``, parents before children, in
    one pass (``store``: see :func:`walk`).

    Merges are listed whenever they differ from a parent under ``paths``
    (``--full-history``), without changes; a commit not listed changes nothing there
    (a merge not listed is the same there as each of its parents).

    One entry of a folder the store indexes (``models/M``) is answered from the index of
    :mod:`mops.git.touches`: the same commits, each with the changes git gives, in a
    parents-first order (git's own in a history without merges; after merges, possibly
    another that also puts parents first), without walking all of history.
    """
    fmt = "%x1e%H%x1f%P%x1f%ct%x1f%ae%x1f%ce%x1f%(trailers:only,unfold)%x1d"
    args = ["--literal-pathspecs", "-c", "log.showSignature=false", "-c", "core.quotePath=false",
            "log", "-z", "--raw", "--no-renames", "--no-abbrev", "--full-history", "--topo-order",
            "--no-color", f"--format={fmt}"]
    paths = list(paths)
    where = touches.indexed(store, paths) if store is not None else None
    memo = (str(top), f"index\0{paths[0]}", rev)
    listed: list[str] | None = None
    if where is not None and memo in _WALKS:  # read by this process (a report's 3 readers)
        _WALKS.move_to_end(memo)
        out = _WALKS[memo]
    elif where is not None and (listed := touches.commits_touching(top, rev, *where, store)) \
            is not None:
        # One entry of an indexed folder (a model): its commits from the index, and git's
        # changes for exactly them (a merge, as in the walk, with none), newest first.
        # (--full-history: a merge the same as one parent there is kept, as the walk does.)
        out = run(top, *(a for a in args if a != "--topo-order"), "--no-walk=unsorted",
                  "--stdin", "--", *paths, input="".join(
                      f"{c}\n" for c in reversed(listed)).encode()) if listed else b""
        _WALKS[memo] = out
        if len(_WALKS) > _WALKS_KEPT:
            _WALKS.popitem(last=False)
    else:
        out = walk(top, args, rev, paths, store)
    commits: list[LoggedCommit] = []
    for chunk in out.decode("utf-8", "surrogateescape").split("\x1e")[1:]:
        header, _, rest = chunk.partition("\x1d")
        sha, parents, when, author, committer, trailers = (header.split("\x1f", 5) + [""] * 6)[:6]
        found: dict[str, str] = {}
        for line in trailers.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.startswith("Mops-"):
                found.setdefault(key, value.strip())
        changes: list[Change] = []
        if rest.strip():
            tokens = [t.lstrip("\n") for t in rest.split("\0")]
            _raw_changes([t for t in tokens if t], 0, changes)
        commits.append(LoggedCommit(sha, tuple(parents.split()), int(when or 0), author.lower(),
                                    committer.lower(), found, tuple(changes)))
    commits.reverse()
    return commits


def changes_log_of(top: Path, rev: str, groups: list[list[str]],
                   store: WalkStore | None = None) -> list[LoggedCommit]:
    """:func:`changes_log` of all the paths of ``groups``, read one group at a time: the
    same commits (a commit, merges included, is listed when it changes something under
    any of them), with the changes of each, parents first (in ``rev-list --topo-order``'s
    order).

    git (before 2.45) uses its commit-graph's changed-path filters only for a log of one
    path, so one model's folder, logged alone, costs what that model's history costs;
    the same walk with four more paths reads every commit's trees. ``store``: see
    :func:`walk` (the order of all of history is kept too).
    """
    groups = [g for g in groups if g]
    if len(groups) <= 1:
        return changes_log(top, rev, groups[0], store) if groups else []
    found: dict[str, LoggedCommit] = {}
    for group in groups:
        for c in changes_log(top, rev, group, store):
            seen = found.get(c.sha)
            if seen is not None:
                c = replace(seen, changes=tuple(sorted(
                    (*seen.changes, *c.changes), key=lambda ch: ch.path.encode(
                        "utf-8", "surrogateescape"))))
            found[c.sha] = c
    if len(found) <= 1:
        return list(found.values())
    order = walk(top, ["rev-list", "--topo-order"], rev, [], store).decode().split()
    order.reverse()
    listed = [found[sha] for sha in order if sha in found]
    if len(listed) != len(found):  # never drop a commit for want of its place: ask git
        order = run(top, "rev-list", "--topo-order", "--reverse", rev, "--").decode().split()
        listed = [found[sha] for sha in order if sha in found]
        if len(listed) != len(found):
            raise GitError(f"git rev-list {rev} does not list every commit its log of "
                           f"these paths lists")
    return listed


#: The last question :func:`merge_changes` answered, and its answer: verify's full replay
#: asks it twice (once to keep the index of each model's commits, once to replay).
_MERGES_ASKED: list[tuple[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]],
                          dict[tuple[str, str], tuple[Change, ...]]]] = []


def merge_changes(top: Path, pairs: Iterable[tuple[str, str]], paths: Iterable[str]
                  ) -> dict[tuple[str, str], list[Change]]:
    """For each (merge, parent): what the merge has that differs from that parent, under
    ``paths``; one ``git diff-tree --stdin`` for all of them (the same question as the last
    one answered from it: a commit's diff never changes)."""
    pairs, paths = list(dict.fromkeys(pairs)), list(paths)
    found: dict[tuple[str, str], list[Change]] = {pair: [] for pair in pairs}
    if not pairs:
        return found
    asked = (str(top), tuple(pairs), tuple(paths))
    if _MERGES_ASKED and _MERGES_ASKED[0][0] == asked:  # the same question again
        return {pair: list(changes) for pair, changes in _MERGES_ASKED[0][1].items()}
    # --always prints a header for every pair, so output i belongs to pair i.
    out = run(top, "--literal-pathspecs", "-c", "core.quotePath=false", "diff-tree", "--stdin",
              "--always", "-r", "-z", "--raw", "--no-renames", "--no-abbrev", "--", *paths,
              input="".join(f"{m} {p}\n" for m, p in pairs).encode())
    tokens = [t.strip("\n") for t in out.decode("utf-8", "surrogateescape").split("\0")]
    tokens = [t for t in tokens if t]
    index = -1
    i = 0
    while i < len(tokens):
        if tokens[i].startswith(":"):
            changes: list[Change] = []
            i = _raw_changes(tokens, i, changes)
            if 0 <= index < len(pairs):
                found[pairs[index]].extend(changes)
        else:
            index += 1
            i += 1
    _MERGES_ASKED[:] = [(asked, {pair: tuple(changes) for pair, changes in found.items()})]
    return found


def parents_of(top: Path, rev: str) -> dict[str, tuple[str, ...]]:
    """Every commit in ``rev``'s history -> its parents, in one ``git rev-list``."""
    out = run(top, "rev-list", "--parents", rev, "--").decode()
    return {parts[0]: tuple(parts[1:]) for line in out.splitlines() if (parts := line.split())}
