"""The template context of an audit report, built from a :class:`ReportInput` (pure).

No file, git or clock is touched here: the same input always gives the same
context, which is what makes the rendered bytes reproducible. Every list is
sorted; every status carries a word (``word``) beside its style class
(``cls``), because a report must not rely on colour alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from markupsafe import Markup

from mops import clock
from mops.inventory.records import RETIRED, Finding, Monitoring
from mops.inventory.store import Model, Version
from mops.policy.results import Result
from mops.report.charts import Point, fmt, line_chart, number
from mops.report.gather import ReportInput
from mops.report.markdown import render_markdown
from mops.report.monitoring import monitoring_detail

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
        if not value:  # as the card_fields rule reads it: an empty list documents nothing
            return {"kind": "text", "text": EMPTY_LIST}
        return {"kind": "list", "entries": [display(v) for v in value]}
    return {"kind": "text", "text": text(value)}


#: How an empty list reads: not a declaration of "none".
EMPTY_LIST = "not documented (an empty list)"


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
    if isinstance(value, (list, tuple)):  # never a Python repr in a report
        return ", ".join(text(v) for v in value) if value else EMPTY_LIST
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    return str(value)


def count(value: Any) -> str:
    """A count of rows or items with thousands separators (``1,200,000``)."""
    n = number(value)
    if n is not None and n == int(n):
        return f"{int(n):,}"
    return text(value)


# ----------------------------------------------------------------------------- the report


def build_context(data: ReportInput,
                  markdown: Callable[[str], Markup] = render_markdown) -> dict[str, Any]:
    """The whole template context: cover, summary, one section per model, trails.

    ``markdown`` renders a card's text (:class:`mops.report.markdown.KeptMarkdown`
    gives the same HTML, kept from an earlier report)."""
    today = data.evaluated_at.date()
    results: dict[str, list[Result]] = {}
    for r in sorted(data.results, key=lambda r: (r.model, r.version, r.pack, r.rule)):
        results.setdefault(f"{r.model}@{r.version}", []).append(r)
    touched: dict[str, dict[str, list[str]]] = {}  # commit -> model -> versions it changed
    paths: PathSets = {}  # one set per commit's paths, shared by the models it touched
    models = [model_section(data, m, results, today, touched, paths, markdown)
              for m in data.models]
    report = cover(data)
    return {
        "lang": "en",
        "report": report,
        "exceptions": exceptions(models, report["verify"]),
        "inventory_csv": inventory_csv(data, results),
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
        "verify": verify_summary(data.verification),
    }


def inventory_csv(data: ReportInput, results: Mapping[str, list[Result]]) -> str:
    """The inventory table ``mops list --format csv`` prints, at this commit, as a
    ``data:`` address (a link that downloads it, offline)."""
    from urllib.parse import quote

    from mops.report.table import csv_text, inventory_row

    rows = [inventory_row(m.id, v.version, v.stage, m.card.tier, m.card.owner,
                          results.get(v.ref, []), evaluated=bool(data.packs or data.results))
            for m in data.models for v in m.versions]
    return "data:text/csv;charset=utf-8," + quote(csv_text(rows), safe="")


#: What ``mops verify`` counted, in words, in this order.
CHECKED = (("commits", "commit(s) replayed"), ("promotions", "promotion(s) re-gated"),
           ("signoffs", "sign-off(s)"), ("evidence_files", "evidence file(s) hashed"))


def verify_scope(v: Mapping[str, Any] | None) -> str:
    """What ``mops verify`` checked, in words: the whole inventory, or some models and
    the rules (then the others were not checked, and the report says so)."""
    scope = v.get("scope") if v is not None else None
    if not isinstance(scope, list):
        return "the whole inventory"
    names = ", ".join(str(m) for m in scope)
    return (f"{names} and the rules (mops.yaml, packs, allowed signers, report templates) "
            f"only: the history of other models was not checked (`mops verify`, or "
            f"`mops audit --verify-all`, checks the whole inventory)")


def verify_summary(v: Mapping[str, Any] | None) -> dict[str, Any]:
    """``mops verify``'s verdict at the reported commit, for the cover and the exceptions."""
    scope = verify_scope(v)
    partial = v is not None and isinstance(v.get("scope"), list)
    if v is None:
        return {"status": status("not run", "muted", "this report was rendered without "
                                 "`mops verify`; run it on the commit"),
                "problems": [], "warnings": 0, "scope": scope, "partial": False}
    problems = [{"path": str(p.get("path", "")), "problem": str(p.get("problem", ""))}
                for p in v.get("problems") or [] if isinstance(p, Mapping)]
    warnings = len(v.get("warnings") or [])
    if v.get("ok") is None:
        state = status("could not run", "warn", str(v.get("error") or ""))
    else:
        checked: Mapping[str, Any] = _mapping_at(v, "checked")
        done = ", ".join(f"{count(checked[k])} {label}" for k, label in CHECKED if k in checked)
        if problems:
            state = status("FAILED", "bad", f"{len(problems):,} problem(s)"
                           + (f"; checked {done}" if done else ""))
        else:
            state = status("passed", "ok", f"no problems; checked {done}" if done else
                           "no problems")
    if warnings:
        state["detail"] += f"; {warnings:,} warning(s)"
    if partial:
        state["detail"] = f"for {', '.join(str(m) for m in v['scope'])} and the rules only: " \
                          + state["detail"]
    return {"status": state, "problems": problems, "warnings": warnings, "scope": scope,
            "partial": partial}


