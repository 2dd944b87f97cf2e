"""The Spark jobs behind regression, multiclass, calibration, fairness and segments.

Each is one aggregate over both windows that returns a few numbers per window and
group - the counts and sums of :class:`mops.drift.detail.Counts` - which the shared
code turns into figures (:func:`mops.drift.detail.assemble`), as for the local
engine. DeLong's sums come from the per-value table with the other Mann-Whitney sums
(:func:`mops.drift.spark.passes.cdf`); a segment is the whole comparison run again on
its rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mops.drift import outcomes
from mops.drift.kinds import NUMERIC
from mops.drift.spark import exact
from mops.drift.spark.inputs import NUMBER_MARK, SIDE, Windows
from mops.drift.spark.passes import col, finite
from mops.drift.state import MISSING_GROUP


def group_value(windows: Windows, name: str) -> Any:
    """A group column's values as text, numbers marked as the categorical columns' are."""
    from pyspark.sql import functions as F

    x = col(windows.aliases[name])
    if windows.storage[name] != NUMERIC:
        return x
    return F.when(x.isNull() | F.isnan(x), F.lit(None).cast("string")).otherwise(
        F.concat(F.lit(NUMBER_MARK), x.cast("string")))


def spell(values: Sequence[str | None]) -> dict[str | None, str]:
    """Each collected group value as the local engine names it (Arrow's spelling of numbers, nulls
    as :data:`~mops.drift.state.MISSING_GROUP`)."""
    out: dict[str | None, str] = {v: v for v in values if v is not None and not v.startswith(NUMBER_MARK)}
    marked = [v for v in values if v is not None and v.startswith(NUMBER_MARK)]
    if marked:
        out.update(zip(marked, exact.arrow_spellings(marked, NUMBER_MARK), strict=True))
    if None in values:
        out[None] = MISSING_GROUP
    return out


def _labelled(windows: Windows, label: str, score: str) -> tuple[Any, Any, Any]:
    from pyspark.sql import functions as F

    y, s = col(windows.aliases[label]), col(windows.aliases[score])
    return finite(s) & ((y == F.lit(0.0)) | (y == F.lit(1.0))), y, s


def outcome_groups(frame: Any, key: Any, usable: Any, y: Any, s: Any, threshold: float
                   ) -> dict[tuple[int, str | None], tuple[int, int, int, int, float, float]]:
    """Per (window, group): positives, negatives, true and false positives at *threshold*, the
    score sum and the Brier numerator, over labelled rows with a finite score."""
    from pyspark.sql import functions as F

    positive = y == F.lit(1.0)
    rows = frame.where(usable).groupBy(SIDE, key.alias("g")).agg(
        F.count(F.when(positive, 1)).alias("pos"), F.count(F.when(~positive, 1)).alias("neg"),
        F.count(F.when(positive & (s >= F.lit(threshold)), 1)).alias("tp"),
        F.count(F.when(~positive & (s >= F.lit(threshold)), 1)).alias("fp"),
        F.sum(s).alias("total"), F.sum((s - y) * (s - y)).alias("brier")).collect()
    return {(int(r[SIDE]), r["g"]): (int(r["pos"]), int(r["neg"]), int(r["tp"]), int(r["fp"]),
                                     float(r["total"] or 0.0), float(r["brier"] or 0.0)) for r in rows}


def decile_grades(frame: Any, windows: Windows, label: str, score: str, cuts: Sequence[float], threshold: float
                  ) -> tuple[tuple[list[outcomes.GradeCounts], list[outcomes.GradeCounts]], tuple[float, float]]:
    """Counts per score grade ``(c[i-1], c[i]]`` of each window, and each window's Brier numerator."""
    from pyspark.sql import functions as F

    usable, y, s = _labelled(windows, label, score)
    grade = F.lit(0)
    for c in cuts:
        grade = grade + F.when(F.lit(float(c)) < s, 1).otherwise(0)
    found = outcome_groups(frame, grade.cast("string"), usable, y, s, threshold)
    names = outcomes.decile_grade_names([float(c) for c in cuts])
    sides: list[list[outcomes.GradeCounts]] = [[], []]
    brier = [0.0, 0.0]
    for side in (0, 1):
        for i, name in enumerate(names):
            pos, neg, _, _, total, squares = found.get((side, str(i)), (0, 0, 0, 0, 0.0, 0.0))
            sides[side].append(outcomes.GradeCounts(name, pos + neg, pos, total))
            brier[side] += squares
    return (sides[0], sides[1]), (brier[0], brier[1])


