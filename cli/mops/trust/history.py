"""History replay: what happened to the inventory's governed paths, read once from git.

History is read in one ``git log --name-status`` pass; blobs of the parents in one
``git cat-file --batch``; signatures with one ``git log --no-walk`` per distinct
allowed-signers file. An inventory with thousands of sign-offs costs a handful of
git processes, not one per record.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mops import git
from mops.errors import RecordError, UsageError
from mops.git import CommitInfo, Event, Signature
from mops.inventory import records, walks
from mops.inventory.layout import ALLOWED_SIGNERS, GOVERNED_PATHS, MODELS_DIR, SETTINGS_FILE
from mops.inventory.store import Inventory

#: Commits per ``git log --no-walk`` when checking signatures.
CHUNK = 100


@dataclass
class History:
    """What happened to the inventory's governed paths, read once from git."""

    inv: Inventory
    rev: str | None
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    #: git path -> events, oldest first.
    events: dict[str, list[Event]] = field(default_factory=dict)
    _signatures: dict[str, Signature] = field(default_factory=dict)
    _parent_blobs: dict[tuple[str, str], bytes | None] = field(default_factory=dict)

    @classmethod
    def scan(cls, inv: Inventory, paths: Iterable[str] | None = None, *,
             keep: bool = False) -> History:
        """Read history of ``paths`` (inventory-relative; default: models, settings, signers);
        ``keep``: the walk is kept between runs (a few models' folders, see
        :mod:`mops.inventory.walks`)."""
        rev = inv.commit or git.head(inv.top)
        hist = cls(inv, rev)
        if rev is None:
            return hist
        wanted = list(paths) if paths is not None else list(GOVERNED_PATHS)
        hist.commits, hist.events = git.path_history(
            inv.top, rev, [inv.git_path(p) for p in wanted], walks.store(inv.top) if keep else None)
        return hist

    # --------------------------------------------------------------- blobs of parents

    def parent_blobs(self, commits: Iterable[str], path: str) -> dict[str, bytes | None]:
        """``path`` (inventory-relative) as it stood in each commit's first parent."""
        gpath = self.inv.git_path(path)
        commits = list(commits)
        todo = [c for c in dict.fromkeys(commits) if (c, gpath) not in self._parent_blobs]
        if todo:
            found = git.cat_blobs(self.inv.top, [f"{c}^:{gpath}" for c in todo])
            for c in todo:
                self._parent_blobs[(c, gpath)] = found.get(f"{c}^:{gpath}")
        return {c: self._parent_blobs[(c, gpath)] for c in commits}

    def signing_required_before(self, commits: Iterable[str]) -> dict[str, bool]:
        """Whether ``mops.yaml`` in each commit's parent said ``signing: required``."""
        out = {}
        parsed: dict[bytes, bool] = {}
        for commit, blob in self.parent_blobs(commits, SETTINGS_FILE).items():
            if blob is None:
                out[commit] = False
                continue
            if blob not in parsed:
                try:
                    parsed[blob] = records.load_settings(SETTINGS_FILE, blob).signing == "required"
                except RecordError:
                    # A malformed mops.yaml in the parent: hold the commit to the inventory's
                    # current setting rather than let a broken file switch signing off.
                    parsed[blob] = self.inv.settings.signing == "required"
            out[commit] = parsed[blob]
        return out

    # --------------------------------------------------------------- signatures

    def signatures(self, commits: Iterable[str]) -> dict[str, Signature]:
        """git's verdict on each commit's signature, against the signers of its parent."""
        commits = list(dict.fromkeys(commits))
        todo = [c for c in commits if c not in self._signatures]
        if todo:
            groups: dict[bytes, list[str]] = {}
            for commit, blob in self.parent_blobs(todo, ALLOWED_SIGNERS).items():
                groups.setdefault(blob or b"", []).append(commit)
            # git runs ssh-keygen for each signed commit (~15 ms): thousands of signed
            # sign-offs are checked in chunks, several git processes at a time.
            jobs = [(signers, group[i:i + CHUNK]) for signers, group in groups.items()
                    for i in range(0, len(group), CHUNK)]
            workers = max(1, min(8, os.cpu_count() or 1, len(jobs)))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for found in pool.map(lambda job: git.verify_commits(self.inv.top, job[1], job[0]),
                                      jobs):
                    self._signatures.update(found)
            if any(self._signatures[c].status == "E" for c in todo) \
                    and shutil.which("ssh-keygen") is None:
                raise UsageError("checking signatures needs ssh-keygen (the OpenSSH client); "
                                 "install it (e.g. `apt-get install openssh-client`)")
        return {c: self._signatures[c] for c in commits}


def uncommitted(inv: Inventory, paths: Iterable[str] = (MODELS_DIR,)) -> dict[str, str]:
    """Inventory-relative paths with uncommitted changes -> git's two-letter status.

    Ignored files are included: a sign-off hidden by ``.gitignore`` is read by mops
    like any other file, so it must show up here.
    """
    statuses = git.uncommitted(inv.top, [inv.git_path(p) for p in paths])
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    return {path[len(prefix):]: status for path, status in statuses.items()
            if path.startswith(prefix)}
