"""Which commits touched each entry of a folder: an exact index, kept, so that one model's
history is read without walking all of history.

git's log of one model's folder walks every commit of history. Its changed-path filters
(the commit-graph's Bloom filters) skip most commits, but about one in a hundred that did
not touch the folder passes the filter anyway, and for each git diffs the ``models/``
tree (10,000 entries) of the commit and its parent: at 200,000 commits a model's first
log costs 3-30 s, depending on how unlucky its name is with the filters. No filter can be
exact; this index is. For each entry of the folder (a model), it lists the commits that
``git log --full-history -- FOLDER/ENTRY`` lists:

- a commit of one parent that changed something under ``FOLDER/ENTRY`` (a root: that has
  something there);
- a merge that differs there from **at least one** of its parents (git's ``--full-history``
  without parent rewriting: a merge the same there as every parent is left out, and so
  is a commit the same as its one parent).

Whether a commit touched an entry depends on that commit and its parents alone, which
never change, so the index at a commit is the index at any earlier commit ``T`` less
what is only below ``T`` (``git rev-list T ^REV``: history rewritten) plus what the new
commits touched (``git rev-list REV ^T``): an amend, a rebase or a reset costs the commits
it changed, not a walk of everything. Building it costs one diff of each commit against
each parent, limited to the folder, in one ``git diff-tree --stdin`` (about 1 ms a commit
with 10,000 models: 200 s at 200,000 commits, once per clone).

The index is kept in a :class:`mops.git.WalkStore` (sealed files: what the store gives
back is what it was given) in shards by entry name, each carrying the commit it covers,
and is extended lazily, shard by shard. A shard that is missing, damaged or not of this
format reads as absent and the whole index is built again. The store decides which
folders are indexed (``indexes(folder)``); with none, nothing here is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mops.errors import GitError
from mops.git.run import run

FORMAT = "mops-touches-1"
#: Shards of the index, by a hash of the entry's name (a one-model question reads one).
SHARDS = 64

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def indexed(store: object, paths: list[str]) -> tuple[str, str] | None:
    """``(folder, entry)`` when ``paths`` is one entry of a folder ``store`` indexes."""
    if len(paths) != 1:
        return None
    folder, sep, entry = paths[0].rpartition("/")
    if not sep or not folder or entry in ("", ".", "..") or folder.endswith("/") \
            or "*" in entry or "\n" in paths[0]:
        return None
    indexes = getattr(store, "indexes", None)
    return (folder, entry) if callable(indexes) and indexes(folder) else None


def shard_of(entry: str) -> int:
    digest = hashlib.blake2b(entry.encode("utf-8", "surrogateescape"), digest_size=2).digest()
    return int.from_bytes(digest, "big") % SHARDS


def shard_name(folder: str, shard: int) -> str:
    """The store's name for a shard (a hash of the format and the folder, and its number)."""
    key = hashlib.sha256(f"{FORMAT}\0{folder}".encode("utf-8", "surrogateescape")).hexdigest()
    return f"touches-{key[:24]}-{shard:02x}"


