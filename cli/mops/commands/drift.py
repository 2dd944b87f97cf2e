"""``mops drift``: compare production prediction logs with the reference.

One version (``MODEL[@V] --current PATH``, repeatable) or every version in a stage with a
monitoring plan (``--all``). Each output format is one function; the progress bar
for large inputs lives here, on the presentation side.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # pragma: no cover
    from mops.drift.run import AllOutcome, DriftOutcome

#: Inputs larger than this get a progress bar on a terminal.
PROGRESS_BYTES = 64 * 1024 * 1024


class Format(enum.StrEnum):
    text = "text"
    json = "json"
    github = "github"


def drift(
    refs: Annotated[list[str] | None, typer.Argument(
        metavar="MODEL[@V]...",
        help="Model, or model@version (default: latest). With --all: only these models.")] = None,
    current: Annotated[list[str] | None, typer.Option(
        "--current", metavar="PATH",
        help="A current prediction log (CSV, CSV.gz, Parquet, JSON Lines); repeat for a window "
             "of several files. With --engine spark: any path, glob, directory or URI Spark reads "
             "(also ORC).")] = None,
    all_versions: Annotated[bool, typer.Option(
        "--all", help="Check every version in the stage whose card has a monitoring plan, on the "
                      "logs its monitoring.logs pattern finds.")] = False,
    stage: Annotated[str | None, typer.Option(
        "--stage", metavar="S", help="With --all: the stage to check (default: production).")] = None,
    logs: Annotated[str | None, typer.Option(
        "--logs", metavar="PATTERN",
        help="With --all: where the logs are, relative to the inventory, with {model} and {version} "
             "and glob wildcards (overrides the cards' and mops.yaml's monitoring.logs).")] = None,
    reference: Annotated[str | None, typer.Option(
        "--reference", metavar="PATH",
        help="The reference data (default: the card's monitoring.reference).")] = None,
    record: Annotated[bool, typer.Option(
        "--record", help="Record each result in the version's monitoring folder (one commit per "
                         "version).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    fmt: Annotated[Format, typer.Option(
        "--format", metavar="text|json|github", case_sensitive=False,
        help="Output: text tables, one JSON document, or GitHub Actions annotations (plus the job "
             "summary and the ok/drifted outputs when GitHub's files are set).")] = Format.text,
    engine: Annotated[str, typer.Option(
        "--engine", metavar="NAME",
        help="The drift engine: local (this machine) or spark (exact, where the data is; "
             "pip install 'mops[spark]').")] = "local",
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", metavar="URL",
        help="With --engine spark: the master (local[4], yarn, spark://..., sc://... for Spark Connect; "
             "default: the running session, else SPARK_REMOTE, else local[*]).")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="parquet|csv|json|orc",
        help="With --engine spark: the format of the inputs (default: from their names).")] = None,
    current_table: Annotated[list[str] | None, typer.Option(
        "--current-table", metavar="TABLE",
        help="With --engine spark: a catalog table (db.name) of current predictions; repeatable.")] = None,
    reference_table: Annotated[str | None, typer.Option(
        "--reference-table", metavar="TABLE",
        help="With --engine spark: a catalog table holding the reference.")] = None,
    where: Annotated[str | None, typer.Option(
        "--where", metavar="EXPR",
        help="With --engine spark: a Spark SQL filter on the current window, e.g. \"dt >= '2026-11-01'\".")
    ] = None,
    reference_where: Annotated[str | None, typer.Option(
        "--reference-where", metavar="EXPR",
        help="With --engine spark: a Spark SQL filter on the reference.")] = None,
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
    from mops.errors import UsageError

    if as_json:
        if fmt not in (Format.text, Format.json):
            raise UsageError("--json and --format github ask for two outputs: give one")
        fmt = Format.json
    spark_given = [name for name, value in (("--spark-master", spark_master), ("--input-format", input_format),
                                            ("--current-table", current_table),
                                            ("--reference-table", reference_table), ("--where", where),
                                            ("--reference-where", reference_where)) if value]
    if spark_given and engine != "spark":
        raise UsageError(f"{', '.join(spark_given)} go with --engine spark")
    options = {key: value for key, value in (("master", spark_master), ("input_format", input_format),
                                             ("where", where), ("reference_where", reference_where)) if value}
    bar = ProgressBar()
    try:
        if all_versions:
            given = [name for name, value in (("--current", current), ("--current-table", current_table),
                                              ("--reference", reference), ("--reference-table", reference_table),
                                              ("--features", features), ("--prediction", prediction),
                                              ("--label", label)) if value]
            if given:
                raise UsageError(f"--all takes each version's plan and logs from the inventory: drop "
                                 f"{', '.join(given)} (use --logs PATTERN to say where the logs are)")
            if any("@" in r for r in refs or ()):
                raise UsageError("--all checks the versions in a stage: name models without @VERSION")
            from mops.drift.run import run_all

            everything = run_all(cwd(), stage=stage or "production", logs=logs, models=refs or (),
                                 engine=engine, jobs=jobs, window=window, record=record, progress=bar,
                                 notify=notify, engine_options=options or None)
            bar.stop()
            code = ALL_FORMATTERS[fmt](everything)
        else:
            if stage is not None or logs is not None:
                raise UsageError("--stage and --logs go with --all; for one version, pass --current PATH")
            if refs and len(refs) > 1 and current:
                raise UsageError(f"name one MODEL[@V] (got {len(refs)}: {', '.join(refs)}); --current "
                                 f"takes one PATH: repeat it for each file of the window, e.g. "
                                 f"--current {current[0]} --current {refs[-1]}")
            if not refs or len(refs) > 1:
                raise UsageError("name one MODEL[@V] to check with --current PATH (repeatable), or "
                                 "pass --all")
            if reference_table:
                if reference:
                    raise UsageError("--reference and --reference-table both name the reference: give one")
                reference = f"table:{reference_table}"
            current = [*(current or ()), *(f"table:{t}" for t in current_table or ())]
            if not current:
                raise UsageError("no current logs: pass --current PATH (repeat it for a window of "
                                 "several files; with --engine spark, or --current-table TABLE), or check "
                                 "every version in a stage with --all")
            from mops.drift.run import run_drift
            from mops.inventory.names import parse_ref

            outcome = run_drift(cwd(), parse_ref(refs[0]), current, reference=reference, engine=engine,
                                jobs=jobs, features=features.split(",") if features else None,
                                prediction=prediction, label=label, window=window, record=record,
                                progress=bar, notify=notify, engine_options=options or None)
            bar.stop()
            code = ONE_FORMATTERS[fmt](outcome, record)
    finally:
        bar.stop()
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

    doc = outcome.document
    if outcome.recorded:  # the commit made, beside the result (the record itself is unchanged)
        doc = {**doc, "recorded": {"path": outcome.recorded.record.path,
                                   **_made(outcome.recorded.commit).to_json()}}
    emit_json(doc)
    return _one_epilogue(outcome, record)


@functools.cache
def _made(sha: str) -> Any:
    """The commit a recording made (:class:`mops.api.Commit`), its subject read once: the
    result and the epilogue both name it (a sha names one commit, so the cache is safe)."""
    from mops import api
    from mops.commands import cwd

    return api.commit_made(cwd(), sha)


def _one_github(outcome: DriftOutcome, record: bool) -> int:
    from mops.drift.run import AllOutcome, TargetOutcome
    from mops.drift.targets import Target

    doc = outcome.document
    target = Target(doc["model"], doc["version"], outcome.card, "", outcome.inputs)
    everything = AllOutcome("", [TargetOutcome(target, outcome.status, outcome)], outcome.root, outcome.prefix)
    _all_github(everything)
    return _one_epilogue(outcome, record, quiet=True)


def _one_epilogue(outcome: DriftOutcome, record: bool, quiet: bool = False) -> int:
    """Warnings and problems on stderr, the record made; the exit code."""
    from mops.drift.result import DATA_QUALITY, DRIFT
    from mops.output import error, info, warn

    doc = outcome.document
    if not quiet:
        for w in doc["warnings"]:
            warn(w["message"])
    if outcome.recorded:
        info(f"recorded {outcome.recorded.record.path}")
        info(_made(outcome.recorded.commit).line)
    if outcome.status == DATA_QUALITY:
        if not quiet:
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
    print_detail(doc, echo)
    for b in doc["breaches"]:
        echo(f"breach: {b['message']}")
    for p in doc["problems"]:
        echo(f"data quality: {p['message']}")


def _changes(part: dict[str, Any], keys: Sequence[str]) -> list[list[str]]:
    return [[key, _fmt(part["reference"][key]), _fmt(part["current"][key]), _fmt(part["change"].get(key))]
            for key in keys]


def print_detail(doc: dict[str, Any], echo: Callable[[str], None]) -> None:
    """The task's figures: regression or multiclass metrics, calibration per grade, AUC with its
    interval, fairness per protected column, and each segment's verdict."""
    from mops.output import table

    metric = ["METRIC", "REFERENCE", "CURRENT", "CHANGE"]
    if doc.get("regression"):
        r = doc["regression"]
        echo(f"regression ({r['current']['rows']:,} labelled rows now; MAPE leaves out "
             f"{r['current']['zero_labels']:,} with a zero label):")
        table(metric, _changes(r, ("mae", "rmse", "mape", "r2", "mean_error")))
        if r["error_drift"]:
            e = r["error_drift"]
            echo(f"error distribution: {e['method']} {_fmt(e['statistic'])} (threshold {_fmt(e['threshold'])}): "
                 f"{'drift' if e['drifted'] else 'ok'}; PSI {_fmt(e['psi'])}")
    if doc.get("multiclass"):
        m = doc["multiclass"]
        echo(f"multiclass ({m['current']['rows']:,} labelled rows now):")
        table(metric, _changes(m, ("accuracy", "macro_f1", "weighted_f1")))
        table(["CLASS", "ROWS", "PREDICTED", "PRECISION", "RECALL", "F1"],
              [[c["label"], f"{c['support']:,}", f"{c['predicted']:,}", _fmt(c["precision"]), _fmt(c["recall"]),
                _fmt(c["f1"])] for c in m["current"]["classes"]])
    if doc.get("calibration"):
        c = doc["calibration"]
        cur = c["current"]
        echo(f"calibration by {'score decile of the reference' if c['grading'] == 'decile' else c['grading']} "
             f"(current window):")
        table(["GRADE", "ROWS", "DEFAULTS", "OBSERVED", "PREDICTED", "JEFFREYS 95%", "JEFFREYS P", "BINOMIAL P"],
              [[g["grade"], f"{g['n']:,}", f"{g['defaults']:,}", _fmt(g["observed_rate"]),
                _fmt(g["mean_predicted"]), f"{_fmt(g['jeffreys_low'])}–{_fmt(g['jeffreys_high'])}",
                _fmt(g["jeffreys_pvalue"]), _fmt(g["binomial_pvalue"])] for g in cur["grades"]])
        echo(f"Hosmer–Lemeshow {_fmt(cur['hosmer_lemeshow'])} on {cur['hosmer_lemeshow_df']} df, "
             f"p {_fmt(cur['hosmer_lemeshow_pvalue'])}; Brier {_fmt(c['reference']['brier'])} -> {_fmt(cur['brier'])}")
    if doc.get("discrimination"):
        d = doc["discrimination"]
        sides = [f"{_fmt(d[k]['auc'])} [{_fmt(d[k]['low'])}, {_fmt(d[k]['high'])}]" for k in ("reference", "current")]
        echo(f"AUC (DeLong 95% interval): {sides[0]} -> {sides[1]}; DeLong test of the change "
             f"z {_fmt(d['z'])}, p {_fmt(d['pvalue'])}")
    for f in doc.get("fairness") or []:
        cur = f["current"]
        echo(f"fairness by {f['column']} (current window, at the decision threshold):")
        table(["GROUP", "ROWS", "SELECTION RATE", "TPR", "FPR"],
              [[g["group"], f"{g['rows']:,}", _fmt(g["selection_rate"]), _fmt(g["true_positive_rate"]),
                _fmt(g["false_positive_rate"])] for g in cur["groups"]])
        echo(f"demographic parity difference {_fmt(cur['demographic_parity_difference'])}, ratio "
             f"{_fmt(cur['demographic_parity_ratio'])}; equalised-odds difference "
             f"{_fmt(cur['equalized_odds_difference'])} (a ratio under 0.8, the four-fifths rule, is a rule of "
             f"practice, not a legal test)")
    if doc.get("segments"):
        table(["SEGMENT", "ROWS (REF)", "ROWS (NOW)", "STATUS", "DRIFTED", "BREACHES"],
              [[f"{s['column']}={s['value']}", f"{s['rows']['reference']:,}", f"{s['rows']['current']:,}",
                s["status"].replace("_", " "),
                "-" if not s["drift"] else f"{s['drift']['drifted_share']:.0%}",
                "-" if not s["drift"] else str(len(s["drift"]["breaches"]))] for s in doc["segments"]],
              styles={"drift": "red", "ok": "green"})


