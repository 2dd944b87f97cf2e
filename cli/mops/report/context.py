"""The template context of an audit report, built from a :class:`ReportInput` (pure).

No file, git or clock is touched here: the same input always gives the same
context, which is what makes the rendered bytes reproducible. Every list is
sorted; every status carries a word (``word``) beside its style class
(``cls``), because a report must not rely on colour alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mops import clock
from mops.inventory.records import RETIRED, Finding, Monitoring
from mops.inventory.store import Model, Version
from mops.policy.results import Result
from mops.report.charts import Point, fmt, line_chart, number
from mops.report.gather import ReportInput
from mops.report.markdown import render_markdown

#: 64 zeros stand in for the report digest while the digest is computed (see render.py).
DIGEST_PLACEHOLDER = "0" * 64

#: Card fields shown first, in this order; any other front-matter key follows, sorted.
CARD_FIELDS = (
    ("id", "Model id"), ("name", "Name"), ("owner", "Owner"), ("developers", "Developers"),
    ("tier", "Tier (1 = most material)"), ("intended_use", "Intended use"),
    ("out_of_scope", "Out of scope"), ("limitations", "Limitations"), ("inputs", "Inputs"),
    ("outputs", "Outputs"), ("data_sources", "Data sources"), ("dependencies", "Dependencies"),
    ("vendor", "Vendor model"), ("review", "Review"), ("monitoring", "Monitoring plan"),
)

#: git's ``%G?`` codes in words.
SIGNATURES = {
    "G": ("signed, verified", "ok"),
    "U": ("signed, good signature (signer's validity unknown)", "ok"),
    "X": ("signed, signature expired", "warn"),
    "Y": ("signed, key expired", "warn"),
    "R": ("signed, key revoked", "bad"),
    "E": ("signed, not verifiable here (key unknown)", "warn"),
    "B": ("BAD signature", "bad"),
    "N": ("not signed", "muted"),
    "": ("not signed", "muted"),
}


def status(word: str, cls: str, detail: str = "") -> dict[str, str]:
    return {"word": word, "cls": cls, "detail": detail}


def display(value: Any) -> dict[str, Any]:
    """A YAML/JSON value as a small tree the templates can print: text, list or mapping."""
    if isinstance(value, Mapping):
        return {"kind": "map", "entries": [{"key": str(k), "value": display(v)}
                                         for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]}
    if isinstance(value, (list, tuple)):
        if not value:
            return {"kind": "text", "text": "none"}
        return {"kind": "list", "entries": [display(v) for v in value]}
    return {"kind": "text", "text": text(value)}


def text(value: Any) -> str:
    """One value as text: yes/no for booleans, ISO dates, compact floats, em dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt(value) if abs(value) < 1e6 else f"{value:.6g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# ----------------------------------------------------------------------------- the report


def build_context(data: ReportInput) -> dict[str, Any]:
    """The whole template context: cover, summary, one section per model, trails."""
    today = data.evaluated_at.date()
    results: dict[str, list[Result]] = {}
    for r in sorted(data.results, key=lambda r: (r.model, r.version, r.pack, r.rule)):
        results.setdefault(f"{r.model}@{r.version}", []).append(r)
    models = [model_section(data, m, results, today) for m in data.models]
    return {
        "lang": "en",
        "report": cover(data),
        "summary": [row for m in models for row in m["summary"]],
        "models": models,
        "inventory_trail": [trail_row(e, data.commit_signatures) for e in data.inventory_trail],
    }


def cover(data: ReportInput) -> dict[str, Any]:
    s = data.settings
    if data.as_of.kind == "date":
        as_of = (f"{data.as_of.requested} (end of day, UTC): the last commit at or before it, "
                 f"committed {data.committed_at}")
    elif data.as_of.kind == "rev":
        as_of = f"revision {data.as_of.requested}, committed {data.committed_at}"
    else:
        as_of = f"the latest commit (HEAD), committed {data.committed_at}"
    return {
        "title": f"Model audit report: {s.inventory}",
        "inventory": s.inventory,
        "commit": data.commit,
        "committed_at": data.committed_at,
        "evaluated_at": clock.format_timestamp(data.evaluated_at),
        "evaluated_note": "the end of the day asked for" if data.as_of.kind == "date"
                          else "the commit's time",
        "as_of": as_of,
        "as_of_kind": data.as_of.kind,
        "as_of_requested": data.as_of.requested or "",
        "date": data.evaluated_at.date().isoformat(),
        "mops_version": data.mops_version,
        "packs": [{"name": str(p["name"]), "title": str(p.get("title") or ""),
                   "rules": p.get("rules", ""), "version": p.get("version", ""),
                   "note": str(p.get("note") or "")} for p in data.packs],
        "configured_packs": list(s.policies),
        "policy_note": data.policy_note or "",
        "scope": "every model in the inventory" if data.scope is None
                 else "selected models: " + ", ".join(data.scope),
        "model_count": len(data.models),
        "stages": list(s.stages),
        "roles": [{"role": r, "people": list(p)} for r, p in sorted(s.roles.items())],
        "signing": s.signing,
        "digest": DIGEST_PLACEHOLDER,
    }