def _parse(raw: bytes | None, folder: str, shard: int) -> tuple[str, dict[str, list[str]]] | None:
    """A shard's (tip, entry -> commits), or None unless it is whole and of this format."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT \
            or data.get("folder") != folder or data.get("shard") != shard:
        return None
    tip, entries = data.get("tip"), data.get("entries")
    if not isinstance(tip, str) or not _SHA.fullmatch(tip) or not isinstance(entries, dict):
        return None
    for name, commits in entries.items():
        if not isinstance(commits, list) or shard_of(name) != shard \
                or not all(isinstance(c, str) and _SHA.fullmatch(c) for c in commits):
            return None
    return tip, entries


def _dump(folder: str, shard: int, tip: str, entries: dict[str, list[str]]) -> bytes:
    return json.dumps({"format": FORMAT, "folder": folder, "shard": shard, "tip": tip,
                       "entries": entries}, separators=(",", ":")).encode()


#: Above this many (commit, parent) pairs, the diffs are split among git processes.
SPLIT_FROM = 20000


def touched(top: Any, folder: str, commits: Iterable[tuple[str, tuple[str, ...]]],
            ) -> dict[str, list[str]]:
    """For each commit (with its parents), the entries of ``folder`` it touched, as
    ``git log --full-history`` decides (see the module): one diff per (commit, parent),
    a root's against the empty tree, in one ``git diff-tree --stdin`` (a long history
    split among as many as the machine has processors)."""
    pairs = [(sha, parent) for sha, parents in commits for parent in parents or ("",)]
    parts = max(1, min(os.cpu_count() or 1, 4, len(pairs) // SPLIT_FROM))
    size = -(-len(pairs) // parts) if pairs else 0
    chunks = [pairs[i:i + size] for i in range(0, len(pairs), size)] if pairs else []
    if len(chunks) > 1:
        with ThreadPoolExecutor(len(chunks)) as pool:  # each thread waits on its git
            answers = list(pool.map(lambda chunk: _touched(top, folder, chunk), chunks))
    else:
        answers = [_touched(top, folder, chunk) for chunk in chunks]
    found: dict[str, list[str]] = {}
    for answer in answers:  # a commit's pairs may lie in two chunks
        for sha, entries in answer.items():
            have = found.setdefault(sha, [])
            have.extend(e for e in entries if e not in have)
    return found


def _touched(top: Any, folder: str, pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    lines = [f"{sha} {parent}\n" if parent else f"{sha}\n" for sha, parent in pairs]
    found: dict[str, list[str]] = {}
    # --always: a header for every line, so the paths after header i belong to pair i;
    # every path starts with the folder, and no header does.
    out = run(top, "--literal-pathspecs", "diff-tree", "--stdin", "--always", "--root", "-r",
              "-z", "--name-only", "--no-renames", "--", folder,
              input="".join(lines).encode())
    mark = folder.encode("utf-8", "surrogateescape") + b"/"
    index = -1
    seen: dict[str, set[str]] = {}
    for token in out.split(b"\0"):
        token = token.strip(b"\n")
        if not token:
            continue
        if not token.startswith(mark):
            index += 1
            if index >= len(pairs) or token.decode("ascii", "replace") != pairs[index][0]:
                raise GitError("git diff-tree --stdin answered out of order")
            continue
        if index < 0:
            raise GitError("git diff-tree --stdin gave a path before its commit")
        entry = token[len(mark):].split(b"/", 1)[0].decode("utf-8", "surrogateescape")
        sha = pairs[index][0]
        if entry not in seen.setdefault(sha, set()):
            seen[sha].add(entry)
            found.setdefault(sha, []).append(entry)
    if index != len(pairs) - 1:
        raise GitError("git diff-tree --stdin did not answer every commit")
    return found


def _commits(top: Any, *revs: str) -> list[tuple[str, tuple[str, ...]]] | None:
    """``git rev-list --parents --topo-order --reverse REVS``: parents first; None when git
    cannot list them (a commit no longer there)."""
    try:
        out = run(top, "rev-list", "--parents", "--topo-order", "--reverse", *revs, "--")
    except GitError:
        return None
    return [(parts[0], tuple(parts[1:])) for line in out.decode().splitlines()
            if (parts := line.split())]


def build(top: Any, rev: str, folder: str) -> list[dict[str, list[str]]]:
    """The whole index at ``rev``: per shard, entry -> commits touching it, parents first."""
    shards: list[dict[str, list[str]]] = [{} for _ in range(SHARDS)]
    commits = _commits(top, rev)
    if commits is None:
        raise GitError(f"git rev-list cannot list {rev}")
    found = touched(top, folder, commits)
    for sha, _parents in commits:
        for entry in found.get(sha, ()):
            shards[shard_of(entry)].setdefault(entry, []).append(sha)
    return shards


def _advance(top: Any, folder: str, shard: int, tip: str, rev: str,
             entries: dict[str, list[str]]) -> dict[str, list[str]] | None:
    """The shard at ``rev`` from the shard at ``tip``; None when git cannot tell (``tip``
    gone): then the index is built again."""
    gone = _commits(top, tip, f"^{rev}")
    new = _commits(top, rev, f"^{tip}")
    if gone is None or new is None:
        return None
    drop = {sha for sha, _ in gone}
    out = {name: kept for name, commits in entries.items()
           if (kept := [c for c in commits if c not in drop])}
    found = touched(top, folder, new)
    for sha, _parents in new:  # new commits are never below old ones: parents stay first
        for entry in found.get(sha, ()):
            if shard_of(entry) == shard:
                out.setdefault(entry, []).append(sha)
    return out


def keep_from_log(top: Any, rev: str, folder: str, log: list[Any], paths: list[str],
                  store: Any) -> bool:
    """Keep the whole index at ``rev`` from ``log``: :func:`mops.git.changes_log` of
    ``paths``, which include ``folder`` whole, at ``rev`` (all of its history, as verify's
    full replay reads it). Such a log lists every commit that touched an entry: a commit of
    one parent with its changes there, and a merge (which differs from some parent there)
    without; each merge's are asked of :func:`mops.git.merge_changes` for ``paths``, whose
    answer the replay then reads again without asking git, and each root is diffed again
    (its changes are in a log only while ``log.showRoot`` is on). Nothing is done when the
    index already covers ``rev`` or ``store`` does not index ``folder``; whether it was
    written."""
    from mops.git.history import merge_changes

    indexes = getattr(store, "indexes", None)
    if not _SHA.fullmatch(rev) or not callable(indexes) or not indexes(folder):
        return False
    kept = _parse(store.get(shard_name(folder, 0)), folder, 0)
    if kept is not None and kept[0] == rev:
        return False
    mark = folder + "/"
    merges = merge_changes(top, [(c.sha, p) for c in log if len(c.parents) > 1
                                 for p in c.parents], paths)
    roots = touched(top, folder, [(c.sha, ()) for c in log if not c.parents])
    shards: list[dict[str, list[str]]] = [{} for _ in range(SHARDS)]
    for c in log:  # parents first
        if not c.parents:
            entries = roots.get(c.sha, [])
        else:
            changes = c.changes if len(c.parents) == 1 else \
                [ch for p in c.parents for ch in merges[(c.sha, p)]]
            entries = list(dict.fromkeys(ch.path[len(mark):].split("/", 1)[0]
                                         for ch in changes if ch.path.startswith(mark)))
        for entry in entries:
            shards[shard_of(entry)].setdefault(entry, []).append(c.sha)
    for i, part in enumerate(shards):
        store.put(shard_name(folder, i), _dump(folder, i, rev, part))
    return True


def commits_touching(top: Any, rev: str, folder: str, entry: str, store: Any) -> list[str] | None:
    """The commits in ``rev``'s history that ``git log --full-history -- FOLDER/ENTRY``
    lists, parents first, from the index kept in ``store`` (brought to ``rev`` first, or
    built); None when ``rev`` is not a full commit id."""
    if not _SHA.fullmatch(rev):
        return None
    shard = shard_of(entry)
    name = shard_name(folder, shard)
    kept = _parse(store.get(name), folder, shard)
    if kept is not None and kept[0] == rev:
        return list(kept[1].get(entry, []))
    entries = _advance(top, folder, shard, kept[0], rev, kept[1]) if kept is not None else None
    if entries is None:
        shards = build(top, rev, folder)
        for i, part in enumerate(shards):
            store.put(shard_name(folder, i), _dump(folder, i, rev, part))
        entries = shards[shard]
    else:
        store.put(name, _dump(folder, shard, rev, entries))
    return list(entries.get(entry, []))