ONE_FORMATTERS: dict[Format, Callable[[DriftOutcome, bool], int]] = {
    Format.text: _one_text, Format.json: _one_json, Format.github: _one_github}


# -- every version in a stage -------------------------------------------------------------


def _all_text(everything: AllOutcome) -> int:
    from mops.drift.run import ERROR, NO_LOGS
    from mops.output import echo, error, info, table, warn
    from mops.output.github_drift import drift_verdict

    rows = []
    for r in everything.results:
        doc = r.outcome.document if r.outcome else None
        head, detail = drift_verdict(doc) if doc else (r.status.replace("_", " "), r.message)
        rows.append([r.target.model, r.target.version, str(len(r.target.files)),
                     f"{doc['rows']['current']:,}" if doc else "-", head, detail])
        if r.status == NO_LOGS:
            warn(f"{r.target.ref}: no production logs ({r.message}); drift not checked")
        elif r.status == ERROR:
            error(f"{r.target.ref}: drift check failed: {r.message}")
        elif doc:
            for w in doc["warnings"]:
                warn(f"{r.target.ref}: {w['message']}")
            for p in doc["problems"]:
                error(f"{r.target.ref}: data quality: {p['message']}")
        if r.outcome and r.outcome.recorded:
            info(f"{r.target.ref}: recorded {r.outcome.recorded.record.path} "
                 f"{_made(r.outcome.recorded.commit).line}")
    if rows:
        table(["MODEL", "VERSION", "LOGS", "ROWS", "RESULT", "DETAIL"], rows,
              styles={"drift": "red", "no drift": "green"})
    else:
        warn(f"no model version in stage {everything.stage} has a monitoring plan: nothing was checked")
    echo(_tally(everything))
    return everything.exit_code