# ----------------------------------------------------------------------------- one model


def model_section(data: ReportInput, model: Model, results: dict[str, list[Result]],
                  today: dt.date) -> dict[str, Any]:
    card = model.card
    trail = data.trail.get(model.id, [])
    versions = [version_section(data, model, v, results.get(v.ref, []), trail, today)
                for v in reversed(model.versions)]  # newest first
    findings = [finding_row(f, today) for f in model.findings]
    latest = versions[0] if versions else None
    open_findings = [f for f in model.findings if f.kind == "finding" and f.is_open]
    high = sum(f.severity == "high" for f in open_findings)
    section = {
        "id": model.id,
        "anchor": f"model-{model.id}",
        "name": card.name,
        "owner": card.owner or "—",
        "tier": text(card.tier),
        "stage": latest["stage"] if latest else "no versions",
        "card": {
            "path": card.path,
            "fields": card_fields(card.front),
            "body": card.body,
            "body_html": render_markdown(card.body),
        },
        "versions": versions,
        "findings": findings,
        "trail": [trail_row(e, data.commit_signatures) for e in trail],
    }
    # One summary row per version that is not retired, so that a failing production
    # version can never hide behind a compliant newer one; a model with only retired
    # versions (or none) gets one row.
    live = [v for v in versions if v["stage"] != RETIRED] or versions[:1]
    base = {
        "id": model.id, "anchor": section["anchor"], "name": card.name,
        "tier": section["tier"], "owner": section["owner"],
        "open_findings": len(open_findings),
        "findings_text": "none" if not open_findings
                         else f"{len(open_findings)} open" + (f" ({high} high)" if high else ""),
        "review": review_due(card.front.get("review"), today,
                             _review_results(data, model, results)),
    }
    section["summary"] = [
        {**base, "version": v["version"], "stage": v["stage"], "compliance": v["compliance"]}
        for v in live
    ] or [{**base, "version": "—", "stage": "no versions",
           "compliance": status("no versions", "muted")}]
    return section


def card_fields(front: Mapping[str, Any]) -> list[dict[str, Any]]:
    known = dict(CARD_FIELDS)
    rows = [{"key": k, "label": label, "value": display(front[k])}
            for k, label in CARD_FIELDS if k in front]
    rows += [{"key": str(k), "label": str(k), "value": display(front[k])}
             for k in sorted(front, key=str) if k not in known]
    return rows


DUE_RE = re.compile(r"due by (\d{4}-\d{2}-\d{2})")


def _review_results(data: ReportInput, model: Model,
                    results: dict[str, list[Result]]) -> list[Result]:
    # Every version's: the review a production version needs is due even when a newer
    # version in validation has none yet.
    return [r for v in model.versions for r in results.get(v.ref, [])
            if r.rule in data.review_rules]


def review_due(review: Any, today: dt.date, results: Iterable[Result] = ()) -> dict[str, str]:
    """When the next review is due, with overdue in words.

    The card's ``review.next`` when it sets one; else the earliest date the policy's
    ``review_within`` rules give for any version ("... due by YYYY-MM-DD").
    """
    review = review if isinstance(review, Mapping) else {}
    nxt, last = clock.as_date(review.get("next")), clock.as_date(review.get("last"))
    if nxt is None:
        dues = [clock.as_date(m.group(1)) for r in results if r.status != "n/a"
                for m in [DUE_RE.search(r.message)] if m]
        nxt = min((d for d in dues if d is not None), default=None)
    if nxt is None:
        return status("not scheduled", "muted", f"last {last.isoformat()}" if last else "")
    if nxt < today:
        return status(f"{nxt.isoformat()} (overdue)", "bad")
    return status(nxt.isoformat(), "ok")


