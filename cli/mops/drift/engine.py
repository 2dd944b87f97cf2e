"""The drift API the ``mops drift`` command calls.

* :class:`DriftPlan` says what to compare (from a model card's ``monitoring:``).
* :func:`profile_files` reads a window of a log (one or more files, in parallel
  processes when asked) into a mergeable :class:`Profile`.
* :func:`compare` turns a reference and a current profile into a
  :class:`DriftResult`, whose :meth:`DriftResult.to_json` is the ``drift --json``
  document without ``model`` and ``version``.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from mops.drift import readers, state, stats
from mops.drift.state import (
    CATEGORICAL,
    NUMERIC,
    CategoricalState,
    NumericState,
    OutcomeState,
    PartitionBuilder,
    PartitionSpec,
    ProfileState,
    in_memory_bytes,
    merge,
    spill,
)
from mops.errors import UsageError

KINDS = (NUMERIC, CATEGORICAL)
FEATURE, PREDICTION = "feature", "prediction"

#: Plan thresholds: a breach is reported when the value reaches the limit (>=).
#: ``psi`` applies to every compared column; ``<metric>_drop`` to reference minus
#: current performance; ``calibration_gap`` to |mean score - observed rate| now.
PERFORMANCE_DROPS = ("auc", "gini", "ks", "accuracy", "precision", "recall")
PLAN_THRESHOLDS = ("psi", *(f"{m}_drop" for m in PERFORMANCE_DROPS), "calibration_gap")

_MONITORING_KEYS = (
    "features",
    "prediction",
    "label",
    "thresholds",
    "columns",
    "drift_share",
    "decision_threshold",
    "reference",
)
_COLUMN_KEYS = ("kind", "method", "threshold")

Progress = Callable[[int, int], None]
_MAX_JSON_BINS = 100


# -- the plan -------------------------------------------------------------------


@dataclass
class DriftPlan:
    """What to compare, how, and which limits to report breaches of."""

    features: list[str]
    prediction: str | None = None
    label: str | None = None
    #: "numeric" or "categorical" per column; otherwise inferred from the Arrow
    #: type (integer/float numeric; string/bool/dictionary categorical).
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
        """Every column to read from a file: compared columns and the label."""
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
        ``decision_threshold`` and ``reference`` (a path, used by the command).
        Raises :class:`UsageError` naming the offending key.
        """
        if not isinstance(mapping, Mapping):
            raise UsageError("monitoring: expected a mapping")
        for key in mapping:
            if key not in _MONITORING_KEYS:
                raise UsageError(f"monitoring.{key}: unknown key (expected one of {', '.join(_MONITORING_KEYS)})")
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
                if key not in _COLUMN_KEYS:
                    raise UsageError(f"{where}.{key}: unknown key (expected one of {', '.join(_COLUMN_KEYS)})")
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


