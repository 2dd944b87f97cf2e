"""``mops drift``: compare production prediction logs with the reference.

The progress bar for large inputs lives here, on the presentation side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # pragma: no cover
    from mops.drift.run import DriftOutcome

#: Inputs larger than this get a progress bar on a terminal.
PROGRESS_BYTES = 64 * 1024 * 1024


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
    engine: Annotated[str, typer.Option(
        "--engine", metavar="NAME", help="The drift engine that reads the logs (local).")] = "local",
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

    Exit 0: no drift; 1: dataset drift or a threshold of the plan breached; 2: bad input,
    or a column with no usable value (a data-quality failure, not recorded).
    """
    from mops.commands import cwd, notify
    from mops.drift.run import run_drift
    from mops.inventory.names import parse_ref

    bar = ProgressBar()
    try:
        outcome = run_drift(cwd(), parse_ref(ref), current, reference=reference, engine=engine, jobs=jobs,
                            features=features.split(",") if features else None, prediction=prediction,
                            label=label, window=window, record=record, progress=bar, notify=notify)
    finally:
        bar.stop()
    code = (_one_json if as_json else _one_text)(outcome, record)
    if code:
        raise typer.Exit(code)


# -- progress -----------------------------------------------------------------------------


class ProgressBar:
    """A rich progress bar on stderr, shown once a check reads 64 MB or more on a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._label = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        import sys

        from mops.output import is_terminal

        if total < PROGRESS_BYTES or not is_terminal(sys.stderr):
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            self._bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
        if label != self._label or self._task is None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(f"reading logs of {label}", total=total)
            self._label = label
        self._bar.update(self._task, completed=done)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None


# -- one version ----------------------------------------------------------------------------


def _one_text(outcome: DriftOutcome, record: bool) -> int:
    from mops.output import echo

    print_result(outcome.document, echo)
    return _one_epilogue(outcome, record)


def _one_json(outcome: DriftOutcome, record: bool) -> int:
    from mops.output import emit_json

    emit_json(outcome.document)
    return _one_epilogue(outcome, record)


def _one_epilogue(outcome: DriftOutcome, record: bool) -> int:
    """Warnings and problems on stderr, the record made; the exit code."""
    from mops.drift.result import DATA_QUALITY, DRIFT
    from mops.output import error, info, warn

    doc = outcome.document
    for w in doc["warnings"]:
        warn(w["message"])
    if outcome.recorded:
        info(f"recorded {outcome.recorded.detail['path']} (commit {outcome.recorded.commit[:12]})")
    if outcome.status == DATA_QUALITY:
        error(f"{doc['model']}@{doc['version']}: data quality: the logs cannot support a verdict"
              + ("; nothing was recorded" if record else ""), [p["message"] for p in doc["problems"]])
        return 2
    return 1 if outcome.status == DRIFT else 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def print_result(doc: dict[str, Any], echo: Callable[[str], None]) -> None:
    """One version's result as text: a headline, a table of columns, performance, breaches."""
    from mops.output import table

    verdict = {"drift": "DRIFT" if doc["dataset_drift"] else "threshold breached",
               "data_quality": "DATA QUALITY FAILURE", "ok": "no dataset drift"}[doc["status"]]
    echo(f"{doc['model']}@{doc['version']}: {verdict} — {doc['drifted_share']:.0%} of "
         f"{doc['tested_columns']} tested columns drifted (threshold {doc['drift_share_threshold']:.0%}); "
         f"rows: reference {doc['rows']['reference']:,}, current {doc['rows']['current']:,}")
    labels = {"ok": "ok", "drift": "drift", "no_data": "NO DATA", "not_tested": "not tested"}
    table(["COLUMN", "KIND", "METHOD", "STATISTIC", "THRESHOLD", "STATUS", "PSI", "PSI BAND"],
          [[c["column"], c["kind"], c["method"] or "-", _fmt(c["statistic"]), _fmt(c["threshold"]),
            labels.get(c["status"], c["status"]), _fmt(c["psi"]), c.get("psi_band") or "-"]
           for c in doc["columns"]], styles={"drift": "red", "ok": "green", "NO DATA": "bold red"})
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
    for p in doc["problems"]:
        echo(f"data quality: {p['message']}")


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
