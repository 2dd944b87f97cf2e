"""Drift statistics against an independent oracle: scipy on the raw data.

Every expected value here is computed by scipy (or by a textbook formula with
numpy) from the raw samples, never from mops' own output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from mops.drift import stats

TOL = 1e-6


def close(actual: float, expected: float) -> bool:
    """Within 1e-6 of scipy's value (relative for values far above 1)."""
    if math.isnan(expected):
        return math.isnan(actual)
    return abs(actual - expected) <= TOL * max(1.0, abs(expected))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- oracles ----------------------------------------------------------------------


def oracle_union_counts(ref, cur):
    keys = np.union1d(np.unique(ref), np.unique(cur))
    ref_counts = np.array([np.count_nonzero(ref == k) for k in keys])
    cur_counts = np.array([np.count_nonzero(cur == k) for k in keys])
    return keys, ref_counts, cur_counts


def oracle_wasserstein(ref, cur):
    return sps.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)


def oracle_jensenshannon(ref, cur):
    _, r, c = oracle_union_counts(ref, cur)
    return jensenshannon(r / r.sum(), c / c.sum())


def oracle_chisquare(ref, cur):
    _, r, c = oracle_union_counts(ref, cur)
    with np.errstate(divide="ignore"):
        return sps.chisquare(c, r * (c.sum() / r.sum())).pvalue


def oracle_z(ref, cur):
    """Textbook pooled two-proportion z-test on 'not the smallest value'."""
    keys = np.union1d(np.unique(ref), np.unique(cur))
    if len(np.unique(ref)) == 1 and len(np.unique(cur)) == 1 and ref[0] == cur[0]:
        return 1.0
    x1, x2 = np.count_nonzero(ref != keys[0]), np.count_nonzero(cur != keys[0])
    n1, n2 = len(ref), len(cur)
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * (1 - sps.norm.cdf(abs(z)))


def oracle_psi_numeric(ref, cur, eps=1e-4):
    """PSI worked by hand: reference deciles, right-closed bins, eps for empty bins."""
    cuts = np.unique(np.quantile(ref, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]))
    r = np.bincount(np.digitize(ref, cuts, right=True), minlength=cuts.size + 1) / ref.size
    c = np.bincount(np.digitize(cur, cuts, right=True), minlength=cuts.size + 1) / cur.size
    r = np.where(r == 0, eps, r)
    c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))


def oracle_psi_counts(ref_counts, cur_counts, eps=1e-4):
    r = np.asarray(ref_counts) / np.sum(ref_counts)
    c = np.asarray(cur_counts) / np.sum(cur_counts)
    r = np.where(r == 0, eps, r)
    c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))


def finite(x):
    return np.asarray(x, dtype=float)[np.isfinite(x)]


def drift(ref, cur, **kw):
    return stats.numeric_drift(stats.finite_sorted(ref), stats.finite_sorted(cur), **kw)


# -- method selection and comparisons ----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "n", "u", "method"),
    [
        ("numeric", 1000, 2, "z"),
        ("numeric", 1000, 3, "chisquare"),
        ("numeric", 1000, 5, "chisquare"),
        ("numeric", 1000, 6, "ks"),
        ("numeric", 1001, 5, "jensenshannon"),
        ("numeric", 1001, 6, "wasserstein"),
        ("numeric", 10, 1, "z"),
        ("categorical", 1000, 2, "z"),
        ("categorical", 1000, 3, "chisquare"),
        ("categorical", 1001, 2, "jensenshannon"),
        ("categorical", 1001, 50, "jensenshannon"),
    ],
)
def test_select_method_follows_the_table(kind, n, u, method):
    assert stats.select_method(kind, n, u) == method


