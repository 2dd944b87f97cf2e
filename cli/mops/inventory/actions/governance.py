"""Governance actions: evidence, sign-offs, promotion, retirement, findings and exceptions.

Each follows the shape of ``actions.register``: validate what can be validated
without the lock, then under ``locked(...)`` read the inventory fresh, check,
build one ``Change`` and commit it; any refusal raises before anything is written.

Policy and trust decisions (is the approver independent enough? does a promotion
meet the rules of its target stage? which rule ids exist? does a sign-off get
signed?) are passed in as callables by :mod:`mops.api`, so that ``inventory``
never imports ``policy`` or ``trust``. Each returns what it did, typed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops import clock
from mops.errors import NotFoundError, PolicyError, UsageError
from mops.inventory import authority, layout, records
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked, new_id
from mops.inventory.digest import DigestCache, combine, sha256_file, subject_parts
from mops.inventory.names import KIND_RE, ModelRef, validate_record_id, validate_role
from mops.inventory.records import RETIRED
from mops.inventory.store import Inventory, Model, Version

Notify = Callable[[str], None] | None
#: The git environment of the one acting (who and when), or None for the process's own.
Env = Mapping[str, str] | None
#: (inventory, model, version, role, person) -> reasons the person may not sign off.
IndependenceCheck = Callable[[Inventory, Model, Version, str, str], list[str]]
#: (inventory, model, version, target stage, the file digests to use and fill) -> (unmet
#: rules as lines, waived rule ids).
PromotionGate = Callable[[Inventory, Model, Version, str, DigestCache],
                         tuple[list[str], list[str]]]
#: inventory -> the ids of the rules in force.
RuleIds = Callable[[Inventory], Collection[str]]
#: inventory -> whether ``approve`` signs its commit (it raises when signing is required
#: and impossible).
SignDecision = Callable[[Inventory], bool]

GITHUB_VARS = (("GITHUB_ACTOR", "github_actor"), ("GITHUB_TRIGGERING_ACTOR", "github_triggering_actor"))


def _future(day: dt.date | None, today: dt.date, option: str) -> None:
    if day is not None and day < today:
        raise UsageError(f"{option} {day.isoformat()} is in the past (today is "
                         f"{today.isoformat()})")


def _text(value: str | None, option: str) -> str:
    if value is None or not value.strip():
        raise UsageError(f"{option} must not be empty")
    return value.strip()


def _github() -> dict[str, str]:
    return {key: os.environ[var] for var, key in GITHUB_VARS if os.environ.get(var)}


# ----------------------------------------------------------------------------- what each did


@dataclass(frozen=True)
class EvidenceAdded(Done):
    model: str
    version: str
    evidence: records.Evidence


@dataclass(frozen=True)
class SignedOff(Done):
    model: str
    version: str
    approval: records.Approval


@dataclass(frozen=True)
class Promoted(Done):
    model: str
    version: str
    previous: str
    stage: str
    #: Rules that failed and were waived by a valid exception.
    waived: tuple[str, ...]


@dataclass(frozen=True)
class Retired(Done):
    model: str
    versions: tuple[str, ...]


@dataclass(frozen=True)
class FindingRecorded(Done):
    """A finding opened or closed, or an exception granted (``finding.kind``)."""

    finding: records.Finding


# ----------------------------------------------------------------------------- evidence


def add_evidence(start: Path, ref: ModelRef, files: Sequence[Path], *, kind: str,
                 title: str | None = None, metrics: Mapping[str, Any] | None = None,
                 notify: Notify = None, env: Env = None) -> EvidenceAdded:
    """Copy ``files`` into the version's evidence folder and record them, with their sha256."""
    if not KIND_RE.fullmatch(kind or ""):
        raise UsageError(f"--kind {kind!r}: use lowercase letters, digits and '-', e.g. "
                         f"validation-report")
    if not files:
        raise UsageError("give at least one evidence FILE")
    names: dict[str, Path] = {}
    for f in files:
        if not f.exists():
            raise UsageError(f"evidence file {f}: no such file")
        if not f.is_file():
            raise UsageError(f"evidence file {f}: is a directory, not a file" if f.is_dir()
                             else f"evidence file {f}: is not a regular file")
        name = f.name
        if name in names:
            raise UsageError(f"two evidence files are named {name!r} ({names[name]} and {f}); "
                             f"add them in separate calls or rename one")
        if name.startswith(".") or any(ord(c) < 32 for c in name):
            raise UsageError(f"evidence file {f}: its name may not start with '.' or contain "
                             f"control characters")
        names[name] = f
    with locked(start, notify, env=env) as inv:
        model, version = inv.resolve(ref)
        actor = inv.identity()
        taken = {e.id for e in version.evidence}
        eid = new_id("E", lambda x: x in taken)
        entries: list[records.EvidenceFile] = []
        change = Change(inv, "evidence", model=model.id, version=version.version,
                        actor=actor.email)
        for name, path in names.items():
            rel = layout.evidence_file(eid, name)
            sha, size = sha256_file(path)
            entries.append(records.EvidenceFile(path=rel, sha256=sha, size=size))
            change.copy(f"{version.dir}/{rel}", path)
        evidence = records.Evidence.new(
            layout.evidence_path(version.dir, eid), id=eid, kind=kind,
            title=(title or "").strip() or ", ".join(names), files=entries,
            metrics=metrics or {}, by=actor.email, at=actor.timestamp)
        change.write(evidence.path, evidence.dump())
        change.summary = f"{kind} for {version.ref} ({len(entries)} file(s))"
        commit = change.commit()
        return EvidenceAdded(commit, tuple(change.files), model=model.id,
                             version=version.version, evidence=evidence)


