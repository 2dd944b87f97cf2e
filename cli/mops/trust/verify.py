"""``mops verify``: is the inventory what its history says, and was every step allowed?

History is replayed against the provenance table (:mod:`mops.trust.rules`, by
:mod:`mops.trust.replay`): every commit reachable from HEAD that touches a governed
path is held to the rules in force in its parents (at a merge, in each parent); each
record must come from its mops action, by the person it names, allowed by the settings
of the time, signed when signing was required, and never be edited or deleted but by
the actions named; each change to the rules needs a governor; each promotion is
replayed through the gate under the rules then in force. Besides history (each
problem names the inventory file it concerns):

- records and rule files with uncommitted changes (a file git does not track is not
  proven by anything), and malformed sign-offs and evidence records;
- every evidence file still has the digest its record holds;
- no sign-off or evidence record is dated after the commit that added it (its age
  counts from its date), and ``mops.yaml`` parses;
- with ``artifacts=True``, artifacts named by a local path still match.

A run of the whole inventory starts after the checkpoint of the last run that found no
problem (:mod:`mops.trust.checkpoint`), when it still holds: only newer commits are
replayed. Everything above about the working tree is checked on every run; from a
checkpoint, starting from what that run saw (:mod:`mops.trust.worktree`): only what git
names, what a newer commit touched and the folders whose stamp changed are looked at
again.

With ``signing: optional``, changes to the rules that nothing proves (unsigned, or not
by a governor) are warnings; ``strict=True`` makes them problems. Leftover temporary
files of a killed mops writer (``.<name>.mops-XXXXXXXX``) are reported as warnings: no
mops command reads them, and they are safe to delete.

Returns data; never prints.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops import clock, git
from mops.errors import InvalidNameError, RecordError, UsageError
from mops.git import status as git_status
from mops.inventory import layout, records, yamlio
from mops.inventory.digest import sha256_file
from mops.inventory.layout import INVENTORY_PATHS, MODELS_DIR
from mops.inventory.names import validate_model, validate_record_id, validate_version
from mops.inventory.store import Inventory, WorktreeSource
from mops.trust import checkpoint, worktree
from mops.trust import rules as table
from mops.trust.replay import Gate, Issue, Replay

#: ``tempfile.mkstemp(prefix=".<name>.mops-")`` in ``change._Undo.write``.
LEFTOVER_RE = re.compile(r"\..+\.mops-[a-z0-9_]{8}")


@dataclass(frozen=True)
class Problem:
    path: str
    problem: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "problem": self.problem}


@dataclass
class Verification:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=lambda: {
        "signoffs": 0, "evidence_records": 0, "evidence_files": 0, "governance_changes": 0,
        "artifacts": 0, "commits": 0, "merges": 0, "records": 0, "promotions": 0})
    scope: list[str] | None = None
    #: The checkpoint the replay started after (None: all of history was replayed).
    checkpoint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, path: str, problem: str) -> None:
        self.problems.append(Problem(path, problem))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_json() for p in self.problems],
                "warnings": [w.to_json() for w in self.warnings], "checked": self.checked,
                "scope": self.scope, "checkpoint": self.checkpoint}


def _short(sha: str) -> str:
    return sha[:12]


def _reason(exc: RecordError) -> str:
    """A record error without its leading ``path:`` (the problem names the path already)."""
    text = exc.message.removeprefix(exc.path).removeprefix(":")
    if exc.line is not None:
        where = f"{exc.line}:" + (f"{exc.column}:" if exc.column is not None else "")
        text = f"line {exc.line}: " + text.removeprefix(where).lstrip()
    return text.strip()


def verify(inv: Inventory, *, changed_since: str | None = None, artifacts: bool = False,
           strict: bool = False, gate: Gate | None = None, full: bool = False,
           models: Sequence[str] | None = None) -> Verification:
    """Check the inventory against its history (see the module doc).

    ``gate`` replays promotions (the policy engine ``promote`` uses, passed in so that
    trust need not import policy); without it promotions are not re-gated. ``inv`` may be
    opened at a commit (an audit report's): then that commit and its history are checked,
    evidence files as the commit holds them, and nothing of the working tree.

    ``models`` limits the check to those models and the rules (``mops.yaml``, packs,
    signers, templates): every commit that touched their folders or the rules is
    replayed, from the first, and their records and evidence files are checked; other
    models are not looked at (``scope`` of the result names what was). One model's
    audit report verifies its model so, at a cost that follows that model's history.

    A run of the whole inventory replays only the commits after its checkpoint
    (:mod:`mops.trust.checkpoint`), unless ``full``; one that finds no problem stores a
    checkpoint at the commit it checked.
    """
    at_commit = inv.commit is not None
    if at_commit and (changed_since is not None or artifacts):
        raise RuntimeError("verify at a commit checks no working-tree change and no artifacts")
    if models is not None and changed_since is not None:
        raise RuntimeError("verify takes models or changed_since, not both")
    if git.is_shallow(inv.top):
        raise UsageError("this is a shallow clone: verify needs the whole history to know who "
                         "added each sign-off; run `git fetch --unshallow` (in GitHub Actions, "
                         "check out with `fetch-depth: 0`)")
    result = Verification()
    try:
        inv.settings  # noqa: B018 - read to learn whether it parses
    except RecordError as exc:
        # Without it nothing says who may sign off or whether signing is required: never "ok".
        result.add(exc.path, _reason(exc))
    present: list[str] | None = None  # the models' folders there are (listed when needed)
    if models is not None:
        for m in models:
            validate_model(m)
        result.scope = sorted(set(models))
        present = [m for m in result.scope if inv.source.isdir(layout.model_dir(m))]
    if changed_since is not None:
        from mops.inventory.changes import changed_models, deleted_models

        changed = changed_models(inv, changed_since)
        # A model deleted or renamed since REF (or left without its card) is in scope too:
        # its history is scanned, so each sign-off and evidence record it lost is a problem.
        gone = deleted_models(inv, changed_since)
        for g in gone:
            result.add(g.card, f"the model {g.model} was deleted or renamed since "
                               f"{changed_since} (its card is gone); a model leaves the inventory "
                               f"with `mops retire`, which keeps every record")
        if changed is not None:
            names = changed | {g.model for g in gone}
            present = sorted(set(_model_dirs(inv)) & names)
            result.scope = sorted(set(present) | {g.model for g in gone})
    model_paths = None if present is None else [layout.model_dir(m) for m in present]
    scanned = [layout.model_dir(m) for m in result.scope] if result.scope is not None \
        else [MODELS_DIR]
    rules_paths = [p for p in INVENTORY_PATHS if p != MODELS_DIR]
    head = inv.head
    whole = result.scope is None and head is not None
    start = checkpoint.load(inv, head, gated=gate is not None) if whole and not full and head \
        else None
    replay = Replay(inv, models=None if result.scope is None else set(result.scope), gate=gate,
                    since=start.commit if start else None)
    issues = replay.run()
    if replay.since is None:
        start = None  # merges after it: everything was replayed
    history = [Issue(p, t, warning=True) for p, t in start.warnings] if start else []
    history += issues
    for issue in history:
        if issue.warning and not strict:
            result.warnings.append(Problem(issue.path, issue.problem))
        else:
            result.add(issue.path, issue.problem)
    result.checkpoint = start.commit if start else None
    # What the working tree holds now comes last: its problems are the most specific.
    # At a commit (an audit report of it) there is no working tree to hold anything else.
    since_ns = time.time_ns()  # before anything of the working tree is looked at
    seen = None
    if start is not None and replay.since is not None and not at_commit \
            and changed_since is None:
        seen = worktree.load(inv, start.commit, start.key)
    dirs: MutableMapping[str, bytes] | None = None
    if at_commit:
        dirty: dict[str, str] = {}
    elif seen is not None:
        dirty, dirs, flagged = _changes_since(inv, seen, rules_paths, since_ns)
        dirty.update(_unchecked(inv, dirty, flagged))
    else:
        dirty = uncommitted(inv, [*scanned, *rules_paths])
        dirty.update(_unchecked(inv, dirty, _flagged(inv, [*scanned, *rules_paths])))
    dirty = _files_of_folders(inv, dirty)
    _check_dirty(result, dirty)

    def committed(rel: str) -> tuple[Any, str | None] | None:
        # A file the working tree holds as committed was read by the replay already.
        return None if rel in dirty else replay.head_record(rel)

    known = _Known()
    if seen is not None:
        # Read only what git names or a commit after the checkpoint touched; every other
        # record is the blob the checkpoint's run read (see mops.trust.worktree).
        touched = set(dirty) | _replayed_paths(replay)
        known = _Known.of(seen, touched)
        files = _touched_record_files(inv, result, touched)
    else:
        files = _record_files(inv, result, model_paths if model_paths is not None else
                              [layout.model_dir(m) for m in _model_dirs(inv)])
    signoffs, evidence = _read_records(inv, result, files, committed)
    for a in signoffs:
        _check_dated(result, replay, a.path, "sign-off", a.at)
    for ev in evidence:
        _check_dated(result, replay, ev.path, "evidence record", ev.added_at)
    _check_evidence_files(inv, result, evidence, known,
                          touched if seen is not None else set())
    c = replay.counts
    result.checked.update(signoffs=len(signoffs) + len(known.signoffs),
                          evidence_records=len(evidence) + len(known.evidence),
                          governance_changes=c.governance_changes, commits=c.commits,
                          merges=c.merges, records=c.records, promotions=c.promotions)
    if artifacts:
        _check_artifacts(inv, result, present if present is not None else _model_dirs(inv))
    if whole and head and result.ok and replay.rules_readable:
        # Only a history that verified clean: a problem found once is found every time.
        if start is not None and start.commit == head:
            kept: dict[str, Any] | None = start.key  # nothing new: it is stored already
        else:
            kept = checkpoint.store(inv, head, [(i.path, i.problem) for i in history
                                                if i.warning], gated=gate is not None)
        if not at_commit and kept is not None:
            if dirs is None:
                dirs = worktree.walk(str(inv.root) + os.sep, MODELS_DIR, since_ns)
            worktree.again(dirs, dirty)  # leftover files, warned about on every run
            now = worktree.Seen(
                head, worktree.key_digest(kept), dirs,
                tuple(sorted([*known.signoffs, *(a.path for a in signoffs)])),
                {**known.evidence, **{ev.path: tuple((f.path, f.sha256) for f in ev.files)
                                      for ev in evidence}})
            if now != seen:
                worktree.store(inv, now)
    return result


# ----------------------------------------------------------------------------- reading records


def _model_dirs(inv: Inventory) -> list[str]:
    return [name for name in inv.source.listdir(MODELS_DIR)
            if inv.source.isdir(layout.model_dir(name))]


#: (kind folder, loader) of the records this check reads.
_LOADERS = ((layout.APPROVALS, records.load_approval), (layout.EVIDENCE, records.load_evidence))
_LOADER_OF = dict(_LOADERS)


def _record_files(inv: Inventory, result: Verification, model_paths: list[str]) -> list[str]:
    """Every sign-off and evidence record file in scope, in the working tree (a folder with
    an invalid name is a problem, and nothing in it is read)."""
    source = inv.source
    found: list[str] = []
    for mdir in model_paths:
        try:
            validate_model(mdir.rsplit("/", 1)[-1])
        except InvalidNameError as exc:
            result.add(mdir, exc.message)
            continue
        try:
            for version in source.listdir(f"{mdir}/{layout.VERSIONS}"):
                vdir = f"{mdir}/{layout.VERSIONS}/{version}"
                try:
                    validate_version(version)
                except InvalidNameError as exc:
                    result.add(vdir, exc.message)
                    continue
                for kind, _ in _LOADERS:
                    for name in source.listdir(f"{vdir}/{kind}"):
                        rel = f"{vdir}/{kind}/{name}"
                        if name.endswith(".yaml") and source.isfile(rel):
                            found.append(rel)
        except RecordError as exc:  # a symlink out of the inventory
            result.add(exc.path, _reason(exc))
    return found


def _touched_record_files(inv: Inventory, result: Verification,
                          touched: set[str]) -> list[str]:
    """Of ``touched`` paths, the sign-off and evidence record files the working tree holds,
    with the checks of their folders' names that :func:`_record_files` makes."""
    found = []
    bad: set[str] = set()
    for rel in sorted(touched):
        parts = rel.split("/")
        if parts[0] != MODELS_DIR:
            continue
        # A model's folder (what holds a file), and any entry of its versions/ folder.
        checks = [(2, validate_model)] if len(parts) > 2 else []
        if len(parts) > 3 and parts[2] == layout.VERSIONS:
            checks.append((4, validate_version))
        valid = True
        for where, check in checks:
            folder = "/".join(parts[:where])
            try:
                check(parts[where - 1])
            except InvalidNameError as exc:
                valid = False
                if folder not in bad:
                    bad.add(folder)
                    result.add(folder, exc.message)
                break
        if not valid or len(parts) != 6 or parts[2] != layout.VERSIONS \
                or parts[4] not in _LOADER_OF or not parts[5].endswith(".yaml"):
            continue
        try:
            if inv.source.isfile(rel):
                found.append(rel)
        except RecordError as exc:  # a symlink out of the inventory
            result.add(exc.path, _reason(exc))
    return found


def _read_records(inv: Inventory, result: Verification, files: list[str],
                  committed: Callable[[str], tuple[Any, str | None] | None] = lambda _rel: None,
                  ) -> tuple[list[records.Approval], list[records.Evidence]]:
    """The sign-offs and evidence records of ``files``; a malformed one is a problem, not an
    abort. ``committed(rel)`` gives the record already read from the commit the working
    tree holds unchanged, as (record, error): it is not read again."""
    signoffs: list[records.Approval] = []
    evidence: list[records.Evidence] = []
    for rel in files:
        name = rel.rsplit("/", 1)[-1]
        loader = _LOADER_OF[rel.split("/")[-2]]
        try:
            validate_record_id(name[:-5], "record")
            known = committed(rel)
            if known is not None and known[1] is not None:
                result.add(rel, known[1])
                continue
            record = known[0] if known is not None else \
                loader(rel, inv.read(rel), record_id=name[:-5], cache=inv.record_cache)
            if isinstance(record, records.Approval):
                signoffs.append(record)
            elif isinstance(record, records.Evidence):
                evidence.append(record)
        except InvalidNameError as exc:
            result.add(rel, exc.message)
        except RecordError as exc:
            result.add(exc.path, _reason(exc))
    return signoffs, evidence


@dataclass
class _Known:
    """The records a checkpoint's run read, untouched since: counted, not read again."""

    signoffs: list[str] = field(default_factory=list)
    evidence: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, seen: worktree.Seen, touched: set[str]) -> _Known:
        return cls([p for p in seen.signoffs if p not in touched],
                   {p: f for p, f in seen.evidence.items() if p not in touched})


