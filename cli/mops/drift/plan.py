"""The monitoring plan: what to compare, how, and which limits to report.

A plan comes from a model card's ``monitoring:`` mapping (:meth:`DriftPlan.from_monitoring`),
with command-line overrides applied by :func:`plan_for`. Everything is validated
here, so the engines and the statistics can trust it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mops.drift import stats
from mops.drift.kinds import CATEGORICAL, KINDS, NUMERIC, TEXT
from mops.errors import UsageError

FEATURE, PREDICTION = "feature", "prediction"

#: Plan thresholds: a breach is reported when the value reaches the limit (>=).
#: ``psi`` applies to every compared column; ``<metric>_drop`` to reference minus
#: current performance; ``calibration_gap`` to |mean score - observed rate| now.
PERFORMANCE_DROPS = ("auc", "gini", "ks", "accuracy", "precision", "recall")
PLAN_THRESHOLDS = ("psi", *(f"{m}_drop" for m in PERFORMANCE_DROPS), "calibration_gap")

MONITORING_KEYS = (
    "features",
    "prediction",
    "label",
    "thresholds",
    "columns",
    "drift_share",
    "decision_threshold",
    "reference",
    "logs",
)
COLUMN_KEYS = ("kind", "method", "threshold")


@dataclass
class DriftPlan:
    """What to compare, how, and which limits to report breaches of."""

    features: list[str]
    prediction: str | None = None
    label: str | None = None
    #: Declared kind per column ("numeric", "categorical" or "text"); it wins over
    #: the inference from the data (:mod:`mops.drift.kinds`).
    kinds: dict[str, str] = field(default_factory=dict)
    #: Method per column, one of :data:`mops.drift.stats.METHODS`.
    methods: dict[str, str] = field(default_factory=dict)
    #: Drift threshold per column (replaces the method's default).
    column_thresholds: dict[str, float] = field(default_factory=dict)
    #: Dataset drift when the share of drifted columns reaches this.
    drift_share: float = 0.5
    #: A score >= this predicts 1 (accuracy, precision, recall).
    decision_threshold: float = 0.5
    #: Plan thresholds (:data:`PLAN_THRESHOLDS`), reported as breaches.
    thresholds: dict[str, float] = field(default_factory=dict)

    def columns(self) -> list[tuple[str, str]]:
        """Compared columns and their role, features first."""
        out = [(name, FEATURE) for name in self.features]
        if self.prediction is not None:
            out.append((self.prediction, PREDICTION))
        return out

    def read_columns(self) -> list[str]:
        """Every column a file must have: compared columns and the label."""
        names = [name for name, _ in self.columns()]
        if self.label is not None:
            names.append(self.label)
        return names

    def validate(self) -> None:
        """Raise :class:`UsageError` when the plan cannot be run."""
        names = [name for name, _ in self.columns()]
        if not names:
            raise UsageError("nothing to compare: the plan names no features and no prediction")
        seen: set[str] = set()
        for name in names:
            if not isinstance(name, str) or not name:
                raise UsageError(f"column names must be non-empty strings, got {name!r}")
            if name in seen:
                raise UsageError(f"column {name!r} is listed twice (features and prediction)")
            seen.add(name)
        if self.label is not None:
            if self.label in seen:
                raise UsageError(f"label column {self.label!r} is also a feature or the prediction")
            if self.prediction is None:
                raise UsageError(f"label {self.label!r} needs a prediction column to score")
        for name, kind in self.kinds.items():
            if kind not in KINDS:
                raise UsageError(f"column {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if self.prediction is not None and self.kinds.get(self.prediction, NUMERIC) != NUMERIC:
            raise UsageError(f"prediction column {self.prediction!r} must be numeric")
        for name, method in self.methods.items():
            if method not in stats.METHODS:
                raise UsageError(f"column {name!r}: method {method!r} is not one of {', '.join(stats.METHODS)}")
            if method in stats.NUMERIC_ONLY_METHODS and self.kinds.get(name) == CATEGORICAL:
                raise UsageError(f"column {name!r}: method {method!r} needs a numeric column")
            if self.kinds.get(name) == TEXT:
                raise UsageError(f"column {name!r}: a text column is not tested, so it takes no method")
        for name, value in self.column_thresholds.items():
            _check_number(f"column {name!r} threshold", value)
        for key, value in self.thresholds.items():
            if key not in PLAN_THRESHOLDS:
                raise UsageError(f"unknown threshold {key!r} (expected one of {', '.join(PLAN_THRESHOLDS)})")
            _check_number(f"threshold {key!r}", value)
            if key != "psi" and self.label is None:
                raise UsageError(f"threshold {key!r} needs a label column for performance")
        _check_number("drift_share", self.drift_share)
        if not 0 < self.drift_share <= 1:
            raise UsageError(f"drift_share must be in (0, 1], got {self.drift_share}")
        _check_number("decision_threshold", self.decision_threshold)

    @classmethod
    def from_monitoring(cls, mapping: Mapping) -> DriftPlan:
        """Build a plan from a model card's ``monitoring:`` mapping.

        Keys: ``features``, ``prediction``, ``label``, ``thresholds``, ``columns``
        (``{name: {kind, method, threshold}}``), ``drift_share``,
        ``decision_threshold``; ``reference`` (a path) and ``logs`` (a pattern)
        are checked here and used by the command. Raises :class:`UsageError`
        naming the offending key.
        """
        if not isinstance(mapping, Mapping):
            raise UsageError("monitoring: expected a mapping")
        for key in mapping:
            if key not in MONITORING_KEYS:
                raise UsageError(f"monitoring.{key}: unknown key (expected one of {', '.join(MONITORING_KEYS)})")
        for key in ("reference", "logs"):
            value = mapping.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise UsageError(f"monitoring.{key}: expected a path relative to the inventory, got {value!r}")
        features = mapping.get("features") or []
        if isinstance(features, str) or not isinstance(features, Sequence):
            raise UsageError("monitoring.features: expected a list of column names")
        for i, name in enumerate(features):
            if not isinstance(name, str) or not name:
                raise UsageError(f"monitoring.features[{i}]: expected a column name, got {name!r}")
        prediction = _optional_name(mapping, "prediction")
        label = _optional_name(mapping, "label")

        thresholds = mapping.get("thresholds") or {}
        if not isinstance(thresholds, Mapping):
            raise UsageError("monitoring.thresholds: expected a mapping of name: number")
        for key, value in thresholds.items():
            if key not in PLAN_THRESHOLDS:
                raise UsageError(
                    f"monitoring.thresholds.{key}: unknown threshold (expected one of {', '.join(PLAN_THRESHOLDS)})"
                )
            _check_number(f"monitoring.thresholds.{key}", value)

        kinds: dict[str, str] = {}
        methods: dict[str, str] = {}
        column_thresholds: dict[str, float] = {}
        columns = mapping.get("columns") or {}
        if not isinstance(columns, Mapping):
            raise UsageError("monitoring.columns: expected a mapping of column: settings")
        known = set(features) | {prediction}
        for name, settings in columns.items():
            where = f"monitoring.columns.{name}"
            if name not in known:
                raise UsageError(f"{where}: not one of the features or the prediction")
            if not isinstance(settings, Mapping):
                raise UsageError(f"{where}: expected a mapping with kind, method or threshold")
            for key in settings:
                if key not in COLUMN_KEYS:
                    raise UsageError(f"{where}.{key}: unknown key (expected one of {', '.join(COLUMN_KEYS)})")
            if "kind" in settings:
                if settings["kind"] not in KINDS:
                    raise UsageError(f"{where}.kind: expected one of {', '.join(KINDS)}")
                kinds[name] = settings["kind"]
            if "method" in settings:
                if settings["method"] not in stats.METHODS:
                    raise UsageError(f"{where}.method: expected one of {', '.join(stats.METHODS)}")
                methods[name] = settings["method"]
            if "threshold" in settings:
                _check_number(f"{where}.threshold", settings["threshold"])
                column_thresholds[name] = float(settings["threshold"])

        plan = cls(
            features=list(features),
            prediction=prediction,
            label=label,
            kinds=kinds,
            methods=methods,
            column_thresholds=column_thresholds,
            thresholds={k: float(v) for k, v in thresholds.items()},
        )
        for key in ("drift_share", "decision_threshold"):
            if key in mapping:
                _check_number(f"monitoring.{key}", mapping[key])
                setattr(plan, key, float(mapping[key]))
        try:
            plan.validate()
        except UsageError as exc:
            raise UsageError(f"monitoring: {exc.message}") from None
        return plan


def has_plan(monitoring: Any) -> bool:
    """Whether a card's ``monitoring`` mapping asks for drift checks (names columns)."""
    return isinstance(monitoring, Mapping) and bool(monitoring.get("features") or monitoring.get("prediction"))


