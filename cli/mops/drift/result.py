"""The outcome of comparing two windows, and its ``drift --json`` document.

Each column ends in one :class:`ColumnStatus`: tested (``ok`` or ``drift``), or not
tested - ``no_data`` when a window has no usable value (a data-quality failure,
not counted in the drifted share) or ``not_tested`` for a text column.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from mops.drift import outcomes, stats

#: Dataset-level status: the columns and breaches say "no drift", "drift", or the
#: data could not support a verdict for some column.
OK, DRIFT, DATA_QUALITY = "ok", "drift", "data_quality"
#: A segment with too few rows on a side to be tested.
TOO_SMALL = "too_small"

_MAX_JSON_BINS = 100


class ColumnStatus(enum.StrEnum):
    """A column's outcome, most serious first."""

    NO_DATA = "no_data"
    DRIFT = "drift"
    OK = "ok"
    NOT_TESTED = "not_tested"

    @property
    def label(self) -> str:
        return {"no_data": "NO DATA", "drift": "drift", "ok": "ok", "not_tested": "not tested"}[self.value]

    @property
    def tested(self) -> bool:
        return self in (ColumnStatus.DRIFT, ColumnStatus.OK)


@dataclass(frozen=True)
class Dropped:
    """Values left out of a column's statistics."""

    nan: int = 0  # NaN or null (numeric); missing (categorical)
    posinf: int = 0
    neginf: int = 0

    @property
    def total(self) -> int:
        return self.nan + self.posinf + self.neginf

    def to_json(self) -> dict[str, int]:
        return {"nan": self.nan, "posinf": self.posinf, "neginf": self.neginf}


@dataclass(frozen=True)
class Notice:
    """A data-quality problem (``problem``) or a warning about a result (``warning``)."""

    code: str  # e.g. "no_data", "small_window", "text"
    message: str
    column: str | None = None

    def to_json(self, key: str) -> dict[str, str | None]:
        return {"column": self.column, key: self.code, "message": self.message}


@dataclass(frozen=True)
class ColumnResult:
    """One column of the plan: its role and kind, its status and, when tested, the verdict."""

    column: str
    role: str
    kind: str  # numeric | categorical | text
    status: ColumnStatus
    drift: stats.ColumnDrift | None  # None unless tested
    dropped: Dropped  # in the current data
    dropped_reference: Dropped
    #: Usable values on each side and distinct values (None when the column was not read).
    n_reference: int | None = None
    n_current: int | None = None
    n_unique: int | None = None
    warnings: tuple[Notice, ...] = ()

    @property
    def drifted(self) -> bool:
        return self.status == ColumnStatus.DRIFT


@dataclass(frozen=True)
class Breach:
    """A plan threshold reached."""

    threshold: str  # key of DriftPlan.thresholds
    limit: float
    value: float
    column: str | None = None
    #: The segment (``column=value``) or grade the figure is of, if not the whole window.
    segment: str | None = None
    #: Breached at or below the limit (p-values, the parity ratio), not at or above.
    below: bool = False

    @property
    def message(self) -> str:
        where = f" of column {self.column!r}" if self.column else ""
        where += f" in {self.segment}" if self.segment else ""
        return (f"{self.threshold}{where} is {self.value:.4g}, at or {'below' if self.below else 'above'} "
                f"the limit {self.limit:g}")


@dataclass(frozen=True)
class RegressionChange:
    reference: outcomes.Regression
    current: outcomes.Regression
    #: Drift of the error distribution (prediction minus label), as a numeric column's.
    error_drift: stats.ColumnDrift | None
    #: Rows of the current window left out: no label, or a label but no finite prediction.
    dropped: Mapping[str, int] = field(default_factory=dict)

    @property
    def change(self) -> dict[str, float]:
        return {k: getattr(self.current, k) - getattr(self.reference, k) for k in outcomes.REGRESSION_METRICS}


@dataclass(frozen=True)
class MulticlassChange:
    reference: outcomes.Multiclass
    current: outcomes.Multiclass
    dropped: Mapping[str, int] = field(default_factory=dict)

    @property
    def change(self) -> dict[str, float]:
        return {k: getattr(self.current, k) - getattr(self.reference, k) for k in outcomes.MULTICLASS_METRICS}


