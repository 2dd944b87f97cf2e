"""Both windows compared in Spark: the jobs of :mod:`mops.drift.spark.passes`, then the verdicts.

The decisions per column are those of :func:`mops.drift.comparison.compare`, step
for step (kind, no-data and text statuses, method, warnings, breaches), on the
numbers the jobs return instead of on values held in memory; the statistics end
in the shared functions of :mod:`mops.drift.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mops.drift import comparison, detail, outcomes, stats
from mops.drift.kinds import CATEGORICAL, FLOAT, INTEGER, NULL, NUMERIC, STRING, TEXT, infer_kind
from mops.drift.outcomes import MULTICLASS, REGRESSION
from mops.drift.plan import DriftPlan
from mops.drift.result import ColumnResult, ColumnStatus, DriftResult, Dropped, Notice, SegmentResult
from mops.drift.spark import exact, passes
from mops.drift.spark.inputs import NUMBER_MARK, Windows
from mops.errors import UsageError

#: A numeric column compared by per-value counts (chi-square, z, Jensen-Shannon on few values,
#: or an integer column inferred categorical) has its counts brought to the driver: at most this
#: many distinct values, so that the driver's memory never grows with the data.
MAX_VALUE_COUNTS = 100_000
#: A regression's errors (prediction minus label), compared as one more numeric column.
ERRORS, ERRORS_ALIAS = "\0errors", "c_errors"


@dataclass
class Compared:
    """The result, and the rows read from each input (by the input as given)."""

    result: DriftResult
    rows_by_input: dict[str, int]


@dataclass
class _Numeric:
    """What is known of a numeric column once the bucket totals are in."""

    name: str
    role: str
    key: int
    kind: str
    method: str | None
    threshold: float | None
    n_ref: int
    n_cur: int
    totals: passes.KeyTotals
    cuts: np.ndarray | None = None
    edges: np.ndarray | None = None
    counts: list[tuple[float, int, int]] | None = None
    #: Reference and current counts in the PSI bins, and in the Sturges bins.
    psi_counts: tuple[list[int], list[int]] | None = None
    sturges_counts: tuple[list[int], list[int]] | None = None


def compare_windows(spark: Any, windows: Windows, plan: DriftPlan) -> Compared:
    """Compare the reference and the current window of *windows* as *plan* says."""
    plan.validate()
    compared = [(n, role) for n, role in plan.columns() if plan.kinds.get(n) != TEXT]
    if plan.task == REGRESSION and plan.label is not None and plan.prediction is not None:
        windows = _with_errors(windows, plan.label, plan.prediction)
        compared.append((ERRORS, "error"))
    frame = windows.frame
    numeric = {n: windows.aliases[n] for n, _ in compared if windows.storage[n] == NUMERIC}
    categorical = {n: windows.aliases[n] for n, _ in compared if windows.storage[n] != NUMERIC}
    binary = plan.label is not None and detail.is_binary(plan)
    label = windows.aliases[plan.label] if binary and plan.label is not None else None
    score = windows.aliases[plan.prediction] if binary and plan.prediction else None

    rows = passes.count_rows(frame)
    for side, what in ((0, "reference"), (1, "current window")):
        if rows[side] == 0:
            shown = ", ".join(i.shown for i in windows.inputs[side])
            raise UsageError(f"the {what} has no rows ({shown})")
    total_rows = rows[0] + rows[1]
    buckets = passes.buckets_for(total_rows)
    scan = passes.scan(frame, numeric, categorical, label=label, score=score, threshold=plan.decision_threshold)
    if buckets > 1 and numeric:
        fraction = min(1.0, passes.SAMPLE_PER_BUCKET * buckets / total_rows)
        scan.samples = passes.samples(frame, numeric, fraction)
    inputs = windows.inputs[0] + windows.inputs[1]
    if scan.outcome is not None:
        for o in scan.outcome:
            if o.bad_labels and o.bad_example is not None:
                source = inputs[o.bad_source or 0].text
                raise UsageError(f"{source}: label column {plan.label!r} must hold 0/1 or true/false, "
                                 f"found {o.bad_example:g}")

    # The per-value table: one key per numeric column, and per window the scores by label.
    keys = {name: i for i, name in enumerate(numeric)}
    specs = []
    for name, alias in numeric.items():
        ref, cur = scan.columns[name]
        bounds = passes.boundaries(scan.samples.get(name, ()), passes.buckets_for(ref.count + cur.count))
        specs.append(passes.NumericKey(keys[name], alias, tuple(bounds)))
    outcome_keys: tuple[int, int] | None = None
    if scan.outcome is not None and score is not None and plan.prediction is not None:
        outcome_keys = (len(numeric), len(numeric) + 1)
        for side, key in enumerate(outcome_keys):
            o = scan.outcome[side]
            bounds = passes.boundaries(scan.samples.get(plan.prediction, ()),
                                       passes.buckets_for(o.positives + o.negatives))
            specs.append(passes.NumericKey(key, score, tuple(bounds), window=side, label=label))

    columns: dict[str, ColumnResult] = {}
    cdfs: dict[int, passes.KeyCdf] = {}
    # The categorical columns' jobs run beside the numeric ones: Spark runs concurrent jobs of one
    # session side by side, which hides each job's fixed cost (planning, scheduling).
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mops-spark-categories")
    categories = (pool.submit(_categorical_columns, plan, windows, scan, categorical, compared, len(specs))
                  if categorical else None)
    cuts: dict[str, np.ndarray | None] = {}
    try:
        cuts = _numeric_part(spark, frame, plan, windows, scan, numeric, keys, specs, outcome_keys, compared,
                             columns, cdfs)
        if categories is not None:
            columns.update(categories.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    results = []
    for name, role in plan.columns():
        if plan.kinds.get(name) == TEXT:
            results.append(ColumnResult(name, role, TEXT, ColumnStatus.NOT_TESTED, None, Dropped(), Dropped()))
        else:
            results.append(columns[name])
    performance, dropped = _performance(plan, scan, cdfs, outcome_keys)
    counts = _counts(spark, windows, plan, scan, cdfs, outcome_keys, columns.get(ERRORS),
                     cuts.get(plan.prediction or ""))
    segments = [segment for name in plan.segments for segment in _segments(spark, windows, plan, name)]
    result = comparison.finish(plan, results, rows, performance, dropped, detail.assemble(counts, segments),
                               comparison.column_problems(results))
    rows_by_input = {item.text: scan.rows_by_source.get(i, 0) for i, item in enumerate(inputs)}
    return Compared(result, rows_by_input)


def _numeric_part(spark: Any, frame: Any, plan: DriftPlan, windows: Windows, scan: passes.Scan,
                  numeric: Mapping[str, str], keys: Mapping[str, int], specs: list[passes.NumericKey],
                  outcome_keys: tuple[int, int] | None, compared: list[tuple[str, str]],
                  columns: dict[str, ColumnResult], cdfs: dict[int, passes.KeyCdf]) -> dict[str, np.ndarray | None]:
    """The numeric columns' results into *columns*, and every key's CDF answers into *cdfs*; returns
    each numeric column's reference deciles (its PSI cut points)."""
    from pyspark import StorageLevel

    if not specs:
        return {}
    table = passes.values_table(frame, specs).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        means = {keys[n]: scan.columns[n][0].total / scan.columns[n][0].count
                 for n in numeric if scan.columns[n][0].count}
        totals = passes.bucket_totals(spark, table, means)
        pending, ranks = _numeric_columns(plan, windows, scan, numeric, keys, totals, compared, columns)
        wanted = {p.key: totals[p.key] for p in pending}
        for key in outcome_keys or ():
            wanted[key] = totals.setdefault(key, passes.KeyTotals())
        cdfs.update(passes.cdf(spark, table, wanted, ranks))
        _bins_and_counts(spark, table, pending, cdfs, scan)
    finally:
        table.unpersist()
    for p in pending:
        columns[p.name] = _numeric_result(p, scan, cdfs)
    return {p.name: p.cuts if p.cuts is not None else _cuts_from_counts(p) for p in pending}


