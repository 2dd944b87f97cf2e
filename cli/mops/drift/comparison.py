"""Comparing a reference and a current profile: each column's kind, status and verdict.

Pure apart from loading spilled values, one column at a time. The steps per column:

1. the states of both sides (a side whose column holds no value at all takes the
   other side's storage kind);
2. no usable value on a side: status ``no_data``, a data-quality problem;
3. the kind: declared in the plan, else Evidently's inference on the current
   window (:func:`mops.drift.kinds.infer_kind`); a text column is ``not_tested``;
4. the method and statistic (:mod:`mops.drift.stats`), and warnings for samples
   too small to trust.

The drifted share counts tested columns only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from mops.drift import detail, stats
from mops.drift.kinds import (
    CATEGORICAL,
    FLOAT,
    INTEGER,
    NULL,
    NUMERIC,
    STRING,
    TEXT,
    infer_kind,
)
from mops.drift.plan import PERFORMANCE_DROPS, DriftPlan
from mops.drift.profile import Profile
from mops.drift.result import Breach, ColumnResult, ColumnStatus, Detail, DriftResult, Dropped, Notice, SegmentResult
from mops.drift.state import CategoricalState, ColumnState, NumericState, OutcomeState
from mops.errors import UsageError

#: Fewer usable values than this on a side: the verdict carries a warning.
MIN_VALUES = 30
#: Distances are chosen for references over ``stats.SMALL_SAMPLE`` values; on a current
#: window smaller than that they are biased upward (they overstate drift).
DISTANCE_MIN_VALUES = stats.SMALL_SAMPLE

SMALL_SAMPLE, SMALL_DISTANCE, TEXT_COLUMN = "small_sample", "small_sample_distance", "text"
SMALL_SEGMENT = "small_segment"


def compare(reference: Profile, current: Profile, plan: DriftPlan, *, jobs: int | None = None) -> DriftResult:
    """Compare *current* with *reference* column by column, as *plan* says.

    Columns (and the two sides' performance) are worked out in *jobs* threads, by
    default one per CPU: numpy's sorts and scans run outside the GIL. The result
    does not depend on the number of threads. Raises :class:`UsageError` when a
    column's kind differs between the two sides, or a plan's method does not fit
    the column.
    """
    plan.validate()
    columns = plan.columns()
    workers = max(1, min(int(jobs or os.cpu_count() or 1), len(columns)))
    ref_outcome = cur_outcome = cuts = None
    if plan.label is not None and detail.is_binary(plan):
        ref_outcome, cur_outcome = _outcome(reference, plan.label), _outcome(current, plan.label)
        predicted = reference.state.columns.get(plan.prediction) if plan.prediction is not None else None
        if plan.grade is None and isinstance(predicted, NumericState) and predicted.count:
            cuts = stats.decile_cuts(predicted.load())

    def side(outcome: OutcomeState) -> detail.Scored:
        return detail.score(outcome, plan.decision_threshold, cuts)

    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            # The largest work first: a side sorts and ranks every labelled score.
            sides = [pool.submit(side, o) for o in (cur_outcome, ref_outcome) if o is not None]
            results = list(pool.map(lambda task: _compare_column(reference, current, plan, *task), columns))
            scored = [f.result() for f in sides][::-1]
    else:
        results = [_compare_column(reference, current, plan, *task) for task in columns]
        scored = [side(o) for o in (ref_outcome, cur_outcome) if o is not None]
    problems = column_problems(results)

    performance = None
    performance_dropped: dict[str, int] = {}
    if cur_outcome is not None:
        performance = stats.compare_performance(scored[0].performance, scored[1].performance,
                                                plan.decision_threshold)
        performance_dropped = {
            "missing_label": cur_outcome.missing_label,
            "nonfinite_score": sum(s.nan + s.posinf + s.neginf for s in (cur_outcome.positives, cur_outcome.negatives)),
        }

    counts = detail.from_profiles(reference.state, current.state, plan,
                                  (scored[0], scored[1]) if scored else None)
    segments = [_segment(reference, current, plan, name, value, jobs)
                for name in plan.segments for value in _group_values(reference, current, name)]
    return finish(plan, results, [reference.rows, current.rows], performance, performance_dropped,
                  detail.assemble(counts, segments), problems)


def column_problems(results: Sequence[ColumnResult]) -> list[Notice]:
    """Data-quality problems of the columns: no usable value, or nothing tested at all."""
    problems = [Notice("no_data", _no_data_message(r), r.column) for r in results
                if r.status == ColumnStatus.NO_DATA]
    if not any(r.status.tested for r in results) and not problems:
        problems.append(Notice("nothing_tested", "no column was tested: every column of the plan is text; "
                                                 "declare a kind in monitoring.columns to test one"))
    return problems


def finish(plan: DriftPlan, results: Sequence[ColumnResult], rows: Sequence[int],
           performance: stats.PerformanceChange | None, performance_dropped: dict[str, int],
           found: Detail, problems: Sequence[Notice]) -> DriftResult:
    """The window's result from its columns, performance and detail (both engines end here)."""
    tested = [r for r in results if r.status.tested]
    drifted = sum(1 for r in tested if r.drifted)
    share = drifted / len(tested) if tested else 0.0
    breaches = _breaches(plan, tested, performance) + detail.breaches(plan, found)
    for segment in found.segments:
        breaches += detail.lifted(segment)
    return DriftResult(
        dataset_drift=bool(tested) and share >= plan.drift_share,
        drifted_share=share,
        drift_share_threshold=plan.drift_share,
        rows_reference=rows[0],
        rows_current=rows[1],
        columns=tuple(results),
        performance=performance,
        breaches=tuple(breaches),
        performance_dropped=performance_dropped,
        problems=tuple(problems),
        warnings=tuple(_warnings(results, rows[0], rows[1])) + tuple(_group_warnings(plan, found)),
        detail=found,
    )


def _group_values(reference: Profile, current: Profile, name: str) -> list[str]:
    return sorted(set(reference.state.groups[name]) | set(current.state.groups[name]), key=detail.natural)


def _segment(reference: Profile, current: Profile, plan: DriftPlan, name: str, value: str,
             jobs: int | None) -> SegmentResult:
    """One segment's comparison on its rows alone, or too small to test."""
    ref_part, cur_part = reference.state.groups[name].get(value), current.state.groups[name].get(value)
    rows = [0 if part is None else part.rows for part in (ref_part, cur_part)]
    if ref_part is None or cur_part is None or min(rows) < plan.min_segment_rows:
        return SegmentResult(name, value, rows[0], rows[1], None)
    sub = detail.segment_plan(plan)
    parts = [Profile(part, profile.kinds, profile.origins, (), profile.types)
             for part, profile in ((ref_part, reference), (cur_part, current))]
    return SegmentResult(name, value, rows[0], rows[1], compare(parts[0], parts[1], sub, jobs=jobs))


def _group_warnings(plan: DriftPlan, found: Detail) -> list[Notice]:
    out = []
    small = [f"{s.column}={s.value}" for s in found.segments if s.result is None]
    if small:
        out.append(Notice(SMALL_SEGMENT, f"{len(small)} segment{'s' if len(small) > 1 else ''} with fewer than "
                                         f"{plan.min_segment_rows:,} rows on a side, reported but not tested: "
                                         f"{', '.join(small[:10])}{' ...' if len(small) > 10 else ''}"))
    for _ref, cur in found.fairness:
        if len(cur.groups) < 2:
            out.append(Notice(SMALL_SEGMENT, f"protected column {cur.column!r} has {len(cur.groups)} group"
                                             f"{'' if len(cur.groups) == 1 else 's'} with labelled rows in the "
                                             f"current data: parity cannot be judged", cur.column))
        few = [g.group for g in cur.groups if g.rows < plan.min_segment_rows]
        if few:
            out.append(Notice(SMALL_SEGMENT, f"protected column {cur.column!r}: group"
                                             f"{'s' if len(few) > 1 else ''} {', '.join(few[:10])} "
                                             f"{'have' if len(few) > 1 else 'has'} fewer than "
                                             f"{plan.min_segment_rows:,} labelled rows in the current data: "
                                             f"their rates are uncertain", cur.column))
    return out


# -- one column -------------------------------------------------------------------------


def _compare_column(reference: Profile, current: Profile, plan: DriftPlan, name: str, role: str) -> ColumnResult:
    declared = plan.kinds.get(name)
    if declared == TEXT:
        return ColumnResult(name, role, TEXT, ColumnStatus.NOT_TESTED, None, Dropped(), Dropped())
    ref_state, cur_state = _states(reference, current, name)
    dropped, dropped_ref = _dropped(cur_state), _dropped(ref_state)
    n_ref, n_cur = ref_state.count, cur_state.count
    storage = NUMERIC if isinstance(cur_state, NumericState) else CATEGORICAL
    method = plan.methods.get(name)
    threshold = plan.column_thresholds.get(name)

    if n_ref == 0 or n_cur == 0:
        return ColumnResult(name, role, declared or storage, ColumnStatus.NO_DATA, None, dropped, dropped_ref,
                            n_ref, n_cur, None)

    cls = current.type_of(name)
    if cls == NULL:  # values, but no type seen in the part of the files inspected
        cls = FLOAT if storage == NUMERIC else STRING
    if isinstance(ref_state, NumericState) and isinstance(cur_state, NumericState):
        ref_values, cur_values = ref_state.load_sorted(), cur_state.load_sorted()
        kind = declared or NUMERIC
        if declared is None and cls == INTEGER and method not in stats.NUMERIC_ONLY_METHODS:
            cur_keys, _ = stats.value_counts(cur_values)
            integral = bool(np.all(cur_keys == np.floor(cur_keys)))
            kind = infer_kind(INTEGER, n_values=n_cur, n_unique=cur_keys.size, integral=integral)
        if kind == CATEGORICAL:
            drift = stats.categorical_drift(_labelled_counts(ref_values), _labelled_counts(cur_values),
                                            method=method, threshold=threshold)
        else:
            drift = stats.numeric_drift(ref_values, cur_values, method=method, threshold=threshold)
    elif isinstance(ref_state, CategoricalState) and isinstance(cur_state, CategoricalState):
        kind = declared or CATEGORICAL
        n_unique = sum(1 for n in cur_state.counts.values() if n)
        if declared is None and method is None:
            kind = infer_kind(cls, n_values=n_cur, n_unique=n_unique)
        if kind == TEXT:
            return ColumnResult(name, role, TEXT, ColumnStatus.NOT_TESTED, None, dropped, dropped_ref,
                                n_ref, n_cur, n_unique, (Notice(TEXT_COLUMN, text_message(name, n_unique, n_cur),
                                                                name),))
        if method in stats.NUMERIC_ONLY_METHODS:
            raise UsageError(f"column {name!r}: method {method!r} needs a numeric column")
        drift = stats.categorical_drift(ref_state.counts, cur_state.counts, method=method, threshold=threshold)
    else:  # _states made both sides one kind
        raise TypeError(f"column {name!r}: {type(ref_state).__name__} and {type(cur_state).__name__}")
    status = ColumnStatus.DRIFT if drift.drifted else ColumnStatus.OK
    return ColumnResult(name, role, kind, status, drift, dropped, dropped_ref, n_ref, n_cur, drift.n_unique,
                        column_warnings(name, drift, method))


def _states(reference: Profile, current: Profile, name: str) -> tuple[ColumnState, ColumnState]:
    """Both sides' states of *name*, of one kind.

    A side with no value at all in every file (Arrow type ``null``: an all-empty
    CSV column) was read as numbers; it takes the other side's kind, empty.
    """
    for profile, side in ((reference, "reference"), (current, "current data")):
        if name not in profile.kinds or name not in profile.state.columns:
            raise UsageError(f"column {name!r} was not read from the {side} ({_sources(profile)})")
    ref_state, cur_state = reference.state.columns[name], current.state.columns[name]
    ref_kind, cur_kind = reference.kinds[name], current.kinds[name]
    if ref_kind != cur_kind:
        if reference.type_of(name) == NULL and ref_state.count == 0:
            return _empty_like(ref_state, cur_state), cur_state
        if current.type_of(name) == NULL and cur_state.count == 0:
            return ref_state, _empty_like(cur_state, ref_state)
        raise UsageError(
            f"column {name!r} has incompatible types: {ref_kind} in the reference "
            f"({reference.origins[name]}) but {cur_kind} in the current data "
            f"({current.origins[name]})"
        )
    return ref_state, cur_state


def _empty_like(empty: ColumnState, other: ColumnState) -> ColumnState:
    missing = _dropped(empty).total
    if isinstance(other, NumericState):
        return NumericState(nan=missing)
    return CategoricalState(missing=missing)


def _labelled_counts(sorted_values: np.ndarray) -> dict[str, int]:
    """Value -> count of a numeric column compared as categories; whole numbers as integers."""
    keys, counts = stats.value_counts(sorted_values)
    return {value_label(float(k)): int(n) for k, n in zip(keys, counts, strict=True)}


def value_label(value: float) -> str:
    """A numeric value as a category's label (whole numbers without '.0'); both engines."""
    return str(int(value)) if value.is_integer() else repr(value)


def _dropped(state: ColumnState) -> Dropped:
    if isinstance(state, NumericState):
        return Dropped(state.nan, state.posinf, state.neginf)
    return Dropped(state.missing, 0, 0)


def _sources(profile: Profile) -> str:
    return ", ".join(profile.sources) or "no files"


def _outcome(profile: Profile, label: str) -> OutcomeState:
    outcome = profile.state.outcome
    if outcome is None:
        raise UsageError(f"label {label!r} was not read from {_sources(profile)}")
    return outcome


# -- messages -------------------------------------------------------------------------------


def _no_data_message(result: ColumnResult) -> str:
    sides = [f"in the {side} ({_dropped_text(dropped)})"
             for side, n, dropped in (("reference", result.n_reference, result.dropped_reference),
                                      ("current data", result.n_current, result.dropped))
             if n == 0]
    return f"column {result.column!r} has no usable value {' nor '.join(sides)}: drift cannot be judged"


def _dropped_text(dropped: Dropped) -> str:
    parts = [f"{n:,} {what}" for n, what in ((dropped.nan, "null or NaN"), (dropped.posinf, "+inf"),
                                              (dropped.neginf, "-inf")) if n]
    return "all " + ", ".join(parts) if parts else "no rows"


def text_message(name: str, n_unique: int, n_values: int) -> str:
    """The warning for a column inferred as text (not tested); both engines."""
    return (f"column {name!r} looks like text or identifiers ({n_unique:,} distinct of {n_values:,} values "
            f"in the current data): not tested; declare its kind in monitoring.columns to test it")


def column_warnings(name: str, drift: stats.ColumnDrift, method: str | None) -> tuple[Notice, ...]:
    """A tested column's warnings: a small sample on either side; both engines."""
    out = []
    for side, n in (("current data", drift.n_current), ("reference", drift.n_reference)):
        if n < MIN_VALUES:
            out.append(Notice(SMALL_SAMPLE, f"only {n:,} values in the {side}: a verdict on fewer than "
                                            f"{MIN_VALUES} values is unreliable", name))
    if (method is None and drift.method not in stats.P_VALUE_METHODS
            and MIN_VALUES <= drift.n_current < DISTANCE_MIN_VALUES):
        out.append(Notice(SMALL_DISTANCE, f"{drift.method} on {drift.n_current:,} current values (a distance, "
                                          f"chosen for a reference of {drift.n_reference:,}) overstates drift "
                                          f"below {DISTANCE_MIN_VALUES:,} values", name))
    return tuple(out)


def _warnings(results: Sequence[ColumnResult], rows_reference: int, rows_current: int) -> list[Notice]:
    """The columns' warnings, said once for the window when every tested column has one."""
    out = []
    tested = [r for r in results if r.status.tested]
    by_code: dict[str, list[Notice]] = {}
    for r in results:
        for w in r.warnings:
            by_code.setdefault(w.code, []).append(w)
    for code, hits in by_code.items():
        if code != TEXT_COLUMN and len(tested) > 1 and {w.column for w in hits} >= {r.column for r in tested}:
            out.append(Notice(code, _window_message(code, rows_reference, rows_current)))
        else:
            out.extend(Notice(w.code, f"column {w.column!r}: {w.message}" if code != TEXT_COLUMN else w.message,
                              w.column) for w in hits)
    return out


def _window_message(code: str, rows_reference: int, rows_current: int) -> str:
    if code == SMALL_SAMPLE:
        return (f"small window: {rows_current:,} rows in the current data and {rows_reference:,} in the "
                f"reference; verdicts on fewer than {MIN_VALUES} values are unreliable")
    return (f"small window: {rows_current:,} rows in the current data; the distances chosen for a reference "
            f"of more than {stats.SMALL_SAMPLE:,} values overstate drift below {DISTANCE_MIN_VALUES:,} values")


def _breaches(plan: DriftPlan, tested: Sequence[ColumnResult],
              performance: stats.PerformanceChange | None) -> list[Breach]:
    out = []
    limit = plan.thresholds.get("psi")
    if limit is not None:
        for r in tested:
            value = math.nan if r.drift is None else r.drift.psi.value
            if not math.isnan(value) and value >= limit:
                out.append(Breach("psi", limit, value, r.column))
    if performance is not None:
        for metric in PERFORMANCE_DROPS:
            limit = plan.thresholds.get(f"{metric}_drop")
            if limit is None:
                continue
            drop = getattr(performance.reference, metric) - getattr(performance.current, metric)
            if not math.isnan(drop) and drop >= limit:
                out.append(Breach(f"{metric}_drop", limit, drop))
        limit = plan.thresholds.get("calibration_gap")
        gap = abs(performance.current.calibration_gap)
        if limit is not None and not math.isnan(gap) and gap >= limit:
            out.append(Breach("calibration_gap", limit, gap))
    return out