@dataclass(frozen=True)
class SegmentResult:
    """One value of a segment column: its own comparison, or why there is none."""

    column: str
    value: str
    rows_reference: int
    rows_current: int
    #: None when the segment is too small on a side to be tested.
    result: DriftResult | None

    @property
    def status(self) -> str:
        return TOO_SMALL if self.result is None else self.result.status


@dataclass(frozen=True)
class Detail:
    """What a comparison adds beyond columns and a binary score's performance."""

    task: str | None = None
    regression: RegressionChange | None = None
    multiclass: MulticlassChange | None = None
    #: Calibration per grade of the reference and of the current window (binary).
    calibration: tuple[outcomes.Calibration, outcomes.Calibration] | None = None
    discrimination: outcomes.AucChange | None = None
    #: Per protected column: the reference's and the current window's rates and parity.
    fairness: tuple[tuple[outcomes.Fairness, outcomes.Fairness], ...] = ()
    segments: tuple[SegmentResult, ...] = ()


@dataclass(frozen=True)
class DriftResult:
    """The outcome of :func:`mops.drift.comparison.compare`."""

    dataset_drift: bool
    drifted_share: float
    drift_share_threshold: float
    rows_reference: int
    rows_current: int
    columns: tuple[ColumnResult, ...]
    performance: stats.PerformanceChange | None
    breaches: tuple[Breach, ...]
    performance_dropped: Mapping[str, int] = field(default_factory=dict)
    #: Data-quality failures: a column with no usable value, no column tested.
    problems: tuple[Notice, ...] = ()
    #: The result stands but needs care: small windows, text columns left out.
    warnings: tuple[Notice, ...] = ()
    detail: Detail = Detail()

    @property
    def status(self) -> str:
        """``data_quality`` when there is a problem, else ``drift`` on dataset drift or a breach, else ``ok``."""
        if self.problems:
            return DATA_QUALITY
        return DRIFT if self.dataset_drift or self.breaches else OK

    def to_json(self) -> dict[str, Any]:
        """The ``drift --json`` document (the command adds ``model`` and ``version``)."""
        tested = [c for c in self.columns if c.status.tested]
        return {
            "status": self.status,
            "dataset_drift": bool(self.dataset_drift),
            "drifted_share": _num(self.drifted_share),
            "drift_share_threshold": _num(self.drift_share_threshold),
            "tested_columns": len(tested),
            "drifted_columns": sum(1 for c in tested if c.drifted),
            "rows": {"reference": int(self.rows_reference), "current": int(self.rows_current)},
            "columns": [_column_json(c) for c in self.columns],
            "performance": _performance_json(self.performance, self.performance_dropped),
            "breaches": [
                {
                    "threshold": b.threshold,
                    "column": b.column,
                    "value": _num(b.value),
                    "limit": _num(b.limit),
                    "message": b.message,
                    "segment": b.segment,
                }
                for b in self.breaches
            ],
            "problems": [p.to_json("problem") for p in self.problems],
            "warnings": [w.to_json("warning") for w in self.warnings],
            **_detail_json(self.detail),
        }


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _column_json(result: ColumnResult) -> dict[str, Any]:
    drift = result.drift
    out: dict[str, Any] = {
        "column": result.column,
        "role": result.role,
        "kind": result.kind,
        "status": result.status.value,
        "method": None,
        "statistic": None,
        "threshold": None,
        "drifted": result.drifted,
        "psi": None,
        "psi_band": None,
        "dropped": result.dropped.to_json(),
        "dropped_reference": result.dropped_reference.to_json(),
        "values": None if result.n_current is None else {"reference": result.n_reference,
                                                           "current": result.n_current},
        "n_unique": result.n_unique,
        "psi_bins": None,
        "warnings": [w.message for w in result.warnings],
    }
    if drift is not None:
        psi = drift.psi
        bins = [b if isinstance(b, str) else _num(b) for b in psi.bins]
        out.update({
            "method": drift.method,
            "statistic": _num(drift.statistic),
            "threshold": _num(drift.threshold),
            "psi": _num(psi.value),
            "psi_band": psi.band,
            # Bin shares help explain a PSI, but not for thousands of categories.
            "psi_bins": None
            if len(bins) > _MAX_JSON_BINS
            else {
                "bins": bins,
                "reference": [_num(x) for x in psi.reference_shares],
                "current": [_num(x) for x in psi.current_shares],
            },
        })
    return out


