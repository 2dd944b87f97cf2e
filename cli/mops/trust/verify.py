"""``mops verify``: is every sign-off and piece of evidence what history says it is?

Checks (each problem names the inventory file it concerns):

- every sign-off record was added in exactly one commit and never changed or
  deleted afterwards; that commit's author and committer are the person the
  record names; when signing was required (``mops.yaml`` in the commit's parent)
  or the commit is signed anyway, git verifies the signature for that person
  against ``.mops/allowed_signers`` *as it stood in the commit's parent*;
- every evidence record was added once and never edited, by the person it names,
  and every evidence file still has the digest its record holds (and was never
  rewritten in history);
- when signing was required, each change to ``mops.yaml``'s ``roles`` or
  ``signing`` and to ``.mops/allowed_signers`` was made in a commit signed by a
  signer already allowed before it;
- sign-off and evidence files with uncommitted changes (a file git does not
  track is not proven by anything);
- no sign-off or evidence record is dated after the commit that added it (its age
  counts from its date), and ``mops.yaml`` parses;
- with ``artifacts=True``, artifacts named by a local path still match.

Leftover temporary files of a killed mops writer (``.<name>.mops-XXXXXXXX``) are
reported as warnings: no mops command reads them, and they are safe to delete.

Returns data; never prints.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops import clock, git
from mops.errors import InvalidNameError, RecordError, UsageError
from mops.inventory import layout, records
from mops.inventory.digest import sha256_file
from mops.inventory.layout import ALLOWED_SIGNERS, APPROVAL_RE, EVIDENCE_FILE_RE, EVIDENCE_RE, MODELS_DIR, SETTINGS_FILE
from mops.inventory.names import validate_model, validate_record_id, validate_version
from mops.inventory.store import Inventory, WorktreeSource
from mops.trust.history import History, uncommitted
from mops.trust.signers import signature_problem

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
        "artifacts": 0})
    scope: list[str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, path: str, problem: str) -> None:
        self.problems.append(Problem(path, problem))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_json() for p in self.problems],
                "warnings": [w.to_json() for w in self.warnings], "checked": self.checked,
                "scope": self.scope}


def _short(sha: str) -> str:
    return sha[:12]


def _reason(exc: RecordError) -> str:
    """A record error without its leading ``path:`` (the problem names the path already)."""
    text = exc.message.removeprefix(exc.path).removeprefix(":")
    if exc.line is not None:
        where = f"{exc.line}:" + (f"{exc.column}:" if exc.column is not None else "")
        text = f"line {exc.line}: " + text.removeprefix(where).lstrip()
    return text.strip()


def verify(inv: Inventory, *, changed_since: str | None = None,
           artifacts: bool = False) -> Verification:
    """Check the inventory's sign-offs, evidence and governance history (see the module doc)."""
    if inv.commit is not None:
        raise RuntimeError("verify reads the working tree and its history")
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
    models = _model_dirs(inv)
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
            models = sorted(set(models) & names)
            result.scope = sorted(set(models) | {g.model for g in gone})
    model_paths = [layout.model_dir(m) for m in models]
    scanned = [layout.model_dir(m) for m in result.scope] if result.scope is not None \
        else [MODELS_DIR]
    hist = History.scan(inv, [*scanned, SETTINGS_FILE, ALLOWED_SIGNERS])
    dirty = uncommitted(inv, scanned) if scanned else {}
    _check_dirty(result, dirty)
    signoffs, evidence = _records(inv, result, model_paths)
    _check_signoffs(inv, hist, result, signoffs, dirty)
    _check_evidence(inv, hist, result, evidence, dirty)
    _check_deleted(inv, hist, result)
    _check_governance(inv, hist, result)
    if artifacts:
        _check_artifacts(inv, result, models)
    return result


# ----------------------------------------------------------------------------- reading records


def _model_dirs(inv: Inventory) -> list[str]:
    return [name for name in inv.source.listdir(MODELS_DIR)
            if inv.source.isdir(layout.model_dir(name))]


def _records(inv: Inventory, result: Verification, model_paths: list[str]
             ) -> tuple[list[records.Approval], list[records.Evidence]]:
    """Every sign-off and evidence record in scope; a malformed one is a problem, not an abort."""
    source = inv.source
    signoffs: list[records.Approval] = []
    evidence: list[records.Evidence] = []
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
                for kind, loader in ((layout.APPROVALS, records.load_approval),
                                     (layout.EVIDENCE, records.load_evidence)):
                    for name in source.listdir(f"{vdir}/{kind}"):
                        rel = f"{vdir}/{kind}/{name}"
                        if not name.endswith(".yaml") or not source.isfile(rel):
                            continue
                        try:
                            validate_record_id(name[:-5], "record")
                            record = loader(rel, inv.read(rel), record_id=name[:-5])
                            if isinstance(record, records.Approval):
                                signoffs.append(record)
                            else:
                                evidence.append(record)
                        except InvalidNameError as exc:
                            result.add(rel, exc.message)
                        except RecordError as exc:
                            result.add(exc.path, _reason(exc))
        except RecordError as exc:  # a symlink out of the inventory
            result.add(exc.path, _reason(exc))
    return signoffs, evidence