def test_comparisons_at_the_threshold():
    assert stats.is_drifted("ks", 0.05, 0.05) is True  # KS: p <= t
    assert stats.is_drifted("chisquare", 0.05, 0.05) is False  # p < t
    assert stats.is_drifted("z", 0.05, 0.05) is False
    assert stats.is_drifted("z", 0.0499, 0.05) is True
    for method in ("wasserstein", "jensenshannon", "psi"):
        assert stats.is_drifted(method, 0.1, 0.1) is True  # distance >= t
        assert stats.is_drifted(method, 0.0999, 0.1) is False
    assert stats.is_drifted("ks", math.nan, 0.05) is False


def test_psi_bands():
    assert stats.psi_band(0.0) == "stable"
    assert stats.psi_band(0.0999) == "stable"
    assert stats.psi_band(0.1) == "moderate"
    assert stats.psi_band(0.2499) == "moderate"
    assert stats.psi_band(0.25) == "significant"
    assert stats.psi_band(math.nan) is None


# -- numeric columns, small samples: tests -------------------------------------------


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_ks_small_sample(shift):
    r = rng(1)
    ref, cur = r.normal(0, 1, 800), r.normal(shift, 1, 600)
    result = drift(ref, cur)
    expected = sps.ks_2samp(ref, cur).pvalue
    assert result.method == "ks"
    assert close(result.statistic, expected)
    assert result.drifted == (expected <= 0.05)
    assert result.threshold == 0.05


def test_ks_heavy_tailed_small_sample_with_big_current():
    r = rng(2)
    ref, cur = r.standard_t(1, 1000), r.standard_t(1, 50_000) * 1.3
    result = drift(ref, cur)
    assert result.method == "ks"
    assert close(result.statistic, sps.ks_2samp(ref, cur).pvalue)
    assert result.drifted == (sps.ks_2samp(ref, cur).pvalue <= 0.05)


@pytest.mark.parametrize("levels", [3, 4, 5])
def test_chisquare_low_cardinality_numeric(levels):
    r = rng(levels)
    ref = r.integers(0, levels, 700).astype(float)
    cur = r.choice(np.arange(levels, dtype=float), 900, p=np.linspace(1, 2, levels) / np.linspace(1, 2, levels).sum())
    result = drift(ref, cur)
    assert result.method == "chisquare"
    assert result.n_unique == levels
    expected = oracle_chisquare(ref, cur)
    assert close(result.statistic, expected)
    assert result.drifted == (expected < 0.05)


def test_chisquare_value_new_in_current_gives_p_zero():
    ref = np.array([1.0, 2.0, 3.0] * 100)
    cur = np.array([1.0, 2.0, 3.0, 4.0] * 50)
    result = drift(ref, cur)
    assert result.method == "chisquare"
    assert result.statistic == oracle_chisquare(ref, cur) == 0.0
    assert result.drifted


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ([0.0] * 300 + [1.0] * 200, [0.0] * 200 + [1.0] * 300),
        ([0.0] * 300 + [1.0] * 200, [0.0] * 260 + [1.0] * 240),
        ([5.0] * 100, [7.0] * 100),
        ([5.0] * 100, [5.0] * 40 + [7.0] * 3),
    ],
)
def test_z_test_binary_numeric(ref, cur):
    ref, cur = np.array(ref), np.array(cur)
    result = drift(ref, cur)
    assert result.method == "z"
    expected = oracle_z(ref, cur)
    assert close(result.statistic, expected)
    assert result.drifted == (expected < 0.05)


def test_z_test_same_single_value_is_p_one():
    result = drift(np.full(50, 3.0), np.full(70, 3.0))
    assert result.method == "z"
    assert result.statistic == 1.0
    assert not result.drifted