def plan_for(card_path: str, monitoring: Any, *, features: Sequence[str] | None = None,
             prediction: str | None = None, label: str | None = None) -> tuple[DriftPlan, dict[str, Any]]:
    """The plan of a card's ``monitoring`` mapping with the command's overrides, validated.

    Returns the plan and the mapping it was built from (recorded with a result).
    Errors name the card.
    """
    if monitoring is not None and not isinstance(monitoring, Mapping):
        raise UsageError(f"{card_path}: monitoring: expected a mapping")
    mapping = dict(monitoring or {})
    if features is not None:
        mapping["features"] = [f.strip() for f in features if f.strip()]
    if prediction is not None:
        mapping["prediction"] = prediction
    if label is not None:
        mapping["label"] = label
    if not has_plan(mapping):
        raise UsageError(f"{card_path} has no monitoring plan and no columns were given: add "
                         f"'monitoring: {{features: [...], prediction: ...}}' to the card, or pass "
                         f"--features and --prediction")
    try:
        return DriftPlan.from_monitoring(mapping), mapping
    except UsageError as exc:
        raise UsageError(f"{card_path}: {exc.message}") from None


def _optional_name(mapping: Mapping, key: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise UsageError(f"monitoring.{key}: expected a column name, got {value!r}")
    return value


def _check_number(what: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{what}: expected a number, got {value!r}")