def _performance_json(change: stats.PerformanceChange | None, dropped: Mapping[str, int]) -> dict[str, Any] | None:
    if change is None:
        return None

    def side(p: stats.Performance) -> dict[str, float | None]:
        out: dict[str, float | None] = {"rows": p.rows, "positives": p.positives}
        for key in stats.Performance.__dataclass_fields__:
            if key not in out:
                out[key] = _num(getattr(p, key))
        return out

    return {
        "decision_threshold": _num(change.decision_threshold),
        "reference": side(change.reference),
        "current": side(change.current),
        "change": {k: _num(v) for k, v in change.change.items()},
        "dropped": dict(dropped),
    }


# -- regression, multiclass, calibration, discrimination, fairness, segments ---------------------


def _figures(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The number fields of a dataclass, JSON-safe (NaN and ±inf as null)."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        out[f.name] = value if isinstance(value, str) or isinstance(value, bool) else (
            value if isinstance(value, int) else _num(value))
    return out


def _multiclass_side(m: outcomes.Multiclass) -> dict[str, Any]:
    return {**_figures(m, ("classes", "labels", "confusion")),
            "classes": [_figures(c) for c in m.classes],
            "labels": list(m.labels), "confusion": [list(r) for r in m.confusion]}


def _calibration_side(c: outcomes.Calibration) -> dict[str, Any]:
    return {**_figures(c, ("grades",)), "grades": [_figures(g) for g in c.grades]}


def _fairness_side(f: outcomes.Fairness) -> dict[str, Any]:
    return {**_figures(f, ("column", "groups")), "groups": [_figures(g) for g in f.groups]}


def _detail_json(d: Detail) -> dict[str, Any]:
    """The keys a comparison adds for its task: ``task``, ``regression``, ``multiclass``,
    ``calibration``, ``discrimination``, ``fairness`` and ``segments`` (null or empty when
    they do not apply)."""
    regression = multiclass = calibration = discrimination = None
    if d.regression is not None:
        r = d.regression
        drift = r.error_drift
        regression = {
            "reference": _figures(r.reference), "current": _figures(r.current),
            "change": {k: _num(v) for k, v in r.change.items()},
            "error_drift": None if drift is None else {
                "method": drift.method, "statistic": _num(drift.statistic), "threshold": _num(drift.threshold),
                "drifted": drift.drifted, "psi": _num(drift.psi.value), "psi_band": drift.psi.band},
            "dropped": dict(r.dropped)}
    if d.multiclass is not None:
        m = d.multiclass
        multiclass = {"reference": _multiclass_side(m.reference), "current": _multiclass_side(m.current),
                      "change": {k: _num(v) for k, v in m.change.items()}, "dropped": dict(m.dropped)}
    if d.calibration is not None:
        ref, cur = d.calibration
        calibration = {"grading": cur.grading, "confidence": outcomes.CONFIDENCE,
                       "reference": _calibration_side(ref), "current": _calibration_side(cur),
                       "change": {"brier": _num(cur.brier - ref.brier)}}
    if d.discrimination is not None:
        a = d.discrimination
        discrimination = {"confidence": outcomes.CONFIDENCE, "reference": _figures(a.reference),
                          "current": _figures(a.current), "change": _num(a.change), "z": _num(a.z),
                          "pvalue": _num(a.pvalue)}
    return {
        "task": d.task,
        "regression": regression,
        "multiclass": multiclass,
        "calibration": calibration,
        "discrimination": discrimination,
        "fairness": [{"column": cur.column, "reference": _fairness_side(ref), "current": _fairness_side(cur)}
                     for ref, cur in d.fairness],
        "segments": [{"column": s.column, "value": s.value, "status": s.status,
                      "rows": {"reference": s.rows_reference, "current": s.rows_current},
                      "drift": None if s.result is None else s.result.to_json()} for s in d.segments],
    }
