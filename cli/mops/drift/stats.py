"""Drift and performance statistics: arrays or counts in, frozen dataclasses out.

Pure functions, no IO. The semantics follow shared/reference/drift.md, which
follows Evidently's defaults so that verdicts are comparable:

* method per column from the reference size ``n`` (finite values) and the number
  ``u`` of distinct values of both sides together (:func:`select_method`);
* KS drifts when p <= threshold, chi-square and z when p < threshold, distances
  (normed Wasserstein, Jensen-Shannon, PSI) when value >= threshold;
* PSI over the deciles of the reference for numeric columns, one bin per
  category for categorical ones.

Numeric inputs are **sorted arrays of finite float64 values** (see
:func:`finite_sorted`): every exact statistic is derived from sorted arrays in
linear time, and the results equal scipy's own functions on the raw data.
scipy is imported inside the functions that need it, to keep imports cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"

KS = "ks"
CHISQUARE = "chisquare"
Z = "z"
WASSERSTEIN = "wasserstein"
JENSENSHANNON = "jensenshannon"
PSI = "psi"
METHODS = (KS, CHISQUARE, Z, WASSERSTEIN, JENSENSHANNON, PSI)
#: Methods whose statistic is a p-value (drift when small).
P_VALUE_METHODS = frozenset({KS, CHISQUARE, Z})
#: Methods that need a numeric column.
NUMERIC_ONLY_METHODS = frozenset({KS, WASSERSTEIN})
DEFAULT_THRESHOLDS = {
    KS: 0.05,
    CHISQUARE: 0.05,
    Z: 0.05,
    WASSERSTEIN: 0.1,
    JENSENSHANNON: 0.1,
    PSI: 0.1,
}

#: Reference sizes up to this use tests; above it, distances.
SMALL_SAMPLE = 1000
#: Share given to an empty PSI bin before the logarithm.
PSI_EPSILON = 1e-4
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
#: Reference deciles: 0.1, 0.2, ..., 0.9 (written as k/10 so 0.3 is the double 0.3).
DECILES = np.arange(1, 10) / 10
#: Wasserstein's scale floor (Evidently's), for a constant reference column.
MIN_STD = 0.001
# Evidently bins a numeric column for Jensen-Shannon only above this many
# distinct reference values; below it uses one bin per value.
_JS_BINNING_MIN_UNIQUE = 20
# Elements processed per step of the linear scans, bounding temporary memory: 1 MB
# temporaries stay in cache and are reused, where 8 MB ones cost 15% more time.
_BLOCK = 1 << 17


@dataclass(frozen=True)
class Psi:
    """Population stability index of one column."""

    value: float
    band: str | None  # "stable" | "moderate" | "significant"; None when not computable
    reference_shares: tuple[float, ...]
    current_shares: tuple[float, ...]
    #: Bin upper bounds (numeric: reference deciles, bins right-closed) or categories.
    bins: tuple


@dataclass(frozen=True)
class ColumnDrift:
    """Drift verdict for one column."""

    kind: str
    method: str
    statistic: float  # a p-value for a test, the distance for a distance; NaN if undefined
    threshold: float
    drifted: bool
    n_reference: int  # finite (numeric) or non-missing (categorical) values compared
    n_current: int
    n_unique: int  # distinct values of both sides together
    psi: Psi


@dataclass(frozen=True)
class Performance:
    """Classification performance of scores against 0/1 labels."""

    rows: int
    positives: int
    auc: float
    gini: float
    ks: float  # KS statistic between the score distributions of the two classes
    accuracy: float
    precision: float
    recall: float
    mean_score: float
    observed_rate: float
    calibration_gap: float  # mean score minus observed rate


@dataclass(frozen=True)
class PerformanceChange:
    """Performance on reference and current data, and current minus reference."""

    decision_threshold: float
    reference: Performance
    current: Performance
    change: Mapping[str, float]


# -- method selection and verdicts ----------------------------------------------


def select_method(kind: str, n_reference: int, n_unique: int) -> str:
    """Default method for a column (drift.md's table, as Evidently's code behaves).

    *n_reference* counts the reference's finite (or non-missing) values and
    *n_unique* the distinct values of reference and current together.
    """
    if kind == NUMERIC:
        if n_reference <= SMALL_SAMPLE:
            if n_unique <= 2:
                return Z
            return CHISQUARE if n_unique <= 5 else KS
        return JENSENSHANNON if n_unique <= 5 else WASSERSTEIN
    if kind == CATEGORICAL:
        if n_reference <= SMALL_SAMPLE:
            return CHISQUARE if n_unique > 2 else Z
        return JENSENSHANNON
    raise ValueError(f"unknown column kind {kind!r}")


def is_drifted(method: str, statistic: float, threshold: float) -> bool:
    """Apply the method's comparison: KS p <= t; chi-square, z p < t; distance >= t."""
    if statistic is None or math.isnan(statistic):
        return False
    if method == KS:
        return statistic <= threshold
    if method in P_VALUE_METHODS:
        return statistic < threshold
    return statistic >= threshold