# ----------------------------------------------------------------------------- sign-offs


def approve(start: Path, ref: ModelRef, *, role: str, reject: bool = False,
            comment: str | None = None, expires: dt.date | None = None, today: dt.date,
            independence: IndependenceCheck, sign: SignDecision,
            notify: Notify = None, env: Env = None) -> SignedOff:
    """Record a sign-off (approve or reject) bound to the version's subject digest."""
    validate_role(role)
    _future(expires, today, "--expires")
    with locked(start, notify, env=env) as inv:
        settings = inv.settings
        if role not in settings.roles:
            raise NotFoundError(f"unknown role {role!r}: roles in mops.yaml are "
                                f"{', '.join(settings.roles) or 'none'}")
        model, version = inv.resolve(ref)
        actor = inv.identity()
        if actor.email not in settings.people_for(role):
            listed = ", ".join(settings.people_for(role)) or "no one"
            raise PolicyError(f"{actor.email} may not sign off as {role}: mops.yaml lists "
                              f"{listed} for that role; nothing was recorded")
        if version.stage == RETIRED:
            raise UsageError(f"{version.ref} is retired; sign-offs are for versions in use")
        reasons = independence(inv, model, version, role, actor.email)
        if reasons:
            raise PolicyError(f"{actor.email} may not sign off {version.ref} as {role}: the "
                              f"rules in force need an independent {role}; nothing was recorded",
                              details=reasons)
        cache = DigestCache(inv)
        parts = subject_parts(inv, version, cache)
        cache.save()
        previous = records.effective_signoffs([a for a in version.approvals
                                       if a.by == actor.email and a.role == role])
        taken = {a.id for a in version.approvals}
        aid = new_id("A", lambda x: x in taken)
        decision = "reject" if reject else "approve"
        approval = records.Approval.new(
            layout.approval_path(version.dir, aid), id=aid, model=model.id,
            version=version.version, role=role, decision=decision, by=actor.email,
            name=actor.name, at=actor.timestamp,
            comment=comment.strip() if comment and comment.strip() else None, expires=expires,
            digest=combine(parts), parts=parts, supersedes=previous[-1].id if previous else None,
            extra=_github())
        change = Change(inv, "approve", model=model.id, version=version.version,
                        actor=actor.email, summary=f"{version.ref} {decision} as {role}",
                        body=approval.comment or "", sign=sign(inv),
                        trailers={"Mops-Decision": decision, "Mops-Role": role})
        change.write(approval.path, approval.dump())
        commit = change.commit()
        return SignedOff(commit, tuple(change.files), model=model.id, version=version.version,
                         approval=approval)


