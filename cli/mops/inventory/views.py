"""Plain data views of the inventory for `list`, `show` and `log` (no printing here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mops import git
from mops.inventory import layout, walks
from mops.inventory.digest import DigestCache, combine, subject_parts, what_changed
from mops.inventory.layout import INVENTORY_PATHS, MODELS_DIR
from mops.inventory.names import ModelRef, validate_model
from mops.inventory.records import Monitoring
from mops.inventory.store import CommitSource, Inventory, Model, Version


def list_rows(inv: Inventory, stage: str | None = None) -> list[dict[str, Any]]:
    """One row per model version: model, version, stage, tier, owner (compliance added later)."""
    check_stage(inv, stage)
    return [row for model in inv.models() for row in model_rows(model)
            if stage is None or row["stage"] == stage]


def check_stage(inv: Inventory, stage: str | None) -> None:
    """Refuse a ``--stage`` this inventory does not have."""
    if stage is not None and stage not in inv.settings.stages:
        from mops.errors import UsageError

        raise UsageError(f"--stage {stage!r}: stages of this inventory are "
                         f"{', '.join(inv.settings.stages)}")


def model_rows(model: Model) -> list[dict[str, Any]]:
    """``list``'s rows of one model, one per version (compliance added later)."""
    return [{"model": model.id, "version": v.version, "stage": v.stage, "tier": model.card.tier,
             "owner": model.card.owner, "compliant": None,
             "registered_at": v.record.registered_at} for v in model.versions]


def approval_view(inv: Inventory, version: Version, cache: DigestCache) -> tuple[str, list[dict]]:
    """The version's current subject digest and its sign-offs with stale/valid state."""
    parts = subject_parts(inv, version, cache)
    digest = combine(parts)
    out = []
    for a in version.approvals:
        stale = a.digest != digest
        out.append({
            "id": a.id, "role": a.role, "decision": a.decision, "by": a.by, "at": a.at,
            "digest": a.digest, "stale": stale,
            "changed": what_changed(a.parts, parts) if stale else [],
            "comment": a.comment,
            "expires": a.expires.isoformat() if a.expires else None,
            "path": a.path,
        })
    return digest, out


def show_data(inv: Inventory, ref: ModelRef) -> dict[str, Any]:
    model, version = inv.resolve(ref)
    cache = DigestCache(inv)
    digest, approvals = approval_view(inv, version, cache)
    cache.save()
    record = version.record
    return {
        "model": model.id,
        "version": version.version,
        "stage": version.stage,
        "versions": [v.version for v in model.versions],
        "card": model.card.front,
        "card_path": model.card.path,
        "artifact": record.artifact.to_dict() if record.artifact else None,
        "metrics": record.metrics,
        "registered_by": record.registered_by,
        "registered_at": record.registered_at,
        "stage_history": [e.raw for e in record.stage_history],
        "evidence": [
            {"id": e.id, "kind": e.kind, "title": e.title, "added_by": e.added_by,
             "added_at": e.added_at, "metrics": e.metrics,
             "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in e.files]}
            for e in version.evidence
        ],
        "approvals": approvals,
        "findings": [finding_view(f) for f in model.findings
                     if f.version in (None, version.version)],
        "monitoring": [monitoring_view(m) for m in version.monitoring],
        "digest": digest,
    }


def monitoring_view(m: Monitoring) -> dict[str, Any]:
    """A recorded monitoring result, as ``show`` gives it: when, by whom, which window, the
    verdict (``breach``: dataset drift or a threshold breached) and the breaches."""
    verdict = m.data.get("verdict") or {}
    return {"id": m.id, "at": m.at, "kind": m.kind, "breach": m.breach, "by": m.data.get("by"),
            "window": m.data.get("window"), "dataset_drift": bool(verdict.get("dataset_drift")),
            "drifted_share": verdict.get("drifted_share"),
            "breaches": list(verdict.get("breaches") or []), "path": m.path}


def finding_view(f) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind, "version": f.version, "severity": f.severity,
            "title": f.title, "status": f.status, "rule": f.rule,
            "due": f.due.isoformat() if f.due else None,
            "expires": f.expires.isoformat() if f.expires else None,
            "opened_by": f.opened_by, "opened_at": f.opened_at}


def _inventory_paths(inv: Inventory) -> list[str]:
    return [inv.git_path(p) for p in INVENTORY_PATHS]


