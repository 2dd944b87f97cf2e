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
from mops.drift.outcomes import BINARY, MULTICLASS, REGRESSION, TASKS
from mops.errors import UsageError

FEATURE, PREDICTION = "feature", "prediction"

#: Plan thresholds: a breach is reported when the value reaches the limit (>=).
#: ``psi`` applies to every compared column; ``<metric>_drop`` to reference minus
#: current performance; ``calibration_gap`` to |mean score - observed rate| now.
PERFORMANCE_DROPS = ("auc", "gini", "ks", "accuracy", "precision", "recall")
#: Regression: ``<metric>_increase`` (current minus reference; r2_drop the other way) and
#: ``bias`` (|mean error| now). Multiclass: ``accuracy_drop`` and ``<f1>_drop``.
REGRESSION_THRESHOLDS = ("mae_increase", "rmse_increase", "mape_increase", "r2_drop", "bias")
MULTICLASS_THRESHOLDS = ("macro_f1_drop", "weighted_f1_drop")
#: Binary calibration and discrimination: p-value limits are breached at or *below* the limit
#: (``jeffreys_pvalue`` and ``binomial_pvalue`` by any grade; ``delong_pvalue`` when the AUC
#: fell), ``brier_increase`` at or above.
CALIBRATION_THRESHOLDS = ("hosmer_lemeshow_pvalue", "jeffreys_pvalue", "binomial_pvalue", "delong_pvalue",
                          "brier_increase")
#: Fairness over the ``protected`` columns, on the current window: differences at or above the
#: limit, the ratio at or below it (0.8 is the four-fifths rule of US employment practice).
FAIRNESS_THRESHOLDS = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")
PLAN_THRESHOLDS = ("psi", *(f"{m}_drop" for m in PERFORMANCE_DROPS), "calibration_gap", *REGRESSION_THRESHOLDS,
                   *MULTICLASS_THRESHOLDS, *CALIBRATION_THRESHOLDS, *FAIRNESS_THRESHOLDS)
#: Thresholds breached at or below the limit (the rest at or above).
LOWER_LIMITS = frozenset({"hosmer_lemeshow_pvalue", "jeffreys_pvalue", "binomial_pvalue", "delong_pvalue",
                          "demographic_parity_ratio"})