# ----------------------------------------------------------------------------- lifecycle


def promote(start: Path, ref: ModelRef, *, to: str, gate: PromotionGate,
            notify: Notify = None, env: Env = None) -> Promoted:
    """Move a version to stage ``to`` when the rules for that stage are met."""
    with locked(start, notify, env=env) as inv:
        stages = inv.settings.stages
        if to not in stages:
            raise UsageError(f"--to {to!r}: stages of this inventory are {', '.join(stages)}")
        model, version = inv.resolve(ref)
        if to == version.stage:
            raise UsageError(f"{version.ref} is already in stage {to}")
        if to == RETIRED:
            raise UsageError(f"to retire {version.ref}, use `mops retire {version.ref} --reason "
                             f"TEXT` (it records why)")
        if version.stage == RETIRED:
            raise UsageError(f"{version.ref} is retired and stays retired; register a new version")
        # One digest cache for the gate and the stage event's subject digest (the same
        # evidence files): it is read once (a large inventory's is megabytes).
        cache = DigestCache(inv)
        try:
            unmet, waived = gate(inv, model, version, to, cache)
            if unmet:
                raise PolicyError(f"cannot promote {version.ref} to {to}: {len(unmet)} rule(s) "
                                  f"unmet; nothing was changed", details=unmet)
            digest = combine(subject_parts(inv, version, cache))
        finally:
            cache.save()
        actor = inv.identity()
        record = version.record.moved(records.StageEvent.new(
            to, previous=version.stage, at=actor.timestamp, by=actor.email, digest=digest,
            waived=waived))
        change = Change(inv, "promote", model=model.id, version=version.version, actor=actor.email,
                        summary=f"{version.ref} {version.stage} -> {to}",
                        trailers={"Mops-Stage": to})
        change.write(record.path, record.dump())
        commit = change.commit()
        return Promoted(commit, tuple(change.files), model=model.id, version=version.version,
                        previous=version.stage, stage=to, waived=tuple(waived))


def retire(start: Path, ref: ModelRef, *, reason: str, notify: Notify = None,
           env: Env = None) -> Retired:
    """Mark a version (or every version of a model) retired; nothing is deleted."""
    reason = _text(reason, "--reason")
    with locked(start, notify, env=env) as inv:
        if RETIRED not in inv.settings.stages:
            raise UsageError(f"this inventory has no {RETIRED!r} stage (mops.yaml stages: "
                             f"{', '.join(inv.settings.stages)})")
        model = inv.model(ref.model)
        if ref.version:
            targets = [model.version(ref.version)]
            if targets[0].stage == RETIRED:
                raise UsageError(f"{targets[0].ref} is already retired")
        else:
            targets = [v for v in model.versions if v.stage != RETIRED]
            if not targets:
                raise UsageError(f"every version of {model.id} is already retired"
                                 if model.versions else f"model {model.id} has no versions")
        actor = inv.identity()
        change = Change(inv, "retire", model=model.id,
                        version=ref.version, actor=actor.email,
                        summary=", ".join(v.ref for v in targets), body=reason)
        for version in targets:
            record = version.record.moved(
                records.StageEvent.new(RETIRED, previous=version.stage, at=actor.timestamp,
                                       by=actor.email, reason=reason),
                retired={"at": actor.timestamp, "by": actor.email, "reason": reason})
            change.write(record.path, record.dump())
        commit = change.commit()
        return Retired(commit, tuple(change.files), model=model.id,
                       versions=tuple(v.version for v in targets))


# ----------------------------------------------------------------------------- findings


def add_finding(start: Path, ref: ModelRef, *, severity: str, title: str,
                due: dt.date | None = None, notify: Notify = None,
                env: Env = None) -> FindingRecorded:
    """Open a finding on a model (or one version of it)."""
    if severity not in records.SEVERITIES:
        raise UsageError(f"--severity {severity!r}: use high, medium or low")
    title = _text(title, "--title")
    with locked(start, notify, env=env) as inv:
        model = inv.model(ref.model)
        version = model.version(ref.version) if ref.version else None
        actor = inv.identity()
        taken = {f.id for f in model.findings}
        fid = new_id("F", lambda x: x in taken)
        finding = records.Finding.new_finding(
            layout.finding_path(model.id, fid), id=fid, model=model.id,
            version=version.version if version else None, severity=severity, title=title,
            by=actor.email, at=actor.timestamp, due=due)
        change = Change(inv, "finding", model=model.id,
                        version=version.version if version else None, actor=actor.email,
                        summary=f"{severity} {fid} on {version.ref if version else model.id}: "
                                f"{title}", trailers={"Mops-Finding": fid})
        change.write(finding.path, finding.dump())
        commit = change.commit()
        return FindingRecorded(commit, tuple(change.files), finding=finding)