# ----------------------------------------------------------------------------- exceptions


def exceptions(models: list[dict[str, Any]], verify: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What an examiner asks for first, each item linking to its detail: verify's problems,
    failing versions, stale or unverified sign-offs, overdue reviews, open high or overdue
    findings, waivers in force (or expired), drift breaches. Every group is listed, empty
    ones too, so that "none" is a finding and not an omission."""
    def item(href: str, what: str, state: dict[str, str], detail: str = "") -> dict[str, Any]:
        return {"href": f"#{href}", "what": what, "status": state, "detail": detail}

    verified = [item("verify", p["path"], status("problem", "bad"), p["problem"])
                for p in verify["problems"]]
    if verify["status"]["cls"] in ("warn", "muted"):
        verified.append(item("verify", "mops verify", verify["status"],
                             verify["status"]["detail"]))
    failing, signoffs, breaches = [], [], []
    reviews, findings, waivers = [], [], []
    for m in models:
        if m["review"]["cls"] == "bad":
            reviews.append(item(m["review_anchor"], m["id"], m["review"]))
        for f in m["findings"]:
            if not f["is_open"]:
                continue
            what = f"{m['id']} {f['id']}" + (f" ({f['version']})" if f["version"] != "all versions"
                                              else "")
            if f["is_waiver"]:
                reason = next((x["value"] for x in f["extra"] if x["key"] == "reason"), f["title"])
                waivers.append(item(f["anchor"], what, f["state"],
                                    f"waives {f['rule']} until {f['expires']}: {reason}"))
            elif f["severity"] == "high" or f["state"]["cls"] == "bad":
                findings.append(item(f["anchor"], what, f["state"],
                                     f"{f['severity']} severity: {f['title']}"))
        for v in m["versions"]:
            ref = f"{m['id']} {v['version']} ({v['stage']})"
            if v["compliance"]["word"] == "NOT COMPLIANT":
                rules = ", ".join(r["rule"] for r in v["results"] if r["status"]["word"] == "FAIL")
                failing.append(item(f"{v['anchor']}-policy", ref, v["compliance"], rules))
            if v["stage"] == RETIRED:
                continue  # a retired version's sign-offs and drift no longer govern anything
            for so in v["signoffs"]:
                for state in (so["state"], so["signature"]):
                    if state["cls"] == "bad":
                        signoffs.append(item(so["anchor"], f"{ref}: {so['role']} sign-off by "
                                             f"{so['by']}", state, state["detail"]))
            d = v["drift"]
            if d is not None and d["latest"]["outcome"]["cls"] == "bad":
                c = d["latest"]
                breaches.append(item(f"{v['anchor']}-drift", f"{ref}, check of {c['at']}",
                                     c["outcome"], c["outcome"]["detail"]))
    groups = [
        ("verify", "mops verify at this commit" + (" (these models and the rules only)"
                                                    if verify.get("partial") else ""), verified,
         "none: the history, records and evidence files verify"),
        ("failing", "Versions not compliant at their stage", failing, "none"),
        ("signoffs", "Sign-offs stale or not verified", signoffs, "none"),
        ("reviews", "Reviews overdue", reviews, "none"),
        ("findings", "Open findings: high severity or overdue", findings, "none"),
        ("waivers", "Waivers open (in force or expired)", waivers, "none"),
        ("drift", "Drift breaches in the latest check", breaches, "none"),
    ]
    return [{"id": f"exceptions-{key}", "title": title, "entries": items, "none": none}
            for key, title, items, none in groups]


# ----------------------------------------------------------------------------- one model


def model_section(data: ReportInput, model: Model, results: dict[str, list[Result]],
                  today: dt.date,
                  touched: dict[str, dict[str, list[str]]] | None = None,
                  paths: PathSets | None = None,
                  markdown: Callable[[str], Markup] = render_markdown) -> dict[str, Any]:
    card = model.card
    trail = data.trail.get(model.id, [])
    signed = [a.get("path") for v in model.versions
              for a in data.approvals.get(v.ref, ("", []))[1]]
    added = first_commits(trail, signed, {} if paths is None else paths)
    versions = [version_section(data, model, v, results.get(v.ref, []), added, today)
                for v in reversed(model.versions)]  # newest first
    anchor = f"model-{model.id}"
    findings = [finding_row(f, today, anchor) for f in model.findings]
    latest = versions[0] if versions else None
    open_findings = [f for f in model.findings if f.kind == "finding" and f.is_open]
    section = {
        "id": model.id,
        "anchor": anchor,
        "name": card.name,
        "owner": card.owner or "—",
        "tier": text(card.tier),
        "stage": latest["stage"] if latest else "no versions",
        "card": {
            "path": card.path,
            "fields": card_fields(card.front),
            "body": card.body,
            "body_html": markdown(card.body),
        },
        "versions": versions,
        "findings": findings,
        "trail": [trail_row(e, data.commit_signatures, model.id, touched) for e in trail],
    }
    # One summary row per version that is not retired, so that a failing production
    # version can never hide behind a compliant newer one; a model with only retired
    # versions (or none) gets one row.
    live = [v for v in versions if v["stage"] != RETIRED] or versions[:1]
    review = review_due(card.front.get("review"), today, _review_results(data, model, results))
    section["review"] = review
    section["review_anchor"] = f"{anchor}-field-review" if "review" in card.front \
        else f"{anchor}-card"
    base = {
        "id": model.id, "anchor": section["anchor"], "name": card.name,
        "tier": section["tier"], "owner": section["owner"], "review": review,
    }
    # A finding counts on the version it names; one naming no version, on every version.
    section["summary"] = [
        {**base, **findings_count([f for f in open_findings if f.version in (None, v["version"])]),
         "version": v["version"], "version_anchor": v["anchor"], "stage": v["stage"],
         "compliance": v["compliance"], "readiness": v["readiness"]["status"]}
        for v in live
    ] or [{**base, **findings_count(open_findings), "version": "—", "version_anchor": anchor,
           "stage": "no versions", "compliance": status("no versions", "muted"),
           "readiness": status("—", "muted")}]
    return section


def findings_count(open_findings: list[Finding]) -> dict[str, Any]:
    high = sum(f.severity == "high" for f in open_findings)
    return {"open_findings": len(open_findings),
            "findings_text": "none" if not open_findings
            else f"{len(open_findings)} open" + (f" ({high} high)" if high else "")}


def card_fields(front: Mapping[str, Any]) -> list[dict[str, Any]]:
    known = dict(CARD_FIELDS)
    rows = [{"key": k, "label": label, "value": display(front[k])}
            for k, label in CARD_FIELDS if k in front]
    rows += [{"key": str(k), "label": str(k), "value": display(front[k])}
             for k in sorted(front, key=str) if k not in known]
    for row in rows:  # an id fragment per field, for links from the exceptions
        row["slug"] = re.sub(r"[^A-Za-z0-9_-]+", "-", str(row["key"])).strip("-") or "field"
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
                    added: Mapping[Any, str], today: dt.date) -> dict[str, Any]:
    record = version.record
    digest, approvals = data.approvals.get(version.ref, ("", []))
    art = record.artifact
    anchor = f"model-{model.id}-v-{version.version}"
    rows = [result_row(r) for r in sorted(results, key=result_order)]
    return {
        "version": version.version,
        "ref": version.ref,
        "anchor": anchor,
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
        "signoffs": [signoff_row(a, added.get(a.get("path"), ""), data.signoffs, data.settings.signing == "required",
                                 anchor) for a in approvals],
        # Failures first; rules that do not apply are folded away by the template.
        "results": rows,
        "results_applied": [r for r in rows if r["na"] is False],
        "results_na": [r for r in rows if r["na"] is True],
        "compliance": compliance(results, evaluated=bool(data.packs or data.results)),
        "readiness": readiness(version.stage, data.readiness.get(version.ref),
                               evaluated=bool(data.packs or data.results)),
        "drift": drift_section(version.monitoring, anchor),
        "monitoring_detail": monitoring_detail(version.monitoring, anchor),
    }


def result_order(r: Result) -> tuple[int, str, str]:
    return (r.status.order, r.pack, r.rule)


def readiness(stage: str, ready: tuple[str, list[Result]] | None, *,
              evaluated: bool) -> dict[str, Any]:
    """Whether the version would pass ``promote --to`` its next live stage today, and which
    rules would stop it (compliance is judged for the stage it is in, readiness for the next)."""
    if stage == RETIRED:
        return {"target": "", "status": status("retired", "muted"), "failing": []}
    if ready is None:
        why = "no policy packs in force" if not evaluated else "no later stage to promote to"
        return {"target": "", "status": status("—", "muted", why), "failing": []}
    target, results = ready
    failing = [result_row(r) for r in sorted(results, key=result_order) if r.status == "fail"]
    waived = sum(r.status == "waived" for r in results)
    if failing:
        state = status(f"not ready for {target}", "bad",
                       f"{len(failing)} rule(s) would fail: "
                       + ", ".join(r["rule"] for r in failing))
    elif waived:
        state = status(f"ready for {target}, with waivers", "warn", f"{waived} rule(s) waived")
    else:
        state = status(f"ready for {target}", "ok", "every rule for it passes or does not apply")
    return {"target": target, "status": state, "failing": failing}


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


#: id of a commit's ``paths`` list -> (that list, kept so the id stays its own; its set).
PathSets = dict[int, tuple[list[str], frozenset[str]]]


def first_commits(trail: list[dict[str, Any]], paths: Iterable[Any],
                  sets: PathSets) -> dict[Any, str]:
    """Each of ``paths`` -> the oldest commit of ``trail`` (newest first) that touched it:
    the commit that added a sign-off file. A commit's paths become a set once (``sets``),
    however many models' trails it is in (an import commit names every file)."""
    left, found = set(paths), {}
    for e in reversed(trail):
        if not left:
            break
        listed = e.get("paths", ())
        if id(listed) not in sets:
            sets[id(listed)] = (listed, frozenset(listed))
        hits = left & sets[id(listed)][1]
        for p in hits:
            found[p] = e["commit"]
        left -= hits
    return found


def signoff_row(a: Mapping[str, Any], commit: str,
                signoffs: Mapping[str, str | None], required: bool,
                version_anchor: str = "version") -> dict[str, Any]:
    """One sign-off; ``commit`` is the one that added its file ("" when not found)."""
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
    return {"id": a["id"], "anchor": f"{version_anchor}-signoff-{a['id']}",
            "role": a["role"], "decision": decision, "by": a["by"], "at": a["at"],
            "comment": a.get("comment") or "", "digest": a["digest"], "state": state,
            "expires": a.get("expires") or "—", "signature": signature,
            "commit": commit}


def result_row(r: Result) -> dict[str, Any]:
    word, cls = r.status.headline, r.status.tone
    pack = r.pack or "—"
    if r.pack and r.pack_version is not None:
        pack = f"{r.pack}@{r.pack_version}"
    return {"rule": r.rule, "title": r.title, "status": status(word, cls), "message": r.message,
            "na": r.status == "n/a",
            "cite": r.cite, "pack": pack, "file": r.file or "", "waiver": r.waiver or "",
            "basis": [b.to_json() for b in r.basis]}


def compliance(results: Iterable[Result], *, evaluated: bool) -> dict[str, str]:
    from mops.report.table import compliance_status

    return status(*compliance_status(results, evaluated=evaluated))


def finding_row(f: Finding, today: dt.date, model_anchor: str = "model") -> dict[str, Any]:
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
    return {"id": f.id, "anchor": f"{model_anchor}-finding-{f.id}", "is_waiver": f.kind == "exception",
            "is_open": f.is_open, "kind": "waiver (policy exception)" if f.kind == "exception" else "finding",
            "version": f.version or "all versions", "severity": f.severity or "—",
            "title": f.title or "—", "state": state, "opened_by": f.opened_by or "—",
            "opened_at": f.opened_at, "due": text(f.due), "expires": text(f.expires),
            "rule": f.rule or "—", "extra": extra}


def trail_row(e: Mapping[str, Any],
              signatures: Mapping[str, tuple[str, str]] | None = None, model: str = "",
              touched: dict[str, dict[str, list[str]]] | None = None) -> dict[str, Any]:
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
    version = e.get("version") or ""
    if not version and model:
        if touched is None:
            touched = {}
        if e["commit"] not in touched:
            touched[e["commit"]] = versions_touched(e.get("paths") or ())
        version = ", ".join(touched[e["commit"]].get(model, ()))
    when = clock.parse_timestamp(e["at"])  # git gives the committer's offset; the report speaks UTC
    return {"commit": e["commit"], "at": clock.format_timestamp(when) if when else e["at"],
            "actor": e["actor"], "action": action,
            "model": e.get("model") or "", "version": version,
            "subject": e.get("subject") or "", "signature": sig,
            "github_actor": e.get("github_actor") or ""}


def versions_touched(paths: Iterable[str]) -> dict[str, list[str]]:
    """model -> the versions whose folders a commit changed (a commit without a
    ``Mops-Version`` trailer, such as retiring a whole model, still names them)."""
    found: dict[str, set[str]] = {}
    for p in paths:
        parts = p.split("/", 4)
        if len(parts) > 4 and parts[0] == "models" and parts[2] == "versions":
            found.setdefault(parts[1], set()).add(parts[3])
    return {m: sorted(v) for m, v in found.items()}


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
            "rows_reference": count(rows.get("reference")), "rows_current": count(rows.get("current")),
            "columns": cols, "performance": perf, "breaches": breach_list}