def _cuts_from_counts(p: _Numeric) -> np.ndarray | None:
    """The reference deciles of a column compared as categories, from its value counts."""
    if not p.counts or not p.n_ref:
        return None
    values = np.array([v for v, _, _ in p.counts], dtype=np.float64)
    below = np.cumsum([r for _, r, _ in p.counts])
    return exact.psi_cuts(p.n_ref, lambda q: float(values[int(np.searchsorted(below, q, side="right"))]))


# -- numeric columns ----------------------------------------------------------------------


def _numeric_columns(plan: DriftPlan, windows: Windows, scan: passes.Scan, numeric: Mapping[str, str],
                     keys: Mapping[str, int], totals: dict[int, passes.KeyTotals],
                     compared: list[tuple[str, str]], columns: dict[str, ColumnResult]
                     ) -> tuple[list[_Numeric], dict[int, list[int]]]:
    """Decide each numeric column's status and kind; the ones still to compute, and the ranks they need."""
    roles = dict(compared)
    pending = []
    ranks: dict[int, list[int]] = {}
    for name in numeric:
        role, key = roles[name], keys[name]
        ref, cur = scan.columns[name]
        dropped, dropped_ref = _dropped(cur), _dropped(ref)
        declared = plan.kinds.get(name)
        method, threshold = plan.methods.get(name), plan.column_thresholds.get(name)
        total = totals.setdefault(key, passes.KeyTotals())
        if ref.count == 0 or cur.count == 0:
            columns[name] = ColumnResult(name, role, declared or NUMERIC, ColumnStatus.NO_DATA, None, dropped,
                                         dropped_ref, ref.count, cur.count, None)
            continue
        cls = windows.classes[1][name]
        if cls == NULL:
            cls = FLOAT
        kind = declared or NUMERIC
        if declared is None and cls == INTEGER and method not in stats.NUMERIC_ONLY_METHODS:
            kind = infer_kind(INTEGER, n_values=cur.count, n_unique=total.unique_b, integral=cur.fractional == 0)
        p = _Numeric(name, role, key, kind, method, threshold, ref.count, cur.count, total)
        pending.append(p)
        if kind == CATEGORICAL:
            continue
        ranks[key] = sorted({q for pos in exact.decile_positions(ref.count) for q in pos[:2]})
    return pending, ranks