def psi_band(value: float) -> str | None:
    """Credit-risk reading of a PSI value: stable, moderate or significant shift."""
    if value is None or math.isnan(value):
        return None
    if value < PSI_MODERATE:
        return "stable"
    if value < PSI_SIGNIFICANT:
        return "moderate"
    return "significant"


# -- numeric columns ----------------------------------------------------------


def finite_sorted(values) -> np.ndarray:
    """The finite values of *values* as a sorted float64 array (NaN, ±inf dropped)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    array.sort()
    return array


def numeric_drift(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of a numeric column; *reference* and *current* are sorted and finite.

    *method* (one of :data:`METHODS`) and *threshold* override the defaults.
    """
    n_ref, n_cur = int(reference.size), int(current.size)
    psi = psi_numeric(reference, current)
    if n_ref == 0 or n_cur == 0:
        u = _n_unique(reference if n_ref else current)
        chosen = method or select_method(NUMERIC, n_ref, u)
        return column_verdict(NUMERIC, chosen, math.nan, threshold, n_ref, n_cur, u, psi)

    u = _n_unique_both(reference, current)
    chosen = method or select_method(NUMERIC, n_ref, u)
    if chosen == KS:
        statistic = ks_pvalue(reference, current)
    elif chosen == WASSERSTEIN:
        statistic = _wasserstein_sorted(reference, current) / max(float(np.std(reference)), MIN_STD)
    elif chosen == PSI:
        statistic = psi.value
    elif chosen == JENSENSHANNON and _n_unique(reference) > _JS_BINNING_MIN_UNIQUE:
        ref_counts, cur_counts = _sturges_counts(reference, current)
        statistic = jensenshannon_distance(ref_counts, cur_counts)
    else:
        _, ref_counts, cur_counts = _aligned_counts(reference, current)
        statistic = count_statistic(chosen, ref_counts, cur_counts)
    return column_verdict(NUMERIC, chosen, statistic, threshold, n_ref, n_cur, u, psi)