def column_groups(frame: Any, windows: Windows, name: str, label: str, score: str, threshold: float
                  ) -> dict[str, tuple[tuple[int, int, int, int, float], tuple[int, int, int, int, float]]]:
    """Per value of a grade or protected column (spelled): each window's positives, negatives, true
    and false positives and score sum."""
    usable, y, s = _labelled(windows, label, score)
    found = outcome_groups(frame, group_value(windows, name), usable, y, s, threshold)
    names = spell([g for _, g in found])
    out: dict[str, list[tuple[int, int, int, int, float]]] = {}
    for (side, raw), figures in found.items():
        sides = out.setdefault(names[raw], [(0, 0, 0, 0, 0.0), (0, 0, 0, 0, 0.0)])
        old = sides[side]
        sides[side] = (old[0] + figures[0], old[1] + figures[1], old[2] + figures[2], old[3] + figures[3],
                       old[4] + figures[4])
    return {k: (v[0], v[1]) for k, v in out.items()}


def regression_sums(frame: Any, windows: Windows, label: str, score: str
                    ) -> tuple[tuple[outcomes.RegressionSums, outcomes.RegressionSums], dict[str, int]]:
    """Each window's regression sums, and the current window's rows left out."""
    from pyspark.sql import functions as F

    y, s = col(windows.aliases[label]), col(windows.aliases[score])
    usable = finite(y) & finite(s)
    e = s - y
    nonzero = usable & (y != F.lit(0.0))
    rows = frame.groupBy(SIDE).agg(
        F.count(F.when(usable, 1)).alias("n"), F.sum(F.when(usable, e)).alias("e"),
        F.sum(F.when(usable, F.abs(e))).alias("ae"), F.sum(F.when(usable, e * e)).alias("se"),
        F.sum(F.when(nonzero, F.abs(e) / F.abs(y))).alias("ape"), F.count(F.when(nonzero, 1)).alias("nz"),
        F.avg(F.when(usable, y)).alias("mean"), F.var_pop(F.when(usable, y)).alias("var"),
        F.count(F.when(~finite(y), 1)).alias("missing"),
        F.count(F.when(finite(y) & ~finite(s), 1)).alias("nonfinite")).collect()
    sums = [outcomes.RegressionSums(0, 0.0, 0.0, 0.0, 0.0, 0, math.nan, math.nan)] * 2
    dropped = {"missing_label": 0, "nonfinite_prediction": 0}
    for r in rows:
        n = int(r["n"])
        sums[int(r[SIDE])] = outcomes.RegressionSums(
            n, float(r["e"] or 0.0), float(r["ae"] or 0.0), float(r["se"] or 0.0), float(r["ape"] or 0.0),
            n - int(r["nz"]), float(r["mean"]) if n else math.nan, float(r["var"]) * n if n else math.nan)
        if int(r[SIDE]) == 1:
            dropped = {"missing_label": int(r["missing"]), "nonfinite_prediction": int(r["nonfinite"])}
    return (sums[0], sums[1]), dropped


def confusion(frame: Any, windows: Windows, label: str, prediction: str
              ) -> tuple[tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]], dict[str, int]]:
    """Each window's rows per (true class, predicted class), and the current window's rows left out."""
    y, p = group_value(windows, label), group_value(windows, prediction)
    rows = frame.groupBy(SIDE, y.alias("y"), p.alias("p")).count().collect()
    names = spell([r["y"] for r in rows] + [r["p"] for r in rows])
    sides: list[dict[tuple[str, str], int]] = [{}, {}]
    dropped = {"missing_label": 0, "missing_prediction": 0}
    for r in rows:
        side, n = int(r[SIDE]), int(r["count"])
        if r["y"] is None or r["p"] is None:
            if side == 1:
                dropped["missing_label" if r["y"] is None else "missing_prediction"] += n
            continue
        pair = (names[r["y"]], names[r["p"]])
        sides[side][pair] = sides[side].get(pair, 0) + n
    return (sides[0], sides[1]), dropped


def segment_rows(frame: Any, windows: Windows, name: str) -> dict[str, tuple[int, int, str | None]]:
    """Per value of a segment column (spelled): the rows of each window, and the raw value to filter on."""
    rows = frame.groupBy(SIDE, group_value(windows, name).alias("g")).count().collect()
    names = spell([r["g"] for r in rows])
    out: dict[str, list[Any]] = {}
    for r in rows:
        entry = out.setdefault(names[r["g"]], [0, 0, r["g"]])
        entry[int(r[SIDE])] += int(r["count"])
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def only(frame: Any, windows: Windows, name: str, raw: str | None) -> Any:
    """The rows of one segment value."""
    value = group_value(windows, name)
    return frame.where(value.isNull() if raw is None else value == raw)