def _check_dirty(result: Verification, dirty: dict[str, str]) -> None:
    for rel, status in sorted(dirty.items()):
        name = rel.rsplit("/", 1)[-1]
        if status == "??" and LEFTOVER_RE.fullmatch(name):
            result.warnings.append(Problem(rel, "leftover temporary file of an interrupted mops "
                                                "process; nothing reads it, and it is safe to "
                                                "delete"))
            continue
        what = ("a sign-off record" if APPROVAL_RE.fullmatch(rel) else
                "an evidence record" if EVIDENCE_RE.fullmatch(rel) else
                "an evidence file" if EVIDENCE_FILE_RE.fullmatch(rel) else None)
        if what is None:
            continue
        if status == "??":
            result.add(rel, f"{what} that is not committed: nothing proves who made it")
        elif status == "!!":
            result.add(rel, f"{what} that git ignores (.gitignore): nothing proves who made it")
        elif "D" in status:
            result.add(rel, f"{what} deleted in the working tree (uncommitted)")
        else:
            result.add(rel, f"{what} with uncommitted changes: records are never edited")


# ----------------------------------------------------------------------------- history checks


def _history_problems(inv: Inventory, hist: History, rel: str, what: str) -> tuple[str | None,
                                                                                   list[str]]:
    """The commit that added ``rel`` (None if none did) and what is wrong with its history."""
    events = hist.events.get(inv.git_path(rel), [])
    adds = [e for e in events if e.status == "A"]
    problems: list[str] = []
    if not adds:
        return None, problems
    if len(adds) > 1:
        problems.append(f"{what} was added in more than one commit "
                        f"({', '.join(_short(e.commit) for e in adds)})")
    later = [e for e in events[events.index(adds[0]) + 1:] if e.status != "A"]
    if later:
        verbs = {"D": "deleted", "T": "replaced (file type changed)"}
        shown = ", ".join(f"{verbs.get(e.status, 'modified')} in {_short(e.commit)} by "
                          f"{hist.commits[e.commit].author}" for e in later[:5])
        more = f" and {len(later) - 5} more" if len(later) > 5 else ""
        problems.append(f"{what} was changed after it was added in {_short(adds[0].commit)}: "
                        f"{shown}{more}")
    return adds[0].commit, problems


def _check_signoffs(inv: Inventory, hist: History, result: Verification,
                    signoffs: list[records.Approval], dirty: dict[str, str]) -> None:
    added: dict[str, str] = {}
    for a in signoffs:
        result.checked["signoffs"] += 1
        commit, problems = _history_problems(inv, hist, a.path, "the sign-off")
        for p in problems:
            result.add(a.path, p)
        if commit is None:
            if a.path not in dirty:
                result.add(a.path, "no commit in the history of HEAD added this sign-off; "
                                   "sign-offs are made with `mops approve`")
            continue
        added[a.path] = commit
        info = hist.commits[commit]
        for role, email in (("author", info.author), ("committer", info.committer)):
            if email != a.by:
                result.add(a.path, f"names {a.by}, but the commit that added it "
                                   f"({_short(commit)}) has {email} as its {role}")
        _check_dated(result, a.path, "sign-off", a.at, commit, info.time)
    if not added:
        return
    required = hist.signing_required_before(added.values())
    signatures = hist.signatures(added.values())
    for a in signoffs:
        commit = added.get(a.path)
        if commit is None:
            continue
        sig = signatures[commit]
        if not required[commit] and not sig.signed:
            continue
        problem = signature_problem(sig, a.by)
        if problem is not None:
            why = "signing is required" if required[commit] else "it is signed"
            result.add(a.path, f"the commit that added it ({_short(commit)}) {problem}; {why}, "
                               f"so the signature must be {a.by}'s")


def _check_dated(result: Verification, path: str, what: str, at: str, commit: str,
                 committed: int) -> None:
    """A record dated after the commit that added it: it would never age (``max_age_days``
    counts from the record's date), so it is a problem, however the dates came about."""
    when = clock.parse_timestamp(at)
    if when is not None and when > clock.from_epoch(committed):
        result.add(path, f"the {what} is dated {at}, after the commit that added it "
                         f"({_short(commit)}, committed "
                         f"{clock.format_timestamp(clock.from_epoch(committed))}); a record is "
                         f"dated when it is made, and its age counts from that date")


