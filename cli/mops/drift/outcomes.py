"""Statistics of predictions against outcomes, beyond a binary score's performance.

Pure functions of counts and sums that any engine can compute exactly on
mergeable per-partition state (:mod:`mops.drift.state` locally, Spark aggregates in
:mod:`mops.drift.spark`), so a window split any way gives the same figures:

* **regression** (:func:`regression`): MAE, RMSE, MAPE (rows with a zero label
  left out and counted), R², mean error (prediction minus label: positive means
  over-prediction); the error distribution's drift is a numeric column's drift;
* **multiclass** (:func:`multiclass`): accuracy, macro and weighted F1, per-class
  precision and recall, from the confusion matrix (scikit-learn's definitions,
  a class never predicted has precision 0, as ``zero_division=0``);
* **calibration per grade** (:func:`calibration`): observed default rate, mean
  predicted, the Jeffreys interval and test (the ECB's IRB validation reporting:
  p-value ``Beta(D + 1/2, N - D + 1/2).cdf(PD)``, small when the PD
  underestimates the defaults), the one-sided binomial test, Hosmer–Lemeshow
  (chi-square with G - 2 degrees of freedom);
* **discrimination** (:func:`delong`): AUC with DeLong's variance and 95%
  interval from the placement values, and DeLong's test of a current AUC against
  the reference AUC (independent samples);
* **fairness** (:func:`fairness`): selection rate, true- and false-positive rate
  per group, demographic-parity difference and ratio, equalised-odds difference
  (fairlearn's definitions; the four-fifths rule is practice, not law).

scipy.special is imported inside the functions that need it (scipy.stats, which calls the same
functions, takes seconds to import).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mops.drift.stats import score_ranks

BINARY, REGRESSION, MULTICLASS = "binary", "regression", "multiclass"
TASKS = (BINARY, REGRESSION, MULTICLASS)
#: Two-sided 95%: the normal quantile of 0.975.
Z_975 = 1.959963984540054
CONFIDENCE = 0.95


# -- regression -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionSums:
    """What regression metrics need from one window: all mergeable (counts and sums).

    ``errors`` are prediction minus label; ``label_m2`` the sum of squared deviations
    of the labels from their mean; ``ape`` the sum of |error| / |label| over the
    ``n - zero_labels`` rows whose label is not zero.
    """

    n: int
    error_sum: float
    abs_error_sum: float
    squared_error_sum: float
    ape_sum: float
    zero_labels: int
    label_mean: float
    label_m2: float


@dataclass(frozen=True)
class Regression:
    rows: int
    mae: float
    rmse: float
    mape: float
    r2: float
    mean_error: float
    #: Rows left out of MAPE: their label is zero.
    zero_labels: int


def regression_sums_sorted(labels: np.ndarray, errors: np.ndarray, ape: np.ndarray) -> RegressionSums:
    """The sums of one window from its sorted labels, errors and absolute percentage errors (summed
    in sorted order, so the figures do not depend on the order the rows arrive in)."""
    n = int(labels.size)
    mean = float(np.mean(labels)) if n else math.nan
    return RegressionSums(
        n=n, error_sum=float(np.sum(errors)), abs_error_sum=float(np.sum(np.abs(errors))),
        squared_error_sum=float(np.sum(errors * errors)), ape_sum=float(np.sum(ape)),
        zero_labels=n - int(ape.size), label_mean=mean,
        label_m2=float(np.sum((labels - mean) ** 2)) if n else math.nan)


def regression(s: RegressionSums) -> Regression:
    """MAE, RMSE, MAPE, R² and mean error as scikit-learn defines them (R² of a constant label: NaN)."""
    n = s.n
    if n == 0:
        nan = math.nan
        return Regression(0, nan, nan, nan, nan, nan, s.zero_labels)
    with_label = n - s.zero_labels
    r2 = 1.0 - s.squared_error_sum / s.label_m2 if s.label_m2 > 0 else math.nan
    return Regression(
        rows=n, mae=s.abs_error_sum / n, rmse=math.sqrt(s.squared_error_sum / n),
        mape=s.ape_sum / with_label if with_label else math.nan, r2=r2,
        mean_error=s.error_sum / n, zero_labels=s.zero_labels)


#: Regression metrics and the direction that is worse: +1 when larger is worse.
REGRESSION_METRICS = {"mae": 1, "rmse": 1, "mape": 1, "r2": -1, "mean_error": 0}


# -- multiclass -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScores:
    label: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Multiclass:
    rows: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    classes: tuple[ClassScores, ...]
    #: Rows by true class (outer) and predicted class (inner), over ``labels``.
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]


def multiclass(confusion: Mapping[tuple[str, str], int], labels: Sequence[str] | None = None) -> Multiclass:
    """Metrics from counts per (true class, predicted class).

    *labels* fixes the classes and their order (both windows use the union of
    their classes); by default the classes seen, sorted. Precision, recall and F1
    of a class without predictions or without rows are 0 (scikit-learn's
    ``zero_division=0``); macro F1 averages over the classes, weighted F1 weights
    them by their rows.
    """
    classes = tuple(labels) if labels is not None else tuple(sorted({k for pair in confusion for k in pair}))
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for (true, predicted), n in confusion.items():
        matrix[index[true], index[predicted]] += int(n)
    rows = int(matrix.sum())
    diagonal = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    scores = []
    for i, c in enumerate(classes):
        tp = int(diagonal[i])
        precision = tp / int(predicted[i]) if predicted[i] else 0.0
        recall = tp / int(support[i]) if support[i] else 0.0
        # scikit-learn: F1 = 2 tp / (2 tp + fp + fn), 0 when the denominator is 0.
        denominator = 2 * tp + (int(predicted[i]) - tp) + (int(support[i]) - tp)
        f1 = 2 * tp / denominator if denominator else 0.0
        scores.append(ClassScores(c, int(support[i]), int(predicted[i]), precision, recall, f1))
    if rows == 0:
        return Multiclass(0, math.nan, math.nan, math.nan, tuple(scores), classes,
                          tuple(tuple(int(x) for x in r) for r in matrix))
    f1s = np.array([s.f1 for s in scores])
    present = support > 0
    # scikit-learn's macro average runs over the labels present in either y_true or y_pred.
    seen = present | (predicted > 0)
    macro = float(np.mean(f1s[seen])) if seen.any() else math.nan
    weighted = float(np.average(f1s, weights=support)) if support.sum() else math.nan
    return Multiclass(rows, int(diagonal.sum()) / rows, macro, weighted, tuple(scores), classes,
                      tuple(tuple(int(x) for x in r) for r in matrix))


MULTICLASS_METRICS = ("accuracy", "macro_f1", "weighted_f1")


# -- calibration per grade ------------------------------------------------------------------


@dataclass(frozen=True)
class GradeCounts:
    """One grade of one window: rows with a label and a finite score, defaults, and the score sum."""

    grade: str
    n: int
    defaults: int
    score_sum: float


@dataclass(frozen=True)
class Grade:
    grade: str
    n: int
    defaults: int
    observed_rate: float
    mean_predicted: float
    #: Jeffreys 95% interval of the default rate (Beta(D + 1/2, N - D + 1/2) quantiles).
    jeffreys_low: float
    jeffreys_high: float
    #: Jeffreys test p-value: Beta(D + 1/2, N - D + 1/2).cdf(mean predicted); small when
    #: the prediction underestimates the observed rate.
    jeffreys_pvalue: float
    #: One-sided binomial test of D defaults in N at the mean predicted rate (greater).
    binomial_pvalue: float


@dataclass(frozen=True)
class Calibration:
    #: ``decile`` (the reference's score deciles) or the plan's grade column.
    grading: str
    grades: tuple[Grade, ...]
    hosmer_lemeshow: float
    hosmer_lemeshow_df: int
    hosmer_lemeshow_pvalue: float
    brier: float


def grade(counts: GradeCounts) -> Grade:
    """The Jeffreys interval and test, and the binomial test, of one grade."""
    # scipy.special's functions, which scipy.stats's beta and binomtest call (importing
    # scipy.stats costs seconds): the regularised incomplete beta and the binomial tail.
    from scipy.special import bdtrc, betainc, betaincinv

    n, d = counts.n, counts.defaults
    if n == 0:
        nan = math.nan
        return Grade(counts.grade, 0, 0, nan, nan, nan, nan, nan, nan)
    pd = counts.score_sum / n
    a, b = d + 0.5, n - d + 0.5
    low = float(betaincinv(a, b, (1 - CONFIDENCE) / 2))
    high = float(betaincinv(a, b, (1 + CONFIDENCE) / 2))
    jeffreys = float(betainc(a, b, min(max(pd, 0.0), 1.0)))
    # binomtest(d, n, pd, alternative="greater").pvalue is P(X >= d) = binom.sf(d - 1, n, pd).
    binomial = (1.0 if d == 0 else float(bdtrc(d - 1, n, pd))) if 0.0 <= pd <= 1.0 else math.nan
    return Grade(counts.grade, n, d, d / n, pd, low, high, jeffreys, binomial)


def calibration(grading: str, counts: Sequence[GradeCounts], brier_sum: float) -> Calibration:
    """Per-grade tests and Hosmer–Lemeshow over the grades with rows; *brier_sum* is
    the sum over rows of (score - label)², the Brier score's numerator."""
    from scipy.special import chdtrc

    grades = tuple(grade(c) for c in counts)
    used = [g for g in grades if g.n > 0]
    n = sum(g.n for g in used)
    statistic = 0.0
    for g in used:
        expected = g.mean_predicted * g.n
        variance = expected * (1 - g.mean_predicted)
        if variance > 0:
            statistic += (g.defaults - expected) ** 2 / variance
        elif g.defaults != expected:
            statistic = math.inf
    df = len(used) - 2
    pvalue = float(chdtrc(df, statistic)) if df > 0 and n else math.nan  # chi2.sf(statistic, df)
    return Calibration(grading, grades, statistic if n else math.nan, df, pvalue,
                       brier_sum / n if n else math.nan)