def version_section(data: ReportInput, model: Model, version: Version, results: list[Result],
                    trail: list[dict[str, Any]], today: dt.date) -> dict[str, Any]:
    record = version.record
    digest, approvals = data.approvals.get(version.ref, ("", []))
    art = record.artifact
    return {
        "version": version.version,
        "ref": version.ref,
        "anchor": f"model-{model.id}-v-{version.version}",
        "stage": version.stage,
        "registered_by": record.registered_by,
        "registered_at": record.registered_at,
        "artifact": None if art is None else {
            "location": art.path or art.uri or "—", "sha256": art.sha256,
            "size": "—" if art.size is None else f"{art.size:,} bytes"},
        "data": display(record.data) if record.data else None,
        "metrics": [{"name": str(k), "value": text(v)}
                    for k, v in sorted(record.metrics.items(), key=lambda kv: str(kv[0]))],
        "stage_history": [stage_event(e.raw) for e in record.stage_history],
        "digest": digest,
        "evidence": [evidence_row(data, version, e) for e in version.evidence],
        "signoffs": [signoff_row(a, trail, data.signoffs, data.settings.signing == "required")
                     for a in approvals],
        "results": [result_row(r) for r in results],
        "compliance": compliance(results, evaluated=bool(data.packs or data.results)),
        "drift": drift_section(version.monitoring, f"model-{model.id}-v-{version.version}"),
    }


def stage_event(event: Any) -> str:
    if isinstance(event, Mapping):
        parts = [text(event.get(k)) for k in ("stage", "at", "by") if event.get(k)]
        extra = [f"{k}: {text(v)}" for k, v in sorted(event.items(), key=lambda kv: str(kv[0]))
                 if k not in ("stage", "at", "by")]
        return " · ".join(parts + extra)
    return text(event)


def evidence_row(data: ReportInput, version: Version, ev) -> dict[str, Any]:
    files = []
    for f in ev.files:
        actual = data.file_digests.get(f"{version.dir}/{f.path}")
        if actual is None:
            check = status("not checked", "muted")
        elif actual == "missing":
            check = status("MISSING from the inventory", "bad")
        elif actual == f.sha256:
            check = status("verified", "ok", "the file's sha256 matches the record")
        else:
            check = status("MISMATCH", "bad", f"the file's sha256 is now {actual}")
        files.append({"path": f.path, "sha256": f.sha256,
                      "size": "—" if f.size is None else f"{f.size:,} bytes", "check": check})
    return {"id": ev.id, "kind": ev.kind, "title": ev.title or "—", "added_by": ev.added_by,
            "added_at": ev.added_at, "files": files,
            "metrics": [{"name": str(k), "value": text(v)}
                        for k, v in sorted(ev.metrics.items(), key=lambda kv: str(kv[0]))]}


def signoff_row(a: Mapping[str, Any], trail: list[dict[str, Any]],
                signoffs: Mapping[str, str | None], required: bool) -> dict[str, Any]:
    # The commit that added the sign-off file is the oldest one touching it.
    commit = next((e for e in reversed(trail) if a.get("path") in e.get("paths", ())), None)
    if a["stale"]:
        state = status("STALE", "bad", "changed since: " + ", ".join(a.get("changed") or []))
    else:
        state = status("valid", "ok", "binds to the current content")
    decision = status("approved", "ok") if a["decision"] == "approve" else status("REJECTED", "bad")
    if a.get("path") not in signoffs:
        signature = status("not checked", "muted")
    else:
        problem = signoffs[a["path"]]
        if problem is None:
            signature = status("signed, verified", "ok",
                               f"by {a['by']}'s key in .mops/allowed_signers")
        elif problem == "is not signed":
            signature = status("not signed", "bad" if required else "muted",
                               "signing is required" if required else "")
        else:
            signature = status("NOT VERIFIED", "bad", f"the sign-off {problem}")
    return {"id": a["id"], "role": a["role"], "decision": decision, "by": a["by"], "at": a["at"],
            "comment": a.get("comment") or "", "digest": a["digest"], "state": state,
            "expires": a.get("expires") or "—", "signature": signature,
            "commit": commit["commit"] if commit else ""}


def result_row(r: Result) -> dict[str, Any]:
    word, cls = r.status.headline, r.status.tone
    pack = r.pack or "—"
    if r.pack and r.pack_version is not None:
        pack = f"{r.pack}@{r.pack_version}"
    return {"rule": r.rule, "title": r.title, "status": status(word, cls), "message": r.message,
            "cite": r.cite, "pack": pack, "file": r.file or "", "waiver": r.waiver or "",
            "basis": [b.to_json() for b in r.basis]}