def _all_json(everything: AllOutcome) -> int:
    from mops.output import emit_json

    emit_json(all_document(everything))
    return everything.exit_code


def _all_github(everything: AllOutcome) -> int:
    from mops.output.github_drift import emit_drift

    emit_drift(everything, tally=_tally(everything))
    return everything.exit_code


def _tally(everything: AllOutcome) -> str:
    from collections import Counter

    counts = Counter(r.status for r in everything.results)
    parts = [f"{counts[s]} {word}" for s, word in (("drift", "drifted"), ("data_quality", "with unusable data"),
                                                   ("error", "failed"), ("no_logs", "without logs"),
                                                   ("ok", "without drift")) if counts[s]]
    n = len(everything.results)
    where = f" in stage {everything.stage}" if everything.stage else ""
    return (f"mops drift: {n} model version{'s' if n != 1 else ''}{where}"
            + (f": {', '.join(parts)}" if parts else "") + f"; ok={'true' if everything.exit_code == 0 else 'false'}")


def all_document(everything: AllOutcome) -> dict[str, Any]:
    """The ``drift --all --format json`` document."""
    from collections import Counter

    root = everything.root.resolve()
    counts = Counter(r.status for r in everything.results)
    return {
        "ok": everything.exit_code == 0,
        "stage": everything.stage,
        "summary": {s: counts[s] for s in ("ok", "drift", "data_quality", "error", "no_logs")},
        "results": [{
            "model": r.target.model,
            "version": r.target.version,
            "status": r.status,
            "card": r.target.card,
            "pattern": r.target.pattern or None,
            "logs": [_relative(root, f) for f in r.target.files],
            "message": r.message or None,
            "drift": r.outcome.document if r.outcome else None,
            "record": r.outcome.recorded.record.path if r.outcome and r.outcome.recorded else None,
            **({"commit": None, "subject": None} if not (r.outcome and r.outcome.recorded)
               else _made(r.outcome.recorded.commit).to_json()),
        } for r in everything.results],
    }


def _relative(root: Path, path: str) -> str:
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return str(resolved)


ALL_FORMATTERS: dict[Format, Callable[[AllOutcome], int]] = {
    Format.text: _all_text, Format.json: _all_json, Format.github: _all_github}


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