def log_entries(inv: Inventory, model: str | None = None) -> list[dict[str, Any]]:
    """The audit trail from git: every commit touching the inventory (or one model).

    Commits made by mops carry ``Mops-*`` trailers; others (hand edits) are listed
    too, with action ``edit``, because an auditor needs to see them.
    """
    if model is not None:
        validate_model(model)
        if not inv.has_model(model):
            inv.model(model)  # raises the "unknown model" error
        paths = [inv.git_path(layout.model_dir(model))]
    else:
        paths = _inventory_paths(inv)
    if inv.head is None:
        return []
    if model is None:
        return [_entry(rec) for rec in git.log_records(inv.top, paths, rev=inv.head)]
    index_history(inv)
    # shared: in a history without merges, the model's commits come from the index of each
    # model's commits (mops.git.touches), not a walk of all of history; with merges, git's
    # own simplified walk of the folder decides, kept (mops.inventory.walks).
    return [_entry(rec) for rec in git.log_records(inv.top, paths, rev=inv.head,
                                                   store=walks.store(inv.top), shared=True)]


def index_history(inv: Inventory) -> None:
    """Keep git's commit-graph (with changed-path filters) covering HEAD, so that reading
    one model's history costs what that history costs (:func:`mops.git.index_history`)."""
    if inv.head is not None:
        gitdir = git.git_dir(inv.top)
        git.index_history(inv.top, gitdir, inv.head, gitdir / layout.CACHE_DIR / layout.GRAPH_STATE)


def commit_info(inv: Inventory) -> dict[str, str]:
    """The commit an inventory snapshot was read from, with its committer time (UTC)."""
    commit = inv.head
    if commit is None:
        from mops.errors import UsageError

        raise UsageError("the inventory has no commits yet: commit mops.yaml first")
    return {"commit": commit, "at": git.commit_time(inv.top, commit)}


def _entry(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "commit": rec["commit"], "at": rec["at"],
        "actor": rec.get("Mops-Actor") or rec["email"],
        "action": rec.get("Mops-Action", "edit"),
        "model": rec.get("Mops-Model"), "version": rec.get("Mops-Version"),
        "by_mops": "Mops-Action" in rec, "author": rec["name"], "subject": rec["subject"],
        "signature": rec["signature"], "github_actor": rec.get("Mops-GitHub-Actor"),
    }


def trail_by_model(inv: Inventory, models: Sequence[str] | None = None,
                   ) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The audit trail in one pass over history: per model, and the commits touching no model.

    A commit is attributed to every model whose folder it touched (hand edits too, since
    they carry no trailers). Each entry is a :func:`log_entries` entry plus ``paths``
    (relative to the inventory), newest first. With ``models``, only their folders' history
    is read (and the rules' for the commits touching no model), never the whole log.
    """
    if inv.head is None:
        return {}, []
    cut = len(inv.prefix) + 1 if inv.prefix else 0
    by_model: dict[str, list[dict[str, Any]]] = {}
    other: list[dict[str, Any]] = []
    if models is None:
        logs = [git.log_records(inv.top, _inventory_paths(inv), rev=inv.head, with_paths=True)]
    else:
        rules = [inv.git_path(p) for p in INVENTORY_PATHS if p != MODELS_DIR]
        kept = walks.store(inv.top)  # each walk kept under HEAD (mops.inventory.walks)
        # The walks of these folders and of the rules are the cover's verify replay's.
        logs = [git.log_records(inv.top, [inv.git_path(layout.model_dir(m))], rev=inv.head,
                                with_paths=True, store=kept, shared=True) for m in models]
        # Of the commits that changed the rules, those that touched no model's folder.
        changed = git.log_records(inv.top, rules, rev=inv.head, with_paths=True, store=kept,
                                  shared=True)
        touched = git.touched_paths(inv.top, [rec["commit"] for rec in changed],
                                    [inv.git_path(MODELS_DIR)])
        logs.append([rec for rec in changed
                     if not any(p[cut:].count("/") >= 2 for p in touched.get(rec["commit"], ()))])
    for log in logs:
        for rec in log:
            rel = [p[cut:] for p in rec["paths"]]
            entry = _entry(rec) | {"paths": rel}
            named = sorted({p.split("/")[1] for p in rel
                            if p.startswith(MODELS_DIR + "/") and p.count("/") >= 2})
            for m in named:
                by_model.setdefault(m, []).append(entry)
            if not named:
                other.append(entry)
    return by_model, other


def uncommitted_paths(inv: Inventory) -> list[str]:
    """Inventory files with uncommitted changes (a report of HEAD does not show them)."""
    paths = _inventory_paths(inv)
    return git.dirty_paths(inv.top, paths)


RECORD_SUFFIXES = (".yaml", ".yml", ".md", ".json")


def prefetch_records(inv: Inventory, models: list[str] | None = None) -> None:
    """For an inventory read from a commit: fetch its records (or those of ``models``)
    from git in one round trip, before they are parsed one by one."""
    if not isinstance(inv.source, CommitSource):
        return
    reader = inv.source.reader
    folders = [layout.model_dir(m) for m in models] if models else [MODELS_DIR]
    reader.prefetch(p for p in reader.under(folders) if p.endswith(RECORD_SUFFIXES))