def close_finding(start: Path, model_id: str, finding_id: str, *, comment: str | None = None,
                  notify: Notify = None, env: Env = None) -> FindingRecorded:
    """Close a finding (or revoke an exception); closed records stay in the inventory."""
    validate_record_id(finding_id, "finding")
    with locked(start, notify, env=env) as inv:
        model = inv.model(model_id)
        found = [f for f in model.findings if f.id == finding_id]
        if not found:
            known = ", ".join(f.id for f in model.findings if f.is_open) or "none open"
            raise NotFoundError(f"model {model.id!r} has no finding {finding_id!r} ({known})")
        finding = found[0]
        if not finding.is_open:
            raise UsageError(f"{finding_id} is already closed "
                             f"(by {finding.closed_by or '?'})")
        actor = inv.identity()
        # Whoever raised it may close it; otherwise only an independent person in a closing
        # role, so a developer cannot close a validator's finding to pass the gate.
        problem = authority.close_problem(inv.settings, model, finding, actor.email)
        if problem is not None:
            raise PolicyError(f"{problem}; nothing was changed")
        closed = finding.closed(by=actor.email, at=actor.timestamp,
                                comment=comment.strip() if comment and comment.strip() else None)
        change = Change(inv, "finding-close", model=model.id, version=finding.version,
                        actor=actor.email, summary=f"{finding_id} on {model.id}",
                        body=closed.close_comment or "", trailers={"Mops-Finding": finding_id})
        change.write(closed.path, closed.dump())
        commit = change.commit()
        return FindingRecorded(commit, tuple(change.files), finding=closed)


def waive(start: Path, ref: ModelRef, *, rule: str, expires: dt.date | None, reason: str,
          controls: str | None = None, today: dt.date, rule_ids: RuleIds,
          notify: Notify = None, env: Env = None) -> FindingRecorded:
    """Record a policy exception: ``rule`` reports *waived* (not *pass*) until ``expires``."""
    reason = _text(reason, "--reason")
    if expires is None:
        raise UsageError("--expires DATE is required: every exception has an expiry")
    _future(expires, today, "--expires")
    with locked(start, notify, env=env) as inv:
        known = rule_ids(inv)
        if rule not in known:
            raise NotFoundError(f"unknown rule {rule!r}: the rules in force are "
                                f"{', '.join(known) or 'none'}")
        model = inv.model(ref.model)
        version = model.version(ref.version) if ref.version else None
        actor = inv.identity()
        granted = clock.parse_timestamp(actor.timestamp)
        problem = authority.grant_problem(inv.settings, model, version, actor.email,
                                          granted=granted.date() if granted else today,
                                          expires=expires)
        if problem is not None:
            raise PolicyError(f"{problem}; no exception to {rule} was recorded")
        taken = {f.id for f in model.findings}
        wid = new_id("W", lambda x: x in taken)
        exception = records.Finding.new_exception(
            layout.finding_path(model.id, wid), id=wid, model=model.id,
            version=version.version if version else None, rule=rule, reason=reason,
            controls=controls.strip() if controls and controls.strip() else None,
            by=actor.email, at=actor.timestamp, expires=expires, extra=_github())
        target = version.ref if version else model.id
        change = Change(inv, "waive", model=model.id, version=version.version if version else None,
                        actor=actor.email, summary=f"{rule} for {target} until {expires}",
                        body=reason, trailers={"Mops-Rule": rule, "Mops-Finding": wid})
        change.write(exception.path, exception.dump())
        commit = change.commit()
        return FindingRecorded(commit, tuple(change.files), finding=exception)
