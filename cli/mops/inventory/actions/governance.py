"""Governance actions: evidence, sign-offs, promotion, retirement, findings and exceptions.

Each follows the shape of ``actions.register``: validate what can be validated
without the lock, then under ``locked(...)`` read the inventory fresh, check,
build one ``Change`` and commit it; any refusal raises before anything is written.

Policy decisions (is the approver independent enough? does a promotion meet the
rules of its target stage? which rule ids exist?) are passed in as callables by
the command layer, so that ``inventory`` never imports ``policy``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from mops import git
from mops.errors import NotFoundError, PolicyError, UsageError
from mops.inventory import layout, records, yamlio
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked, new_id
from mops.inventory.digest import DigestCache, combine, sha256_file, subject_parts
from mops.inventory.names import ModelRef, validate_record_id, validate_role
from mops.inventory.records import RETIRED
from mops.inventory.store import Inventory, Model, Version

Notify = Callable[[str], None] | None
#: (inventory, model, version, role, person) -> reasons the person may not sign off.
IndependenceCheck = Callable[[Inventory, Model, Version, str, str], list[str]]
#: (inventory, model, version, target stage) -> (unmet rules as lines, waived rule ids).
PromotionGate = Callable[[Inventory, Model, Version, str], tuple[list[str], list[str]]]
#: inventory -> the ids of the rules in force.
RuleIds = Callable[[Inventory], Collection[str]]

KIND_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
GITHUB_VARS = (("GITHUB_ACTOR", "github_actor"), ("GITHUB_TRIGGERING_ACTOR", "github_triggering_actor"))


def wants_signature(inv: Inventory) -> bool:
    """Whether ``approve`` signs its commit; refuses (exit 1) if signing is required but impossible.

    See :func:`mops.inventory.signing.should_sign`.
    """
    from mops.inventory.signing import should_sign

    return should_sign(inv)


def parse_date(text: str | None, option: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value; a usage error that names the option otherwise."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a date such as 2026-12-31") from None


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


def _listed_anywhere(inv: Inventory, person: str) -> bool:
    return any(person in people for people in inv.settings.roles.values())


def _resolve(inv: Inventory, ref: ModelRef) -> tuple[Model, Version]:
    return inv.resolve(ref)


def _dump(path: str, record: dict[str, Any], loader: Callable[[bytes], Any]) -> str:
    text = yamlio.dump_yaml(record)
    loader(text.encode("utf-8"))  # what mops writes must read back
    return text


# ----------------------------------------------------------------------------- evidence


def add_evidence(start: Path, ref: ModelRef, files: Sequence[Path], *, kind: str,
                 title: str | None = None, metrics: Mapping[str, Any] | None = None,
                 notify: Notify = None) -> Done:
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
    with locked(start, notify) as inv:
        model, version = _resolve(inv, ref)
        actor = git.identity(inv.top)
        taken = {e.id for e in version.evidence}
        eid = new_id("E", lambda x: x in taken)
        entries, change = [], Change(inv, "evidence", model=model.id, version=version.version,
                                     actor=actor.email)
        for name, path in names.items():
            rel = layout.evidence_file(eid, name)
            sha, size = sha256_file(path)
            entries.append({"path": rel, "sha256": sha, "size": size})
            change.copy(f"{version.dir}/{rel}", path)
        record = {
            "id": eid,
            "kind": kind,
            "title": (title or "").strip() or ", ".join(names),
            "files": entries,
            "metrics": dict(metrics or {}),
            "added_by": actor.email,
            "added_at": actor.timestamp,
        }
        rel = layout.evidence_path(version.dir, eid)
        change.write(rel, _dump(rel, record, lambda b: records.load_evidence(rel, b, record_id=eid)))
        change.summary = f"{kind} for {version.ref} ({len(entries)} file(s))"
        commit = change.commit()
        return Done(commit, tuple(change.files), {"id": eid, "model": model.id,
                                                  "version": version.version, "kind": kind,
                                                  "files": entries})


# ----------------------------------------------------------------------------- sign-offs


def approve(start: Path, ref: ModelRef, *, role: str, reject: bool = False,
            comment: str | None = None, expires: dt.date | None = None, today: dt.date,
            independence: IndependenceCheck, notify: Notify = None) -> Done:
    """Record a sign-off (approve or reject) bound to the version's subject digest."""
    validate_role(role)
    _future(expires, today, "--expires")
    with locked(start, notify) as inv:
        settings = inv.settings
        if role not in settings.roles:
            raise NotFoundError(f"unknown role {role!r}: roles in mops.yaml are "
                                f"{', '.join(settings.roles) or 'none'}")
        model, version = _resolve(inv, ref)
        actor = git.identity(inv.top)
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
        record: dict[str, Any] = {
            "id": aid,
            "model": model.id,
            "version": version.version,
            "role": role,
            "decision": decision,
            "by": actor.email,
            "name": actor.name,
            "at": actor.timestamp,
            "comment": comment.strip() if comment and comment.strip() else None,
            "expires": expires,
            "digest": combine(parts),
            "digest_parts": parts,
        }
        if previous:
            record["supersedes"] = previous[-1].id
        record.update(_github())
        rel = layout.approval_path(version.dir, aid)
        change = Change(inv, "approve", model=model.id, version=version.version,
                        actor=actor.email, summary=f"{version.ref} {decision} as {role}",
                        body=record["comment"] or "", sign=wants_signature(inv),
                        trailers={"Mops-Decision": decision, "Mops-Role": role})
        change.write(rel, _dump(rel, record, lambda b: records.load_approval(rel, b, record_id=aid)))
        commit = change.commit()
        return Done(commit, tuple(change.files), {"id": aid, "decision": decision, "role": role,
                                                  "digest": record["digest"], "by": actor.email,
                                                  "model": model.id, "version": version.version})