def _replayed_paths(replay: Replay) -> set[str]:
    """The inventory paths a replayed commit changed (after a checkpoint: a line)."""
    out = set()
    for c in replay.commits.values():
        for ch in c.changes:
            rel = replay.rel(ch.path)
            if rel is not None:
                out.add(rel)
    return out


# ----------------------------------------------------------------------------- the working tree


def uncommitted(inv: Inventory, paths: Sequence[str], *, untracked: bool = True
                ) -> dict[str, str]:
    """Inventory-relative paths under ``paths`` with uncommitted changes -> git's two-letter
    status (:func:`mops.git.status.uncommitted`: ignored files included, unless
    ``untracked=False``: tracked files only)."""
    if not paths:
        return {}
    statuses = git_status.uncommitted(inv.top, [inv.git_path(p) for p in paths],
                                      untracked=untracked)
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    return {path[len(prefix):]: status for path, status in statuses.items()
            if path.startswith(prefix)}


def _changes_since(inv: Inventory, seen: worktree.Seen, rules_paths: list[str],
                   since_ns: int) -> tuple[dict[str, str], MutableMapping[str, bytes], list[str]]:
    """What :func:`uncommitted` would say, checked from what a checkpoint's run saw (see
    :mod:`mops.trust.worktree`), and the folders' stamps brought up to date."""
    root = str(inv.root) + os.sep
    with ThreadPoolExecutor(max_workers=3) as pool:
        # git reads the tracked files, the rules and the index's flags meanwhile
        # (subprocesses: the GIL is free for the folders' stamps).
        tracked = pool.submit(uncommitted, inv, [MODELS_DIR], untracked=False)
        flagged = pool.submit(_flagged, inv, [MODELS_DIR, *rules_paths])
        changed = worktree.changed_dirs(root, seen.dirs)
        dirs, ask = worktree.rescan(root, seen.dirs, changed, since_ns)
        if len(ask) > worktree.MAX_ASKED:
            ask = [MODELS_DIR]
        # The rules' files are always looked at whole (a few files).
        dirty = uncommitted(inv, [*rules_paths, *ask])
        dirty.update(tracked.result())
    return dirty, dirs, flagged.result()