# -- numeric columns, large samples: distances --------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda r: (r.standard_t(1, 5000), r.standard_t(1, 20_000) + 0.2),  # Cauchy
        lambda r: (r.lognormal(0, 3, 4000), r.lognormal(0.2, 3, 9000)),
        lambda r: (r.normal(0, 1, 3000), r.normal(0.02, 1, 3000)),
        lambda r: (r.exponential(1, 2000), r.exponential(1.5, 1500)),
    ],
    ids=["student-t-df1", "lognormal-sigma3", "normal-small-shift", "exponential"],
)
def test_wasserstein_normed_matches_scipy(make):
    ref, cur = make(rng(7))
    result = drift(ref, cur)
    expected = oracle_wasserstein(ref, cur)
    assert result.method == "wasserstein"
    assert close(result.statistic, expected)
    assert result.drifted == (expected >= 0.1)
    assert result.threshold == 0.1


def test_wasserstein_constant_reference_uses_floor():
    ref = np.full(2000, 4.0)
    cur = np.concatenate([np.full(1990, 4.0), np.arange(10, dtype=float) * 0.0001 + 4.0])
    result = drift(ref, cur)
    assert result.method == "wasserstein"
    assert close(result.statistic, sps.wasserstein_distance(ref, cur) / 0.001)


def test_wasserstein_with_many_ties():
    r = rng(3)
    ref = np.round(r.normal(0, 1, 5000), 1)
    cur = np.round(r.normal(0.1, 1.2, 8000), 1)
    assert close(stats.wasserstein_normed(np.sort(ref), np.sort(cur)), oracle_wasserstein(ref, cur))


def test_wasserstein_across_scan_blocks(monkeypatch):
    # Force several blocks of the linear scan (summed separately).
    monkeypatch.setattr(stats, "_BLOCK", 1000)
    r = rng(4)
    ref, cur = r.lognormal(0, 3, 4321), r.lognormal(0.1, 3, 5432)
    assert close(drift(ref, cur).statistic, oracle_wasserstein(ref, cur))


@pytest.mark.parametrize("levels", [2, 3, 5])
def test_jensenshannon_low_cardinality_large(levels):
    r = rng(levels + 10)
    ref = r.integers(0, levels, 5000).astype(float)
    cur = r.integers(0, levels, 3000).astype(float)
    cur[:300] = 0.0
    result = drift(ref, cur)
    expected = oracle_jensenshannon(ref, cur)
    assert result.method == "jensenshannon"
    assert close(result.statistic, expected)
    assert result.drifted == (expected >= 0.1)


def test_jensenshannon_value_only_in_current():
    ref = np.array([0.0, 1.0] * 1000)
    cur = np.array([0.0, 1.0, 2.0] * 700)
    result = drift(ref, cur)
    assert result.method == "jensenshannon"
    assert result.n_unique == 3
    assert close(result.statistic, oracle_jensenshannon(ref, cur))


def test_nan_and_inf_are_dropped():
    r = rng(5)
    ref = r.normal(0, 1, 3000)
    cur = r.normal(0, 1, 3000)
    ref[:40] = np.nan
    cur[:10] = np.inf
    cur[10:15] = -np.inf
    result = drift(ref, cur)
    assert result.n_reference == 2960
    assert result.n_current == 2985
    assert close(result.statistic, oracle_wasserstein(finite(ref), finite(cur)))


def test_empty_side_gives_nan_not_drift():
    result = stats.numeric_drift(np.sort(rng().normal(size=100)), np.array([]))
    assert math.isnan(result.statistic)
    assert result.drifted is False
    assert math.isnan(result.psi.value)


# -- overrides -----------------------------------------------------------------------


def test_override_ks_on_large_sample():
    r = rng(8)
    ref, cur = r.standard_t(1, 20_000), r.standard_t(1, 30_000)
    result = drift(ref, cur, method="ks")
    assert result.method == "ks"
    assert close(result.statistic, sps.ks_2samp(ref, cur).pvalue)


def test_override_wasserstein_on_small_sample_with_threshold():
    r = rng(9)
    ref, cur = r.normal(0, 1, 200), r.normal(0.1, 1, 300)
    result = drift(ref, cur, method="wasserstein", threshold=0.5)
    expected = oracle_wasserstein(ref, cur)
    assert close(result.statistic, expected)
    assert result.threshold == 0.5
    assert result.drifted == (expected >= 0.5)


