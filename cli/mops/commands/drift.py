"""``mops drift``: compare production prediction logs with the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def drift(
    ref: Annotated[str, typer.Argument(metavar="MODEL[@V]",
                                       help="Model, or model@version (default: latest).")],
    current: Annotated[list[Path], typer.Option(
        "--current", metavar="PATH",
        help="A current prediction log (CSV, CSV.gz, Parquet, JSON Lines); repeat for a window "
             "of several files.")],
    reference: Annotated[Path | None, typer.Option(
        "--reference", metavar="PATH",
        help="The reference data (default: the card's monitoring.reference).")] = None,
    record: Annotated[bool, typer.Option(
        "--record", help="Record the result in the version's monitoring folder (one commit).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=1, max=64, help="Profile files in this many processes.")] = 1,
    features: Annotated[str | None, typer.Option(
        "--features", metavar="A,B,...", help="Feature columns (overrides the card's plan).")] = None,
    prediction: Annotated[str | None, typer.Option(
        "--prediction", metavar="COLUMN", help="Prediction column (overrides the plan).")] = None,
    label: Annotated[str | None, typer.Option(
        "--label", metavar="COLUMN", help="Label column, enables performance (overrides the plan).")] = None,
    window: Annotated[str | None, typer.Option(
        "--window", metavar="LABEL", help="A name for the window in the record, e.g. 2026-10.")] = None,
) -> None:
    """Check current prediction logs for drift against the reference.

    Exit 0: no drift; 1: dataset drift or a threshold of the plan breached; 2: bad input.
    """
    from mops.commands import cwd, notify
    from mops.drift_check import run_drift
    from mops.errors import EXIT_POLICY
    from mops.inventory.names import parse_ref
    from mops.output import echo, emit_json, info

    outcome = run_drift(cwd(), parse_ref(ref), current, reference=reference, jobs=jobs,
                        features=features.split(",") if features else None,
                        prediction=prediction, label=label, window=window, record=record,
                        notify=notify)
    doc = outcome.document
    if as_json:
        emit_json(doc)
    else:
        _print_text(doc, echo)
    if outcome.recorded:
        info(f"recorded {outcome.recorded.detail['path']} (commit {outcome.recorded.commit[:12]})")
    if doc["dataset_drift"] or doc["breaches"]:
        raise typer.Exit(EXIT_POLICY)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _print_text(doc: dict, echo) -> None:
    from mops.output import table

    verdict = "DRIFT" if doc["dataset_drift"] else "no dataset drift"
    echo(f"{doc['model']}@{doc['version']}: {verdict} — {doc['drifted_share']:.0%} of columns drifted "
         f"(threshold {doc['drift_share_threshold']:.0%}); rows: reference {doc['rows']['reference']:,}, "
         f"current {doc['rows']['current']:,}")
    table(["COLUMN", "KIND", "METHOD", "STATISTIC", "THRESHOLD", "DRIFT", "PSI", "PSI BAND"],
          [[c["column"], c["kind"], c["method"], _fmt(c["statistic"]), _fmt(c["threshold"]),
            "drift" if c["drifted"] else "ok", _fmt(c["psi"]), c.get("psi_band") or "-"]
           for c in doc["columns"]], styles={"drift": "red", "ok": "green"})
    perf = doc.get("performance")
    if perf:
        rows = []
        for key in ("auc", "gini", "ks", "accuracy", "precision", "recall", "calibration_gap"):
            if key in perf["reference"]:
                rows.append([key, _fmt(perf["reference"][key]), _fmt(perf["current"][key]),
                             _fmt(perf["change"].get(key))])
        table(["METRIC", "REFERENCE", "CURRENT", "CHANGE"], rows)
    for b in doc["breaches"]:
        echo(f"breach: {b['message']}")


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
