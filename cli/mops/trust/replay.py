"""History replay: every commit reachable from HEAD that touches a governed path, held
to the provenance rules (:mod:`mops.trust.rules`) as they stood in its parents.

- **A commit** is judged by the rules in force in its parent: ``mops.yaml`` (signing,
  roles, who governs) and ``.mops/allowed_signers`` as they stood there. Each path it
  changes is looked up in the table: a record must come from the named mops action
  (``Mops-Action``), by the person it names (author and committer), allowed by the
  settings, signed by that person when signing is required; later changes only by the
  actions named, as those actions make them; never deleted. A change to the rules
  themselves needs a governor (``governance.changed_by``), signed when required; with
  ``signing: optional`` an unsigned one is a warning.
- **A merge** is judged against each of its parents. What it has that a parent lacks
  came either from another side, where some commit made it, or from the merge itself
  (an "evil merge", never skipped because its tree equals one side). A rule file taken
  from one side must have been changed there by a commit the *other* side's rules
  accept; a record taken from one side must be allowed, and signed when required, under
  the rules of the other side or of the merge. So a branch with rules of its own (an
  orphan whose root commit wrote the signers, or a branch forked before signing was
  required) brings nothing the line it joins would refuse.
- **A root commit** has no rules before it: the inventory's first commit is its trust
  anchor. Any other root is held, where it is merged, to the rules of the line it joins.
- **Promotions are replayed**: at each commit that moved a version to a stage, the gate
  is evaluated again, with the policy engine ``promote`` uses, on the inventory as it
  stood in that commit's parent, at that commit's time; a promotion it would have
  refused is a problem.

With ``since`` (a checkpoint: a commit whose history verified clean) only the commits
after it are replayed, each still held to the rules in force in its parent; a promotion
among them is re-gated on records made before it too. When a merge lies after it (a
merge may take files whose makers lie before the checkpoint) all of history is.

Git is read in a fixed number of passes: one ``git log --raw`` of the governed paths,
one ``git diff-tree --stdin`` for all merges, one ``cat-file --batch-check`` for the
rules at every parent, blobs in batches, signatures grouped by allowed-signers file;
promotions are replayed through one ``cat-file --batch`` reading only the folders they
need. Returns problems and warnings; never prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mops import git
from mops.errors import MopsError, RecordError, UsageError
from mops.git import Change, LoggedCommit, Signature
from mops.inventory import authority, layout, records, walks, yamlio
from mops.inventory.layout import ALLOWED_SIGNERS, INVENTORY_PATHS, MODELS_DIR, SETTINGS_FILE
from mops.inventory.names import validate_model, validate_record_id, validate_version
from mops.inventory.store import CommitSource, Inventory, Model, Version
from mops.trust import rules as table
from mops.trust.rules import Provenance
from mops.trust.signers import principal_matches, signature_problem

#: Commits per ``git log --no-walk`` when checking signatures.
CHUNK = 100

SignatureCheck = Callable[[Version, records.Approval], bool]
#: (inventory as of a commit, model, version, target stage, that commit's time, is_signed,
#: a key equal for equal rules in force) -> the unmet rules ("ID: message [cite]").
Gate = Callable[[Inventory, Model, Version, str, dt.datetime, SignatureCheck, Hashable],
                list[str]]


@dataclass(frozen=True)
class Issue:
    path: str
    problem: str
    warning: bool = False


def _short(sha: str) -> str:
    return sha[:12]


# ----------------------------------------------------------------------------- rules in force


@dataclass(frozen=True)
class InForce:
    """The rules in force at a commit: its ``mops.yaml`` and allowed signers."""

    settings: records.Settings | None
    settings_blob: str | None
    signers_blob: str | None
    unreadable: bool = False

    @property
    def required(self) -> bool:
        return self.settings is not None and self.settings.signing == "required"

    @property
    def packs(self) -> frozenset[str]:
        return table.pack_paths(self.settings)

    @property
    def key(self) -> tuple[str | None, str | None]:
        """Equal for equal rules (the same mops.yaml and allowed signers)."""
        return self.settings_blob, self.signers_blob


NOTHING = InForce(None, None, None)
#: Records made where no mops.yaml stood yet are held to an empty inventory's settings.
EMPTY = records.Settings(inventory="(none yet)")


class Blobs:
    """Blob contents by id, read in batches through the replay's one object store."""

    def __init__(self, store: git.ObjectStore) -> None:
        self.store = store

    def prefetch(self, oids: Iterable[str]) -> None:
        self.store.prefetch(o for o in oids if o)

    def get(self, oid: str) -> bytes:
        try:
            return self.store.blob(oid)
        except FileNotFoundError:
            return b""


class States:
    """The rules in force at any commit, read with one ``cat-file --batch-check`` per batch."""

    def __init__(self, inv: Inventory, blobs: Blobs, fallback: records.Settings) -> None:
        self.inv = inv
        self.blobs = blobs
        self.fallback = fallback
        self._ids: dict[str, tuple[str | None, str | None]] = {}
        self._settings: dict[str, records.Settings | None] = {}
        self._paths = (inv.git_path(SETTINGS_FILE), inv.git_path(ALLOWED_SIGNERS))

    def prefetch(self, commits: Iterable[str]) -> None:
        todo = [c for c in dict.fromkeys(commits) if c not in self._ids]
        if not todo:
            return
        found = git.object_ids(self.inv.top, [f"{c}:{p}" for c in todo for p in self._paths])
        for c in todo:
            self._ids[c] = (found.get(f"{c}:{self._paths[0]}"), found.get(f"{c}:{self._paths[1]}"))
        self.blobs.prefetch(s for s, _ in self._ids.values() if s)

    def settings(self, blob: str) -> records.Settings | None:
        """``mops.yaml`` of blob ``blob``; None when it cannot be read."""
        if blob not in self._settings:
            try:
                self._settings[blob] = records.load_settings(SETTINGS_FILE, self.blobs.get(blob),
                                                             cache=self.inv.record_cache)
            except RecordError:
                self._settings[blob] = None
        return self._settings[blob]

    def raw(self, blob: str | None) -> dict[str, Any] | None:
        if not blob:
            return None
        try:
            return yamlio.load_mapping(SETTINGS_FILE, self.blobs.get(blob),
                                       cache=self.inv.record_cache)
        except RecordError:
            return None

    def at(self, commit: str | None) -> InForce:
        if commit is None:
            return NOTHING
        if commit not in self._ids:
            self.prefetch([commit])
        settings_blob, signers_blob = self._ids[commit]
        if settings_blob is None:
            return InForce(None, None, signers_blob)
        settings = self.settings(settings_blob)
        if settings is None:
            # An unreadable mops.yaml switches nothing off: hold commits to the strictest.
            return InForce(self.fallback, settings_blob, signers_blob, unreadable=True)
        return InForce(settings, settings_blob, signers_blob)

    def signers(self, blob: str | None) -> bytes:
        return self.blobs.get(blob) if blob else b""

    @property
    def all_readable(self) -> bool:
        """No mops.yaml read so far was unreadable (each would be judged by the strictest
        fallback, which depends on the working tree's mops.yaml)."""
        return all(s is not None for s in self._settings.values())