def _optional_name(mapping: Mapping, key: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise UsageError(f"monitoring.{key}: expected a column name, got {value!r}")
    return value


def _check_number(what: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{what}: expected a number, got {value!r}")


# -- profiles ---------------------------------------------------------------------


class _SpillDir:
    """A temporary directory removed when the last profile using it goes away."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="mops-drift-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def remove(self) -> None:
        self._cleanup()


@dataclass
class Profile:
    """A profiled window of a log: merged column states plus how they were read."""

    state: ProfileState
    #: "numeric" or "categorical" per read column.
    kinds: dict[str, str]
    #: Where each column's kind came from, e.g. "int64 in ref.parquet" (for errors).
    origins: dict[str, str]
    _spill_dirs: tuple[_SpillDir, ...] = field(default=(), repr=False, compare=False)

    @property
    def rows(self) -> int:
        return self.state.rows

    @property
    def sources(self) -> tuple[str, ...]:
        return self.state.sources

    def rows_by_source(self) -> dict[str, int]:
        """Rows read from each file of the window."""
        return dict(zip(self.state.sources, self.state.source_rows, strict=True))

    def close(self) -> None:
        """Delete the spill files now instead of when the profile is collected."""
        for spill_dir in self._spill_dirs:
            spill_dir.remove()

    def __enter__(self) -> Profile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def merge_profiles(a: Profile, b: Profile) -> Profile:
    """Merge two profiles of the same columns (e.g. partitions profiled apart)."""
    for name, kind in a.kinds.items():
        if b.kinds.get(name) != kind:
            raise UsageError(
                f"column {name!r} is {kind} ({a.origins[name]}) but {b.kinds.get(name)} ({b.origins.get(name)})"
            )
    return Profile(
        merge(a.state, b.state),
        dict(a.kinds),
        dict(a.origins),
        a._spill_dirs + b._spill_dirs,
    )


def profile_files(
    paths: Sequence[str | os.PathLike],
    plan: DriftPlan,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Profile:
    """Read the plan's columns from *paths* (one window) into a merged profile.

    Each file is profiled on its own and the states merged; with ``jobs > 1``
    files are profiled in that many processes. *progress* is called with
    (bytes done, bytes total) over all files. Bad files, missing columns and
    column types that do not fit the plan raise :class:`UsageError`.
    """
    plan.validate()
    files = [os.fspath(p) for p in paths]
    if not files:
        raise UsageError("no input files given")
    names = plan.read_columns()
    infos = [readers.inspect_file(f, names) for f in files]
    kinds, origins = _resolve_kinds(infos, plan)
    targets = {name: readers.FLOAT64 if kinds[name] == NUMERIC else readers.STRING for name in names}
    spill_dir = _SpillDir()
    specs = [
        PartitionSpec(
            source=info.path,
            kinds={name: kinds[name] for name, _ in plan.columns()},
            label=plan.label,
            score=plan.prediction if plan.label else None,
        )
        for info in infos
    ]
    total = sum(info.size for info in infos)
    workers = max(1, min(int(jobs), len(infos)))
    if workers == 1:
        parts = _profile_serially(infos, targets, specs, spill_dir.path, progress, total)
    else:
        parts = _profile_in_processes(infos, targets, specs, spill_dir.path, progress, total, workers)
    merged: ProfileState | None = None
    for part in parts:
        merged = part if merged is None else merge(merged, part)
        if in_memory_bytes(merged) > state.SPILL_BUDGET_BYTES:
            merged = spill(merged, spill_dir.path)
    if merged is None:  # one partition per file, and there is at least one file
        raise UsageError("no input files given")
    return Profile(merged, kinds, origins, (spill_dir,))


def _profile_serially(infos, targets, specs, spill_path, progress, total):
    done = 0
    for info, spec in zip(infos, specs, strict=True):
        report = None
        if progress is not None:
            base = done

            def report(n, _size, base=base):
                progress(base + n, total)

        yield profile_partition(info, targets, spec, spill_path, progress=report)
        done += info.size


def _profile_in_processes(infos, targets, specs, spill_path, progress, total, workers):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: Arrow's thread pools do not survive a fork reliably.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(profile_partition, info, targets, spec, spill_path)
            for info, spec in zip(infos, specs, strict=True)
        ]
        done = 0
        results = []
        for info, future in zip(infos, futures, strict=True):
            results.append(future.result())
            done += info.size
            if progress is not None:
                progress(done, total)
    return results


def profile_partition(
    info: readers.FileInfo,
    targets: Mapping[str, pa.DataType],
    spec: PartitionSpec,
    spill_dir: str | None,
    *,
    progress: Progress | None = None,
) -> ProfileState:
    """Profile one file into a :class:`ProfileState` (runs in a worker process).

    A line longer than the read block further into the file means reading it
    again with larger blocks (:class:`~mops.drift.readers.BlockTooSmall`);
    progress already reported is not reported again.
    """
    reached = 0

    def report(done: int, size: int) -> None:
        nonlocal reached
        if progress is not None and done > reached:
            reached = done
            progress(done, size)

    while True:
        builder = PartitionBuilder(spec, spill_dir)
        try:
            for batch in readers.iter_batches(info, targets, progress=report):
                builder.add(batch)
        except readers.BlockTooSmall as exc:
            builder.abandon()
            info = exc.info
            continue
        except BaseException:
            builder.abandon()
            raise
        break
    result = builder.finish()
    if result.rows == 0:
        raise UsageError(f"{info.path}: has a header but no rows")
    return result


def _kind_of(data_type: pa.DataType) -> str | None:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return NUMERIC
    if pa.types.is_decimal(data_type):
        return NUMERIC
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
        or pa.types.is_boolean(data_type)
    ):
        return CATEGORICAL
    if pa.types.is_null(data_type):
        return None
    return "unsupported"


def _resolve_kinds(infos, plan: DriftPlan) -> tuple[dict[str, str], dict[str, str]]:
    kinds: dict[str, str] = {}
    origins: dict[str, str] = {}
    prediction_or_label = {plan.prediction, plan.label} - {None}
    for name in plan.read_columns():
        seen: dict[str, str] = {}
        for info in infos:
            data_type = info.types[name]
            kind = _kind_of(data_type)
            where = f"{data_type} in {info.path}"
            if kind == "unsupported":
                raise UsageError(
                    f"{info.path}: column {name!r} has type {data_type}, which drift cannot "
                    "compare (expected numbers, strings or booleans)"
                )
            if name == plan.label and kind is not None and not (kind == NUMERIC or pa.types.is_boolean(data_type)):
                raise UsageError(
                    f"{info.path}: label column {name!r} has type {data_type}; expected 0/1 numbers or booleans"
                )
            if kind is not None:
                seen.setdefault(kind, where)
        declared = plan.kinds.get(name)
        if name in prediction_or_label:
            if CATEGORICAL in seen and not (name == plan.label):
                raise UsageError(f"prediction column {name!r} must be numeric, but it is {seen[CATEGORICAL]}")
            kinds[name] = NUMERIC
            origins[name] = seen.get(NUMERIC) or seen.get(CATEGORICAL) or "no values seen"
            continue
        if declared == NUMERIC and CATEGORICAL in seen:
            where = seen[CATEGORICAL]
            if not where.startswith("bool"):
                raise UsageError(f"column {name!r} is declared numeric but is {where}")
        if declared is None and len(seen) > 1:
            raise UsageError(f"column {name!r} has incompatible types: {seen[NUMERIC]} but {seen[CATEGORICAL]}")
        # A column with no value in the part of the file inspected (all null)
        # takes the numeric default: that is what an empty numeric column looks like.
        kinds[name] = declared or next(iter(seen), NUMERIC)
        origins[name] = seen.get(kinds[name]) or next(iter(seen.values()), "no values seen")
        if declared:
            origins[name] = f"declared {declared}; {origins[name]}"
    return kinds, origins


# -- comparison -------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    """Values left out of a column's statistics."""

    nan: int = 0  # NaN or null (numeric); missing (categorical)
    posinf: int = 0
    neginf: int = 0

    def to_json(self) -> dict:
        return {"nan": self.nan, "posinf": self.posinf, "neginf": self.neginf}


@dataclass(frozen=True)
class ColumnResult:
    """One compared column: its role, the drift verdict and the dropped values."""

    column: str
    role: str
    drift: stats.ColumnDrift
    dropped: Dropped  # in the current data
    dropped_reference: Dropped


@dataclass(frozen=True)
class Breach:
    """A plan threshold reached."""

    threshold: str  # key of DriftPlan.thresholds
    limit: float
    value: float
    column: str | None = None

    @property
    def message(self) -> str:
        where = f" of column {self.column!r}" if self.column else ""
        return f"{self.threshold}{where} is {self.value:.4g}, at or above the limit {self.limit:g}"


@dataclass(frozen=True)
class DriftResult:
    """The outcome of :func:`compare`."""

    dataset_drift: bool
    drifted_share: float
    drift_share_threshold: float
    rows_reference: int
    rows_current: int
    columns: tuple[ColumnResult, ...]
    performance: stats.PerformanceChange | None
    breaches: tuple[Breach, ...]
    performance_dropped: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The ``drift --json`` document (the command adds ``model`` and ``version``)."""
        return {
            "dataset_drift": bool(self.dataset_drift),
            "drifted_share": _num(self.drifted_share),
            "drift_share_threshold": _num(self.drift_share_threshold),
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
                }
                for b in self.breaches
            ],
        }


def compare(reference: Profile, current: Profile, plan: DriftPlan, *, jobs: int = 1) -> DriftResult:
    """Compare *current* with *reference* column by column, as *plan* says.

    Pure apart from loading spilled values, one column at a time (*jobs* columns
    at a time in threads: numpy's sorts and searches run outside the GIL).
    Raises :class:`UsageError` when a column's kind differs between the two sides.
    """
    plan.validate()
    tasks = []
    for name, role in plan.columns():
        kind = _matching_kind(reference, current, name)
        method = plan.methods.get(name)
        if method in stats.NUMERIC_ONLY_METHODS and kind != NUMERIC:
            raise UsageError(f"column {name!r}: method {method!r} needs a numeric column")
        tasks.append((name, role, kind, method, plan.column_thresholds.get(name)))

    def run(task) -> ColumnResult:
        name, role, kind, method, threshold = task
        ref_state = reference.state.columns[name]
        cur_state = current.state.columns[name]
        if isinstance(ref_state, NumericState) and isinstance(cur_state, NumericState):
            drift = stats.numeric_drift(
                ref_state.load_sorted(), cur_state.load_sorted(), method=method, threshold=threshold
            )
        elif isinstance(ref_state, CategoricalState) and isinstance(cur_state, CategoricalState):
            drift = stats.categorical_drift(ref_state.counts, cur_state.counts, method=method, threshold=threshold)
        else:  # _matching_kind compared the kinds, and a profile's states are of its kinds
            raise TypeError(f"column {name!r}: {kind} in the plan, but {type(ref_state).__name__} in the "
                            f"reference and {type(cur_state).__name__} in the current data")
        return ColumnResult(name, role, drift, _dropped(cur_state), _dropped(ref_state))

    if jobs > 1 and len(tasks) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(int(jobs), len(tasks))) as pool:
            results = list(pool.map(run, tasks))
    else:
        results = [run(task) for task in tasks]
    drifted = sum(1 for r in results if r.drift.drifted)
    share = drifted / len(results)

    performance = None
    performance_dropped: dict[str, int] = {}
    if plan.label is not None:
        ref_outcome = _outcome(reference, plan.label)
        cur_outcome = _outcome(current, plan.label)
        performance = stats.compare_performance(
            stats.performance(ref_outcome.positives.load_sorted(), ref_outcome.negatives.load_sorted(),
                              plan.decision_threshold),
            stats.performance(cur_outcome.positives.load_sorted(), cur_outcome.negatives.load_sorted(),
                              plan.decision_threshold),
            plan.decision_threshold,
        )
        performance_dropped = {
            "missing_label": cur_outcome.missing_label,
            "nonfinite_score": sum(s.nan + s.posinf + s.neginf for s in (cur_outcome.positives, cur_outcome.negatives)),
        }

    return DriftResult(
        dataset_drift=share >= plan.drift_share,
        drifted_share=share,
        drift_share_threshold=plan.drift_share,
        rows_reference=reference.rows,
        rows_current=current.rows,
        columns=tuple(results),
        performance=performance,
        breaches=tuple(_breaches(plan, results, performance)),
        performance_dropped=performance_dropped,
    )


def _matching_kind(reference: Profile, current: Profile, name: str) -> str:
    for profile, side in ((reference, "reference"), (current, "current data")):
        if name not in profile.kinds or name not in profile.state.columns:
            raise UsageError(f"column {name!r} was not read from the {side} ({_sources(profile)})")
    ref_kind, cur_kind = reference.kinds[name], current.kinds[name]
    if ref_kind != cur_kind:
        raise UsageError(
            f"column {name!r} has incompatible types: {ref_kind} in the reference "
            f"({reference.origins[name]}) but {cur_kind} in the current data "
            f"({current.origins[name]})"
        )
    return ref_kind


def _outcome(profile: Profile, label: str) -> OutcomeState:
    outcome = profile.state.outcome
    if outcome is None:
        raise UsageError(f"label {label!r} was not read from {_sources(profile)}")
    return outcome


def _sources(profile: Profile) -> str:
    return ", ".join(profile.sources) or "no files"


def _dropped(state) -> Dropped:
    if isinstance(state, NumericState):
        return Dropped(state.nan, state.posinf, state.neginf)
    if isinstance(state, CategoricalState):
        return Dropped(state.missing, 0, 0)
    raise TypeError(type(state).__name__)


def _breaches(plan: DriftPlan, results, performance) -> list[Breach]:
    out = []
    limit = plan.thresholds.get("psi")
    if limit is not None:
        for r in results:
            value = r.drift.psi.value
            if not math.isnan(value) and value >= limit:
                out.append(Breach("psi", limit, value, r.column))
    if performance is not None:
        for metric in PERFORMANCE_DROPS:
            limit = plan.thresholds.get(f"{metric}_drop")
            if limit is None:
                continue
            drop = getattr(performance.reference, metric) - getattr(performance.current, metric)
            if not math.isnan(drop) and drop >= limit:
                out.append(Breach(f"{metric}_drop", limit, drop))
        limit = plan.thresholds.get("calibration_gap")
        gap = abs(performance.current.calibration_gap)
        if limit is not None and not math.isnan(gap) and gap >= limit:
            out.append(Breach("calibration_gap", limit, gap))
    return out


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _column_json(result: ColumnResult) -> dict:
    drift = result.drift
    psi = drift.psi
    bins = [b if isinstance(b, str) else _num(b) for b in psi.bins]
    return {
        "column": result.column,
        "role": result.role,
        "kind": drift.kind,
        "method": drift.method,
        "statistic": _num(drift.statistic),
        "threshold": _num(drift.threshold),
        "drifted": bool(drift.drifted),
        "psi": _num(psi.value),
        "psi_band": psi.band,
        "dropped": result.dropped.to_json(),
        "dropped_reference": result.dropped_reference.to_json(),
        "values": {"reference": drift.n_reference, "current": drift.n_current},
        "n_unique": drift.n_unique,
        # Bin shares help explain a PSI, but not for thousands of categories.
        "psi_bins": None
        if len(bins) > _MAX_JSON_BINS
        else {
            "bins": bins,
            "reference": [_num(x) for x in psi.reference_shares],
            "current": [_num(x) for x in psi.current_shares],
        },
    }


def _performance_json(change: stats.PerformanceChange | None, dropped) -> dict | None:
    if change is None:
        return None

    def side(p: stats.Performance) -> dict:
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