def _bins_and_counts(spark: Any, table: Any, pending: list[_Numeric], cdfs: Mapping[int, passes.KeyCdf],
                     scan: passes.Scan) -> None:
    """PSI cut points from the reference's order statistics, Sturges edges; then the bin and value counts."""
    cuts: dict[int, list[float]] = {}
    edges: dict[int, list[float]] = {}
    counted = []
    for p in pending:
        if p.kind == CATEGORICAL:
            counted.append(p)
            continue
        found = {}
        for value, below, at_or_below in cdfs[p.key].ranks:
            for q in range(below, at_or_below):
                found[q] = value
        needed = {q for pos in exact.decile_positions(p.n_ref) for q in pos[:2]}
        found = {q: v for q, v in found.items() if q in needed}
        p.cuts = exact.psi_cuts(p.n_ref, found.__getitem__)
        cuts[p.key] = [float(c) for c in p.cuts]
        chosen = p.method or stats.select_method(NUMERIC, p.n_ref, p.totals.unique)
        if chosen == stats.JENSENSHANNON and p.totals.unique_a > stats._JS_BINNING_MIN_UNIQUE:
            ref, cur = scan.columns[p.name]
            low = min(v for v in (ref.low, cur.low) if v is not None)
            high = max(v for v in (ref.high, cur.high) if v is not None)
            p.edges = exact.sturges_edges(low, high, p.n_ref + p.n_cur)
            edges[p.key] = [float(e) for e in p.edges[1:-1]]
        elif chosen in (stats.CHISQUARE, stats.Z, stats.JENSENSHANNON):
            counted.append(p)
    for p in counted:
        if p.totals.unique > MAX_VALUE_COUNTS:
            raise UsageError(
                f"column {p.name!r}: comparing its {p.totals.unique:,} distinct values one by one needs their "
                f"counts on the driver, and the Spark engine brings at most {MAX_VALUE_COUNTS:,}: declare its kind "
                f"numeric (kind: numeric) or a method for continuous values (ks, wasserstein, psi)")
    psi, sturges = passes.bin_counts(spark, table, cuts, edges)
    counts = passes.value_counts(table, [p.key for p in counted])
    for p in pending:
        if p.key in psi:
            p.psi_counts = psi[p.key]
            p.sturges_counts = sturges.get(p.key)
        if p.key in counts:
            p.counts = counts[p.key]