def test_override_psi_is_the_statistic():
    r = rng(10)
    ref, cur = r.lognormal(0, 3, 5000), r.lognormal(0.5, 3, 5000)
    result = drift(ref, cur, method="psi")
    expected = oracle_psi_numeric(ref, cur)
    assert close(result.statistic, expected)
    assert result.drifted == (expected >= 0.1)


def test_override_jensenshannon_on_many_valued_numeric_bins_like_evidently():
    # Evidently bins a numeric column with more than 20 distinct reference values
    # into Sturges bins over both samples before Jensen-Shannon.
    r = rng(11)
    ref, cur = r.normal(0, 1, 3000), r.normal(0.3, 1, 2000)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    expected = jensenshannon(np.histogram(ref, edges)[0] / ref.size, np.histogram(cur, edges)[0] / cur.size)
    result = drift(ref, cur, method="jensenshannon")
    assert close(result.statistic, expected)


def test_override_chisquare_and_z_on_numeric():
    r = rng(12)
    ref = r.integers(0, 3, 5000).astype(float)
    cur = r.integers(0, 3, 4000).astype(float)
    assert close(drift(ref, cur, method="chisquare").statistic, oracle_chisquare(ref, cur))
    assert close(drift(ref, cur, method="z").statistic, oracle_z(ref, cur))


# -- PSI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda r: (r.normal(0, 1, 5000), r.normal(0.3, 1.1, 7000)),
        lambda r: (r.standard_t(1, 5000), r.standard_t(1, 7000) * 2),
        lambda r: (r.lognormal(0, 3, 4000), r.lognormal(1, 3, 4000)),
        lambda r: (r.integers(0, 3, 3000).astype(float), r.integers(0, 4, 3000).astype(float)),
        lambda r: (np.full(100, 2.0), r.normal(2, 1, 100)),
    ],
    ids=["normal", "student-t", "lognormal", "low-cardinality", "constant-reference"],
)
def test_psi_numeric_by_hand(make):
    ref, cur = make(rng(13))
    result = stats.psi_numeric(np.sort(ref), np.sort(cur))
    expected = oracle_psi_numeric(ref, cur)
    assert close(result.value, expected)
    assert result.band == stats.psi_band(expected)
    assert abs(sum(result.reference_shares) - 1) < 1e-12


def test_psi_categorical_by_hand():
    ref = {"a": 500, "b": 300, "c": 200}
    cur = {"a": 400, "b": 300, "d": 300}
    result = stats.categorical_drift(ref, cur)
    expected = oracle_psi_counts([500, 300, 200, 0], [400, 300, 0, 300])
    assert close(result.psi.value, expected)
    assert result.psi.bins == ("a", "b", "c", "d")
    assert result.psi.band == "significant"


# -- categorical columns -------------------------------------------------------------


def categories(r, n, levels, p=None):
    return r.choice(np.array(levels), size=n, p=p)


def tally(values):
    keys, counts = np.unique(values, return_counts=True)
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


def test_categorical_chisquare_small_with_new_category():
    r = rng(14)
    ref = categories(r, 600, ["a", "b", "c"])
    cur = categories(r, 500, ["a", "b", "c", "new"])
    result = stats.categorical_drift(tally(ref), tally(cur))
    assert result.method == "chisquare"
    expected = oracle_chisquare(ref, cur)
    assert result.statistic == expected == 0.0  # a category the reference never saw
    assert result.drifted


def test_categorical_chisquare_small_same_categories():
    r = rng(15)
    ref = categories(r, 900, ["a", "b", "c", "d"])
    cur = categories(r, 400, ["a", "b", "c", "d"], p=[0.3, 0.3, 0.2, 0.2])
    result = stats.categorical_drift(tally(ref), tally(cur))
    expected = oracle_chisquare(ref, cur)
    assert close(result.statistic, expected)
    assert result.drifted == (expected < 0.05)