def decile_grade_names(cuts: Sequence[float]) -> list[str]:
    """Names of the score grades ``(c[i-1], c[i]]``, outer ones open: ``<= 0.1``, ``(0.1, 0.2]``, ``> 0.9``."""
    if not cuts:
        return ["all"]
    names = [f"<= {cuts[0]:.6g}"]
    names += [f"({a:.6g}, {b:.6g}]" for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    names.append(f"> {cuts[-1]:.6g}")
    return names


# -- discrimination -------------------------------------------------------------------------


@dataclass(frozen=True)
class Discrimination:
    auc: float
    #: DeLong's standard error of the AUC and its 95% interval (AUC ± 1.96 se).
    se: float
    low: float
    high: float


@dataclass(frozen=True)
class AucChange:
    """DeLong's test of the current AUC against the reference AUC (independent windows)."""

    reference: Discrimination
    current: Discrimination
    change: float
    z: float
    pvalue: float


def delong(positives: int, negatives: int, twice_u: int, q10: int, q01: int) -> Discrimination:
    """AUC and DeLong's variance from exact integers.

    With V10 of a positive the share of negatives below it (ties half) and V01 of a
    negative the share of positives above it: ``twice_u`` = Σ over positives of
    (2 · negatives below + negatives tied) = Σ over negatives of (2 · positives above +
    tied); ``q10`` the sum of the squares of the first terms, ``q01`` of the second.
    Then S10 = (n1 q10 - twice_u²) / (4 n0² n1 (n1 - 1)), S01 likewise, and
    var(AUC) = S10 / n1 + S01 / n0 - computed in exact fractions.
    """
    n1, n0 = positives, negatives
    if n1 == 0 or n0 == 0:
        return Discrimination(math.nan, math.nan, math.nan, math.nan)
    auc = Fraction(twice_u, 2 * n1 * n0)
    if n1 < 2 or n0 < 2:
        return Discrimination(float(auc), math.nan, math.nan, math.nan)
    s10 = Fraction(n1 * q10 - twice_u * twice_u, 4 * n0 * n0 * n1 * (n1 - 1))
    s01 = Fraction(n0 * q01 - twice_u * twice_u, 4 * n1 * n1 * n0 * (n0 - 1))
    variance = s10 / n1 + s01 / n0
    se = math.sqrt(max(float(variance), 0.0))
    a = float(auc)
    return Discrimination(a, se, a - Z_975 * se, a + Z_975 * se)


def placement_sums(positives: np.ndarray, negatives: np.ndarray) -> tuple[int, int, int]:
    """``(twice_u, q10, q01)`` of :func:`delong` from the sorted scores of each class."""
    ranks = score_ranks(positives, negatives)
    return ranks.twice_u, ranks.q10, ranks.q01


def auc_change(reference: Discrimination, current: Discrimination) -> AucChange:
    """z = (AUC now - AUC then) / sqrt(var now + var then), two-sided p."""
    from scipy.special import ndtr

    change = current.auc - reference.auc
    spread = math.sqrt(current.se ** 2 + reference.se ** 2) if not (
        math.isnan(current.se) or math.isnan(reference.se)) else math.nan
    if math.isnan(spread) or spread == 0:
        return AucChange(reference, current, change, math.nan, math.nan)
    z = change / spread
    return AucChange(reference, current, change, z, float(2 * ndtr(-abs(z))))  # 2 norm.sf(|z|)


# -- fairness -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCounts:
    """One group's labelled rows: positives, negatives and those predicted positive of each."""

    group: str
    positives: int
    negatives: int
    true_positive: int
    false_positive: int


@dataclass(frozen=True)
class GroupRates:
    group: str
    rows: int
    selection_rate: float
    true_positive_rate: float
    false_positive_rate: float


@dataclass(frozen=True)
class Fairness:
    column: str
    groups: tuple[GroupRates, ...]
    demographic_parity_difference: float
    demographic_parity_ratio: float
    equalized_odds_difference: float


def fairness(column: str, counts: Sequence[GroupCounts]) -> Fairness:
    """fairlearn's ``MetricFrame`` rates per group and its parity metrics (``between_groups``)."""
    groups = []
    for c in counts:
        n = c.positives + c.negatives
        if n == 0:
            continue
        groups.append(GroupRates(
            c.group, n, (c.true_positive + c.false_positive) / n,
            c.true_positive / c.positives if c.positives else math.nan,
            c.false_positive / c.negatives if c.negatives else math.nan))

    def spread(values: list[float]) -> float:
        kept = [v for v in values if not math.isnan(v)]
        return max(kept) - min(kept) if kept else math.nan

    selection = [g.selection_rate for g in groups]
    high = max(selection, default=math.nan)
    ratio = min(selection) / high if selection and high > 0 else math.nan
    tpr, fpr = spread([g.true_positive_rate for g in groups]), spread([g.false_positive_rate for g in groups])
    eo = max(v for v in (tpr, fpr)) if not (math.isnan(tpr) or math.isnan(fpr)) else math.nan
    return Fairness(column, tuple(groups), spread(selection), ratio, eo)