def _flagged(inv: Inventory, paths: list[str]) -> list[str]:
    """Inventory paths of index entries under ``paths`` that git status does not compare
    with their file (:func:`mops.git.status.unchecked_entries`)."""
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    return [p[len(prefix):] for p in git_status.unchecked_entries(
        inv.top, [inv.git_path(p) for p in paths]) if p.startswith(prefix)]


def _unchecked(inv: Inventory, dirty: dict[str, str], flagged: list[str]) -> dict[str, str]:
    """Of the ``flagged`` index entries (assume-unchanged, skip-worktree: git status does not
    look at their file), those whose file is not HEAD's: as git would name them if it
    looked."""
    flagged = [p for p in flagged if p not in dirty]
    if not flagged:
        return {}
    in_head = git.object_ids(inv.top, [f"HEAD:{inv.git_path(p)}" for p in flagged])
    out = {}
    for rel in flagged:
        full = inv.root / rel
        try:
            if full.is_symlink() or not full.is_file():
                out[rel] = " T" if full.is_symlink() else " D"
                continue
            data = full.read_bytes()
        except OSError:
            out[rel] = " D"
            continue
        if yamlio.blob_id(data).hex() != in_head.get(f"HEAD:{inv.git_path(rel)}"):
            out[rel] = " M"
    return out