def compliance(results: Iterable[Result], *, evaluated: bool) -> dict[str, str]:
    results = list(results)
    if not evaluated:
        return status("not evaluated", "muted", "no policy packs in force")
    fails = sum(r.status == "fail" for r in results)
    waived = sum(r.status == "waived" for r in results)
    passed = sum(r.status == "pass" for r in results)
    if fails:
        return status("NOT COMPLIANT", "bad", f"{fails} rule(s) fail"
                      + (f", {waived} waived" if waived else ""))
    if waived:
        return status("compliant with waivers", "warn", f"{waived} rule(s) waived, {passed} pass")
    if passed:
        return status("compliant", "ok", f"{passed} rule(s) pass")
    return status("no rules apply", "muted")


def finding_row(f: Finding, today: dt.date) -> dict[str, Any]:
    raw = f.raw
    if f.kind == "exception":
        if not f.is_open:
            state = status("withdrawn", "muted")
        elif f.expires is not None and f.expires < today:
            state = status("EXPIRED", "bad", f"expired {f.expires.isoformat()}")
        else:
            state = status("in force", "warn", f"until {f.expires.isoformat()}" if f.expires else "")
    elif not f.is_open:
        state = status("closed", "ok")
    elif f.due is not None and f.due < today:
        state = status("OPEN, overdue", "bad", f"was due {f.due.isoformat()}")
    else:
        state = status("open", "warn" if f.severity != "high" else "bad")
    extra = [{"key": k.replace("_", " "), "value": text(raw[k])}
             for k in sorted(raw) if k in ("reason", "controls", "approved_by", "approver",
                                           "closed_by", "closed_at", "comment", "description")
             and raw[k] not in (None, "")]
    return {"id": f.id, "kind": "waiver (policy exception)" if f.kind == "exception" else "finding",
            "version": f.version or "all versions", "severity": f.severity or "—",
            "title": f.title or "—", "state": state, "opened_by": f.opened_by or "—",
            "opened_at": f.opened_at, "due": text(f.due), "expires": text(f.expires),
            "rule": f.rule or "—", "extra": extra}