def _check_evidence(inv: Inventory, hist: History, result: Verification,
                    evidence: list[records.Evidence], dirty: dict[str, str]) -> None:
    files: list[tuple[str, str, records.Evidence]] = []
    for ev in evidence:
        result.checked["evidence_records"] += 1
        commit, problems = _history_problems(inv, hist, ev.path, "the evidence record")
        for p in problems:
            result.add(ev.path, p)
        if commit is None and ev.path not in dirty:
            result.add(ev.path, "no commit in the history of HEAD added this evidence record; "
                                "evidence is added with `mops evidence add`")
        elif commit is not None:
            info = hist.commits[commit]
            if info.author != ev.added_by.lower():
                result.add(ev.path, f"names {ev.added_by} as its author, but the commit that "
                                    f"added it ({_short(commit)}) has {info.author}")
            _check_dated(result, ev.path, "evidence record", ev.added_at, commit, info.time)
        vdir = layout.version_of_evidence(ev.path)
        for f in ev.files:
            rel = f"{vdir}/{f.path}"
            files.append((rel, f.sha256, ev))
            _, problems = _history_problems(inv, hist, rel, "the evidence file")
            for p in problems:
                result.add(rel, p)
    result.checked["evidence_files"] += len(files)
    digests = _digests(inv, [rel for rel, _, _ in files])
    for rel, expected, ev in files:
        actual = digests[rel]
        if actual is None:
            continue
        if actual.startswith("!"):
            result.add(rel, actual[1:])
        elif actual != expected:
            result.add(rel, f"its sha256 is {actual}, but evidence record {ev.id} "
                            f"({ev.path}) holds {expected}: the file was replaced")


def _digests(inv: Inventory, rels: list[str]) -> dict[str, str | None]:
    """sha256 of each working-tree file, or ``!reason``; computed afresh (no cache to fool)."""
    source = inv.source
    assert isinstance(source, WorktreeSource)

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


def _check_deleted(inv: Inventory, hist: History, result: Verification) -> None:
    """Sign-offs and evidence records that history once had and the inventory no longer has."""
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    for gpath, events in hist.events.items():
        rel = gpath[len(prefix):] if gpath.startswith(prefix) else gpath
        if events[-1].status != "D":
            continue
        what = ("sign-off record" if APPROVAL_RE.fullmatch(rel) else
                "evidence record" if EVIDENCE_RE.fullmatch(rel) else
                "evidence file" if EVIDENCE_FILE_RE.fullmatch(rel) else None)
        if what is None:
            continue
        last = events[-1].commit
        result.add(rel, f"this {what} was deleted in {_short(last)} by "
                        f"{hist.commits[last].author}; {what}s are never removed")


def _governance_fields(blob: bytes | None) -> tuple[Any, ...] | None:
    if blob is None:
        return None
    try:
        s = records.load_settings(SETTINGS_FILE, blob)
    except RecordError:
        return ("malformed", blob)
    return (sorted((r, tuple(sorted(p))) for r, p in s.roles.items()), s.signing)


def _check_governance(inv: Inventory, hist: History, result: Verification) -> None:
    """Changes to roles/signing and to the allowed signers, when signing was required."""
    changes: list[tuple[str, str, str]] = []  # (path, commit, what)
    settings_commits = [e.commit for e in hist.events.get(inv.git_path(SETTINGS_FILE), [])]
    signers_commits = [e.commit for e in hist.events.get(inv.git_path(ALLOWED_SIGNERS), [])]
    if settings_commits:
        before = hist.parent_blobs(settings_commits, SETTINGS_FILE)
        after = _blobs_at(inv, settings_commits, SETTINGS_FILE)
        for c in settings_commits:
            old, new = _governance_fields(before[c]), _governance_fields(after[c])
            if old != new:
                changes.append((SETTINGS_FILE, c, "changed roles or signing"))
    changes += [(ALLOWED_SIGNERS, c, "changed the allowed signers") for c in signers_commits]
    result.checked["governance_changes"] = len(changes)
    if not changes:
        return
    required = hist.signing_required_before(c for _, c, _ in changes)
    held = [c for _, c, _ in changes if required[c]]
    signatures = hist.signatures(held)
    for path, commit, what in changes:
        if not required[commit]:
            continue
        problem = signature_problem(signatures[commit], None)
        if problem is not None:
            result.add(path, f"commit {_short(commit)} by {hist.commits[commit].author} {what} "
                             f"while signing was required, and it {problem}: such changes need a "
                             f"signature by someone already in .mops/allowed_signers")


def _blobs_at(inv: Inventory, commits: list[str], rel: str) -> dict[str, bytes | None]:
    specs = {c: f"{c}:{inv.git_path(rel)}" for c in commits}
    found = git.cat_blobs(inv.top, list(specs.values()))
    return {c: found[s] for c, s in specs.items()}


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