def _files_of_folders(inv: Inventory, dirty: dict[str, str]) -> dict[str, str]:
    """``dirty`` with each folder git names whole (``path/``: a new folder it ignores,
    e.g. a version folder a ``.gitignore`` hides) replaced by the files in it, each with
    the folder's status: a sign-off in it is a record nobody proved."""
    if not any(rel.endswith("/") for rel in dirty):
        return dirty
    out = {}
    for rel, status in dirty.items():
        if not rel.endswith("/"):
            out[rel] = status
            continue
        for top, folders, files in os.walk(inv.root / rel):  # symbolic links not followed
            folders.sort()
            base = Path(top).relative_to(inv.root).as_posix()
            for name in sorted(files):
                out[f"{base}/{name}"] = status
    return out


def _check_dirty(result: Verification, dirty: dict[str, str]) -> None:
    for rel, status in sorted(dirty.items()):
        name = rel.rsplit("/", 1)[-1]
        if status == "??" and LEFTOVER_RE.fullmatch(name):
            result.warnings.append(Problem(rel, "leftover temporary file of an interrupted mops "
                                                "process; nothing reads it, and it is safe to "
                                                "delete"))
            continue
        r = table.rule_for(rel)
        if r is None or not r.record and not r.governance:
            continue
        what = ("an " if r.what[0] in "aeiou" else "a ") + r.what
        never = "the rules change only in a commit by a governor" if r.governance else \
            "records are never edited"
        if status == "??":
            result.add(rel, f"{what} that is not committed: nothing proves who made it")
        elif status == "!!":
            result.add(rel, f"{what} that git ignores (.gitignore): nothing proves who made it")
        elif "D" in status:
            result.add(rel, f"{what} deleted in the working tree (uncommitted)")
        else:
            result.add(rel, f"{what} with uncommitted changes: {never}")