def test_categorical_z_small_binary():
    r = rng(16)
    ref = categories(r, 400, ["no", "yes"], p=[0.7, 0.3])
    cur = categories(r, 500, ["no", "yes"], p=[0.6, 0.4])
    result = stats.categorical_drift(tally(ref), tally(cur))
    assert result.method == "z"
    expected = oracle_z(ref, cur)
    assert close(result.statistic, expected)
    assert result.drifted == (expected < 0.05)


def test_categorical_jensenshannon_large_with_new_and_vanished_categories():
    r = rng(17)
    ref = categories(r, 5000, ["a", "b", "c", "gone"])
    cur = categories(r, 8000, ["a", "b", "c", "new", "newer"])
    result = stats.categorical_drift(tally(ref), tally(cur))
    expected = oracle_jensenshannon(ref, cur)
    assert result.method == "jensenshannon"
    assert result.n_unique == 6
    assert close(result.statistic, expected)
    assert result.drifted == (expected >= 0.1)


def test_categorical_rejects_numeric_only_methods():
    with pytest.raises(ValueError, match="numeric"):
        stats.categorical_drift({"a": 1}, {"a": 2}, method="ks")


# -- performance -------------------------------------------------------------------------


def split_by_label(scores, labels):
    return np.sort(scores[labels == 1]), np.sort(scores[labels == 0])


@pytest.mark.parametrize("decimals", [None, 1])
def test_performance_matches_scipy_and_hand_counts(decimals):
    r = rng(18)
    scores = r.random(4000)
    labels = (r.random(4000) < scores).astype(int)
    if decimals is not None:
        scores = np.round(scores, decimals)  # many ties: AUC counts them as one half
    pos, neg = split_by_label(scores, labels)
    result = stats.performance(pos, neg, 0.5)
    n1, n0 = pos.size, neg.size
    auc = sps.mannwhitneyu(scores[labels == 1], scores[labels == 0]).statistic / (n1 * n0)
    assert close(result.auc, auc)
    assert close(result.gini, 2 * auc - 1)
    assert close(result.ks, sps.ks_2samp(scores[labels == 1], scores[labels == 0]).statistic)
    predicted = scores >= 0.5
    tp = np.count_nonzero(predicted & (labels == 1))
    assert close(result.accuracy, np.mean(predicted == (labels == 1)))
    assert close(result.precision, tp / np.count_nonzero(predicted))
    assert close(result.recall, tp / np.count_nonzero(labels == 1))
    assert close(result.mean_score, np.mean(scores))
    assert close(result.observed_rate, np.mean(labels))
    assert close(result.calibration_gap, np.mean(scores) - np.mean(labels))


def test_performance_degenerate_cases():
    only_negatives = stats.performance(np.array([]), np.sort(rng().random(10)), 2.0)
    assert math.isnan(only_negatives.auc)
    assert math.isnan(only_negatives.precision)  # nothing predicted positive
    assert math.isnan(only_negatives.recall)
    assert only_negatives.accuracy == 1.0
    empty = stats.performance(np.array([]), np.array([]))
    assert empty.rows == 0 and math.isnan(empty.auc)


def test_compare_performance_change_is_current_minus_reference():
    r = rng(19)
    s1, s2 = r.random(1000), r.random(1000)
    l1, l2 = (r.random(1000) < s1).astype(int), (r.random(1000) < 0.5).astype(int)
    a = stats.performance(*split_by_label(s1, l1))
    b = stats.performance(*split_by_label(s2, l2))
    change = stats.compare_performance(a, b)
    assert change.change["auc"] == b.auc - a.auc
    assert set(change.change) >= {"auc", "gini", "ks", "accuracy", "precision", "recall"}