def trail_row(e: Mapping[str, Any],
              signatures: Mapping[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    verified = (signatures or {}).get(e["commit"])
    if verified is not None:
        state, detail = verified
        if state == "verified":
            sig = status("signed, verified", "ok", f"key of {detail}")
        elif state == "unsigned":
            sig = status("not signed", "muted")
        else:
            sig = status("NOT VERIFIED", "bad", f"the commit {detail}")
    else:  # git's own verdict, without the inventory's allowed signers
        sig = status(*SIGNATURES.get(e.get("signature") or "", ("unknown", "muted")))
    action = e["action"] if e.get("by_mops") else "edit (not by mops)"
    when = clock.parse_timestamp(e["at"])  # git gives the committer's offset; the report speaks UTC
    return {"commit": e["commit"], "at": clock.format_timestamp(when) if when else e["at"],
            "actor": e["actor"], "action": action,
            "model": e.get("model") or "", "version": e.get("version") or "",
            "subject": e.get("subject") or "", "signature": sig,
            "github_actor": e.get("github_actor") or ""}


# ----------------------------------------------------------------------------- drift


def _result(m: Monitoring) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """A record's drift result and verdict, whether nested (``result``/``verdict``, as
    ``mops drift --record`` writes) or flat (the ``drift --json`` document)."""
    d = m.data
    result = d.get("result")
    body: Mapping[str, Any] = result if isinstance(result, Mapping) else d
    verdict = d.get("verdict")
    if not isinstance(verdict, Mapping):
        verdict = body.get("verdict")
    return body, verdict if isinstance(verdict, Mapping) else {}


def _mapping_at(d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``d[key]`` when it is a mapping, else an empty one."""
    value = d.get(key)
    return value if isinstance(value, Mapping) else {}


def _psi_limit(m: Monitoring) -> float | None:
    plan = m.data.get("plan")
    thresholds = plan.get("thresholds") if isinstance(plan, Mapping) else None
    return number(thresholds.get("psi")) if isinstance(thresholds, Mapping) else None


def drift_section(records: list[Monitoring], anchor: str = "drift") -> dict[str, Any] | None:
    """Charts over every recorded check of a version, and the latest check as a table.

    Records are read defensively: a missing or non-numeric value leaves a gap in a
    chart rather than failing the report.
    """
    checks = []
    for m in records:
        at = clock.parse_timestamp(m.at)
        if at is not None:
            checks.append((at, m))
    if not checks:
        return None
    checks.sort(key=lambda c: (c[0], c[1].id))
    share, share_limit, psi, psi_limit = [], [], [], []
    columns: dict[str, dict[str, list[Point]]] = {}
    methods: dict[str, str] = {}
    for at, m in checks:
        body, verdict = _result(m)
        drift = bool(verdict.get("dataset_drift", body.get("dataset_drift")))
        value = number(body.get("drifted_share"))
        if value is not None:
            share.append(Point(at, value, drift, "dataset drift" if drift else ""))
        limit = number(body.get("drift_share_threshold"))
        if limit is not None:
            share_limit.append(Point(at, limit))
        worst: tuple[float, str] | None = None
        for col in body.get("columns") or []:
            if not isinstance(col, Mapping) or not isinstance(col.get("column"), str):
                continue
            name = col["column"]
            series = columns.setdefault(name, {"stat": [], "limit": []})
            stat = number(col.get("statistic"))
            if stat is not None:
                series["stat"].append(Point(at, stat, col.get("drifted") is True,
                                            "drifted" if col.get("drifted") is True else ""))
            limit = number(col.get("threshold"))
            if limit is not None:
                series["limit"].append(Point(at, limit))
            if col.get("method"):
                methods[name] = str(col["method"])
            value = number(col.get("psi"))
            if value is not None and (worst is None or value > worst[0]):
                worst = (value, name)
        limit = _psi_limit(m)
        if worst is not None:
            psi.append(Point(at, worst[0], limit is not None and worst[0] >= limit,
                             f"column {worst[1]}"))
        if limit is not None:
            psi_limit.append(Point(at, limit))
    charts: list[dict[str, Any]] = []

    def chart(points: list[Point], limits: list[Point], title: str, y_label: str) -> None:
        charts.append(line_chart(points, limits, title=title, y_label=y_label,
                                 chart_id=f"{anchor}-chart-{len(charts) + 1}"))

    if share:
        chart(share, share_limit, "Share of drifted columns", "share")
    if psi:
        chart(psi, psi_limit, "Largest PSI of any column", "PSI")
    for name in sorted(columns):
        series = columns[name]
        if series["stat"]:
            method = methods.get(name, "statistic")
            chart(series["stat"], series["limit"], f"Column {name}: {method}", method)
    _, last = checks[-1]
    return {"count": len(checks), "first": checks[0][1].at, "last_at": last.at,
            "charts": charts, "latest": latest_check(last)}


def latest_check(m: Monitoring) -> dict[str, Any]:
    body, verdict = _result(m)
    breaches = verdict.get("breaches") if "breaches" in verdict else body.get("breaches")
    rows = _mapping_at(body, "rows")
    cols = []
    for col in body.get("columns") or []:
        if not isinstance(col, Mapping):
            continue
        drifted = col.get("drifted")
        cols.append({
            "column": text(col.get("column")), "kind": text(col.get("kind")),
            "method": text(col.get("method")), "statistic": text(number(col.get("statistic"))),
            "threshold": text(number(col.get("threshold"))), "psi": text(number(col.get("psi"))),
            "drifted": status("DRIFTED", "bad") if drifted is True
            else status("no drift", "ok") if drifted is False else status("unknown", "muted"),
        })
    perf = []
    performance = body.get("performance")
    if isinstance(performance, Mapping):
        ref, cur, change = (_mapping_at(performance, k) for k in ("reference", "current", "change"))
        for name in sorted(set(ref) | set(cur), key=str):
            perf.append({"metric": str(name), "reference": text(ref.get(name)),
                         "current": text(cur.get(name)), "change": text(change.get(name))})
    dataset = verdict.get("dataset_drift", body.get("dataset_drift"))
    breach_list = [str(b.get("message") or text(b)) if isinstance(b, Mapping) else text(b)
                   for b in (breaches if isinstance(breaches, list) else [])]
    if breach_list or dataset:
        outcome = status("BREACH" if breach_list else "DATASET DRIFT", "bad",
                         "; ".join(breach_list))
    else:
        outcome = status("within thresholds", "ok")
    return {"id": m.id, "at": m.at, "kind": m.kind, "outcome": outcome,
            "dataset_drift": text(dataset), "drifted_share": text(number(body.get("drifted_share"))),
            "rows_reference": text(rows.get("reference")), "rows_current": text(rows.get("current")),
            "columns": cols, "performance": perf, "breaches": breach_list}
