"""The Spark jobs: each reads the data (or the persisted per-value table) and returns a few numbers.

See :mod:`mops.drift.spark` for the algorithm and why. The jobs, in order:

``count``    rows per window (metadata only for Parquet and ORC): how many range buckets;
``scan``     one pass over the inputs, per window and input: rows, dropped (NaN, null,
             ±inf) and usable counts, min, max, sum, whole-number check, label checks,
             performance counts at the decision threshold, and a Bernoulli sample that
             places the range buckets (it only balances the work; answers never depend
             on it);
``values``   the per-value table ``W``: every finite value tagged with its side,
             counted per (key, bucket, value), with running counts inside its bucket
             (one shuffle; persisted, so the jobs below do not read the inputs again);
``buckets``  per (key, bucket) totals and distinct counts: the prefix offsets;
``cdf``      offsets added back: the exact CDF gap (KS), the area between the CDFs
             (Wasserstein), the Mann-Whitney sums (AUC) and the reference's order
             statistics (its deciles);
``bins``     counts in the PSI bins (reference deciles) and Sturges bins;
``counts``   per-value counts of the few-valued numeric columns, and category counts
             of categorical ones (bounded by the number of categories, never by rows).

Only SQL expressions run on the executors (no Python UDFs), so it runs the same on
classic Spark, Spark Connect and Databricks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mops.drift.spark.inputs import CURRENT, REFERENCE, SIDE, SOURCE

#: Finite values (both windows) per range bucket of a column, at most.
BUCKET_VALUES = 1 << 21
#: Range buckets per column, at most.
MAX_BUCKETS = 1024
#: Sampled values per bucket, to place the bucket boundaries.
SAMPLE_PER_BUCKET = 32
#: Seed of the boundary sample (the answers do not depend on it; the work balance does).
SAMPLE_SEED = 20261101
#: Reference ranks looked up per key (numpy interpolates the deciles from at most 18 order statistics).
RANK_SLOTS = 18
#: PSI cut points per key (the nine deciles), and inner Sturges edges per key (log2 of 2**63 rows, plus 1).
CUT_SLOTS, EDGE_SLOTS = 9, 64


@dataclass
class SideScan:
    """What the scan learns about one numeric or categorical column on one side."""

    nan: int = 0  # NaN or null (numeric); missing (categorical)
    posinf: int = 0
    neginf: int = 0
    count: int = 0  # finite (numeric) or present (categorical) values
    low: float | None = None
    high: float | None = None
    total: float = 0.0
    fractional: int = 0  # finite values that are not whole numbers

    def add(self, other: SideScan) -> None:
        self.nan += other.nan
        self.posinf += other.posinf
        self.neginf += other.neginf
        self.count += other.count
        self.total += other.total
        self.fractional += other.fractional
        if other.low is not None:
            self.low = other.low if self.low is None else min(self.low, other.low)
        if other.high is not None:
            self.high = other.high if self.high is None else max(self.high, other.high)


@dataclass
class OutcomeScan:
    """Labels and scores of one side: the performance counts that need no order."""

    missing_label: int = 0
    nonfinite_score: int = 0
    positives: int = 0  # labelled 1 with a finite score
    negatives: int = 0
    true_positive: int = 0  # score >= decision threshold
    false_positive: int = 0
    score_sum: float = 0.0
    bad_labels: int = 0
    bad_example: float | None = None
    bad_source: int | None = None


@dataclass
class Scan:
    rows: list[int]  # per side
    rows_by_source: dict[int, int]
    columns: dict[str, tuple[SideScan, SideScan]]
    outcome: tuple[OutcomeScan, OutcomeScan] | None
    samples: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class KeyTotals:
    """A key of the per-value table over all its buckets: side A is the reference (or the
    negatives), side B the current window (or the positives)."""

    n_a: int = 0
    n_b: int = 0
    unique_a: int = 0
    unique_b: int = 0
    unique: int = 0
    squared_deviations: float = 0.0  # of side A from its mean
    #: bucket -> (count A, count B, lowest value), for the bucket offsets.
    buckets: dict[int, tuple[int, int, float]] = field(default_factory=dict)


@dataclass
class KeyCdf:
    """The ``cdf`` job's answers for a key."""

    ks: float = 0.0
    ks_at: tuple[int, int] = (0, 0)  # side A and side B values at or below the largest gap
    area: float = 0.0  # integral of |F_A - F_B|
    below: int = 0  # sum over B values of the A values strictly below them (Mann-Whitney)
    ties: int = 0  # sum over values of (A count) x (B count)
    #: DeLong's sums of squared placements (:func:`mops.drift.outcomes.delong`): over B values of
    #: (2 x A below + A tied)², and over A values of (2 x B above + B tied)².
    q_b: int = 0
    q_a: int = 0
    #: (value, A values strictly below it, A values at or below it) for the requested ranks.
    ranks: list[tuple[float, int, int]] = field(default_factory=list)