# ----------------------------------------------------------------------------- lifecycle


def _stage_entry(actor: git.Identity, stage: str, previous: str, **extra: Any) -> dict[str, Any]:
    entry = {"stage": stage, "from": previous, "at": actor.timestamp, "by": actor.email}
    entry.update({k: v for k, v in extra.items() if v})
    return entry


def promote(start: Path, ref: ModelRef, *, to: str, gate: PromotionGate,
            notify: Notify = None) -> Done:
    """Move a version to stage ``to`` when the rules for that stage are met."""
    with locked(start, notify) as inv:
        stages = inv.settings.stages
        if to not in stages:
            raise UsageError(f"--to {to!r}: stages of this inventory are {', '.join(stages)}")
        model, version = _resolve(inv, ref)
        if to == version.stage:
            raise UsageError(f"{version.ref} is already in stage {to}")
        if to == RETIRED:
            raise UsageError(f"to retire {version.ref}, use `mops retire {version.ref} --reason "
                             f"TEXT` (it records why)")
        if version.stage == RETIRED:
            raise UsageError(f"{version.ref} is retired and stays retired; register a new version")
        unmet, waived = gate(inv, model, version, to)
        if unmet:
            raise PolicyError(f"cannot promote {version.ref} to {to}: {len(unmet)} rule(s) unmet; "
                              f"nothing was changed", details=unmet)
        actor = git.identity(inv.top)
        cache = DigestCache(inv)
        digest = combine(subject_parts(inv, version, cache))
        cache.save()
        raw = dict(version.record.raw)
        history = list(raw.get("stage_history") or [])
        history.append(_stage_entry(actor, to, version.stage, digest=digest, waived=waived))
        raw["stage"] = to
        raw["stage_history"] = history
        rel = version.record.path
        change = Change(inv, "promote", model=model.id, version=version.version, actor=actor.email,
                        summary=f"{version.ref} {version.stage} -> {to}",
                        trailers={"Mops-Stage": to})
        change.write(rel, _dump(rel, raw, lambda b: records.load_version(
            rel, b, model=model.id, version=version.version)))
        commit = change.commit()
        return Done(commit, tuple(change.files), {"model": model.id, "version": version.version,
                                                  "from": version.stage, "to": to,
                                                  "waived": waived})


def retire(start: Path, ref: ModelRef, *, reason: str, notify: Notify = None) -> Done:
    """Mark a version (or every version of a model) retired; nothing is deleted."""
    reason = _text(reason, "--reason")
    with locked(start, notify) as inv:
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
        actor = git.identity(inv.top)
        change = Change(inv, "retire", model=model.id,
                        version=ref.version, actor=actor.email,
                        summary=", ".join(v.ref for v in targets), body=reason)
        for version in targets:
            raw = dict(version.record.raw)
            history = list(raw.get("stage_history") or [])
            history.append(_stage_entry(actor, RETIRED, version.stage, reason=reason))
            raw["stage"] = RETIRED
            raw["retired"] = {"at": actor.timestamp, "by": actor.email, "reason": reason}
            raw["stage_history"] = history
            rel = version.record.path
            change.write(rel, _dump(rel, raw, functools.partial(
                records.load_version, rel, model=model.id, version=version.version)))
        commit = change.commit()
        return Done(commit, tuple(change.files), {"model": model.id,
                                                  "versions": [v.version for v in targets]})


# ----------------------------------------------------------------------------- findings


def _finding_path(model: Model, fid: str) -> str:
    return layout.finding_path(model.id, fid)