def _numeric_result(p: _Numeric, scan: passes.Scan, cdfs: Mapping[int, passes.KeyCdf]) -> ColumnResult:
    ref, cur = scan.columns[p.name]
    if p.kind == CATEGORICAL:
        assert p.counts is not None
        ref_counts = {comparison.value_label(v): r for v, r, _ in p.counts if r}
        cur_counts = {comparison.value_label(v): c for v, _, c in p.counts if c}
        drift = stats.categorical_drift(ref_counts, cur_counts, method=p.method, threshold=p.threshold)
    else:
        drift = _numeric_drift(p, ref, cdfs[p.key])
    status = ColumnStatus.DRIFT if drift.drifted else ColumnStatus.OK
    return ColumnResult(p.name, p.role, p.kind, status, drift, _dropped(cur), _dropped(ref), p.n_ref, p.n_cur,
                        drift.n_unique, comparison.column_warnings(p.name, drift, p.method))


def _numeric_drift(p: _Numeric, ref: passes.SideScan, cdf: passes.KeyCdf) -> stats.ColumnDrift:
    """:func:`mops.drift.stats.numeric_drift`, from the jobs' numbers."""
    assert p.cuts is not None and p.psi_counts is not None
    ref_bins, cur_bins = p.psi_counts
    psi = stats.psi_counts(np.array(ref_bins), np.array(cur_bins), tuple(float(c) for c in p.cuts))
    u = p.totals.unique
    chosen = p.method or stats.select_method(NUMERIC, p.n_ref, u)
    if chosen == stats.KS:
        statistic = exact.ks_pvalue(cdf.ks_at[0], cdf.ks_at[1], p.n_ref, p.n_cur)
    elif chosen == stats.WASSERSTEIN:
        std = math.sqrt(p.totals.squared_deviations / p.n_ref)
        statistic = cdf.area / max(std, stats.MIN_STD)
    elif chosen == stats.PSI:
        statistic = psi.value
    elif chosen == stats.JENSENSHANNON and p.sturges_counts is not None:
        ref_hist, cur_hist = p.sturges_counts
        statistic = stats.jensenshannon_distance(np.array(ref_hist), np.array(cur_hist))
    else:
        assert p.counts is not None
        ref_counts = np.array([r for _, r, _ in p.counts], dtype=np.int64)
        cur_counts = np.array([c for _, _, c in p.counts], dtype=np.int64)
        statistic = stats.count_statistic(chosen, ref_counts, cur_counts)
    return stats.column_verdict(NUMERIC, chosen, statistic, p.threshold, p.n_ref, p.n_cur, u, psi)


# -- categorical columns ------------------------------------------------------------------