# ----------------------------------------------------------------------------- dates and digests


def _check_dated(result: Verification, replay: Replay, path: str, what: str, at: str) -> None:
    """A record dated after the commit that added it: it would never age (``max_age_days``
    counts from the record's date), so it is a problem, however the dates came about."""
    commit = replay.added.get(path)
    if commit is None or commit not in replay.commits:
        return
    committed = replay.commits[commit].time
    when = clock.parse_timestamp(at)
    if when is not None and when > clock.from_epoch(committed):
        result.add(path, f"the {what} is dated {at}, after the commit that added it "
                         f"({_short(commit)}, committed "
                         f"{clock.format_timestamp(clock.from_epoch(committed))}); a record is "
                         f"dated when it is made, and its age counts from that date")


def _check_evidence_files(inv: Inventory, result: Verification,
                          evidence: list[records.Evidence], known: _Known | None = None,
                          touched: set[str] | frozenset[str] = frozenset()) -> None:
    """Each file an evidence record lists has the sha256 it holds: hashed now, but for the
    files of ``known`` records that nothing ``touched`` (their blob is the one whose
    sha256 the checkpoint's run matched)."""
    files: list[tuple[str, str, str, str]] = []
    for ev in evidence:
        vdir = layout.version_of_evidence(ev.path)
        files += [(f"{vdir}/{f.path}", f.sha256, ev.id, ev.path) for f in ev.files]
    count = len(files)
    if known:
        count += sum(map(len, known.evidence.values()))
        # A touched file a known record lists is "<its version folder>/<file>": only the
        # records in a folder that holds a touched path are looked at.
        folders = {rel[:i] for rel in touched for i, c in enumerate(rel) if c == "/"}
        for path, listed in known.evidence.items() if folders else ():
            vdir = layout.version_of_evidence(path)
            if vdir in folders:
                files += [(rel, sha, path.rsplit("/", 1)[-1][:-5], path) for rel, sha in
                          ((f"{vdir}/{f}", sha) for f, sha in listed) if rel in touched]
    result.checked["evidence_files"] += count
    digests = _digests(inv, [rel for rel, _, _, _ in files])
    for rel, expected, ev_id, ev_path in files:
        actual = digests[rel]
        if actual is None:
            continue
        if actual.startswith("!"):
            result.add(rel, actual[1:])
        elif actual != expected:
            result.add(rel, f"its sha256 is {actual}, but evidence record {ev_id} "
                            f"({ev_path}) holds {expected}: the file was replaced")