def add_finding(start: Path, ref: ModelRef, *, severity: str, title: str,
                due: dt.date | None = None, notify: Notify = None) -> Done:
    """Open a finding on a model (or one version of it)."""
    if severity not in records.SEVERITIES:
        raise UsageError(f"--severity {severity!r}: use high, medium or low")
    title = _text(title, "--title")
    with locked(start, notify) as inv:
        model = inv.model(ref.model)
        version = model.version(ref.version) if ref.version else None
        actor = git.identity(inv.top)
        taken = {f.id for f in model.findings}
        fid = new_id("F", lambda x: x in taken)
        record = {
            "id": fid,
            "kind": "finding",
            "model": model.id,
            "version": version.version if version else None,
            "severity": severity,
            "title": title,
            "status": "open",
            "opened_by": actor.email,
            "opened_at": actor.timestamp,
            "due": due,
        }
        rel = _finding_path(model, fid)
        change = Change(inv, "finding", model=model.id,
                        version=version.version if version else None, actor=actor.email,
                        summary=f"{severity} {fid} on {version.ref if version else model.id}: "
                                f"{title}", trailers={"Mops-Finding": fid})
        change.write(rel, _dump(rel, record, lambda b: records.load_finding(
            rel, b, record_id=fid, model=model.id)))
        commit = change.commit()
        return Done(commit, tuple(change.files), {"id": fid, "model": model.id,
                                                  "version": record["version"]})


def close_finding(start: Path, model_id: str, finding_id: str, *, comment: str | None = None,
                  notify: Notify = None) -> Done:
    """Close a finding (or revoke an exception); closed records stay in the inventory."""
    validate_record_id(finding_id, "finding")
    with locked(start, notify) as inv:
        model = inv.model(model_id)
        found = [f for f in model.findings if f.id == finding_id]
        if not found:
            known = ", ".join(f.id for f in model.findings if f.is_open) or "none open"
            raise NotFoundError(f"model {model.id!r} has no finding {finding_id!r} ({known})")
        finding = found[0]
        if not finding.is_open:
            raise UsageError(f"{finding_id} is already closed "
                             f"(by {finding.raw.get('closed_by', '?')})")
        actor = git.identity(inv.top)
        # Whoever opened it may close it; otherwise only people with a governance role,
        # so a developer cannot close a validator's finding to pass the gate.
        if actor.email != finding.opened_by and not _listed_anywhere(inv, actor.email):
            raise PolicyError(f"{actor.email} may not close {finding_id}: only the person who "
                              f"opened it ({finding.opened_by}) or someone listed for a role in "
                              f"mops.yaml may; nothing was changed")
        raw = dict(finding.raw)
        raw.update({"status": "closed", "closed_by": actor.email, "closed_at": actor.timestamp})
        if comment and comment.strip():
            raw["close_comment"] = comment.strip()
        rel = finding.path
        change = Change(inv, "finding-close", model=model.id, version=finding.version,
                        actor=actor.email, summary=f"{finding_id} on {model.id}",
                        body=raw.get("close_comment", ""), trailers={"Mops-Finding": finding_id})
        change.write(rel, _dump(rel, raw, lambda b: records.load_finding(
            rel, b, record_id=finding_id, model=model.id)))
        commit = change.commit()
        return Done(commit, tuple(change.files), {"id": finding_id, "model": model.id,
                                                  "kind": finding.kind})


def waive(start: Path, ref: ModelRef, *, rule: str, expires: dt.date | None, reason: str,
          controls: str | None = None, today: dt.date, rule_ids: RuleIds,
          notify: Notify = None) -> Done:
    """Record a policy exception: ``rule`` reports *waived* (not *pass*) until ``expires``."""
    reason = _text(reason, "--reason")
    if expires is None:
        raise UsageError("--expires DATE is required: every exception has an expiry")
    _future(expires, today, "--expires")
    with locked(start, notify) as inv:
        known = rule_ids(inv)
        if rule not in known:
            raise NotFoundError(f"unknown rule {rule!r}: the rules in force are "
                                f"{', '.join(known) or 'none'}")
        model = inv.model(ref.model)
        version = model.version(ref.version) if ref.version else None
        actor = git.identity(inv.top)
        if not _listed_anywhere(inv, actor.email):
            raise PolicyError(f"{actor.email} may not grant exceptions: only people listed for a "
                              f"role in mops.yaml may; nothing was recorded")
        taken = {f.id for f in model.findings}
        wid = new_id("W", lambda x: x in taken)
        record = {
            "id": wid,
            "kind": "exception",
            "model": model.id,
            "version": version.version if version else None,
            "rule": rule,
            "title": f"Exception to {rule}",
            "reason": reason,
            "controls": controls.strip() if controls and controls.strip() else None,
            "approved_by": actor.email,
            "status": "open",
            "opened_by": actor.email,
            "opened_at": actor.timestamp,
            "expires": expires,
        }
        record.update(_github())
        rel = _finding_path(model, wid)
        target = version.ref if version else model.id
        change = Change(inv, "waive", model=model.id, version=version.version if version else None,
                        actor=actor.email, summary=f"{rule} for {target} until {expires}",
                        body=reason, trailers={"Mops-Rule": rule, "Mops-Finding": wid})
        change.write(rel, _dump(rel, record, lambda b: records.load_finding(
            rel, b, record_id=wid, model=model.id)))
        commit = change.commit()
        return Done(commit, tuple(change.files), {"id": wid, "model": model.id,
                                                  "version": record["version"], "rule": rule,
                                                  "expires": expires.isoformat()})
