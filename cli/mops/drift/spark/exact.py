"""The last steps of the exact statistics, from the few numbers the Spark jobs return.

Pure, numpy and scipy only, so each is tested against the function it stands in
for on the raw data: numpy's linear quantile (the PSI cut points), numpy's Sturges
bin edges (Jensen-Shannon on many values), scipy's ``ks_2samp`` p-value, and
:func:`mops.drift.stats.performance`. Each reproduces the same floating-point
operations, not just the same formula, so the results are equal, not close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from mops.drift import stats

#: scipy's ks_2samp computes the exact p-value up to this sample size ("auto" mode).
KS_EXACT_MAX_N = 10000


def decile_positions(n: int) -> list[tuple[int, int, float]]:
    """For each of ``stats.DECILES``: the two order statistics (0-based) numpy interpolates, and the weight.

    numpy's "linear" method: virtual index ``(n - 1) q``, its floor and the next
    index, both clipped to the last element when the index reaches it.
    """
    virtual = (n - 1) * stats.DECILES
    previous = np.floor(virtual)
    following = previous + 1
    last = virtual >= n - 1
    previous[last] = n - 1
    following[last] = n - 1
    gamma = virtual - np.where(last, -1.0, previous)  # numpy sets the index to -1 there (weight unused)
    return [(int(p), int(f), float(g)) for p, f, g in zip(previous, following, gamma, strict=True)]


def deciles(n: int, value_at: Callable[[int], float]) -> np.ndarray:
    """``np.quantile(sorted_values, stats.DECILES)`` from *n* and the order statistics it needs."""
    positions = decile_positions(n)
    a = np.array([value_at(p) for p, _, _ in positions], dtype=np.float64)
    b = np.array([value_at(f) for _, f, _ in positions], dtype=np.float64)
    t = np.array([g for _, _, g in positions], dtype=np.float64)
    # numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) from t = 0.5 on.
    diff = b - a
    out = a + diff * t
    late = t >= 0.5
    out[late] = (b - diff * (1 - t))[late]
    return out


def psi_cuts(n: int, value_at: Callable[[int], float]) -> np.ndarray:
    """The cut points of :func:`mops.drift.stats.psi_numeric`: the reference deciles, duplicates merged."""
    return np.unique(deciles(n, value_at))


def sturges_edges(low: float, high: float, n: int) -> np.ndarray:
    """``np.histogram_bin_edges(values, bins="sturges")`` of *n* values from *low* to *high*."""
    first, last = np.float64(low), np.float64(high)
    width = (last - first) / (np.log2(n) + 1.0)
    if first == last:
        first, last = first - 0.5, last + 0.5
    bins = int(np.ceil((last - first) / width)) if width else 1
    return np.linspace(first, last, bins + 1, endpoint=True, dtype=np.float64)


def ks_pvalue(at_reference: int, at_current: int, n: int, m: int) -> float:
    """``scipy.stats.ks_2samp(ref, cur).pvalue`` from where the largest CDF gap is.

    *at_reference* of the *n* reference values and *at_current* of the *m*
    current values lie at or below the point of the largest gap. ks_2samp's
    p-value depends on the data only through that gap and the sizes: up to
    10,000 values a side it is exact, and two stand-in samples with the same
    gap and sizes give scipy's own answer; above, it is Smirnov's asymptotic
    distribution of the gap, taken here from scipy the way ks_2samp takes it.
    """
    if max(n, m) <= KS_EXACT_MAX_N:
        reference = np.repeat([0.0, 1.0], [at_reference, n - at_reference])
        current = np.repeat([0.0, 1.0], [at_current, m - at_current])
        return stats.ks_pvalue(reference, current)
    from scipy.stats import kstwo

    d = abs(at_reference / n - at_current / m)
    larger, smaller = sorted([float(n), float(m)], reverse=True)
    en = larger * smaller / (larger + smaller)
    return float(np.clip(kstwo.sf(d, np.round(en)), 0, 1))


def performance(*, positives: int, negatives: int, twice_u: int, ks: float, true_positive: int,
                false_positive: int, score_sum: float, decision_threshold: float) -> stats.Performance:
    """:func:`mops.drift.stats.performance` from counts.

    *twice_u* is twice the Mann-Whitney U of positives over negatives, *ks* the
    largest gap between the classes' score CDFs, and the true and false
    positives those with a score at or above the threshold.
    """
    return stats.performance_from_counts(
        positives=positives, negatives=negatives, twice_u=twice_u, ks=ks,
        true_positive=true_positive, false_positive=false_positive, score_sum=score_sum)


def arrow_labels(counts: Mapping[str, int], mark: str) -> dict[str, int]:
    """Categories read from numbers (marked with *mark*), spelled as Arrow casts numbers to text ("5", "1e+20")."""
    marked = [k for k in counts if k.startswith(mark)]
    if not marked:
        return dict(counts)
    spelled = arrow_spellings(marked, mark)
    out = {k: n for k, n in counts.items() if not k.startswith(mark)}
    for key, text in zip(marked, spelled, strict=True):
        out[text] = out.get(text, 0) + counts[key]
    return out


def arrow_spellings(marked: Sequence[str], mark: str) -> list[str]:
    """Numbers read as text (each marked with *mark*), spelled as Arrow casts numbers to text."""
    import pyarrow as pa

    return pa.array([float(k[len(mark):]) for k in marked], pa.float64()).cast(pa.string()).to_pylist()
