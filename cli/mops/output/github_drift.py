"""GitHub Actions output for ``mops drift --format github`` (``--all`` or one version).

The same three channels as ``mops check --format github`` (:mod:`mops.output.github`,
whose escaping and table helpers this uses): an ``::error`` on the model card per
version that drifted, failed or has unusable data, a ``::warning`` per version
without logs and per warning of a result; a job summary with one row per version;
the step outputs ``ok`` and ``drifted``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from mops.output.github import SUMMARY_BUDGET, _append, command, markdown_cell

if TYPE_CHECKING:  # pragma: no cover
    from mops.drift.run import AllOutcome, TargetOutcome

TITLE = "mops drift"
_ORDER = {"error": 0, "data_quality": 1, "drift": 2, "no_logs": 3, "ok": 4}
_LABEL = {"ok": "✅ ok", "drift": "❌ drift", "data_quality": "❗ data quality", "error": "❗ error",
          "no_logs": "⚠️ no logs"}
_DETAIL_CHARS = 500


def drift_verdict(doc: Mapping[str, Any]) -> tuple[str, str]:
    """A short verdict of one result, and its drifted columns, breaches or problems, for people."""
    drifted = [c["column"] for c in doc.get("columns", []) if c.get("drifted")]
    breaches = [b.get("message", "") for b in doc.get("breaches") or []]
    share = doc.get("drifted_share")
    share_text = f"{share:.0%} of columns drifted" if isinstance(share, int | float) else ""
    if doc.get("status") == "data_quality":
        return "data quality", "; ".join(p.get("message", "") for p in doc.get("problems") or [])
    if doc.get("dataset_drift"):
        head = f"dataset drift: {share_text}".rstrip(": ")
    elif breaches:
        head = "threshold breached"
    else:
        head = f"no drift ({share_text})" if share_text else "no drift"
    detail = ", ".join(drifted)
    if breaches:
        detail = "; ".join(filter(None, [detail, *breaches]))
    return head, detail


def _line(r: TargetOutcome) -> tuple[str, str]:
    """The verdict and detail of a version of ``--all``."""
    if r.outcome is not None:
        return drift_verdict(r.outcome.document)
    if r.status == "no_logs":
        return "no production logs", r.message
    return "drift check failed", r.message


def drift_annotations(everything: AllOutcome) -> list[str]:
    """Workflow commands, most important first (GitHub shows 10 per level and step)."""
    lines = []
    for r in sorted(everything.results, key=lambda r: _ORDER.get(r.status, 9)):
        path = f"{everything.prefix}/{r.target.card}" if everything.prefix else r.target.card
        ref = r.target.ref
        head, detail = _line(r)
        if r.status == "no_logs":
            lines.append(command("warning", f"{ref}: no production logs ({r.message}); drift not checked",
                                 file=path, title=TITLE))
        elif r.status == "error":
            lines.append(command("error", f"{ref}: drift check failed: {r.message}", file=path, title=TITLE))
        elif r.status == "data_quality":
            lines.append(command("error", f"{ref}: data quality: {detail}", file=path, title=TITLE))
        elif r.status == "drift":
            lines.append(command("error", f"{ref}: {head}" + (f" ({detail})" if detail else ""),
                                 file=path, title=TITLE))
        else:
            lines.append(f"{ref}: {head}")
        if r.outcome is not None:
            lines += [command("warning", f"{ref}: {w['message']}", file=path, title=TITLE)
                      for w in r.outcome.document.get("warnings") or []]
    return lines


def drift_summary(everything: AllOutcome, *, budget: int = SUMMARY_BUDGET) -> str:
    """The job summary: a headline and a row per version (model, version, logs, rows, result, detail)."""
    ok = everything.exit_code == 0
    lines = ["## " + ("✅ mops drift: no drift" if ok else "❌ mops drift: attention needed"), ""]
    if not everything.results:
        stage = markdown_cell(everything.stage or "any stage")
        return "\n".join([*lines, f"No model version in stage {stage} has a monitoring plan."]) + "\n"
    lines += ["| Model | Version | Logs | Rows | Result | Detail |", "| --- | --- | --- | --- | --- | --- |"]
    text = "\n".join(lines) + "\n"
    left = 0
    for n, r in enumerate(everything.results):
        head, detail = _line(r)
        detail = f"{head}: {detail}" if detail else head
        if len(detail) > _DETAIL_CHARS:
            detail = detail[:_DETAIL_CHARS] + "…"
        doc = r.outcome.document if r.outcome else None
        rows = f"{doc['rows']['current']:,}" if doc else ""
        row = (f"| {markdown_cell(r.target.model)} | {markdown_cell(r.target.version)} | {len(r.target.files)} "
               f"| {rows} | {_LABEL.get(r.status, r.status)} | {markdown_cell(detail)} |\n")
        if len(text.encode()) + len(row.encode()) + 400 > budget:
            left = len(everything.results) - n
            break
        text += row
    if left:
        text += (f"\n_{left} more model versions did not fit in GitHub's size limit; "
                 f"`mops drift --all --format json` lists them all._\n")
    return text


def emit_drift(everything: AllOutcome, *, tally: str, env: Mapping[str, str] | None = None) -> bool:
    """Print the annotations and the tally; append the job summary and the outputs; return ok."""
    env = os.environ if env is None else env
    for line in drift_annotations(everything):
        typer.echo(line)
    typer.echo(tally)
    ok = everything.exit_code == 0
    drifted = " ".join(r.target.ref for r in everything.results if r.status == "drift")
    if env.get("GITHUB_STEP_SUMMARY"):
        _append(env["GITHUB_STEP_SUMMARY"], drift_summary(everything) + "\n")
    if env.get("GITHUB_OUTPUT"):
        _append(env["GITHUB_OUTPUT"], f"ok={'true' if ok else 'false'}\ndrifted={drifted}\n")
    return ok