def _digests(inv: Inventory, rels: list[str]) -> dict[str, str | None]:
    """sha256 of each working-tree file (or, at a commit, of the commit's file), or
    ``!reason``; computed afresh (no digest cache to fool)."""
    source = inv.source
    if not isinstance(source, WorktreeSource):
        return {rel: _committed_digest(inv, rel) for rel in rels}

    def one(rel: str) -> str:
        full = inv.root / rel
        try:
            source.stat(rel)  # refuses symlinks that leave the inventory
            if full.is_symlink():
                return "!is a symbolic link; evidence files are regular files"
            if not full.is_file():
                return "!is listed by its evidence record but is not a regular file"
            return sha256_file(full)[0]
        except FileNotFoundError:
            return "!is listed by its evidence record but does not exist"
        except RecordError as exc:
            return "!" + _reason(exc)
        except OSError as exc:
            return f"!cannot be read ({exc.strerror})"

    workers = min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:  # hashlib releases the GIL
        return dict(zip(rels, pool.map(one, rels), strict=True))


def _committed_digest(inv: Inventory, rel: str) -> str:
    try:
        if not inv.source.isfile(rel):
            return "!is listed by its evidence record but is not a file in the commit"
        return hashlib.sha256(inv.read(rel)).hexdigest()
    except RecordError as exc:
        return "!" + _reason(exc)


# ----------------------------------------------------------------------------- artifacts


def _check_artifacts(inv: Inventory, result: Verification, models: list[str]) -> None:
    wanted: list[tuple[str, Path, str]] = []
    for m in models:
        try:
            model = inv.model(m)
        except RecordError as exc:
            result.add(exc.path, _reason(exc))
            continue
        except UsageError:
            continue  # a folder without a card is not a model
        for v in model.versions:
            art = v.record.artifact
            if art is None or not art.path:
                continue
            path = Path(art.path)
            wanted.append((v.record.path, path if path.is_absolute() else inv.root / path,
                           art.sha256))
    result.checked["artifacts"] = len(wanted)

    def one(item: tuple[str, Path, str]) -> str | None:
        record, path, expected = item
        try:
            if not path.is_file():
                return f"artifact {path}: not found (or not a regular file)"
            actual = sha256_file(path)[0]
        except OSError as exc:
            return f"artifact {path}: cannot be read ({exc.strerror})"
        if actual != expected:
            return f"artifact {path}: its sha256 is {actual}, the record holds {expected}"
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        for (record, _, _), problem in zip(wanted, pool.map(one, wanted), strict=True):
            if problem:
                result.add(record, problem)
