"""The task's part of a comparison: regression, multiclass, calibration, discrimination, fairness.

Two halves. :func:`from_profiles` takes the mergeable states of the local engine
(:mod:`mops.drift.state`) to the counts and sums of :mod:`mops.drift.outcomes`;
the Spark engine gets the same counts and sums from its aggregates. Both then call
the shared :func:`assemble` (the figures) and :func:`breaches` (the plan's
thresholds), so both engines give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mops.drift import outcomes, stats
from mops.drift.outcomes import BINARY, MULTICLASS, REGRESSION
from mops.drift.plan import LOWER_LIMITS, DriftPlan
from mops.drift.result import Breach, Detail, MulticlassChange, RegressionChange, SegmentResult
from mops.drift.state import ConfusionState, OutcomeState, ProfileState, RegressionState

DECILE = "decile"


@dataclass
class Counts:
    """Everything :func:`assemble` needs, per window (reference first), from any engine."""

    task: str | None = None
    regression: tuple[outcomes.RegressionSums, outcomes.RegressionSums] | None = None
    #: Error drift, computed by the engine as a numeric column's drift.
    error_drift: stats.ColumnDrift | None = None
    regression_dropped: dict[str, int] = field(default_factory=dict)
    confusion: tuple[Mapping[tuple[str, str], int], Mapping[tuple[str, str], int]] | None = None
    confusion_dropped: dict[str, int] = field(default_factory=dict)
    #: Binary: the grading and per window the grades' counts and the Brier numerator.
    grading: str | None = None
    grades: tuple[list[outcomes.GradeCounts], list[outcomes.GradeCounts]] | None = None
    brier_sums: tuple[float, float] | None = None
    #: Binary: per window (positives, negatives, twice U, q10, q01) for DeLong.
    placements: tuple[tuple[int, int, int, int, int], tuple[int, int, int, int, int]] | None = None
    #: Per protected column, per window, the groups' counts.
    fairness: dict[str, tuple[list[outcomes.GroupCounts], list[outcomes.GroupCounts]]] = field(default_factory=dict)


def assemble(counts: Counts, segments: Sequence[SegmentResult] = ()) -> Detail:
    """The figures from the counts."""
    regression = multiclass = calibration = discrimination = None
    if counts.regression is not None:
        ref, cur = (outcomes.regression(s) for s in counts.regression)
        regression = RegressionChange(ref, cur, counts.error_drift, dict(counts.regression_dropped))
    if counts.confusion is not None:
        labels = sorted({c for side in counts.confusion for pair in side for c in pair}, key=natural)
        ref_m, cur_m = (outcomes.multiclass(side, labels) for side in counts.confusion)
        multiclass = MulticlassChange(ref_m, cur_m, dict(counts.confusion_dropped))
    if counts.grades is not None and counts.brier_sums is not None and counts.grading is not None:
        calibration = (outcomes.calibration(counts.grading, counts.grades[0], counts.brier_sums[0]),
                       outcomes.calibration(counts.grading, counts.grades[1], counts.brier_sums[1]))
    if counts.placements is not None:
        discrimination = outcomes.auc_change(*(outcomes.delong(*p) for p in counts.placements))
    fairness = tuple((outcomes.fairness(name, ref_groups), outcomes.fairness(name, cur_groups))
                     for name, (ref_groups, cur_groups) in counts.fairness.items())
    return Detail(counts.task, regression, multiclass, calibration, discrimination, fairness, tuple(segments))


def natural(value: str) -> tuple:
    """Sort key of group and class names: numbers by value, then text."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