class Signatures:
    """git's verdict on commits' signatures against allowed-signers files, kept by
    (commit, signers blob); checked in chunks, several git processes at a time."""

    def __init__(self, inv: Inventory, states: States) -> None:
        self.inv = inv
        self.states = states
        self.found: dict[tuple[str, str | None], Signature] = {}

    def prefetch(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        groups: dict[str | None, list[str]] = {}
        for commit, blob in dict.fromkeys(pairs):
            if (commit, blob) not in self.found:
                groups.setdefault(blob, []).append(commit)
        if not groups:
            return
        jobs = [(blob, group[i:i + CHUNK]) for blob, group in groups.items()
                for i in range(0, len(group), CHUNK)]

        def one(job: tuple[str | None, list[str]]) -> tuple[str | None, dict[str, Signature]]:
            return job[0], git.verify_commits(self.inv.top, job[1], self.states.signers(job[0]))

        workers = max(1, min(8, os.cpu_count() or 1, len(jobs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for blob, found in pool.map(one, jobs):
                for commit, sig in found.items():
                    self.found[(commit, blob)] = sig
        for blob, group in groups.items():
            for commit in group:
                self.found.setdefault((commit, blob), Signature("N"))
        if any(s.status == "E" for s in self.found.values()) and shutil.which("ssh-keygen") is None:
            raise UsageError("checking signatures needs ssh-keygen (the OpenSSH client); "
                             "install it (e.g. `apt-get install openssh-client`)")

    def get(self, commit: str, blob: str | None) -> Signature:
        if (commit, blob) not in self.found:
            self.prefetch([(commit, blob)])
        return self.found[(commit, blob)]


# ----------------------------------------------------------------------------- the replay


_SHA256 = frozenset("0123456789abcdef")


def _undigested(data: dict[str, Any]) -> str | None:
    """What a monitoring record lacks a digest of (None: the reference and every input has
    a sha256 and size, or an ``unhashed`` reason for something that is not one file)."""

    def digested(entry: Any) -> bool:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            return False
        sha = entry.get("sha256")
        if sha is None:
            reason = entry.get("unhashed")
            return isinstance(reason, str) and bool(reason.strip())
        size = entry.get("size")
        return (isinstance(sha, str) and len(sha) == 64 and set(sha) <= _SHA256
                and isinstance(size, int) and not isinstance(size, bool) and size >= 0)

    if not digested(data.get("reference")):
        return "its reference data"
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return "the current logs (it lists none)"
    bad = [i for i, entry in enumerate(inputs, 1) if not digested(entry)]
    if bad:
        return "current log " + ", ".join(str(i) for i in bad[:5]) + (" and more" if len(bad) > 5
                                                                         else "")
    return None


@dataclass
class Counts:
    commits: int = 0
    merges: int = 0
    records: int = 0
    governance_changes: int = 0
    promotions: int = 0


@dataclass
class _Record:
    """A record as one blob holds it (``value`` None when it cannot be read: ``error``)."""

    value: Any
    error: str | None = None


def _reason(exc: MopsError) -> str:
    if isinstance(exc, RecordError):
        text = exc.message.removeprefix(exc.path).removeprefix(":")
        if exc.line is not None:
            where = f"{exc.line}:" + (f"{exc.column}:" if exc.column is not None else "")
            text = f"line {exc.line}: " + text.removeprefix(where).lstrip()
        return text.strip()
    return exc.message


@dataclass
class Replay:
    """One replay of HEAD's history (see the module doc)."""

    inv: Inventory
    #: Models whose records are checked (None: all); the rules are always checked.
    models: set[str] | None = None
    gate: Gate | None = None
    #: A commit whose history verified clean (:mod:`mops.trust.checkpoint`): only the
    #: commits after it are replayed, when they are a line without merges (a merge may
    #: take files whose makers lie before it); otherwise, and when None, all of history.
    since: str | None = None
    issues: list[Issue] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def __post_init__(self) -> None:
        try:
            fallback = dataclasses.replace(self.inv.settings, signing="required")
        except RecordError:
            fallback = records.Settings(inventory="(unreadable)", signing="required")
        self.store = git.ObjectStore(self.inv.top)
        self.blobs = Blobs(self.store)
        self.states = States(self.inv, self.blobs, fallback)
        self.sigs = Signatures(self.inv, self.states)
        self.prefix = f"{self.inv.prefix}/" if self.inv.prefix else ""
        self.commits: dict[str, LoggedCommit] = {}
        self.merge_diffs: dict[tuple[str, str], list[Change]] = {}
        #: (path, blob set there; "" for a deletion) -> commits that set it so.
        self.producers: dict[tuple[str, str], list[str]] = {}
        #: The commit that first added each path.
        self.added: dict[str, str] = {}
        #: (path, blob) of rule files whose change verify rejects.
        self.rejected: set[tuple[str, str]] = set()
        self._records: dict[tuple[str, str], _Record] = {}
        #: Records by (path, blob), shared with the inventories promotions are replayed on.
        self._parsed: dict[tuple[str, str], Any] = {}
        self._seen: set[tuple[str, str]] = set()
        self._promotions: list[tuple[LoggedCommit, str, str, str]] = []
        self._head: dict[str, str] | None = None
        #: Per logged commit, the files of each model it changed, after it (see _snapshots).
        self._deltas: dict[str, dict[str, dict[str, tuple[str, str]] | None]] = {}
        self._files_at: dict[tuple[str, str], dict[str, tuple[str, str]] | None] = {}
        #: (commit, model) -> the model's files before it, where they were carried forward.
        self._files_before: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        self._graph: dict[str, tuple[str, ...]] | None = None
        #: Each logged commit's place (parents first), and each model's first.
        self._order: dict[str, int] = {}
        self._first: dict[str, int] = {}
        #: With ``since``: every commit after it (governed or not), and the commits that
        #: first added records older than it, when a promotion's replay asks.
        self._range: set[str] | None = None
        self._before: dict[str, LoggedCommit | None] = {}
        #: What the commit last asked about adds (see _added).
        self._added_by: tuple[str, set[str], dict[str, list[Change]]] | None = None

    @property
    def rules_readable(self) -> bool:
        return self.states.all_readable

    # --------------------------------------------------------------- reporting

    def problem(self, path: str, text: str) -> None:
        if (path, text) not in self._seen:
            self._seen.add((path, text))
            self.issues.append(Issue(path, text))

    def warn(self, path: str, text: str) -> None:
        if (path, text) not in self._seen:
            self._seen.add((path, text))
            self.issues.append(Issue(path, text, warning=True))

    # --------------------------------------------------------------- reading

    def rel(self, gpath: str) -> str | None:
        if self.prefix and not gpath.startswith(self.prefix):
            return None
        return gpath[len(self.prefix):]

    def in_scope(self, rel: str) -> bool:
        if self.models is None or not rel.startswith(f"{MODELS_DIR}/"):
            return True
        return rel.split("/", 2)[1] in self.models

    def run(self) -> list[Issue]:
        head = self.inv.head
        if head is None:
            return self.issues
        rev = head
        if self.since is not None:
            graph = git.parents_of(self.inv.top, f"{self.since}..{head}")
            if any(len(parents) > 1 for parents in graph.values()):
                self.since = None  # a merge after the checkpoint: replay everything
            else:
                self._graph, self._range = graph, set(graph)
                rev = f"{self.since}..{head}"
        rules = [self.inv.git_path(p) for p in INVENTORY_PATHS
                 if self.models is None or p != MODELS_DIR]
        folders = [] if self.models is None else \
            [self.inv.git_path(layout.model_dir(m)) for m in sorted(self.models)]
        log = self._log(rev, rules, folders)
        extra = self._extra_pack_paths(log)
        if extra:
            rules += [self.inv.git_path(p) for p in extra]
            log = self._log(rev, rules, folders)
        paths = rules + folders
        self.commits = {c.sha: c for c in log}
        pairs = [(c.sha, p) for c in log if c.is_merge for p in c.parents]
        self.merge_diffs = git.merge_changes(self.inv.top, pairs, paths)
        self.states.prefetch([p for c in log for p in c.parents] +
                             [c.sha for c in log if c.is_merge])
        self._index(log)
        self._prefetch_blobs(log)
        self._prefetch_signatures(log)
        for c in log:
            self.counts.commits += 1
            if c.is_merge:
                self.counts.merges += 1
                self._merge(c)
            else:
                self._commit(c)
        if self.gate is not None and self._promotions:
            self._snapshots(log)
        self._replay_promotions()
        self.store.close()
        return self.issues

    #: Up to this many models in scope, each model's folder is logged on its own.
    FOLDERS_APART = 8

    def _log(self, rev: str, rules: list[str], folders: list[str]) -> list[LoggedCommit]:
        """Every commit touching the rules or ``folders``: a few models' folders each in a
        log of their own, where git's changed-path filters skip the commits that did not
        touch them (a replay of one model costs what its history costs)."""
        if not folders or len(folders) > self.FOLDERS_APART:
            log = git.changes_log(self.inv.top, rev, rules + folders)
            models = self.inv.git_path(MODELS_DIR)
            if models in rules and (kept := walks.store(self.inv.top)) is not None:
                # All of models/ was walked: keep which commits touched each model, for
                # the next one-model question (mops.git.touches); its merges' diffs are
                # the ones the replay asks next.
                git.keep_touches(self.inv.top, rev, models, log, rules + folders, kept)
            return log
        # Each walk is kept (sealed) under the commit it was read at: the next replay of
        # these models reads it back, or walks only the commits since (mops.inventory.walks).
        return git.changes_log_of(self.inv.top, rev, [rules, *([f] for f in folders)],
                                  walks.store(self.inv.top))

    def _extra_pack_paths(self, log: list[LoggedCommit]) -> set[str]:
        """Pack files named in any mops.yaml of history that lie outside the folders read."""
        blobs = {ch.new for c in log for ch in c.changes
                 if self.rel(ch.path) == SETTINGS_FILE and ch.new}
        if self.since is not None:  # and the packs in force where the replay starts
            start = self.states.at(self.since).settings_blob
            blobs |= {start} if start else set()
        self.blobs.prefetch(blobs)
        found: set[str] = set()
        for blob in blobs:
            settings = self.states.settings(blob)
            found |= set(table.pack_paths(settings))
        covered = tuple(f"{p}/" for p in INVENTORY_PATHS) + (SETTINGS_FILE,)
        return {p for p in found if not p.startswith(covered) and ".." not in p.split("/")}

    def _index(self, log: list[LoggedCommit]) -> None:
        for c in log:
            for ch in self._own_changes(c):
                rel = self.rel(ch.path)
                if rel is None:
                    continue
                self.producers.setdefault((rel, ch.new), []).append(c.sha)
                if ch.status == "A":
                    self.added.setdefault(rel, c.sha)

    def _own_changes(self, c: LoggedCommit) -> list[Change]:
        """What ``c`` itself changed: all of a commit's changes; of a merge, what differs
        from every parent."""
        if not c.is_merge:
            return list(c.changes)
        per_parent = [{ch.path: ch for ch in self.merge_diffs.get((c.sha, p), [])}
                      for p in c.parents]
        common = set(per_parent[0]).intersection(*per_parent[1:])
        return [per_parent[0][path] for path in sorted(common)]

    def _prefetch_blobs(self, log: list[LoggedCommit]) -> None:
        wanted: list[str] = []
        for c in log:
            changes = list(c.changes) + [ch for p in c.parents
                                         for ch in self.merge_diffs.get((c.sha, p), [])]
            for ch in changes:
                rel = self.rel(ch.path)
                if rel is None or not self.in_scope(rel):
                    continue
                if "/evidence/files/" in rel:
                    continue
                wanted += [ch.old, ch.new]
        self.blobs.prefetch(wanted)

    def _prefetch_signatures(self, log: list[LoggedCommit]) -> None:
        """The bulk of the signatures (each record commit's, against its parent's signers)
        in a few git processes; the rest are checked when asked."""
        pairs = []
        for c in log:
            if c.is_merge:
                continue
            parent = self.states.at(c.parents[0] if c.parents else None)
            for ch in c.changes:
                rel = self.rel(ch.path)
                if rel is None or not self.in_scope(rel):
                    continue
                r = table.rule_for(rel)
                if r is None:
                    continue
                if r.governance or parent.required or r.id == "signoff":
                    pairs.append((c.sha, parent.signers_blob))
                    break
        self.sigs.prefetch(pairs)

    def record(self, rel: str, blob: str) -> _Record:
        """The record at ``rel`` as blob ``blob`` holds it (parsed once)."""
        key = (rel, blob)
        if key not in self._records:
            found = self._records[key] = self._load(rel, self.blobs.get(blob))
            if found.value is not None:
                self._parsed[key] = found.value
        return self._records[key]

    def _load(self, rel: str, data: bytes) -> _Record:
        parts = rel.split("/")
        name = parts[-1]
        cache = self.inv.record_cache
        try:
            model = validate_model(parts[1])
            if rel.endswith("/" + layout.CARD_FILE) and len(parts) == 3:
                return _Record(records.load_card(rel, data, expected_id=model, cache=cache))
            if parts[2] == layout.FINDINGS:
                rid = validate_record_id(name.removesuffix(".yaml"), "finding")
                return _Record(records.load_finding(rel, data, record_id=rid, model=model,
                                                    cache=cache))
            version = validate_version(parts[3])
            if name == layout.VERSION_FILE:
                return _Record(records.load_version(rel, data, model=model, version=version,
                                                    cache=cache))
            if parts[4] == layout.EVIDENCE:
                rid = validate_record_id(name.removesuffix(".yaml"), "evidence")
                return _Record(records.load_evidence(rel, data, record_id=rid, cache=cache))
            if parts[4] == layout.APPROVALS:
                rid = validate_record_id(name.removesuffix(".yaml"), "approval")
                return _Record(records.load_approval(rel, data, record_id=rid, cache=cache))
            rid = validate_record_id(name.removesuffix(".json"), "monitoring record")
            return _Record(records.load_monitoring(rel, data, rid))
        except MopsError as exc:
            return _Record(None, _reason(exc))

    def head_record(self, rel: str) -> tuple[Any, str | None] | None:
        """The record at ``rel`` as HEAD holds it, as (record, error); None when HEAD has no
        such file or it was never read."""
        if self._head is None and self._range is not None:
            # After a checkpoint the replay is a line: what it last made of a path is HEAD's
            # (the replay read nothing else, so nothing else need be listed).
            self._head = {}
            for c in self.commits.values():  # parents first
                for ch in c.changes:
                    if (inside := self.rel(ch.path)) is not None:
                        self._head[inside] = ch.new
        if self._head is None:
            head = self.inv.head
            folders = [MODELS_DIR] if self.models is None else \
                [layout.model_dir(m) for m in sorted(self.models)]
            listed = {} if head is None or not folders else \
                git.tree_blobs(self.inv.top, head, [self.inv.git_path(f) for f in folders])
            self._head = {inside: blob for path, blob in listed.items()
                          if (inside := self.rel(path)) is not None}
        blob = self._head.get(rel)
        found = self._records.get((rel, blob)) if blob else None
        return None if found is None else (found.value, found.error)

    def kind_of(self, rel: str, blob: str) -> str | None:
        if f"/{layout.FINDINGS}/" not in rel or not blob:
            return None
        value = self.record(rel, blob).value
        return value.kind if isinstance(value, records.Finding) else None

    # --------------------------------------------------------------- one commit

    def _commit(self, c: LoggedCommit) -> None:
        parent = c.parents[0] if c.parents else None
        rules_before = self.states.at(parent)
        for ch in c.changes:
            rel = self.rel(ch.path)
            if rel is None or not self.in_scope(rel):
                continue
            self._change(c, ch, rel, rules_before)

    def _change(self, c: LoggedCommit, ch: Change, rel: str, before: InForce) -> None:
        r = table.rule_for(rel, kind=self.kind_of(rel, ch.new or ch.old), packs=before.packs)
        if r is None or not r.record and not r.governance:
            return
        if r.governance:
            self._governance_change(c, ch, rel, r, before)
            return
        self.counts.records += 1
        what = r.what
        if ch.status == "D":
            self.problem(rel, f"this {what} was deleted in {_short(c.sha)} by {c.author}; "
                              f"{what}s are never removed")
            return
        if ch.mode == "120000" or ch.status == "T":
            self.problem(rel, f"is a symbolic link in {_short(c.sha)} (by {c.author}); "
                              f"records are regular files")
            return
        if ch.status == "A":
            self._created(c, ch, rel, r, before)
        else:
            self._modified(c, ch, rel, r, before)
        self._under_rejected_rules(c, rel, r, before)

    def _under_rejected_rules(self, c: LoggedCommit, rel: str, r: Provenance,
                              before: InForce) -> None:
        for path, blob in ((SETTINGS_FILE, before.settings_blob),
                           (ALLOWED_SIGNERS, before.signers_blob)):
            if blob and (path, blob) in self.rejected:
                self.problem(rel, f"was {'added' if self.added.get(rel) == c.sha else 'changed'} "
                                  f"in {_short(c.sha)} under a {path} whose change verify "
                                  f"rejects (see {path}): nothing it says is proven")

    # --------------------------------------------------------------- records

    def _action_problem(self, c: LoggedCommit, rel: str, r: Provenance, allowed: tuple[str, ...],
                        verb: str) -> bool:
        action = c.trailers.get("Mops-Action")
        if action in allowed:
            return False
        cmds = " or ".join(f"`{table.COMMANDS[a]}`" for a in allowed)
        said = f"its commit says `Mops-Action: {action}`" if action else \
            "its commit has no Mops-Action trailer"
        if verb == "added":
            self.problem(rel, f"the {r.what} was added in {_short(c.sha)} by {c.author}, not by "
                              f"{cmds} ({said}): {r.what}s come only from {cmds}")
        else:
            added = self.added.get(rel)
            since = f" in {_short(added)}" if added else ""
            only = f"; only {cmds} changes a {r.what}" if allowed else \
                f"; {r.what}s are never edited"
            self.problem(rel, f"the {r.what} was changed after it was added{since}: modified in "
                              f"{_short(c.sha)} by {c.author}{only}")
        return True

    def _identity(self, c: LoggedCommit, rel: str, actor: str, verb: str) -> None:
        """The commit's author and committer (and Mops-Actor) are the person named."""
        actor = actor.lower()
        for role, email in (("author", c.author), ("committer", c.committer)):
            if email != actor:
                self.problem(rel, f"names {actor}, but the commit that {verb} it "
                                  f"({_short(c.sha)}) has {email} as its {role}")
        said = c.trailers.get("Mops-Actor", "").lower()
        if said and said != actor:
            self.problem(rel, f"names {actor}, but the commit that {verb} it ({_short(c.sha)}) "
                              f"says Mops-Actor: {said}")

    def _signature(self, c: LoggedCommit, rel: str, actor: str, rules: InForce, verb: str,
                   anyway: bool = False) -> str | None:
        """Why the commit's signature does not prove ``actor`` (None: proven or not needed)."""
        if not rules.required and not anyway:
            return None
        sig = self.sigs.get(c.sha, rules.signers_blob)
        if not rules.required and not sig.signed:
            return None
        why = signature_problem(sig, actor)
        if why is None:
            return None
        reason = "signing is required" if rules.required else "it is signed"
        return (f"the commit that {verb} it ({_short(c.sha)}) {why}; {reason}, so the "
                f"signature must be {actor}'s")

    def _allowed(self, r: Provenance, value: Any, actor: str, rules: InForce,
                 c: LoggedCommit, rel: str) -> str | None:
        """Why the settings (``rules``) do not let ``actor`` make this record (None: they do)."""
        settings = rules.settings or EMPTY
        if r.who == table.ROLE_OF_RECORD:
            role = value.role
            if actor not in settings.people_for(role):
                return (f"{actor} was not listed for {role} in mops.yaml as it stood before "
                        f"{_short(c.sha)}")
        elif r.who == table.RECORDER:
            allowed = table.recorders(settings)
            if allowed is not None and actor not in allowed:
                roles = ", ".join(settings.monitoring_recorders)
                return (f"{actor} may not record monitoring results: only members of "
                        f"{roles} (monitoring.recorded_by in mops.yaml) may")
        elif r.who == table.GRANTER:
            model = self._model_before(c, rel)
            if model is None:
                return None
            version = None
            if value.version is not None:
                version = next((v for v in model.versions if v.version == value.version), None)
            opened = value.opened_at[:10]
            try:
                granted = dt.date.fromisoformat(opened)
            except ValueError:
                granted = dt.datetime.fromtimestamp(c.time, tz=dt.UTC).date()
            if value.expires is None:
                return "it has no expiry"
            return authority.grant_problem(settings, model, version, actor, granted=granted,
                                           expires=value.expires)
        return None

    def _model_before(self, c: LoggedCommit, rel: str) -> Model | None:
        """The model ``rel`` belongs to, as it stood in ``c``'s parent (None: not there)."""
        if not c.parents:
            return None
        at = self.at(c.parents[0])
        try:
            return at.model(rel.split("/")[1]) if at is not None else None
        except MopsError:
            return None

    def at(self, commit: str, reader: git.CommitReader | None = None) -> Inventory | None:
        """The inventory as of ``commit``, read lazily (None when it had no mops.yaml);
        ``reader``: its files, when already known."""
        if reader is None:
            reader = git.TreeReader(self.store, commit, self.inv.prefix)
        if SETTINGS_FILE not in reader.entries:
            return None
        return Inventory(self.inv.root, self.inv.top, CommitSource(reader), commit,
                         git_env=self.inv.git_env, record_cache=self.inv.record_cache,
                         parsed=self._parsed)

    def _created(self, c: LoggedCommit, ch: Change, rel: str, r: Provenance,
                 before: InForce) -> None:
        if self._action_problem(c, rel, r, r.created_by, "added"):
            return
        if r.id == "evidence-file":
            self._evidence_file(c, rel)
            return
        rec = self.record(rel, ch.new)
        if rec.value is None:
            self.problem(rel, f"cannot be read as added in {_short(c.sha)}: {rec.error}")
            return
        value = rec.value
        actor = self._actor_of(c, rel, r, value)
        if actor is None:
            return
        self._identity(c, rel, actor, "added")
        why = self._allowed(r, value, actor, before, c, rel)
        if why:
            self.problem(rel, why)
        sig = self._signature(c, rel, actor, before, "added", anyway=r.id == "signoff")
        if sig:
            self.problem(rel, sig)
        self._created_content(c, rel, r, value, before)

    def _added(self, c: LoggedCommit) -> tuple[set[str], dict[str, list[Change]]]:
        """The inventory paths ``c`` adds, and the version records among them by model (in
        its order): worked out once per commit (a commit that adds thousands of models
        would otherwise be scanned once per card and per evidence file)."""
        if self._added_by is None or self._added_by[0] != c.sha:
            paths: set[str] = set()
            versions: dict[str, list[Change]] = {}
            for ch in c.changes:
                if ch.status == "A" and (path := self.rel(ch.path)) is not None:
                    paths.add(path)
                    if table.rule_for(path) is table.rule("version"):
                        versions.setdefault(path.split("/")[1], []).append(ch)
            self._added_by = (c.sha, paths, versions)
        return self._added_by[1], self._added_by[2]

    def _actor_of(self, c: LoggedCommit, rel: str, r: Provenance, value: Any) -> str | None:
        if r.id == "card":
            model = rel.split("/")[1]
            version = self._added(c)[1].get(model, [])
            if not version:
                self.problem(rel, f"the model card was changed in {_short(c.sha)} by "
                                  f"{c.author} without registering a version of {model}: a card "
                                  f"changes only with `mops register`")
                return None
            found = self.record(self.rel(version[0].path) or "", version[0].new).value
            return found.registered_by.lower() if found is not None else c.author
        if r.id == "exception":
            return (value.approved_by or value.opened_by or "").lower()
        field_value = getattr(value, {"registered_by": "registered_by", "added_by": "added_by",
                                      "by": "by", "opened_by": "opened_by"}.get(
            r.actor_field, "by"), None) if not isinstance(value, records.Monitoring) \
            else value.data.get("by")
        if not isinstance(field_value, str) or not field_value:
            self.problem(rel, f"does not say who made it ({r.actor_field or 'by'})")
            return None
        return field_value.lower()

    def _created_content(self, c: LoggedCommit, rel: str, r: Provenance, value: Any,
                         before: InForce) -> None:
        if r.id == "version":
            stages = (before.settings or EMPTY).stages
            history = value.stage_history
            if value.stage != stages[0] or len(history) != 1 or history[0].stage != stages[0]:
                self.problem(rel, f"was registered in {_short(c.sha)} in stage {value.stage} "
                                  f"with {len(history)} stage history entries: `mops register` "
                                  f"starts every version in {stages[0]}, with one entry")
        elif r.id in ("finding", "exception"):
            if value.status != "open":
                self.problem(rel, f"was added already {value.status} in {_short(c.sha)}: "
                                  f"{r.what}s are opened, then closed with `mops finding close`")
            if r.id == "exception" and value.opened_by.lower() != (value.approved_by or "").lower():
                self.problem(rel, f"says it was opened by {value.opened_by} and approved by "
                                  f"{value.approved_by}: `mops waive` records one person as both")
        elif r.id == "monitoring":
            parts = rel.split("/")
            if value.data.get("model") != parts[1] or str(value.data.get("version")) != parts[3]:
                self.problem(rel, f"names {value.data.get('model')}@"
                                  f"{value.data.get('version')}, not the version whose folder "
                                  f"it is in")
            missing = _undigested(value.data)
            if missing:
                self.problem(rel, f"was added in {_short(c.sha)} without the sha256 of "
                                  f"{missing}: `mops drift --record` records the digest, size "
                                  f"and rows of every file a result was computed from (or why "
                                  f"it has none, for a table or URI)")
        elif r.id == "signoff":
            parts = rel.split("/")
            if value.model not in (None, parts[1]) or value.version not in (None, parts[3]):
                self.problem(rel, f"names {value.model}@{value.version}, not the version whose "
                                  f"folder it is in")

    def _evidence_file(self, c: LoggedCommit, rel: str) -> None:
        head, _, rest = rel.partition(f"/{layout.EVIDENCE}/files/")
        eid = rest.split("/", 1)[0]
        record = layout.evidence_path(head, eid)
        if record not in self._added(c)[0]:
            self.problem(rel, f"the evidence file was added in {_short(c.sha)} by {c.author} "
                              f"without its evidence record ({record}): evidence comes only from "
                              f"`mops evidence add`")

    def _modified(self, c: LoggedCommit, ch: Change, rel: str, r: Provenance,
                  before: InForce) -> None:
        if self._action_problem(c, rel, r, r.changed_by, "changed"):
            return
        if r.id == "card":
            actor = self._actor_of(c, rel, r, None)
            if actor is not None:
                self._identity(c, rel, actor, "changed")
                sig = self._signature(c, rel, actor, before, "changed")
                if sig:
                    self.problem(rel, sig)
            return
        old, new = self.record(rel, ch.old), self.record(rel, ch.new)
        if new.value is None:
            self.problem(rel, f"cannot be read as changed in {_short(c.sha)}: {new.error}")
            return
        if old.value is None:
            return  # reported where it was made unreadable
        if r.id == "version":
            actor = self._moved(c, rel, old.value, new.value, before)
        else:
            actor = self._closed(c, rel, r, old.value, new.value, before)
        if actor is None:
            return
        self._identity(c, rel, actor, "changed")
        sig = self._signature(c, rel, actor, before, "changed")
        if sig:
            self.problem(rel, sig)

    def _moved(self, c: LoggedCommit, rel: str, old: records.VersionRecord,
               new: records.VersionRecord, before: InForce) -> str | None:
        """A promotion or retirement: stage moved, one history entry appended, nothing else."""
        action = c.trailers.get("Mops-Action")
        keep = {k: v for k, v in old.raw.items() if k not in ("stage", "stage_history", "retired")}
        now = {k: v for k, v in new.raw.items() if k not in ("stage", "stage_history", "retired")}
        history_old, history_new = [e.raw for e in old.stage_history], \
            [e.raw for e in new.stage_history]
        changed = sorted(k for k in set(keep) | set(now) if keep.get(k) != now.get(k))
        if changed or history_new[:len(history_old)] != history_old \
                or len(history_new) != len(history_old) + 1 \
                or (action == "promote" and new.raw.get("retired") != old.raw.get("retired")):
            what = ", ".join(changed) or "its stage history"
            self.problem(rel, f"the version record was changed in {_short(c.sha)} by {c.author} "
                              f"beyond what `mops {action}` changes ({what}): a promotion or "
                              f"retirement moves the stage and adds one stage history entry")
            return None
        event = new.stage_history[-1]
        stages = (before.settings or EMPTY).stages
        if event.stage != new.stage or event.previous != old.stage or not event.by:
            self.problem(rel, f"its stage history entry added in {_short(c.sha)} does not say "
                              f"{old.stage} -> {new.stage} and by whom")
            return None
        if action == "retire":
            if new.stage != records.RETIRED or new.retired is None:
                self.problem(rel, f"`mops retire` in {_short(c.sha)} did not retire it")
                return None
        elif new.stage not in stages or new.stage == records.RETIRED \
                or old.stage == records.RETIRED:
            self.problem(rel, f"was promoted from {old.stage} to {new.stage} in "
                              f"{_short(c.sha)}, which the stages then in force "
                              f"({', '.join(stages)}) do not allow")
            return None
        else:
            self._promotions.append((c, rel, new.model, new.stage))
        return event.by.lower()

    def _closed(self, c: LoggedCommit, rel: str, r: Provenance, old: records.Finding,
                new: records.Finding, before: InForce) -> str | None:
        """A finding closed (an exception withdrawn): status and closed_* only, by a closer."""
        closing = ("status", "closed_by", "closed_at", "close_comment")
        keep = {k: v for k, v in old.raw.items() if k not in closing}
        now = {k: v for k, v in new.raw.items() if k not in closing}
        if keep != now or old.status != "open" or new.status != "closed" or not new.closed_by:
            self.problem(rel, f"the {r.what} was changed in {_short(c.sha)} by {c.author} "
                              f"beyond what `mops finding close` changes: closing sets status "
                              f"closed and who closed it, nothing else")
            return None
        actor = new.closed_by.lower()
        model = self._model_before(c, rel)
        if model is not None:
            why = authority.close_problem(before.settings or EMPTY, model, old, actor)
            if why:
                self.problem(rel, why)
        return actor

    # --------------------------------------------------------------- the rules themselves

    def _describe(self, rel: str, r: Provenance, ch: Change) -> str | None:
        """What a change to a rule file changed (None: nothing that counts)."""
        if r.id == "settings":
            old, new = self.states.raw(ch.old), self.states.raw(ch.new)
            if ch.status == "D":
                return "deleted mops.yaml"
            if ch.new and new is None:
                return "made mops.yaml unreadable"
            keys = table.changed_keys(old, new)
            if not keys:
                return None
            return "changed mops.yaml's " + ", ".join(keys)
        verb = {"A": "added", "D": "deleted"}.get(ch.status, "changed")
        return f"{verb} {rel}"

    def _governor_problem(self, c: LoggedCommit, rules: InForce) -> tuple[str | None, bool]:
        """Why ``c`` may not change the rules in force at ``rules`` (and whether that is only
        a warning); (None, False) when it may."""
        settings = rules.settings
        if settings is None:
            return None, False  # before the inventory: the trust anchor
        sig = self.sigs.get(c.sha, rules.signers_blob)
        people = table.governors(settings)
        if table.setting_up(settings):
            if not rules.required:
                return None, False
            why = signature_problem(sig, None)
            return (None, False) if why is None else (f"it {why}", False)
        if sig.status == "G" and sig.signer and any(principal_matches(sig.signer, p)
                                                    for p in people):
            return None, False
        if rules.signers_blob is None and self._anchored(c, people):
            return None, False
        roles = ", ".join(settings.governors)
        who = ", ".join(people)
        if sig.status == "G" and sig.signer:
            why = f"it is signed by {sig.signer}, who is not a governance.changed_by member " \
                  f"({roles}: {who})"
        else:
            why = f"it {signature_problem(sig, None)}"
        if not rules.required:
            return why, True
        return why, False

    def _anchored(self, c: LoggedCommit, people: tuple[str, ...]) -> bool:
        """The first allowed-signers file, signed by a governor with a key it lists itself:
        nothing earlier can check it (the trust anchor), and it is consistent."""
        own = self.states.at(c.sha).signers_blob
        if own is None:
            return False
        sig = self.sigs.get(c.sha, own)
        return sig.status == "G" and bool(sig.signer) and any(
            principal_matches(sig.signer, p) for p in people)

    def _governance_change(self, c: LoggedCommit, ch: Change, rel: str, r: Provenance,
                           before: InForce) -> None:
        what = self._describe(rel, r, ch)
        if what is None:
            return
        self.counts.governance_changes += 1
        why, warning = self._governor_problem(c, before)
        if why is None:
            return
        if warning:
            unsigned = self.sigs.get(c.sha, before.signers_blob).status == "N"
            self.warn(rel, f"{'unsigned' if unsigned else 'unproven'} governance change: commit "
                           f"{_short(c.sha)} by {c.author} "
                           f"{what}, and {why}; with signing: optional nothing proves who made "
                           f"it (verify --strict makes this a problem)")
            return
        self.rejected.add((rel, ch.new))
        self.problem(rel, f"commit {_short(c.sha)} by {c.author} {what} while signing was "
                          f"required, and {why}: changes to the rules need a signature by a "
                          f"governance.changed_by member")

    # --------------------------------------------------------------- merges

    def _merge(self, m: LoggedCommit) -> None:
        own = {ch.path for ch in self._own_changes(m)}
        after = self.states.at(m.sha)
        accepted: dict[str, bool] = {}
        for parent in m.parents:
            rules = self.states.at(parent)
            ok = True
            for ch in self.merge_diffs.get((m.sha, parent), []):
                rel = self.rel(ch.path)
                if rel is None or not self.in_scope(rel):
                    continue
                r = table.rule_for(rel, kind=self.kind_of(rel, ch.new or ch.old),
                                   packs=rules.packs | after.packs)
                if r is None or not r.record and not r.governance:
                    continue
                if ch.path in own:
                    # The merge's own change: held to the rules of each parent.
                    self._change(m, ch, rel, rules)
                    continue
                if r.governance:
                    ok &= self._governance_taken(m, parent, ch, rel, r, rules)
            accepted[parent] = ok
        for parent in m.parents:
            rules = self.states.at(parent)
            for ch in self.merge_diffs.get((m.sha, parent), []):
                rel = self.rel(ch.path)
                if rel is None or ch.path in own or not self.in_scope(rel):
                    continue
                r = table.rule_for(rel, kind=self.kind_of(rel, ch.new or ch.old))
                if r is None or not r.record or r.governance:
                    continue
                self._record_taken(m, parent, ch, rel, r, rules,
                                   after if accepted[parent] else None)

    def _governance_taken(self, m: LoggedCommit, parent: str, ch: Change, rel: str,
                          r: Provenance, rules: InForce) -> bool:
        """A rule file the merge takes from another side: some commit that made it so must
        be one the rules of ``parent`` accept."""
        if self._describe(rel, r, Change(ch.status, ch.path, ch.old, ch.new, ch.mode)) is None:
            return True
        producers = [p for p in self.producers.get((rel, ch.new), []) if p != m.sha]
        reasons = []
        for p in producers:
            why, warning = self._governor_problem(self.commits[p], rules)
            if why is None or warning:
                return True
            reasons.append(f"{_short(p)}: {why}")
        if rules.settings is None:
            return True
        self.rejected.add((rel, ch.new))
        made = "; ".join(reasons) if reasons else "no commit in the history of HEAD made it"
        self.problem(rel, f"merge {_short(m.sha)} by {m.author} takes {rel} from another side, "
                          f"but the rules of the side it joins ({_short(parent)}, signing "
                          f"{'required' if rules.required else 'optional'}) do not accept the "
                          f"change that made it ({made})")
        return False

    def _record_taken(self, m: LoggedCommit, parent: str, ch: Change, rel: str, r: Provenance,
                      rules: InForce, after: InForce | None) -> None:
        """A record the merge takes from another side, held to the rules of the side it
        joins (``rules``) or of the merge (``after``, when its rule files were accepted):
        whoever made it (or made the change, for a finding closed or a version promoted
        there) must be allowed, and signed when either side requires it."""
        if ch.status == "D" or r.id == "evidence-file" or rules.settings is None:
            return  # deletions are reported where made; files go with their record
        if ch.status != "A" and not r.changed_by:
            self.problem(rel, f"merge {_short(m.sha)} by {m.author} replaces the {r.what} that "
                              f"{_short(parent)} has with another side's: {r.what}s are never "
                              f"changed")
            return
        producers = [self.commits[p] for p in self.producers.get((rel, ch.new), [])
                     if p != m.sha and p in self.commits]
        value = self.record(rel, ch.new).value
        if not producers or value is None:
            return  # reported where it was made
        candidates = [rules] + ([after] if after is not None and after.key != rules.key else [])
        reasons: list[str] = []
        for p in producers:
            own = self.states.at(p.parents[0] if p.parents else None)
            if own.key == rules.key:
                return  # judged by these very rules where it was made
            actor = self._changed_by(value) if ch.status != "A" else \
                self._actor_of(p, rel, r, value) if r.id != "card" else p.author
            if actor is None:
                return
            for landing in candidates:
                why = self._allowed(r, value, actor, landing, p, rel) if ch.status == "A" \
                    else None
                if why is None and (landing.required or own.required):
                    sig = self.sigs.get(p.sha, landing.signers_blob)
                    problem = signature_problem(sig, actor)
                    why = None if problem is None else f"its commit ({_short(p.sha)}) {problem}"
                if why is None:
                    return
                reasons.append(why)
        self.problem(rel, f"merge {_short(m.sha)} by {m.author} brings this {r.what} into a line "
                          f"({_short(parent)}) whose rules do not allow it: {reasons[0]}")

    @staticmethod
    def _changed_by(value: Any) -> str | None:
        """Who made the last change to a changeable record (a promotion, a closure)."""
        if isinstance(value, records.VersionRecord) and value.stage_history:
            return (value.stage_history[-1].by or "").lower() or None
        if isinstance(value, records.Finding):
            return (value.closed_by or "").lower() or None
        return None

    # --------------------------------------------------------------- promotions

    def _replay_promotions(self) -> None:
        if self.gate is None or not self._promotions:
            return
        readers = self._mapped_readers()
        self._warm([(c.parents[0], model_id) for c, _, model_id, _ in self._promotions
                    if c.parents and (c.sha, model_id) not in readers])
        for c, rel, model_id, stage in self._promotions:
            self.counts.promotions += 1
            mapped = readers.get((c.sha, model_id))
            at = self.at(c.parents[0], mapped) if c.parents else None
            if at is None:
                continue
            rules = self.states.at(c.parents[0])
            if rules.settings is not None and not rules.unreadable:
                # Already read (and parsed once per mops.yaml): the inventory need not again.
                at.__dict__["settings"] = rules.settings
            version_name = rel.split("/")[3]
            try:
                model = at.model(model_id)
                version = model.version(version_name)
                key = self._gate_key(at, rules)
                now = dt.datetime.fromtimestamp(c.time, tz=dt.UTC)
                unmet = self.gate(at, model, version, stage, now, self._is_signed, key)
            except MopsError as exc:
                self.problem(rel, f"the promotion to {stage} in {_short(c.sha)} cannot be "
                                  f"replayed: {_reason(exc)}")
                continue
            if unmet:
                shown = "; ".join(unmet[:5]) + (f"; and {len(unmet) - 5} more"
                                                if len(unmet) > 5 else "")
                self.problem(rel, f"was promoted to {stage} in {_short(c.sha)} by {c.author}, "
                                  f"but the gate, replayed under the rules then in force, refuses "
                                  f"it: {shown}")

    # --------------------------------------------------------------- files as of a commit

    def _snapshots(self, log: list[LoggedCommit]) -> None:
        """What each logged commit changed, as whole folders: the files (path -> (mode,
        blob)) of each model it touched, after it. A merge's are its first parent's plus
        its difference from it; a commit not logged changed nothing governed.

        A replay of all of history carries every model's files forward along each line of
        first parents (a line that forks is copied, once per further commit taking it up),
        so a model's files before a commit are found in one look: walking back from each
        commit to the last one that touched the model costs, over a history where models
        take turns, the number of models times the number of commits, in time and memory
        (7.7 GB at 2,000 models and 50,000 commits). Replays after a checkpoint, and of a
        few models, walk back (:meth:`_files`): they stop where their range ends.
        """
        self._order = {c.sha: i for i, c in enumerate(log)}
        carry = self.CARRY and self._range is None and self.models is None
        anchors = self._anchors(log) if carry else {}
        #: Per logged commit, how many later commits start from its files.
        waiting = Counter(a for a in anchors.values() if a is not None)
        carried: dict[str, dict[str, dict[str, tuple[str, str]]]] = {}
        for c in log:  # parents first
            base = c.parents[0] if c.parents else None
            changes = self.merge_diffs.get((c.sha, base), []) if c.is_merge and base \
                else c.changes
            state: dict[str, dict[str, tuple[str, str]]] | None = None
            if carry:
                a = anchors[c.sha]
                if a is None:
                    state = {}
                else:
                    waiting[a] -= 1
                    state = carried.pop(a) if not waiting[a] else dict(carried[a])
            delta: dict[str, dict[str, tuple[str, str]] | None] = {}
            for ch in changes:
                rel = self.rel(ch.path)
                if rel is None or not rel.startswith(f"{MODELS_DIR}/") or rel.count("/") < 2:
                    continue
                key = rel.split("/", 2)[1]
                if key not in delta:
                    if not base:
                        found: dict[str, tuple[str, str]] | None = {}
                    elif state is not None:
                        found = state.get(key, {})
                        self._files_before[(c.sha, key)] = found
                    else:
                        found = self._files(base, key)
                    delta[key] = None if found is None else dict(found)
                    self._first.setdefault(key, self._order[c.sha])
                files = delta[key]
                if files is None:
                    continue
                if ch.status == "D":
                    files.pop(rel, None)
                else:
                    files[rel] = (ch.mode, ch.new)
            if state is not None and waiting[c.sha]:
                state.update((k, v) for k, v in delta.items() if v is not None)
                carried[c.sha] = state
            self._deltas[c.sha] = delta

    #: Whether a replay of all of history carries models' files forward (see _snapshots);
    #: a test turns it off to compare with the walk back.
    CARRY = True

    def _anchors(self, log: list[LoggedCommit]) -> dict[str, str | None]:
        """Each logged commit's nearest logged commit along its first parents (None: none),
        through commits not logged (they changed nothing governed)."""
        hop: dict[str, str | None] = {}
        out: dict[str, str | None] = {}
        for c in log:
            sha = c.parents[0] if c.parents else None
            passed = []
            while sha is not None and sha not in self.commits:
                if sha in hop:
                    sha = hop[sha]
                    break
                passed.append(sha)
                if self._graph is None:
                    self._graph = git.parents_of(self.inv.top, self.inv.head or "HEAD")
                parents = self._graph.get(sha, ())
                sha = parents[0] if parents else None
            for p in passed:
                hop[p] = sha
            out[c.sha] = sha
        return out

    def _files(self, commit: str | None, model: str) -> dict[str, tuple[str, str]] | None:
        """The files of ``model`` as of ``commit`` (None: not known from the log)."""
        visited: list[str] = []
        found: dict[str, tuple[str, str]] | None = {}
        c = commit
        first = self._first.get(model)
        while c is not None:
            if (c, model) in self._files_at:
                found = self._files_at[(c, model)]
                break
            if self._range is not None:
                if c not in self._range:
                    found = None  # before the checkpoint: read from the tree when needed
                    break
            elif (order := self._order.get(c)) is not None and (first is None or order < first):
                break  # older than any commit that touched the model: it was not there
            visited.append(c)
            delta = self._deltas.get(c)
            if delta is not None and model in delta:
                found = delta[model]
                break
            if c in self.commits:
                parents = self.commits[c].parents
            elif self.models is not None:
                # A replay of a few models logs few commits: the model's files as of an
                # unlogged commit are read from its tree, not found by walking all of history.
                found = None
                break
            else:  # not logged: what it has of the inventory is its first parent's
                if self._graph is None:
                    self._graph = git.parents_of(self.inv.top, self.inv.head or "HEAD")
                parents = self._graph.get(c, ())
            c = parents[0] if parents else None
        for v in visited:
            self._files_at[(v, model)] = found
        return found

    def _mapped_readers(self) -> dict[tuple[str, str], git.CommitReader]:
        """A reader of (promotion, model) built from the replayed files: the model's files
        as of the promotion's parent, with that parent's mops.yaml and packs."""
        out: dict[tuple[str, str], git.CommitReader] = {}
        pack_specs = []
        wanted = []
        for c, _, model_id, _ in self._promotions:
            if not c.parents:
                continue
            parent = c.parents[0]
            files = self._files_before[(c.sha, model_id)] \
                if (c.sha, model_id) in self._files_before else self._files(parent, model_id)
            rules = self.states.at(parent)
            if files is None or rules.settings_blob is None:
                continue
            wanted.append((c, parent, model_id, files, rules))
            pack_specs += [f"{parent}:{self.inv.git_path(p)}" for p in rules.packs]
        packs = git.object_ids(self.inv.top, pack_specs) if pack_specs else {}
        for c, parent, model_id, files, rules in wanted:
            entries = dict(files)
            entries[SETTINGS_FILE] = ("100644", rules.settings_blob or "")
            for p in rules.packs:
                blob = packs.get(f"{parent}:{self.inv.git_path(p)}")
                if blob:
                    entries[p] = ("100644", blob)
            out[(c.sha, model_id)] = git.MappedReader(self.store, parent, entries)
        return out

    def _warm(self, wanted: list[tuple[str, str]]) -> None:
        """Read what replaying at these (commit, model) pairs will read, one batch per level
        of folders: each commit's top folder and mops.yaml, each model's folders below it,
        and its card; the records were all read (and parsed) where they were made."""
        top = self.inv.prefix
        commits = list(dict.fromkeys(c for c, _ in wanted))
        self.store.prefetch([f"{c}:{top}" for c in commits] +
                            [f"{c}:{self.inv.git_path(SETTINGS_FILE)}" for c in commits])
        self.store.warm([f"{c}:{self.inv.git_path(layout.model_dir(m))}" for c, m in wanted],
                        read_blob=lambda path: path == layout.CARD_FILE)

    def _gate_key(self, at: Inventory, rules: InForce) -> Hashable:
        """Equal for equal rules in force: the same mops.yaml and the same pack files."""
        source = at.source
        assert isinstance(source, CommitSource)
        packs = rules.packs
        if not packs:
            return (rules.settings_blob, ())
        entries = source.reader.entries
        return (rules.settings_blob, tuple(sorted((p, e.sha) for p in packs
                                                  if (e := entries.get(p)) is not None)))

    def _creator(self, rel: str) -> LoggedCommit | None:
        """The commit that first added ``rel`` (looked up in the history before the
        checkpoint for a record older than it)."""
        sha = self.added.get(rel)
        if sha is not None and sha in self.commits:
            return self.commits[sha]
        if self.since is None:
            return None
        if rel not in self._before:
            log = git.changes_log(self.inv.top, self.since, [self.inv.git_path(rel)])
            self._before[rel] = next((c for c in log for ch in c.changes
                                      if ch.status == "A" and self.rel(ch.path) == rel), None)
        return self._before[rel]

    def _is_signed(self, version: Version, approval: records.Approval) -> bool:
        c = self._creator(approval.path)
        if c is None:
            return False
        rules = self.states.at(c.parents[0] if c.parents else None)
        return signature_problem(self.sigs.get(c.sha, rules.signers_blob), approval.by) is None