# -- properties ---------------------------------------------------------------------------

samples = hnp.arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.one_of(
        st.integers(-5, 5).map(float),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
)


@pytest.mark.filterwarnings("ignore:ks_2samp")
@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_linear_scans_equal_scipy(ref, cur):
    r, c = np.sort(ref), np.sort(cur)
    assert close(stats._wasserstein_sorted(r, c), sps.wasserstein_distance(ref, cur))
    assert close(stats._ks_statistic_sorted(r, c), sps.ks_2samp(ref, cur).statistic)
    keys, r_counts, c_counts = stats._aligned_counts(r, c)
    assert np.array_equal(keys, np.unique(np.concatenate([ref, cur])))
    assert np.array_equal(r_counts, [np.count_nonzero(ref == k) for k in keys])
    assert np.array_equal(c_counts, [np.count_nonzero(cur == k) for k in keys])
    assert stats._n_unique_both(r, c) == np.unique(np.concatenate([ref, cur])).size


@settings(max_examples=100, deadline=None)
@given(samples, samples)
def test_auc_with_ties_equals_mann_whitney(pos, neg):
    result = stats.performance(np.sort(pos), np.sort(neg))
    expected = sps.mannwhitneyu(pos, neg).statistic / (pos.size * neg.size)
    assert close(result.auc, expected)


@pytest.mark.filterwarnings("ignore:ks_2samp")
@pytest.mark.parametrize("seed", range(5))
def test_blockwise_scans_equal_scipy(monkeypatch, seed):
    """Blocks of 7 elements: runs of equal values and Wasserstein pieces cross block edges."""
    monkeypatch.setattr(stats, "_BLOCK", 7)
    r = rng(seed)
    for _ in range(60):
        ref = r.integers(-4, 4, r.integers(1, 50)).astype(float) if r.random() < 0.5 else r.normal(size=30)
        cur = r.integers(-4, 4, r.integers(1, 50)).astype(float) if r.random() < 0.5 else r.normal(size=45)
        a, b = np.sort(ref), np.sort(cur)
        assert close(stats._wasserstein_sorted(a, b), sps.wasserstein_distance(ref, cur))
        assert close(stats._ks_statistic_sorted(a, b), sps.ks_2samp(ref, cur).statistic)
        assert stats._n_unique_both(a, b) == np.unique(np.concatenate([ref, cur])).size


@pytest.mark.filterwarnings("ignore:ks_2samp")
@pytest.mark.parametrize("block", [7, 1 << 20])
def test_score_ranks_equal_counts_by_hand(monkeypatch, block):
    """Each score searched once in the other class, ties counted apart: the placements
    DeLong needs and the KS gap, against pairwise comparisons and scipy."""
    monkeypatch.setattr(stats, "_BLOCK", block)
    r = rng(23)
    for decimals in (None, 1, 0):
        scores = r.random(300)
        if decimals is not None:
            scores = np.round(scores, decimals)
        labels = r.random(300) < 0.4
        pos, neg = np.sort(scores[labels]), np.sort(scores[~labels])
        ranks = stats.score_ranks(pos, neg)
        twice_below = 2 * (pos[:, None] > neg[None, :]).sum(1) + (pos[:, None] == neg[None, :]).sum(1)
        twice_above = 2 * (neg[:, None] < pos[None, :]).sum(1) + (neg[:, None] == pos[None, :]).sum(1)
        assert ranks.twice_u == twice_below.sum()
        assert ranks.q10 == int(np.dot(twice_below, twice_below))
        assert ranks.q01 == int(np.dot(twice_above, twice_above))
        assert close(ranks.ks, sps.ks_2samp(pos, neg).statistic)
        assert ranks.ks == stats._ks_statistic_sorted(pos, neg)  # what the Spark engine is held to
    assert math.isnan(stats.score_ranks(np.array([]), np.array([0.5])).ks)