#: Thresholds each task can breach (``psi`` applies to every task).
TASK_THRESHOLDS = {
    BINARY: frozenset({*(f"{m}_drop" for m in PERFORMANCE_DROPS), "calibration_gap", *CALIBRATION_THRESHOLDS,
                       *FAIRNESS_THRESHOLDS}),
    REGRESSION: frozenset(REGRESSION_THRESHOLDS),
    MULTICLASS: frozenset({"accuracy_drop", *MULTICLASS_THRESHOLDS}),
}
#: A segment (or a protected group) with fewer rows than this on either side is reported, not tested.
MIN_SEGMENT_ROWS = 100
#: Distinct values a segment, protected or grade column may hold.
MAX_GROUP_VALUES = 200

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
    "task",
    "grade",
    "segments",
    "protected",
    "min_segment_rows",
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
    #: binary | regression | multiclass; None: inferred from the data (:func:`infer_task`).
    task: str | None = None
    #: A column of rating grades for calibration (binary); None: the reference's score deciles.
    grade: str | None = None
    #: Columns whose every value gets its own verdict and metrics.
    segments: list[str] = field(default_factory=list)
    #: Columns of groups compared for fairness (binary).
    protected: list[str] = field(default_factory=list)
    min_segment_rows: int = MIN_SEGMENT_ROWS

    def group_columns(self) -> list[str]:
        """Segment, protected and grade columns, each once, in that order."""
        out: list[str] = []
        for name in [*self.segments, *self.protected, *([self.grade] if self.grade else [])]:
            if name not in out:
                out.append(name)
        return out

    def declared_kinds(self) -> dict[str, str]:
        """The declared kinds, and group columns that are not compared read as categories."""
        compared = {n for n, _ in self.columns()}
        return {**{g: CATEGORICAL for g in self.group_columns() if g not in compared}, **self.kinds}

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
        names += [n for n in self.group_columns() if n not in names]
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
        if self.task is not None and self.task not in TASKS:
            raise UsageError(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        if (self.prediction is not None and self.task != MULTICLASS
                and self.kinds.get(self.prediction, NUMERIC) != NUMERIC):
            raise UsageError(f"prediction column {self.prediction!r} must be numeric")
        for what, names in (("segments", self.segments), ("protected", self.protected),
                            ("grade", [self.grade] if self.grade else [])):
            for name in names:
                if not isinstance(name, str) or not name:
                    raise UsageError(f"{what}: column names must be non-empty strings, got {name!r}")
                if name in (self.label, self.prediction):
                    raise UsageError(f"{what}: {name!r} is the label or the prediction")
            if len(set(names)) != len(names):
                raise UsageError(f"{what}: a column is listed twice")
        if (self.protected or self.grade) and self.label is None:
            raise UsageError(f"{'protected' if self.protected else 'grade'} needs a label column")
        if self.task not in (None, BINARY) and (self.protected or self.grade):
            raise UsageError(f"{'protected' if self.protected else 'grade'} applies to a binary task, "
                             f"not {self.task}")
        if isinstance(self.min_segment_rows, bool) or not isinstance(self.min_segment_rows, int) \
                or self.min_segment_rows < 1:
            raise UsageError(f"min_segment_rows: expected a whole number of at least 1, got {self.min_segment_rows!r}")
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
            if key in FAIRNESS_THRESHOLDS and not self.protected:
                raise UsageError(f"threshold {key!r} needs protected columns (monitoring.protected)")
            if key != "psi" and self.task is not None and key not in TASK_THRESHOLDS[self.task]:
                raise UsageError(f"threshold {key!r} does not apply to a {self.task} task")
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
        task = mapping.get("task")
        if task is not None and task not in TASKS:
            raise UsageError(f"monitoring.task: expected one of {', '.join(TASKS)}, got {task!r}")
        plan.task = task
        plan.grade = _optional_name(mapping, "grade")
        for key in ("segments", "protected"):
            names = mapping.get(key) or []
            if isinstance(names, str) or not isinstance(names, Sequence) \
                    or not all(isinstance(n, str) and n for n in names):
                raise UsageError(f"monitoring.{key}: expected a list of column names")
            setattr(plan, key, list(names))
        if "min_segment_rows" in mapping:
            plan.min_segment_rows = mapping["min_segment_rows"]
        try:
            plan.validate()
        except UsageError as exc:
            raise UsageError(f"monitoring: {exc.message}") from None
        return plan


def infer_task(label_class: str, prediction_class: str, *, label_values: int, label_binary: bool,
               label_whole: bool, prediction_whole: bool, prediction_unit: bool = False) -> str:
    """The task of a plan that names none, from the label and prediction of the reference.

    Classes are :mod:`mops.drift.kinds` type classes; *label_values* counts the
    reference's labels, *label_binary* says they are all 0 or 1, *label_whole* all
    whole numbers, *prediction_whole* that every prediction is a whole number and
    *prediction_unit* that every prediction lies in [0, 1].

    * text labels predicted by text or whole numbers: multiclass;
    * boolean labels, labels of 0 and 1, or whole labels with predictions in [0, 1]
      (scores): binary - a label other than 0 or 1 is then refused, naming its file;
    * labels with fractions, or predictions with fractions outside [0, 1]: regression.

    Raises :class:`UsageError` when the data cannot tell (no label, or whole numbers
    on both sides: counts and classes look alike).
    """
    from mops.drift.kinds import BOOLEAN, DICTIONARY, FLOAT, INTEGER, STRING

    texts = (STRING, DICTIONARY)
    if label_class in texts:
        return MULTICLASS if prediction_class in (*texts, INTEGER) else BINARY
    if prediction_class in texts:
        return MULTICLASS
    if label_class == BOOLEAN:
        return BINARY
    if label_class not in (INTEGER, FLOAT) or label_values == 0:
        raise UsageError("cannot tell the task (binary, regression or multiclass): the reference has no label "
                         "values; set monitoring.task")
    if label_binary or (label_whole and prediction_unit):
        return BINARY
    if not label_whole or not prediction_whole:
        return REGRESSION
    raise UsageError("cannot tell the task: the labels and the predictions are whole numbers other than 0 "
                     "and 1, which fits a regression (counts) and a multiclass model alike; set "
                     "monitoring.task to regression or multiclass")


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