def col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def finite(x: Any) -> Any:
    from pyspark.sql import functions as F

    return x.isNotNull() & ~F.isnan(x) & (x != F.lit(math.inf)) & (x != F.lit(-math.inf))


def count_rows(frame: Any) -> list[int]:
    rows = [0, 0]
    for row in frame.groupBy(SIDE).count().collect():
        rows[row[SIDE]] = int(row["count"])
    return rows


def buckets_for(values: int) -> int:
    return max(1, min(MAX_BUCKETS, math.ceil(values / BUCKET_VALUES)))


def scan(frame: Any, numeric: Mapping[str, str], categorical: Mapping[str, str], *,
         label: str | None, score: str | None, threshold: float) -> Scan:
    """Counts, extremes, sums and label checks, per window and input.

    Two hash aggregates, each narrow enough for Spark's whole-stage code generation
    (it gives up past 100 fields): the numeric columns as (column, value) records, and
    the rows, categorical columns and labels as they are.
    """
    from pyspark.sql import functions as F

    out = Scan([0, 0], {}, {n: (SideScan(), SideScan()) for n in [*numeric, *categorical]},
               (OutcomeScan(), OutcomeScan()) if label is not None else None)
    if numeric:
        records = [F.struct(F.lit(i).alias("k"), col(alias).alias("x")) for i, alias in enumerate(numeric.values())]
        stacked = frame.select(SIDE, SOURCE, F.explode(F.array(*records)).alias("e")).select(SIDE, SOURCE, "e.k",
                                                                                             "e.x")
        x = F.col("x")
        ok = finite(x)
        names = list(numeric)
        for row in stacked.groupBy(SIDE, SOURCE, "k").agg(
                F.count(F.when(x.isNull() | F.isnan(x), 1)).alias("nan"),
                F.count(F.when(x == F.lit(math.inf), 1)).alias("pinf"),
                F.count(F.when(x == F.lit(-math.inf), 1)).alias("ninf"),
                F.count(F.when(ok, 1)).alias("n"),
                F.min(F.when(ok, x)).alias("lo"),
                F.max(F.when(ok, x)).alias("hi"),
                F.sum(F.when(ok, x)).alias("total"),
                F.count(F.when(ok & (x != F.floor(x)), 1)).alias("frac")).collect():
            out.columns[names[int(row["k"])]][int(row[SIDE])].add(SideScan(
                nan=int(row["nan"]), posinf=int(row["pinf"]), neginf=int(row["ninf"]), count=int(row["n"]),
                low=row["lo"], high=row["hi"], total=float(row["total"] or 0.0), fractional=int(row["frac"])))

    exprs = [F.count(F.lit(1)).alias("rows")]
    for i, (_name, alias) in enumerate(categorical.items()):
        x = col(alias)
        exprs += [F.count(F.when(x.isNull(), 1)).alias(f"miss{i}"), F.count(x).alias(f"has{i}")]
    if label is not None and score is not None:
        y, s = col(label), col(score)
        labelled = y.isNotNull() & ~F.isnan(y)
        bad = labelled & (y != F.lit(0.0)) & (y != F.lit(1.0))
        usable = labelled & finite(s)
        exprs += [
            F.count(F.when(~labelled, 1)).alias("missing_label"),
            F.count(F.when(labelled & ~finite(s), 1)).alias("nonfinite_score"),
            F.count(F.when(usable & (y == F.lit(1.0)), 1)).alias("positives"),
            F.count(F.when(usable & (y == F.lit(0.0)), 1)).alias("negatives"),
            F.count(F.when(usable & (y == F.lit(1.0)) & (s >= F.lit(threshold)), 1)).alias("tp"),
            F.count(F.when(usable & (y == F.lit(0.0)) & (s >= F.lit(threshold)), 1)).alias("fp"),
            F.sum(F.when(usable & ((y == F.lit(0.0)) | (y == F.lit(1.0))), s)).alias("score_sum"),
            F.count(F.when(bad, 1)).alias("bad"),
            F.min(F.when(bad, y)).alias("bad_example"),
        ]
    for row in frame.groupBy(SIDE, SOURCE).agg(*exprs).collect():
        side, source = int(row[SIDE]), int(row[SOURCE])
        out.rows[side] += int(row["rows"])
        out.rows_by_source[source] = out.rows_by_source.get(source, 0) + int(row["rows"])
        for i, name in enumerate(categorical):
            out.columns[name][side].add(SideScan(nan=int(row[f"miss{i}"]), count=int(row[f"has{i}"])))
        if out.outcome is not None:
            o = out.outcome[side]
            o.missing_label += int(row["missing_label"])
            o.nonfinite_score += int(row["nonfinite_score"])
            o.positives += int(row["positives"])
            o.negatives += int(row["negatives"])
            o.true_positive += int(row["tp"])
            o.false_positive += int(row["fp"])
            o.score_sum += float(row["score_sum"] or 0.0)
            if row["bad"]:
                o.bad_labels += int(row["bad"])
                if o.bad_example is None or source < (o.bad_source or 0):
                    o.bad_example, o.bad_source = float(row["bad_example"]), source
    return out