def _categorical_columns(plan: DriftPlan, windows: Windows, scan: passes.Scan, categorical: Mapping[str, str],
                         compared: list[tuple[str, str]], first_key: int) -> dict[str, ColumnResult]:
    """The categorical columns' results (kind, text and no-data statuses as the local engine decides them)."""
    from pyspark import StorageLevel

    columns: dict[str, ColumnResult] = {}
    roles = dict(compared)
    keys = {name: first_key + i for i, name in enumerate(categorical)}
    table = passes.category_table(windows.frame, categorical, keys).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        distinct = passes.category_distinct(table)
        counted = []
        decided: dict[str, tuple[str, int]] = {}
        for name in categorical:
            ref, cur = scan.columns[name]
            role, declared = roles[name], plan.kinds.get(name)
            method = plan.methods.get(name)
            if ref.count == 0 or cur.count == 0:
                columns[name] = ColumnResult(name, role, declared or CATEGORICAL, ColumnStatus.NO_DATA, None,
                                             _dropped(cur), _dropped(ref), ref.count, cur.count, None)
                continue
            cls = windows.classes[1][name]
            if cls == NULL:
                cls = STRING
            kind = declared or CATEGORICAL
            n_unique = distinct.get(keys[name], (0, 0))[0]
            if declared is None and method is None:
                kind = infer_kind(cls, n_values=cur.count, n_unique=n_unique)
            if kind == TEXT:
                columns[name] = ColumnResult(
                    name, role, TEXT, ColumnStatus.NOT_TESTED, None, _dropped(cur), _dropped(ref), ref.count,
                    cur.count, n_unique,
                    (Notice(comparison.TEXT_COLUMN, comparison.text_message(name, n_unique, cur.count), name),))
                continue
            if method in stats.NUMERIC_ONLY_METHODS:
                raise UsageError(f"column {name!r}: method {method!r} needs a numeric column")
            decided[name] = (kind, keys[name])
            counted.append(keys[name])
        counts = passes.category_counts(table, counted)
    finally:
        table.unpersist()
    for name, (kind, key) in decided.items():
        ref, cur = scan.columns[name]
        method, threshold = plan.methods.get(name), plan.column_thresholds.get(name)
        ref_counts, cur_counts = (exact.arrow_labels(c, NUMBER_MARK) for c in counts[key])
        drift = stats.categorical_drift(ref_counts, cur_counts, method=method, threshold=threshold)
        status = ColumnStatus.DRIFT if drift.drifted else ColumnStatus.OK
        columns[name] = ColumnResult(name, roles[name], kind, status, drift, _dropped(cur), _dropped(ref),
                                     ref.count, cur.count, drift.n_unique,
                                     comparison.column_warnings(name, drift, method))
    return columns


# -- the window -------------------------------------------------------------------------------


def _performance(plan: DriftPlan, scan: passes.Scan, cdfs: Mapping[int, passes.KeyCdf],
                 outcome_keys: tuple[int, int] | None) -> tuple[stats.PerformanceChange | None, dict[str, int]]:
    if scan.outcome is None or outcome_keys is None:
        return None, {}
    sides = []
    for o, key in zip(scan.outcome, outcome_keys, strict=True):
        cdf = cdfs.get(key, passes.KeyCdf())
        sides.append(exact.performance(
            positives=o.positives, negatives=o.negatives, twice_u=2 * cdf.below + cdf.ties, ks=cdf.ks,
            true_positive=o.true_positive, false_positive=o.false_positive, score_sum=o.score_sum,
            decision_threshold=plan.decision_threshold))
    current = scan.outcome[1]
    change = stats.compare_performance(sides[0], sides[1], plan.decision_threshold)
    return change, {"missing_label": current.missing_label, "nonfinite_score": current.nonfinite_score}


# -- the task's figures and the segments -------------------------------------------------------


def _with_errors(windows: Windows, label: str, prediction: str) -> Windows:
    """The windows with the regression's errors (prediction minus label) as one more numeric column."""
    from pyspark.sql import functions as F

    y, s = passes.col(windows.aliases[label]), passes.col(windows.aliases[prediction])
    frame = windows.frame.withColumn(ERRORS_ALIAS, F.when(passes.finite(y) & passes.finite(s), s - y))
    return replace(windows, frame=frame, aliases={**windows.aliases, ERRORS: ERRORS_ALIAS},
                   storage={**windows.storage, ERRORS: NUMERIC},
                   classes=({**windows.classes[0], ERRORS: FLOAT}, {**windows.classes[1], ERRORS: FLOAT}))