def value_counts(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs."""
    if sorted_values.size == 0:
        return sorted_values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.concatenate((starts, [sorted_values.size])))
    return sorted_values[starts], counts


def ks_pvalue(reference: np.ndarray, current: np.ndarray) -> float:
    """Two-sample two-sided KS p-value, exactly ``scipy.stats.ks_2samp``."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(reference, current).pvalue)


def wasserstein_normed(reference: np.ndarray, current: np.ndarray) -> float:
    """``wasserstein_distance(ref, cur) / max(std(ref, ddof=0), 0.001)``, from sorted arrays."""
    if reference.size == 0 or current.size == 0:
        return math.nan
    return _wasserstein_sorted(reference, current) / max(float(np.std(reference)), MIN_STD)


def psi_numeric(reference: np.ndarray, current: np.ndarray) -> Psi:
    """PSI over the reference deciles; sorted, finite inputs.

    Cut points are ``np.quantile(reference, [0.1, ..., 0.9])`` (linear
    interpolation), duplicates merged. Bins are right-closed, the outer ones
    open-ended: (-inf, q1], (q1, q2], ..., (q9, +inf).
    """
    if reference.size == 0 or current.size == 0:
        return Psi(math.nan, None, (), (), ())
    cuts = decile_cuts(reference)
    ref_counts = _bin_counts(reference, cuts)
    cur_counts = _bin_counts(current, cuts)
    return _psi(ref_counts, cur_counts, tuple(float(c) for c in cuts))


def decile_cuts(values: np.ndarray) -> np.ndarray:
    """``np.unique(np.quantile(values, DECILES))`` of finite values in any order (np.unique
    would import numpy.ma, 0.03 s, to ask whether nine numbers are masked)."""
    return _distinct_sorted(np.sort(np.quantile(values, DECILES)))


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (without NaN), in order."""
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


# -- categorical columns and counts ---------------------------------------------


def categorical_drift(
    reference: Mapping,
    current: Mapping,
    *,
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of a categorical column from value -> count tallies (missing excluded)."""
    keys = _sorted_keys({k for k, n in reference.items() if n} | {k for k, n in current.items() if n})
    ref_counts = np.array([reference.get(k, 0) for k in keys], dtype=np.int64)
    cur_counts = np.array([current.get(k, 0) for k in keys], dtype=np.int64)
    n_ref, n_cur, u = int(ref_counts.sum()), int(cur_counts.sum()), len(keys)
    psi = psi_counts(ref_counts, cur_counts, tuple(keys))
    chosen = method or select_method(CATEGORICAL, n_ref, u)
    if chosen in NUMERIC_ONLY_METHODS:
        raise ValueError(f"method {chosen!r} needs a numeric column")
    if n_ref == 0 or n_cur == 0:
        statistic = math.nan
    elif chosen == PSI:
        statistic = psi.value
    else:
        statistic = count_statistic(chosen, ref_counts, cur_counts)
    return column_verdict(CATEGORICAL, chosen, statistic, threshold, n_ref, n_cur, u, psi)


def chisquare_pvalue(reference_counts, current_counts) -> float:
    """``scipy.stats.chisquare(f_obs=current, f_exp=reference * n_cur / n_ref)``.

    Counts are aligned over the union of values. A value seen only in the current
    data has an expected count of 0, which makes the statistic infinite and the
    p-value 0 (as in Evidently, which calls scipy the same way).
    """
    from scipy.stats import chisquare

    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    expected = ref * (cur.sum() / ref.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(chisquare(cur, expected).pvalue)


def z_test_pvalue(reference_counts, current_counts) -> float:
    """Two-sided two-proportion z-test with pooled proportion (Evidently's ``z``).

    Counts are aligned over the sorted union of values; the proportion tested is
    that of values other than the first (smallest) one. Both sides holding the
    same single value gives p = 1.
    """
    from scipy.stats import norm

    ref = np.asarray(reference_counts, dtype=np.int64)
    cur = np.asarray(current_counts, dtype=np.int64)
    n1, n2 = int(ref.sum()), int(cur.sum())
    if n1 == 0 or n2 == 0:
        return math.nan
    ref_present, cur_present = np.flatnonzero(ref), np.flatnonzero(cur)
    if ref_present.size == 1 and cur_present.size == 1 and ref_present[0] == cur_present[0]:
        return 1.0
    p1 = (n1 - int(ref[0])) / n1
    p2 = (n2 - int(cur[0])) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * norm.sf(abs(z)))


def jensenshannon_distance(reference_counts, current_counts) -> float:
    """``scipy.spatial.distance.jensenshannon`` of the relative frequencies (natural log).

    The same operations as scipy's (which normalises again, and uses ``rel_entr``),
    in numpy: importing scipy.spatial costs more than a second on a busy machine.
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    p, q = ref / ref.sum(), cur / cur.sum()
    p, q = p / np.sum(p), q / np.sum(q)
    m = (p + q) / 2.0
    js = np.sum(_rel_entr(p, m)) + np.sum(_rel_entr(q, m))
    return float(np.sqrt(js / 2.0))


def _rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # scipy.special.rel_entr where y >= x / 2 (y is the mean with x): x log(x / y), 0 at x = 0.
    out = np.zeros_like(x)
    positive = x > 0
    out[positive] = x[positive] * np.log(x[positive] / y[positive])
    return out


def psi_counts(reference_counts, current_counts, bins: tuple = ()) -> Psi:
    """PSI of aligned bin counts: sum((c - r) * ln(c / r)), empty bins at 1e-4."""
    return _psi(np.asarray(reference_counts), np.asarray(current_counts), bins)


# -- performance ----------------------------------------------------------------


def performance(positives: np.ndarray, negatives: np.ndarray, decision_threshold: float = 0.5) -> Performance:
    """Performance of scores split by label; both arrays sorted and finite.

    AUC is the Mann-Whitney U of positives over negatives divided by n1 * n0
    (ties count one half), Gini = 2 AUC - 1, KS the largest gap between the two
    classes' score CDFs. A score >= *decision_threshold* predicts 1.
    """
    return performance_from_ranks(positives, negatives, score_ranks(positives, negatives), decision_threshold)


@dataclass(frozen=True)
class ScoreRanks:
    """Where each class's scores lie among the other's: what AUC, KS and DeLong need.

    With, for a positive, b = negatives below it and t = negatives tied with it, and
    for a negative, a = positives above it and t' = positives tied with it:
    ``twice_u`` = Σ (2b + t) over positives (twice the Mann-Whitney U), ``q10`` = Σ (2b + t)²,
    ``q01`` = Σ (2a + t')² over negatives; ``ks`` the largest gap between the classes'
    right-continuous score CDFs (NaN when a class is empty).
    """

    twice_u: int
    q10: int
    q01: int
    ks: float


def score_ranks(positives: np.ndarray, negatives: np.ndarray) -> ScoreRanks:
    """:class:`ScoreRanks` of the sorted finite scores of each class, in one pass over each.

    Each score is searched for once in the other class; the scores it is tied with
    (none, for a continuous score) are counted by a second search of those alone.
    """
    n1, n0 = int(positives.size), int(negatives.size)
    if n1 == 0 or n0 == 0:
        return ScoreRanks(0, 0, 0, math.nan)
    twice_u = q10 = q01 = 0
    ks = 0.0
    for own, other, n_own, n_other in ((positives, negatives, n1, n0), (negatives, positives, n0, n1)):
        for a in range(0, n_own, _BLOCK):
            block = own[a : a + _BLOCK]
            below, at_or_below = _below_and_at_or_below(other, block)
            # KS: at the last of each run of equal values, the own CDF is its index.
            ends = np.flatnonzero(_run_end_flags(own, a, a + block.size))
            if ends.size:
                gap = np.abs((a + ends + 1) / n_own - at_or_below[ends] / n_other)
                ks = max(ks, float(np.max(gap)))
            if own is positives:
                twice = below + at_or_below
                twice_u += int(twice.sum())
                q10 += _sum_of_squares(twice, 2 * n0)
            else:
                twice = (2 * n1) - below - at_or_below
                q01 += _sum_of_squares(twice, 2 * n1)
    return ScoreRanks(twice_u, q10, q01, ks)


def performance_from_ranks(positives: np.ndarray, negatives: np.ndarray, ranks: ScoreRanks,
                           decision_threshold: float = 0.5) -> Performance:
    """:func:`performance` of sorted finite scores whose :class:`ScoreRanks` are known."""
    n1, n0 = int(positives.size), int(negatives.size)
    return performance_from_counts(
        positives=n1, negatives=n0, twice_u=ranks.twice_u, ks=ranks.ks,
        true_positive=n1 - int(np.searchsorted(positives, decision_threshold, side="left")),
        false_positive=n0 - int(np.searchsorted(negatives, decision_threshold, side="left")),
        score_sum=float(positives.sum()) + float(negatives.sum()))


def _below_and_at_or_below(sorted_values: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``searchsorted`` of sorted *keys* on the left and on the right; the right one
    searched again only for the keys that *sorted_values* holds."""
    below = np.searchsorted(sorted_values, keys, side="left")
    at = np.minimum(below, sorted_values.size - 1)
    tied = np.flatnonzero(sorted_values[at] == keys)
    if not tied.size:
        return below, below
    at_or_below = below.copy()
    at_or_below[tied] = np.searchsorted(sorted_values, keys[tied], side="right")
    return below, at_or_below


def _sum_of_squares(values: np.ndarray, bound: int) -> int:
    """The exact sum of squares of non-negative integers at most *bound*, in int64 chunks."""
    step = max(1, (2**62) // max(1, bound * bound))
    values = values.astype(np.int64, copy=False)
    return sum(int(np.dot(values[a:a + step], values[a:a + step])) for a in range(0, values.size, step))


def performance_from_counts(*, positives: int, negatives: int, twice_u: int, ks: float,
                            true_positive: int, false_positive: int, score_sum: float) -> Performance:
    """:func:`performance` from counts, so any engine that can count gives the same figures.

    *twice_u* is twice the Mann-Whitney U of positives over negatives, *ks* the largest
    gap between the classes' score CDFs, the true and false positives those scored at or
    above the decision threshold, *score_sum* the sum of every score.
    """
    n1, n0 = positives, negatives
    n = n1 + n0
    nan = math.nan
    if n == 0:
        return Performance(0, 0, nan, nan, nan, nan, nan, nan, nan, nan, nan)
    auc = gap = nan
    if n1 and n0:
        auc = twice_u / (2 * n1 * n0)
        gap = ks
    true_neg = n0 - false_positive
    predicted_pos = true_positive + false_positive
    mean_score = score_sum / n
    observed_rate = n1 / n
    return Performance(
        rows=n,
        positives=n1,
        auc=auc,
        gini=2 * auc - 1,
        ks=gap,
        accuracy=(true_positive + true_neg) / n,
        precision=true_positive / predicted_pos if predicted_pos else nan,
        recall=true_positive / n1 if n1 else nan,
        mean_score=mean_score,
        observed_rate=observed_rate,
        calibration_gap=mean_score - observed_rate,
    )


def compare_performance(
    reference: Performance, current: Performance, decision_threshold: float = 0.5
) -> PerformanceChange:
    """Pair reference and current performance with their difference (current - reference)."""
    skip = {"rows", "positives"}
    change = {
        f.name: getattr(current, f.name) - getattr(reference, f.name) for f in fields(Performance) if f.name not in skip
    }
    return PerformanceChange(decision_threshold, reference, current, change)


# -- internals ------------------------------------------------------------------


def column_verdict(kind, method, statistic, threshold, n_ref, n_cur, u, psi) -> ColumnDrift:
    """A column's verdict from its statistic and the method's threshold (both engines end here)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    limit = DEFAULT_THRESHOLDS[method] if threshold is None else float(threshold)
    statistic = float(statistic)
    return ColumnDrift(
        kind=kind,
        method=method,
        statistic=statistic,
        threshold=limit,
        drifted=is_drifted(method, statistic, limit),
        n_reference=n_ref,
        n_current=n_cur,
        n_unique=u,
        psi=psi,
    )


def count_statistic(method: str, ref_counts, cur_counts) -> float:
    """Chi-square p-value, z p-value or Jensen-Shannon distance from per-value counts."""
    if method == CHISQUARE:
        return chisquare_pvalue(ref_counts, cur_counts)
    if method == Z:
        return z_test_pvalue(ref_counts, cur_counts)
    if method == JENSENSHANNON:
        return jensenshannon_distance(ref_counts, cur_counts)
    raise ValueError(f"method {method!r} does not work on counts")


def _psi(ref_counts: np.ndarray, cur_counts: np.ndarray, bins: tuple) -> Psi:
    n_ref, n_cur = ref_counts.sum(), cur_counts.sum()
    if n_ref == 0 or n_cur == 0:
        return Psi(math.nan, None, (), (), bins)
    ref = ref_counts / n_ref
    cur = cur_counts / n_cur
    ref_eps = np.where(ref == 0, PSI_EPSILON, ref)
    cur_eps = np.where(cur == 0, PSI_EPSILON, cur)
    value = float(np.sum((cur_eps - ref_eps) * np.log(cur_eps / ref_eps)))
    return Psi(
        value,
        psi_band(value),
        tuple(float(x) for x in ref),
        tuple(float(x) for x in cur),
        bins,
    )


def _bin_counts(sorted_values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    # Values <= each cut point, then first differences: bins (c[i-1], c[i]].
    at_or_below = np.searchsorted(sorted_values, cuts, side="right")
    edges = np.concatenate(([0], at_or_below, [sorted_values.size]))
    return np.diff(edges)


def _n_unique(sorted_values: np.ndarray) -> int:
    if sorted_values.size == 0:
        return 0
    return 1 + int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1]))


def _run_ends(sorted_values: np.ndarray) -> Iterator[np.ndarray]:
    """Indices of the last element of each run of equal values, a block at a time."""
    n = sorted_values.size
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        yield a + np.flatnonzero(_run_end_flags(sorted_values, a, b))


def _run_end_flags(sorted_values: np.ndarray, a: int, b: int) -> np.ndarray:
    """For each of ``sorted_values[a:b]``: whether it is the last of its run of equal values."""
    is_end = np.empty(b - a, dtype=bool)
    np.not_equal(sorted_values[a + 1 : b], sorted_values[a : b - 1], out=is_end[:-1])
    is_end[-1] = b == sorted_values.size or sorted_values[b - 1] != sorted_values[b]
    return is_end


def _n_unique_both(u: np.ndarray, v: np.ndarray) -> int:
    """Distinct values of two sorted arrays together: each side's, less those they share."""
    u_unique = shared = 0
    for ends in _run_ends(u):
        keys = u[ends]
        u_unique += keys.size
        if v.size:
            at = np.minimum(np.searchsorted(v, keys, side="left"), v.size - 1)
            shared += int(np.count_nonzero(v[at] == keys))
    return u_unique + _n_unique(v) - shared


def _aligned_counts(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of two sorted arrays together, and how often each side holds them."""
    u_keys, u_counts = value_counts(u)
    v_keys, v_counts = value_counts(v)
    keys = _distinct_sorted(np.sort(np.concatenate((u_keys, v_keys))))  # np.union1d, without numpy.ma
    u_aligned = np.zeros(keys.size, dtype=np.int64)
    v_aligned = np.zeros(keys.size, dtype=np.int64)
    u_aligned[np.searchsorted(keys, u_keys)] = u_counts
    v_aligned[np.searchsorted(keys, v_keys)] = v_counts
    return keys, u_aligned, v_aligned


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """``scipy.stats.wasserstein_distance(u, v)`` of two sorted, non-empty arrays.

    The area between the two CDFs equals the area between the quantile functions,
    the integral over t in [0, 1) of |Q_u(t) - Q_v(t)|, with Q_u(t) = u[i] on
    [i/n, (i+1)/n) and Q_v(t) = v[j] on [j/m, (j+1)/m). Cut [0, 1) at every i/n and
    j/m; each piece starts at one of them, and its other index and its length
    follow from integer arithmetic over the common denominator n*m (no merge, no
    search). With v the longer array, almost every piece starting at a j/m is a full
    1/m long, so those cost a gather and a sum: the few a u-break cuts short are
    corrected, and the pieces starting at an i/n computed in full.
    """
    if u.size > v.size:
        u, v = v, u  # symmetric: the longer array takes the cheap pass
    n, m = int(u.size), int(v.size)
    # Pieces starting at j/m, j = 1..m-1, each counted n/(nm) long for now. Their u is
    # u[floor(j n / m)]: u[i] repeated for the j from ceil(i m / n) on, no index array.
    full = 0.0
    for a in range(1, m, _BLOCK):
        b = min(a + _BLOCK, m)
        first, last = (a * n) // m, ((b - 1) * n) // m
        edges = (np.arange(first, last + 2, dtype=np.int64) * m + (n - 1)) // n
        np.clip(edges, a, b, out=edges)
        gap = np.repeat(u[first : last + 1], np.diff(edges))
        np.subtract(gap, v[a:b], out=gap)
        full += float(np.sum(np.abs(gap, out=gap)))
    # ... except those where j/m is also some i/n (every m/gcd-th): they start at a u-break.
    step = m // math.gcd(n, m)
    shared = np.arange(step, m, step, dtype=np.int64)
    if shared.size:
        full -= float(np.sum(np.abs(u[(shared * n) // m] - v[shared])))
    total = n * full
    # A u-break strictly inside (j/m, (j+1)/m) ends that piece early: take off the rest.
    inner = np.arange(1, n, dtype=np.int64) * m
    inner = inner[inner % n != 0] // n  # the j of each such u-break, non-decreasing
    if inner.size:
        cut = inner[np.concatenate(([True], inner[1:] != inner[:-1]))]
        cut = cut[(cut >= 1) & ((cut * n) % m != 0)]
        jn = cut * n
        i = jn // m
        rest = n - ((i + 1) * m - jn)
        total -= float(np.dot(rest.astype(np.float64), np.abs(u[i] - v[cut])))
    # Pieces starting at i/n, i = 0..n-1 (t = 0 included): to the next i/n or j/m.
    for a in range(0, n, _BLOCK):
        im = np.arange(a, min(a + _BLOCK, n), dtype=np.int64) * m
        j = im // n
        length = np.minimum(m, (j + 1) * n - im)
        total += float(np.dot(length.astype(np.float64), np.abs(u[a : a + im.size] - v[j])))
    return total / (float(n) * float(m))


def _ks_statistic_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """The two-sample KS statistic (``scipy.stats.ks_2samp(u, v).statistic``), sorted inputs.

    The largest gap between the right-continuous CDFs is at a sample value; at the
    last of each run of equal values a side's own CDF is its index, the other's a search.
    """
    n, m = int(u.size), int(v.size)
    largest = 0.0
    for own, other, n_own, n_other in ((u, v, n, m), (v, u, m, n)):
        for ends in _run_ends(own):
            if not ends.size:  # a block inside one run of equal values
                continue
            f_own = (ends + 1) / n_own
            f_other = np.searchsorted(other, own[ends], side="right") / n_other
            largest = max(largest, float(np.max(np.abs(f_own - f_other))))
    return largest


def _sturges_counts(reference: np.ndarray, current: np.ndarray):
    # Evidently's binning for a many-valued numeric column under Jensen-Shannon:
    # Sturges bins over both samples together.
    edges = np.histogram_bin_edges(np.concatenate((reference, current)), bins="sturges")
    return np.histogram(reference, edges)[0], np.histogram(current, edges)[0]


def _sorted_keys(keys: set) -> list:
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__name__, str(k)))
