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
from collections.abc import Mapping
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
# Elements processed per step of the linear scans, bounding temporary memory.
_BLOCK = 1 << 20


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
        return _verdict(NUMERIC, chosen, math.nan, threshold, n_ref, n_cur, u, psi)

    merged, from_current = _merge_sorted(reference, current)
    u = _n_unique(merged)
    chosen = method or select_method(NUMERIC, n_ref, u)
    if chosen == KS:
        statistic = ks_pvalue(reference, current)
    elif chosen == WASSERSTEIN:
        distance, _ = _scan_cdfs(merged, from_current, n_ref, n_cur)
        statistic = distance / max(float(np.std(reference)), MIN_STD)
    elif chosen == PSI:
        statistic = psi.value
    elif chosen == JENSENSHANNON and _n_unique(reference) > _JS_BINNING_MIN_UNIQUE:
        ref_counts, cur_counts = _sturges_counts(reference, current)
        statistic = jensenshannon_distance(ref_counts, cur_counts)
    else:
        _, ref_counts, cur_counts = _value_counts(merged, from_current)
        statistic = _count_statistic(chosen, ref_counts, cur_counts)
    return _verdict(NUMERIC, chosen, statistic, threshold, n_ref, n_cur, u, psi)


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
    merged, from_current = _merge_sorted(reference, current)
    distance, _ = _scan_cdfs(merged, from_current, reference.size, current.size)
    return distance / max(float(np.std(reference)), MIN_STD)


def psi_numeric(reference: np.ndarray, current: np.ndarray) -> Psi:
    """PSI over the reference deciles; sorted, finite inputs.

    Cut points are ``np.quantile(reference, [0.1, ..., 0.9])`` (linear
    interpolation), duplicates merged. Bins are right-closed, the outer ones
    open-ended: (-inf, q1], (q1, q2], ..., (q9, +inf).
    """
    if reference.size == 0 or current.size == 0:
        return Psi(math.nan, None, (), (), ())
    cuts = np.unique(np.quantile(reference, DECILES))
    ref_counts = _bin_counts(reference, cuts)
    cur_counts = _bin_counts(current, cuts)
    return _psi(ref_counts, cur_counts, tuple(float(c) for c in cuts))


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
        statistic = _count_statistic(chosen, ref_counts, cur_counts)
    return _verdict(CATEGORICAL, chosen, statistic, threshold, n_ref, n_cur, u, psi)


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
    """``scipy.spatial.distance.jensenshannon`` of the relative frequencies (natural log)."""
    from scipy.spatial.distance import jensenshannon

    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    return float(jensenshannon(ref / ref.sum(), cur / cur.sum()))


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
    n1, n0 = int(positives.size), int(negatives.size)
    n = n1 + n0
    nan = math.nan
    if n == 0:
        return Performance(0, 0, nan, nan, nan, nan, nan, nan, nan, nan, nan)
    auc = ks = nan
    if n1 and n0:
        twice_u = 0
        for a in range(0, n1, _BLOCK):
            block = positives[a : a + _BLOCK]
            below = np.searchsorted(negatives, block, side="left")
            at_or_below = np.searchsorted(negatives, block, side="right")
            twice_u += 2 * int(below.sum()) + int((at_or_below - below).sum())
        auc = twice_u / (2 * n1 * n0)
        merged, from_neg = _merge_sorted(positives, negatives)
        _, ks = _scan_cdfs(merged, from_neg, n1, n0)
        del merged, from_neg
    true_pos = n1 - int(np.searchsorted(positives, decision_threshold, side="left"))
    false_pos = n0 - int(np.searchsorted(negatives, decision_threshold, side="left"))
    true_neg = n0 - false_pos
    predicted_pos = true_pos + false_pos
    mean_score = (float(positives.sum()) + float(negatives.sum())) / n
    observed_rate = n1 / n
    return Performance(
        rows=n,
        positives=n1,
        auc=auc,
        gini=2 * auc - 1,
        ks=ks,
        accuracy=(true_pos + true_neg) / n,
        precision=true_pos / predicted_pos if predicted_pos else nan,
        recall=true_pos / n1 if n1 else nan,
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


def _verdict(kind, method, statistic, threshold, n_ref, n_cur, u, psi) -> ColumnDrift:
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


def _count_statistic(method: str, ref_counts, cur_counts) -> float:
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


def _merge_sorted(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted arrays; returns (merged, mask of elements that came from v).

    Linear after one searchsorted, instead of re-sorting the concatenation.
    """
    # Timsort finds the two sorted runs and merges them in linear time.
    merged = np.concatenate((u, v))
    merged.sort(kind="stable")
    # Mark where the elements of the smaller array land (ties: u before v);
    # searching the smaller array in the larger one is the cheap direction.
    small, large, small_is_v = (v, u, True) if v.size <= u.size else (u, v, False)
    marks = np.zeros(merged.size, dtype=bool)
    for a in range(0, small.size, _BLOCK):
        block = small[a : a + _BLOCK]
        # Position of v[j]: (#u <= v[j]) + j; of u[i]: (#v < u[i]) + i.
        position = np.searchsorted(large, block, side="right" if small_is_v else "left")
        position += np.arange(a, a + block.size)
        marks[position] = True
    if not small_is_v:
        np.logical_not(marks, out=marks)
    return merged, marks


def _n_unique(sorted_values: np.ndarray) -> int:
    if sorted_values.size == 0:
        return 0
    return 1 + int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1]))


def _scan_cdfs(merged: np.ndarray, from_v: np.ndarray, n_u: int, n_v: int) -> tuple[float, float]:
    """Integral and maximum of |F_u - F_v| over the merged sample.

    The same terms as scipy's ``_cdf_distance`` (p = 1): at each merged value,
    the CDFs times the gap to the next value. Inside a run of ties the running
    counts differ from scipy's ``searchsorted(..., 'right')``, but the gap there
    is 0, so every term, and hence the sum, is identical; the maximum is taken
    only where the gap is positive, which is where the CDFs are exact.
    """
    n = merged.size
    total = 0.0
    largest = 0.0
    carry = 0
    for a in range(0, n - 1, _BLOCK):
        b = min(a + _BLOCK, n - 1)
        deltas = np.diff(merged[a : b + 1])
        v_index = np.cumsum(from_v[a:b], dtype=np.int64)
        v_index += carry
        carry = int(v_index[-1])
        u_index = np.arange(a + 1, b + 1, dtype=np.int64) - v_index
        gap = np.abs(u_index / n_u - v_index / n_v)
        total += float(np.sum(np.multiply(gap, deltas)))
        steps = deltas > 0
        if steps.any():
            largest = max(largest, float(gap[steps].max()))
    return total, largest


def _value_counts(merged: np.ndarray, from_v: np.ndarray):
    """Distinct values of a merged sample and how often each side holds them."""
    starts = np.flatnonzero(np.concatenate(([True], merged[1:] != merged[:-1])))
    keys = merged[starts]
    totals = np.diff(np.concatenate((starts, [merged.size])))
    v_counts = np.add.reduceat(from_v.astype(np.int64), starts)
    return keys, totals - v_counts, v_counts


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