def _counts(spark: Any, windows: Windows, plan: DriftPlan, scan: passes.Scan, cdfs: Mapping[int, passes.KeyCdf],
            outcome_keys: tuple[int, int] | None, errors: ColumnResult | None,
            cuts: np.ndarray | None) -> detail.Counts:
    """What :func:`mops.drift.detail.assemble` needs, from Spark aggregates (as
    :func:`mops.drift.detail.from_profiles` gives it from the local engine's states)."""
    from mops.drift.spark import outcomes as jobs

    counts = detail.Counts(task=plan.task if plan.label is not None else None)
    frame, label, prediction = windows.frame, plan.label, plan.prediction
    if label is None or prediction is None:
        return counts
    if plan.task == REGRESSION:
        counts.regression, counts.regression_dropped = jobs.regression_sums(frame, windows, label, prediction)
        counts.error_drift = errors.drift if errors is not None else None
        return counts
    if plan.task == MULTICLASS:
        counts.confusion, counts.confusion_dropped = jobs.confusion(frame, windows, label, prediction)
        return counts
    sides = []
    if scan.outcome is not None:
        for o, key in zip(scan.outcome, outcome_keys or (), strict=False):
            cdf = cdfs.get(key, passes.KeyCdf())
            sides.append((o.positives, o.negatives, 2 * cdf.below + cdf.ties, cdf.q_b, cdf.q_a))
    threshold = plan.decision_threshold
    # With no prediction values in the reference (no cuts), the job gives the Brier sums alone.
    by_decile, counts.brier_sums = jobs.decile_grades(frame, windows, label, prediction,
                                                      [] if cuts is None else [float(c) for c in cuts], threshold)
    if plan.grade is not None:
        groups = jobs.column_groups(frame, windows, plan.grade, label, prediction, threshold)
        names = sorted(groups, key=detail.natural)
        counts.grading = plan.grade
        counts.grades = tuple(  # type: ignore[assignment]
            [outcomes.GradeCounts(n, groups[n][side][0] + groups[n][side][1], groups[n][side][0],
                                  groups[n][side][4]) for n in names] for side in (0, 1))
    elif cuts is not None:
        counts.grading, counts.grades = detail.DECILE, by_decile
    if len(sides) == 2:
        counts.placements = (sides[0], sides[1])
    for name in plan.protected:
        groups = jobs.column_groups(frame, windows, name, label, prediction, threshold)
        names = sorted(groups, key=detail.natural)
        counts.fairness[name] = tuple(  # type: ignore[assignment]
            [outcomes.GroupCounts(n, *groups[n][side][:4]) for n in names] for side in (0, 1))
    return counts


def _segments(spark: Any, windows: Windows, plan: DriftPlan, name: str) -> list[SegmentResult]:
    """Each value of a segment column: the whole comparison again on its rows, or too small."""
    from mops.drift.spark import outcomes as jobs

    out = []
    found = jobs.segment_rows(windows.frame, windows, name)
    sub = detail.segment_plan(plan)
    for value in sorted(found, key=detail.natural):
        ref_rows, cur_rows, raw = found[value]
        if min(ref_rows, cur_rows) < plan.min_segment_rows:
            out.append(SegmentResult(name, value, ref_rows, cur_rows, None))
            continue
        part = replace(windows, frame=jobs.only(windows.frame, windows, name, raw))
        out.append(SegmentResult(name, value, ref_rows, cur_rows, compare_windows(spark, part, sub).result))
    return out


def _dropped(side: passes.SideScan) -> Dropped:
    return Dropped(side.nan, side.posinf, side.neginf)