# -- the local engine's states to counts -----------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One window's labelled scores of a binary model, worked out once: its performance
    and the counts of the detail (DeLong's placements, the Brier numerator, the deciles)."""

    performance: stats.Performance
    placements: tuple[int, int, int, int, int]
    brier_sum: float
    #: The grades of :func:`decile_counts`, when the model is graded by the reference's deciles.
    deciles: list[outcomes.GradeCounts] | None


def score(outcome: OutcomeState, decision_threshold: float, cuts: np.ndarray | None) -> Scored:
    """:class:`Scored` of one window: its scores sorted and ranked once."""
    positives, negatives = _sorted_scores(outcome)
    ranks = stats.score_ranks(positives, negatives)
    return Scored(stats.performance_from_ranks(positives, negatives, ranks, decision_threshold),
                  (int(positives.size), int(negatives.size), ranks.twice_u, ranks.q10, ranks.q01),
                  brier_sum(positives, negatives),
                  None if cuts is None else decile_counts(cuts, positives, negatives))


def from_profiles(reference: ProfileState, current: ProfileState, plan: DriftPlan,
                  scored: tuple[Scored, Scored] | None) -> Counts:
    """The counts of both windows; *scored* the windows' :func:`score` for a binary model."""
    counts = Counts(task=plan.task if plan.label is not None else None)
    if plan.label is None:
        return counts
    if plan.task == REGRESSION:
        ref_t, cur_t = _task(reference, RegressionState), _task(current, RegressionState)
        counts.regression = (_regression_sums(ref_t), _regression_sums(cur_t))
        ref_errors, cur_errors = ref_t.errors.load_sorted(), cur_t.errors.load_sorted()
        if ref_errors.size and cur_errors.size:
            counts.error_drift = stats.numeric_drift(ref_errors, cur_errors)
        counts.regression_dropped = {"missing_label": cur_t.missing_label,
                                     "nonfinite_prediction": cur_t.nonfinite_prediction}
    elif plan.task == MULTICLASS:
        ref_c, cur_c = _task(reference, ConfusionState), _task(current, ConfusionState)
        counts.confusion = (ref_c.counts, cur_c.counts)
        counts.confusion_dropped = {"missing_label": cur_c.missing_label,
                                    "missing_prediction": cur_c.missing_prediction}
    elif scored is not None:
        counts.placements = (scored[0].placements, scored[1].placements)
        counts.brier_sums = (scored[0].brier_sum, scored[1].brier_sum)
        if plan.grade is not None:
            counts.grading = plan.grade
            names = sorted(set(reference.groups[plan.grade]) | set(current.groups[plan.grade]), key=natural)
            counts.grades = tuple(  # type: ignore[assignment]
                [_grade_counts(name, state.groups[plan.grade].get(name)) for name in names]
                for state in (reference, current))
        elif scored[0].deciles is not None and scored[1].deciles is not None:
            counts.grading = DECILE
            counts.grades = (scored[0].deciles, scored[1].deciles)
        for name in plan.protected:
            values = sorted(set(reference.groups[name]) | set(current.groups[name]), key=natural)
            counts.fairness[name] = tuple(  # type: ignore[assignment]
                [group_counts(v, state.groups[name].get(v), plan.decision_threshold) for v in values]
                for state in (reference, current))
    return counts


def _task(state: ProfileState, kind: type) -> Any:
    if not isinstance(state.task, kind):
        raise ValueError(f"the profile holds no {kind.__name__}")
    return state.task


def _regression_sums(task: RegressionState) -> outcomes.RegressionSums:
    return outcomes.regression_sums_sorted(task.labels.load_sorted(), task.errors.load_sorted(),
                                           task.ape.load_sorted())


def _sorted_scores(outcome: OutcomeState) -> tuple[np.ndarray, np.ndarray]:
    return outcome.positives.load_sorted(), outcome.negatives.load_sorted()


def brier_sum(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Σ (score - label)² over sorted scores of each class."""
    return float(np.sum((positives - 1.0) ** 2)) + float(np.sum(negatives * negatives))


def decile_counts(cuts: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> list[outcomes.GradeCounts]:
    """Counts of the grades ``(c[i-1], c[i]]`` (outer ones open) of sorted scores of each class."""
    names = outcomes.decile_grade_names([float(c) for c in cuts])
    out = []
    edges = []
    for scores in (positives, negatives):
        at = np.concatenate(([0], np.searchsorted(scores, cuts, side="right"), [scores.size]))
        sums = np.concatenate(([0.0], np.cumsum(scores)))
        edges.append((np.diff(at), sums[at[1:]] - sums[at[:-1]]))
    (pos_n, pos_sum), (neg_n, neg_sum) = edges
    for i, name in enumerate(names):
        out.append(outcomes.GradeCounts(name, int(pos_n[i] + neg_n[i]), int(pos_n[i]),
                                        float(pos_sum[i]) + float(neg_sum[i])))
    return out


def _grade_counts(name: str, state: ProfileState | None) -> outcomes.GradeCounts:
    if state is None or state.outcome is None:
        return outcomes.GradeCounts(name, 0, 0, 0.0)
    positives, negatives = _sorted_scores(state.outcome)
    return outcomes.GradeCounts(name, int(positives.size + negatives.size), int(positives.size),
                                float(np.sum(positives)) + float(np.sum(negatives)))


def group_counts(name: str, state: ProfileState | None, threshold: float) -> outcomes.GroupCounts:
    if state is None or state.outcome is None:
        return outcomes.GroupCounts(name, 0, 0, 0, 0)
    positives, negatives = _sorted_scores(state.outcome)
    return outcomes.GroupCounts(
        name, int(positives.size), int(negatives.size),
        int(positives.size - np.searchsorted(positives, threshold, side="left")),
        int(negatives.size - np.searchsorted(negatives, threshold, side="left")))


# -- breaches ----------------------------------------------------------------------------------


def breaches(plan: DriftPlan, detail: Detail, segment: str | None = None) -> list[Breach]:
    """The plan's thresholds the detail reaches."""
    limits = plan.thresholds
    out: list[Breach] = []

    def check(key: str, value: float, where: str | None = None, column: str | None = None) -> None:
        limit = limits.get(key)
        if limit is None or value is None or math.isnan(value):
            return
        below = key in LOWER_LIMITS
        if (value <= limit) if below else (value >= limit):
            out.append(Breach(key, limit, value, column, where or segment, below))

    r = detail.regression
    if r is not None:
        for key in ("mae", "rmse", "mape"):
            check(f"{key}_increase", getattr(r.current, key) - getattr(r.reference, key))
        check("r2_drop", r.reference.r2 - r.current.r2)
        check("bias", abs(r.current.mean_error))
    m = detail.multiclass
    if m is not None:
        for key in ("accuracy", "macro_f1", "weighted_f1"):
            check(f"{key}_drop", getattr(m.reference, key) - getattr(m.current, key))
    if detail.calibration is not None:
        ref, cur = detail.calibration
        check("hosmer_lemeshow_pvalue", cur.hosmer_lemeshow_pvalue)
        check("brier_increase", cur.brier - ref.brier)
        for g in cur.grades:
            where = f"grade {g.grade}" + (f" of {segment}" if segment else "")
            check("jeffreys_pvalue", g.jeffreys_pvalue, where)
            check("binomial_pvalue", g.binomial_pvalue, where)
    a = detail.discrimination
    if a is not None and not math.isnan(a.change) and a.change < 0:
        check("delong_pvalue", a.pvalue)
    for _ref, fair in detail.fairness:
        check("demographic_parity_difference", fair.demographic_parity_difference, column=fair.column)
        check("demographic_parity_ratio", fair.demographic_parity_ratio, column=fair.column)
        check("equalized_odds_difference", fair.equalized_odds_difference, column=fair.column)
    return out


def segment_plan(plan: DriftPlan) -> DriftPlan:
    """The plan each segment is compared with: the same, without segments, groups or fairness limits."""
    from mops.drift.plan import FAIRNESS_THRESHOLDS

    return replace(plan, segments=[], protected=[], grade=None,
                   thresholds={k: v for k, v in plan.thresholds.items() if k not in FAIRNESS_THRESHOLDS})


def is_binary(plan: DriftPlan) -> bool:
    return plan.label is not None and plan.task in (None, BINARY)


def lifted(segment: SegmentResult) -> list[Breach]:
    """A segment's breaches, named by the segment."""
    if segment.result is None:
        return []
    where = f"{segment.column}={segment.value}"
    return [replace(b, segment=where + (f", {b.segment}" if b.segment else "")) for b in segment.result.breaches]