def samples(frame: Any, numeric: Mapping[str, str], fraction: float) -> dict[str, list[float]]:
    """A Bernoulli sample of each numeric column's finite values (to place the bucket boundaries)."""
    from pyspark.sql import functions as F

    picked = frame.where(F.rand(SAMPLE_SEED) < F.lit(fraction)).select(*[col(a) for a in numeric.values()])
    out: dict[str, list[float]] = {name: [] for name in numeric}
    for row in picked.collect():
        for name, value in zip(numeric, row, strict=True):
            if value is not None and math.isfinite(value):
                out[name].append(float(value))
    return out


def boundaries(sample: Sequence[float], buckets: int) -> list[float]:
    """Bucket boundaries from a sample: bucket ``i`` holds the values with ``i`` boundaries at or below them."""
    if buckets <= 1 or not sample:
        return []
    ordered = sorted(sample)
    picked = {ordered[(i * len(ordered)) // buckets] for i in range(1, buckets)}
    return sorted(picked)


def bucket_expr(x: Any, bounds: Sequence[float]) -> Any:
    """The number of *bounds* at or below *x*, as a balanced tree of comparisons."""
    from pyspark.sql import functions as F

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return F.lit(lo)
        mid = (lo + hi) // 2
        return F.when(x < F.lit(bounds[mid]), tree(lo, mid)).otherwise(tree(mid + 1, hi))

    return tree(0, len(bounds))


@dataclass(frozen=True)
class NumericKey:
    """A key of the per-value table: a column (reference vs current) or a window's scores (negatives vs positives)."""

    key: int
    alias: str  # the column holding the values
    bounds: tuple[float, ...]
    #: For a column: None (the side is the window). For scores: the window, and the label column.
    window: int | None = None
    label: str | None = None


def values_table(frame: Any, keys: Sequence[NumericKey]) -> Any:
    """``W``: per (key, bucket, value) the counts of each side, and running counts within the bucket."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    records = []
    for k in keys:
        x = col(k.alias)
        if k.window is None:
            keep, side = finite(x), col(SIDE)
        else:
            y = col(k.label or "")
            keep = finite(x) & (col(SIDE) == F.lit(k.window)) & ((y == F.lit(0.0)) | (y == F.lit(1.0)))
            side = y.cast("int")
        records.append(F.when(keep, F.struct(F.lit(k.key).alias("k"), bucket_expr(x, k.bounds).alias("b"),
                                             x.alias("v"), side.alias("f"))))
    exploded = (frame.select(F.explode(F.array(*records)).alias("e")).where(F.col("e").isNotNull())
                .select("e.k", "e.b", "e.v", "e.f"))
    # One shuffle by (key, bucket) and one sort by value: both windows below read the same order.
    # Within a bucket, each record gets the running counts of both sides and the next record's
    # value; the last record of each run of equal values holds the counts through that value and
    # the next distinct value, and is the one kept; the counts of the value itself are the
    # differences from the previous value kept.
    ordered = Window.partitionBy("k", "b").orderBy("v")
    running = ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    records_out = exploded.select(
        "k", "b", "v",
        F.sum(F.lit(1) - F.col("f")).over(running).alias("rl"), F.sum("f").over(running).alias("cl"),
        F.lead("v").over(ordered).alias("nx"))
    run_ends = records_out.where(F.col("nx").isNull() | (F.col("nx") != F.col("v")))
    return run_ends.select(
        "k", "b", "v",
        (F.col("rl") - F.coalesce(F.lag("rl").over(ordered), F.lit(0))).alias("r"),
        (F.col("cl") - F.coalesce(F.lag("cl").over(ordered), F.lit(0))).alias("c"),
        "rl", "cl", "nx")


def bucket_totals(spark: Any, table: Any, means: Mapping[int, float]) -> dict[int, KeyTotals]:
    """Per key: counts and distinct values per side, squared deviations of side A, per-bucket totals."""
    from pyspark.sql import functions as F

    mean_table = spark.createDataFrame([(k, float(m)) for k, m in means.items()] or [(-1, 0.0)],
                                       "k int, mean double")
    joined = table.join(F.broadcast(mean_table), "k", "left")
    rows = joined.groupBy("k", "b").agg(
        F.sum("r").alias("ra"), F.sum("c").alias("ca"), F.min("v").alias("lo"),
        F.count(F.when(F.col("r") > 0, 1)).alias("ua"), F.count(F.when(F.col("c") > 0, 1)).alias("ub"),
        F.count(F.lit(1)).alias("u"),
        F.sum(F.col("r") * (F.col("v") - F.col("mean")) * (F.col("v") - F.col("mean"))).alias("ssd"),
    ).collect()
    out: dict[int, KeyTotals] = {}
    for row in rows:
        t = out.setdefault(int(row["k"]), KeyTotals())
        t.n_a += int(row["ra"])
        t.n_b += int(row["ca"])
        t.unique_a += int(row["ua"])
        t.unique_b += int(row["ub"])
        t.unique += int(row["u"])
        t.squared_deviations += float(row["ssd"] or 0.0)
        t.buckets[int(row["b"])] = (int(row["ra"]), int(row["ca"]), float(row["lo"]))
    return out


def cdf(spark: Any, table: Any, totals: Mapping[int, KeyTotals], ranks: Mapping[int, Sequence[int]]
        ) -> dict[int, KeyCdf]:
    """The second pass: each bucket's running counts plus the counts of the buckets before it."""
    from pyspark.sql import functions as F

    offsets = []
    exact_products = True
    for k, t in totals.items():
        if t.n_a == 0 or t.n_b == 0:
            continue
        exact_products = exact_products and t.n_a * t.n_b < 2**63
        wanted = [int(q) for q in ranks.get(k, ())][:RANK_SLOTS]
        slots = wanted + [None] * (RANK_SLOTS - len(wanted))
        ra = ca = 0
        ordered = sorted(t.buckets)
        for i, b in enumerate(ordered):
            a, c, _ = t.buckets[b]
            next_low = t.buckets[ordered[i + 1]][2] if i + 1 < len(ordered) else None
            offsets.append((k, b, ra, ca, next_low, t.n_a, t.n_b, *slots))
            ra, ca = ra + a, ca + c
    if not offsets:
        return {}
    rank_columns = [f"q{j}" for j in range(RANK_SLOTS)]
    offset_table = spark.createDataFrame(
        offsets, "k int, b int, ro long, co long, nf double, na long, nb long, "
                 + ", ".join(f"{q} long" for q in rank_columns))
    joined = table.join(F.broadcast(offset_table), ["k", "b"])
    at_a = F.col("rl") + F.col("ro")
    at_b = F.col("cl") + F.col("co")
    gap = F.abs(at_a / F.col("na") - at_b / F.col("nb"))
    following = F.coalesce(F.col("nx"), F.col("nf"))
    below = at_a - F.col("r")
    # Products of counts stay exact in 64 bits while n_a * n_b < 2**63; past that, in decimals.
    product_type = "long" if exact_products else "decimal(38,0)"
    enriched = joined.select("k", "v", "r", "c", "nb", *rank_columns, at_a.alias("at_a"), at_b.alias("at_b"),
                             gap.alias("gap"), following.alias("following"), below.alias("below"))
    rows = enriched.groupBy("k").agg(
        F.max("gap").alias("ks"),
        F.max_by(F.struct("at_a", "at_b"), "gap").alias("at"),
        F.sum(F.when(F.col("following").isNotNull(), F.col("gap") * (F.col("following") - F.col("v"))))
        .alias("area"),
        F.sum(F.col("c").cast(product_type) * F.col("below").cast(product_type)).alias("mw_below"),
        F.sum(F.col("c").cast(product_type) * F.col("r").cast(product_type)).alias("mw_ties"),
        F.sum(F.col("c").cast(_WIDE) * _square(F.col("below") * 2 + F.col("r"))).alias("q_b"),
        F.sum(F.col("r").cast(_WIDE) * _square((F.col("nb") - F.col("at_b")) * 2 + F.col("c"))).alias("q_a"),
    ).collect()
    out = {}
    for row in rows:
        at = row["at"]
        out[int(row["k"])] = KeyCdf(
            ks=float(row["ks"]), ks_at=(int(at["at_a"]), int(at["at_b"])), area=float(row["area"] or 0.0),
            below=int(row["mw_below"] or 0), ties=int(row["mw_ties"] or 0), q_b=int(row["q_b"] or 0),
            q_a=int(row["q_a"] or 0))
    # The reference's order statistics: the values whose rank interval [below, at or below) holds a
    # wanted rank; a few per key.
    hit = F.lit(False)
    for q in rank_columns:
        hit = hit | ((F.col(q) >= F.col("below")) & (F.col(q) < F.col("at_a")))
    for row in enriched.where(hit).select("k", "v", "below", "at_a").collect():
        out[int(row["k"])].ranks.append((float(row["v"]), int(row["below"]), int(row["at_a"])))
    return out


#: Sums of squared counts stay exact in 38 decimal digits (a count times (2 n)² up to n = 10**12).
_WIDE = "decimal(38,0)"


def _square(x: Any) -> Any:
    wide = x.cast(_WIDE)
    return wide * wide


def bin_counts(spark: Any, table: Any, cuts: Mapping[int, Sequence[float]], edges: Mapping[int, Sequence[float]]
               ) -> tuple[dict[int, tuple[list[int], list[int]]], dict[int, tuple[list[int], list[int]]]]:
    """Per key, counts of each side in the PSI bins ``(c[i-1], c[i]]`` and in the Sturges bins ``[e[i], e[i+1])``.

    *edges* are the inner Sturges edges (the outer ones are the extremes, so every value is in).
    """
    from pyspark.sql import functions as F

    keys = sorted(set(cuts) | set(edges))
    if not keys:
        return {}, {}
    for k in keys:
        if len(cuts.get(k, ())) > CUT_SLOTS or len(edges.get(k, ())) > EDGE_SLOTS:
            raise ValueError(f"key {k}: more cut points than slots")
    n_edges = max((len(edges.get(k, ())) for k in keys), default=0)
    rows_in = []
    for k in keys:
        cut = [float(c) for c in cuts.get(k, ())]
        edge = [float(e) for e in edges.get(k, ())]
        rows_in.append((k, *(cut + [None] * (CUT_SLOTS - len(cut))), *(edge + [None] * (n_edges - len(edge)))))
    cut_columns = [f"t{j}" for j in range(CUT_SLOTS)]
    edge_columns = [f"e{j}" for j in range(n_edges)]
    spec = spark.createDataFrame(rows_in, ", ".join(["k int"] + [f"{c} double" for c in cut_columns + edge_columns]))
    joined = table.join(F.broadcast(spec), "k")
    v = F.col("v")

    def count_true(conditions: list[Any]) -> Any:
        total = F.lit(0)
        for condition in conditions:
            total = total + F.when(condition, 1).otherwise(0)
        return total

    # A missing cut or edge is null: the comparison is null, counted as false.
    psi_bin = count_true([F.col(c) < v for c in cut_columns])
    sturges_bin = count_true([F.col(e) <= v for e in edge_columns])
    rows = joined.groupBy("k", psi_bin.alias("pb"), sturges_bin.alias("sb")).agg(
        F.sum("r").alias("ra"), F.sum("c").alias("ca")).collect()
    psi = {k: ([0] * (len(cuts[k]) + 1), [0] * (len(cuts[k]) + 1)) for k in cuts}
    sturges = {k: ([0] * (len(edges[k]) + 1), [0] * (len(edges[k]) + 1)) for k in edges}
    for row in rows:
        k = int(row["k"])
        for table_of, at in ((psi, int(row["pb"])), (sturges, int(row["sb"]))):
            if k in table_of:
                table_of[k][0][at] += int(row["ra"])
                table_of[k][1][at] += int(row["ca"])
    return psi, sturges


def value_counts(table: Any, keys: Sequence[int]) -> dict[int, list[tuple[float, int, int]]]:
    """Per key: (value, side A count, side B count) for every value, in value order (few-valued keys only)."""
    from pyspark.sql import functions as F

    out: dict[int, list[tuple[float, int, int]]] = {k: [] for k in keys}
    if not keys:
        return out
    for row in table.where(F.col("k").isin(*keys)).select("k", "v", "r", "c").collect():
        out[int(row["k"])].append((float(row["v"]), int(row["r"]), int(row["c"])))
    for rows in out.values():
        rows.sort()
    return out


def category_table(frame: Any, categorical: Mapping[str, str], keys: Mapping[str, int]) -> Any:
    """Per (key, category) the count of each side."""
    from pyspark.sql import functions as F

    records = [F.when(col(alias).isNotNull(), F.struct(F.lit(keys[name]).alias("k"), col(alias).alias("s"),
                                                       col(SIDE).alias("f")))
               for name, alias in categorical.items()]
    exploded = frame.select(F.explode(F.array(*records)).alias("e")).where(F.col("e").isNotNull())
    return (exploded.select("e.k", "e.s", "e.f").groupBy("k", "s")
            .agg(F.sum(F.lit(1) - F.col("f")).alias("r"), F.sum("f").alias("c")))


def category_distinct(table: Any) -> dict[int, tuple[int, int]]:
    """Per key: distinct categories present in the current window, and in either."""
    from pyspark.sql import functions as F

    rows = table.groupBy("k").agg(F.count(F.when(F.col("c") > 0, 1)).alias("ub"),
                                  F.count(F.lit(1)).alias("u")).collect()
    return {int(r["k"]): (int(r["ub"]), int(r["u"])) for r in rows}


def category_counts(table: Any, keys: Sequence[int]) -> dict[int, tuple[dict[str, int], dict[str, int]]]:
    """Per key: category -> count in the reference, and in the current window."""
    from pyspark.sql import functions as F

    out: dict[int, tuple[dict[str, int], dict[str, int]]] = {k: ({}, {}) for k in keys}
    if not keys:
        return out
    for row in table.where(F.col("k").isin(*keys)).collect():
        ref, cur = out[int(row["k"])]
        if row["r"]:
            ref[row["s"]] = int(row["r"])
        if row["c"]:
            cur[row["s"]] = int(row["c"])
    return out


__all__ = ["CURRENT", "REFERENCE"]
