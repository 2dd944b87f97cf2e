"""The Spark drift engine's internals: exact drift statistics where the data is.

``mops drift --engine spark`` gives the same ``drift --json`` document as the
local engine - every value equal to within rounding (1e-9 is tested; most are
bit-equal), every method, kind, status and verdict the same - on data that does
not fit one machine, with a driver whose memory does not grow with the rows.

Why not the local engine's mergeable state? A numeric column's state is its
values (the statistics are exact, and a quantile sketch moves KS p-values at
millions of rows), so merging partition states means bringing every value to
one place. Instead the statistics are taken apart into things Spark computes
exactly and a driver can hold:

* **Per-value counts.** Each finite value of each numeric column becomes a
  record (column, range bucket, value, side) and the records are counted per
  (column, bucket, value): one shuffle, whose map side already merges repeated
  values (a column of five values costs five records per task). Categorical
  columns are counted per (column, category) the same way.
* **Range buckets with prefix offsets.** A bucket is a range of a column's
  values, from boundaries placed by a small Bernoulli sample (as Spark's own
  range partitioner does; the sample only balances the work - any boundaries
  give the same answer, so the answer does not depend on the seed). Within a
  bucket, a window function gives each value the running counts of both sides;
  one job returns each bucket's totals (a few numbers per bucket), the driver
  adds them up into offsets, and a second job adds the offsets back: every
  value then knows both empirical CDFs exactly.
* **Everything else is a sum or a max over values.** The KS statistic is the
  largest |F_ref - F_cur| (with where it occurs: ks_2samp's p-value depends on
  nothing else), normed Wasserstein the sum of |F_ref - F_cur| x (next value -
  value) over the std of the reference (a second sum), AUC the Mann-Whitney sum
  of positives x negatives below, the class KS the same gap on scores split by
  label; the reference deciles are the values whose rank interval holds the
  ranks numpy interpolates; PSI, Sturges (Jensen-Shannon) and chi-square / z
  counts are counts per bin or per value of few-valued columns.

These are the same floating-point operations as scipy's and numpy's on the raw
data (CDFs as count / n, gaps between neighbouring values, numpy's own lerp for
quantiles), so values agree to the last bits or within summation-order rounding.
The last step - p-values, distances from counts, PSI, verdicts, warnings - is
the shared code of :mod:`mops.drift.stats` and :mod:`mops.drift.comparison`.

Cost: per numeric column, one shuffle of its distinct values per task (at most
its rows), one sort within buckets, three passes over the persisted per-value
table; the inputs are read twice (a scan of counts and samples, then the
values). The driver receives per bucket a handful of numbers, per column ten
deciles and at most ~100 bin counts, and category counts of categorical columns
(bounded by the number of categories). Nothing is sampled for an answer; there
is no ``percentile_approx``, no sketch.

Modules: ``session`` (the SparkSession and the PySpark check), ``inputs``
(paths, globs, tables; types as the local engine sees them), ``passes`` (the
Spark jobs), ``exact`` (the last, pure steps), ``compare`` (the verdicts).
"""
