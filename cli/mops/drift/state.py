"""Mergeable per-column state of a prediction log.

A log is profiled one partition at a time (a file, or a range of its batches),
possibly in another process or on another machine, and the partial states are
merged with :func:`merge`. Merging is associative and commutative in everything
the statistics see: a window split over several files gives exactly the same
statistics as one file.

Numeric columns keep every finite value, because the statistics are exact (a
quantile sketch would move KS p-values at millions of rows). Values that do not
fit the memory budget are spilled to float64 files on disk and loaded back one
column at a time when compared. NaN (and null), +inf and -inf are dropped and
counted. Categorical columns keep value -> count tallies and a missing count.

Nothing here holds global state: a :class:`PartitionBuilder` is created per
partition and its result is a plain picklable :class:`ProfileState`.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mops.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from numpy.typing import DTypeLike

NUMERIC = "numeric"
CATEGORICAL = "categorical"

#: In-memory bytes of numeric values a partition may hold before it spills to disk.
SPILL_BUDGET_BYTES = 256 << 20

# Categorical tallies from each batch are compacted once this many (value, count)
# pairs are pending, so a high-cardinality column stays bounded too.
_TALLY_COMPACT_ROWS = 1 << 20
# Groups a segment, protected or grade column may hold (mops.drift.plan.MAX_GROUP_VALUES).
_MAX_GROUPS = 200


@dataclass(frozen=True)
class Segment:
    """A run of finite float64 values, in memory or in a spill file."""

    count: int
    path: str | None = None
    offset: int = 0
    values: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def in_memory_bytes(self) -> int:
        return 0 if self.values is None else int(self.values.nbytes)


@dataclass(frozen=True)
class NumericState:
    """Finite values of a numeric column plus the counts of what was dropped."""

    segments: tuple[Segment, ...] = ()
    nan: int = 0
    posinf: int = 0
    neginf: int = 0

    @property
    def count(self) -> int:
        """Number of finite values."""
        return sum(s.count for s in self.segments)

    @property
    def in_memory_bytes(self) -> int:
        return sum(s.in_memory_bytes for s in self.segments)

    def load(self) -> np.ndarray:
        """All finite values as one new float64 array, in no particular order."""
        out = np.empty(self.count, dtype=np.float64)
        at = 0
        for seg in self.segments:
            if seg.values is not None:
                out[at : at + seg.count] = seg.values
            elif seg.count:
                if seg.path is None:
                    raise ValueError(f"a segment of {seg.count} values has neither values nor a spill file")
                with open(seg.path, "rb") as fh:
                    fh.seek(seg.offset)
                    got = fh.readinto(out[at : at + seg.count].data.cast("B"))
                    if got != seg.count * 8:
                        raise OSError(f"{seg.path}: spill file is truncated")
            at += seg.count
        return out

    def load_sorted(self) -> np.ndarray:
        """All finite values, sorted ascending.

        Values held in one array in memory (a Parquet file's column, see
        :class:`PartitionBuilder`) are sorted where they are, not copied: their order is no
        part of the state, and a copy of every column would be as many fresh pages again.
        The array returned is then the state's own: read it, do not write to it.
        """
        if len(self.segments) == 1:
            held = self.segments[0].values
            if held is not None and held.flags.writeable:
                held.sort()
                return held
        values = self.load()
        values.sort()
        return values


@dataclass(frozen=True)
class CategoricalState:
    """Value -> count tallies of a categorical column, and its missing count."""

    counts: Mapping[str, int] = field(default_factory=dict)
    missing: int = 0

    @property
    def count(self) -> int:
        return sum(self.counts.values())


ColumnState = NumericState | CategoricalState


@dataclass(frozen=True)
class OutcomeState:
    """Scores split by label, for performance metrics.

    Scores of rows labelled 1 go to ``positives``, of rows labelled 0 to
    ``negatives`` (non-finite scores dropped and counted there); rows without a
    label are only counted.
    """

    positives: NumericState = NumericState()
    negatives: NumericState = NumericState()
    missing_label: int = 0


@dataclass(frozen=True)
class RegressionState:
    """Labels and errors of a regression, for rows with a finite label and prediction.

    ``errors`` are prediction minus label, ``ape`` the absolute percentage errors
    |error| / |label| of the rows whose label is not zero. Kept as values (sorted
    before they are summed), so a window's figures do not depend on how it is split.
    """

    labels: NumericState = NumericState()
    errors: NumericState = NumericState()
    ape: NumericState = NumericState()
    missing_label: int = 0
    nonfinite_prediction: int = 0


@dataclass(frozen=True)
class ConfusionState:
    """Rows per (true class, predicted class) of a multiclass model."""

    counts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    missing_label: int = 0
    missing_prediction: int = 0


TaskState = RegressionState | ConfusionState


@dataclass(frozen=True)
class ProfileState:
    """Everything the statistics need from one window of a log (or a part of it)."""

    rows: int
    columns: Mapping[str, ColumnState]
    outcome: OutcomeState | None = None
    sources: tuple[str, ...] = ()
    #: Rows read from each of ``sources``, in the same order.
    source_rows: tuple[int, ...] = ()
    #: Regression or multiclass outcomes (a binary model's are ``outcome``).
    task: TaskState | None = None
    #: Per segment, protected or grade column, per value (as text; nulls as
    #: :data:`MISSING_GROUP`): the state of those rows alone.
    groups: Mapping[str, Mapping[str, ProfileState]] = field(default_factory=dict)


#: The group of rows whose segment, protected or grade column is null.
MISSING_GROUP = "(missing)"


def merge(a, b):
    """Merge two states of the same kind (column, outcome or whole profile).

    Associative: ``merge(merge(a, b), c)`` and ``merge(a, merge(b, c))`` hold the
    same values and counts.
    """
    if isinstance(a, NumericState) and isinstance(b, NumericState):
        return NumericState(
            segments=a.segments + b.segments,
            nan=a.nan + b.nan,
            posinf=a.posinf + b.posinf,
            neginf=a.neginf + b.neginf,
        )
    if isinstance(a, CategoricalState) and isinstance(b, CategoricalState):
        counts = dict(a.counts)
        for key, n in b.counts.items():
            counts[key] = counts.get(key, 0) + n
        return CategoricalState(counts=counts, missing=a.missing + b.missing)
    if isinstance(a, OutcomeState) and isinstance(b, OutcomeState):
        return OutcomeState(
            positives=merge(a.positives, b.positives),
            negatives=merge(a.negatives, b.negatives),
            missing_label=a.missing_label + b.missing_label,
        )
    if isinstance(a, RegressionState) and isinstance(b, RegressionState):
        return RegressionState(merge(a.labels, b.labels), merge(a.errors, b.errors), merge(a.ape, b.ape),
                               a.missing_label + b.missing_label, a.nonfinite_prediction + b.nonfinite_prediction)
    if isinstance(a, ConfusionState) and isinstance(b, ConfusionState):
        pairs = dict(a.counts)
        for pair, n in b.counts.items():
            pairs[pair] = pairs.get(pair, 0) + n
        return ConfusionState(pairs, a.missing_label + b.missing_label, a.missing_prediction + b.missing_prediction)
    if isinstance(a, ProfileState) and isinstance(b, ProfileState):
        if set(a.columns) != set(b.columns):
            raise ValueError("cannot merge profiles of different columns")
        if (a.outcome is None) != (b.outcome is None) or type(a.task) is not type(b.task):
            raise ValueError("cannot merge a profile with labels and one without")
        if set(a.groups) != set(b.groups):
            raise ValueError("cannot merge profiles of different segments")
        groups = {}
        for name, values in a.groups.items():
            merged = dict(values)
            for value, part in b.groups[name].items():
                merged[value] = merge(merged[value], part) if value in merged else part
            groups[name] = merged
        return ProfileState(
            rows=a.rows + b.rows,
            columns={name: merge(a.columns[name], b.columns[name]) for name in a.columns},
            outcome=None if a.outcome is None else merge(a.outcome, b.outcome),
            sources=a.sources + b.sources,
            source_rows=a.source_rows + b.source_rows,
            task=None if a.task is None else merge(a.task, b.task),
            groups=groups,
        )
    raise TypeError(f"cannot merge {type(a).__name__} with {type(b).__name__}")


def in_memory_bytes(state: ProfileState) -> int:
    """Bytes of numeric values a profile holds in memory (not spilled)."""
    total = sum(c.in_memory_bytes for c in state.columns.values() if isinstance(c, NumericState))
    if state.outcome is not None:
        total += state.outcome.positives.in_memory_bytes
        total += state.outcome.negatives.in_memory_bytes
    if isinstance(state.task, RegressionState):
        total += sum(v.in_memory_bytes for v in (state.task.labels, state.task.errors, state.task.ape))
    return total + sum(in_memory_bytes(part) for values in state.groups.values() for part in values.values())


def spill(state: ProfileState, spill_dir: str) -> ProfileState:
    """Move the in-memory numeric values of *state* to files in *spill_dir*."""
    writer = _SpillWriter(spill_dir)
    try:
        return _spill_state(writer, state, "")
    finally:
        writer.close()


def _spill_state(writer: _SpillWriter, state: ProfileState, prefix: str) -> ProfileState:
    columns = {
        name: _spill_numeric(writer, prefix + name, col) if isinstance(col, NumericState) else col
        for name, col in state.columns.items()
    }
    outcome = state.outcome
    if outcome is not None:
        outcome = OutcomeState(
            positives=_spill_numeric(writer, prefix + "\0positives", outcome.positives),
            negatives=_spill_numeric(writer, prefix + "\0negatives", outcome.negatives),
            missing_label=outcome.missing_label,
        )
    task = state.task
    if isinstance(task, RegressionState):
        task = RegressionState(_spill_numeric(writer, f"{prefix}\0labels", task.labels),
                               _spill_numeric(writer, f"{prefix}\0errors", task.errors),
                               _spill_numeric(writer, f"{prefix}\0ape", task.ape),
                               task.missing_label, task.nonfinite_prediction)
    groups = {name: {value: _spill_state(writer, part, f"{prefix}\0{name}\0{value}\0")
                     for value, part in values.items()} for name, values in state.groups.items()}
    return ProfileState(state.rows, columns, outcome, state.sources, state.source_rows, task, groups)


def _spill_numeric(writer: _SpillWriter, key: str, col: NumericState) -> NumericState:
    if col.in_memory_bytes == 0:
        return col
    segments = []
    pending = [s.values for s in col.segments if s.values is not None]
    for seg in col.segments:
        if seg.values is None:
            segments.append(seg)
    if pending:
        segments.append(writer.write(key, pending))
    return NumericState(tuple(segments), col.nan, col.posinf, col.neginf)


# -- building one partition -----------------------------------------------------


@dataclass(frozen=True)
class PartitionSpec:
    """What to profile in a partition: column kinds, the label/score pair, the task, the groups."""

    source: str
    kinds: Mapping[str, str]
    label: str | None = None
    score: str | None = None
    #: binary (scores split by 0/1 label), regression or multiclass; None with a label: binary.
    task: str | None = None
    #: Group column -> True when each of its groups keeps every column (a segment), False
    #: when only the outcomes (a protected or grade column).
    groups: Mapping[str, bool] = field(default_factory=dict)


class PartitionBuilder:
    """Accumulates record batches of one partition into a :class:`ProfileState`.

    Batches hold numeric columns (and the label) as float64 and categorical
    columns as string, as :func:`mops.drift.readers.iter_batches` yields them. With
    *rows*, the partition's row count when it is known beforehand (a Parquet file),
    each numeric column's values go into one array of that size.
    """

    def __init__(
        self,
        spec: PartitionSpec,
        spill_dir: str | None = None,
        *,
        budget_bytes: int | None = None,
        writer: _SpillWriter | None = None,
        rows: int | None = None,
    ) -> None:
        self.spec = spec
        self.rows = 0
        self._budget = SPILL_BUDGET_BYTES if budget_bytes is None else budget_bytes
        self._child = writer is not None
        self._writer = writer if writer is not None else _SpillWriter(spill_dir) if spill_dir else None
        self._spilled = False
        self._numeric = {n: _NumericBuffer(rows) for n, k in spec.kinds.items() if k == NUMERIC}
        self._categorical = {n: _Tally() for n, k in spec.kinds.items() if k == CATEGORICAL}
        self._outcome: tuple[_NumericBuffer, _NumericBuffer] | None = None
        self._missing_label = 0
        self._regression: tuple[_NumericBuffer, _NumericBuffer, _NumericBuffer] | None = None
        self._nonfinite_prediction = 0
        self._confusion: dict[tuple[str, str], int] | None = None
        self._missing_prediction = 0
        if spec.label is not None:
            if spec.task == "regression":
                self._regression = (_NumericBuffer(), _NumericBuffer(), _NumericBuffer())
            elif spec.task == "multiclass":
                self._confusion = {}
            else:
                # Either class may hold every row: room for all (pages untouched cost nothing).
                self._outcome = (_NumericBuffer(rows), _NumericBuffer(rows))
        self._groups: dict[str, dict[str, PartitionBuilder]] = {name: {} for name in spec.groups}

    def add(self, batch: pa.RecordBatch) -> None:
        """Fold one record batch into the state."""
        self.rows += batch.num_rows
        for name, buf in self._numeric.items():
            buf.add(_as_float(batch.column(name)))
        for name, tally in self._categorical.items():
            tally.add(batch.column(name))
        if self._outcome is not None:
            self._add_outcome(batch, *self._outcome)
        if self._regression is not None:
            self._add_regression(batch, *self._regression)
        if self._confusion is not None:
            self._add_confusion(batch, self._confusion)
        for name in self._groups:
            self._add_groups(batch, name)
        if not self._child and self._writer is not None and self._buffered_bytes() > self._budget:
            self._flush(self._writer)

    def finish(self) -> ProfileState:
        """Return the partition's state (and close its spill files)."""
        try:
            if self._spilled and self._writer is not None:
                # Once part of a partition is on disk, put the rest there too, so
                # the process merging many partitions keeps only small ones in memory.
                self._flush(self._writer)
            columns: dict[str, ColumnState] = {}
            for name in self.spec.kinds:
                if name in self._numeric:
                    columns[name] = self._numeric[name].state()
                else:
                    columns[name] = self._categorical[name].state()
            outcome = None
            if self._outcome is not None:
                pos, neg = self._outcome
                outcome = OutcomeState(pos.state(), neg.state(), self._missing_label)
            task: TaskState | None = None
            if self._regression is not None:
                labels, errors, ape = self._regression
                task = RegressionState(labels.state(), errors.state(), ape.state(), self._missing_label,
                                       self._nonfinite_prediction)
            elif self._confusion is not None:
                task = ConfusionState(dict(self._confusion), self._missing_label, self._missing_prediction)
            groups = {name: {value: part.finish() for value, part in values.items()}
                      for name, values in self._groups.items()}
            return ProfileState(self.rows, columns, outcome, (self.spec.source,), (self.rows,), task, groups)
        finally:
            if self._writer is not None and not self._child:
                self._writer.close()

    def abandon(self) -> None:
        """Close the spill files of a partition that failed (the directory owner deletes them)."""
        if self._writer is not None and not self._child:
            self._writer.close()

    def _add_groups(self, batch: pa.RecordBatch, name: str) -> None:
        column = _as_string(batch.column(name))
        encoded = pc.dictionary_encode(column)
        indices = encoded.indices
        groups = self._groups[name]
        values = encoded.dictionary.to_pylist()
        keep = self.spec.groups[name]
        for i, value in enumerate([*values, None]):
            mask = pc.equal(indices, i) if value is not None else pc.is_null(indices)
            if value is None and not indices.null_count:
                continue
            part = batch.filter(mask)
            if not part.num_rows:
                continue
            key = MISSING_GROUP if value is None else value
            builder = groups.get(key)
            if builder is None:
                if len(groups) >= _MAX_GROUPS:
                    raise UsageError(f"{self.spec.source}: column {name!r} has more than {_MAX_GROUPS} distinct "
                                     f"values; a segment, protected or grade column must hold a few groups")
                spec = PartitionSpec(self.spec.source, self.spec.kinds if keep else {}, self.spec.label,
                                     self.spec.score, self.spec.task)
                builder = groups[key] = PartitionBuilder(spec, writer=self._writer)
            builder.add(part)

    def _add_regression(self, batch: pa.RecordBatch, labels: _NumericBuffer, errors: _NumericBuffer,
                        ape: _NumericBuffer) -> None:
        label = _as_float(batch.column(self.spec.label))
        score = _as_float(batch.column(self.spec.score))
        has_label = np.isfinite(label)
        usable = has_label & np.isfinite(score)
        self._missing_label += int(label.size - np.count_nonzero(has_label))
        self._nonfinite_prediction += int(np.count_nonzero(has_label & ~usable))
        y, error = label[usable], score[usable] - label[usable]
        labels.add(y)
        errors.add(error)
        nonzero = y != 0
        ape.add(np.abs(error[nonzero]) / np.abs(y[nonzero]))

    def _add_confusion(self, batch: pa.RecordBatch, confusion: dict[tuple[str, str], int]) -> None:
        label, predicted = (_as_string(batch.column(n)) for n in (self.spec.label, self.spec.score))
        has_label = label.is_valid()
        usable = pc.and_(has_label, predicted.is_valid())
        self._missing_label += int(len(label) - pc.sum(has_label).as_py() if len(label) else 0)
        self._missing_prediction += int(pc.sum(pc.and_(has_label, pc.invert(usable))).as_py() or 0)
        y, p = (pc.dictionary_encode(a.filter(usable)) for a in (label, predicted))
        if not len(y):
            return
        width = len(p.dictionary)
        codes = _view(pc.cast(y.indices, pa.int64()), np.int64) * width + _view(pc.cast(p.indices, pa.int64()),
                                                                                  np.int64)
        tallies = np.bincount(codes, minlength=len(y.dictionary) * width)
        y_names, p_names = y.dictionary.to_pylist(), p.dictionary.to_pylist()
        for code in np.flatnonzero(tallies):
            pair = (y_names[code // width], p_names[code % width])
            confusion[pair] = confusion.get(pair, 0) + int(tallies[code])

    def _add_outcome(self, batch: pa.RecordBatch, pos: _NumericBuffer, neg: _NumericBuffer) -> None:
        label = _as_float(batch.column(self.spec.label))
        score = _as_float(batch.column(self.spec.score))
        has_label = ~np.isnan(label)
        self._missing_label += int(label.size - np.count_nonzero(has_label))
        is_pos = label == 1
        is_neg = label == 0
        bad = has_label & ~is_pos & ~is_neg
        if bad.any():
            example = label[bad][0]
            raise UsageError(
                f"{self.spec.source}: label column {self.spec.label!r} must hold 0/1 or true/false, found {example:g} "
                f"(for a continuous label or classes, set monitoring.task: regression or multiclass)"
            )
        pos.add(score[is_pos])
        neg.add(score[is_neg])

    def _buffered_bytes(self) -> int:
        total = sum(b.nbytes for b in self._numeric.values())
        if self._outcome is not None:
            total += self._outcome[0].nbytes + self._outcome[1].nbytes
        if self._regression is not None:
            total += sum(b.nbytes for b in self._regression)
        return total + sum(part._buffered_bytes() for values in self._groups.values() for part in values.values())

    def _flush(self, writer: _SpillWriter, prefix: str = "") -> None:
        for name, buf in self._numeric.items():
            buf.flush(writer, prefix + name)
        if self._outcome is not None:
            self._outcome[0].flush(writer, prefix + "\0positives")
            self._outcome[1].flush(writer, prefix + "\0negatives")
        if self._regression is not None:
            for key, buf in zip(("labels", "errors", "ape"), self._regression, strict=True):
                buf.flush(writer, f"{prefix}\0{key}")
        for name, values in self._groups.items():
            for value, part in values.items():
                part._flush(writer, f"{prefix}\0{name}\0{value}\0")
        self._spilled = True


def _as_string(array: pa.Array) -> pa.Array:
    """Values as text: numbers as Arrow spells them ("1", "2.5"), categories decoded; NaN is null."""
    if pa.types.is_floating(array.type):
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def _as_float(array: pa.Array) -> np.ndarray:
    if array.type != pa.float64():
        array = pc.cast(array, pa.float64())
    if array.null_count:
        # Nulls become NaN, so they are dropped and counted with NaN.
        array = pc.fill_null(array, np.nan)
    return _view(array, np.float64)


def _view(array: pa.Array, dtype: DTypeLike) -> np.ndarray:
    """A numpy view of a primitive Arrow array without nulls.

    Array.to_numpy would do the same, but imports pandas first (0.2 s a process).
    """
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * itemsize)


def _int64_array(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array of *values* (pa.array would look for pandas first: 0.2 s of imports)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _code_counts(array: pa.DictionaryArray) -> tuple[pa.Array, pa.Array]:
    """The dictionary entries a dictionary array without nulls uses, and how often (int64)."""
    indices, dictionary = array.indices, array.dictionary
    if len(dictionary) > 4 * len(indices) + 1024:  # a large dictionary: hash the few codes used
        tallies = pc.value_counts(indices)
        return dictionary.take(tallies.field("values")), tallies.field("counts")
    kind = "i" if pa.types.is_signed_integer(indices.type) else "u"
    codes = _view(indices, np.dtype(f"{kind}{indices.type.bit_width // 8}"))
    counts = np.bincount(codes, minlength=len(dictionary))
    used = np.flatnonzero(counts)
    return dictionary.take(_int64_array(used)), _int64_array(counts[used])


class _NumericBuffer:
    """A numeric column's finite values, and counts of the others, as batches come in.

    With a *capacity* (the rows of the partition, when known), values are copied into
    one array of that size, which the comparison sorts in place; past it, or without
    one, each batch's values are kept as an array of their own.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self.pending: list[np.ndarray] = []
        self.nbytes = 0
        self.segments: list[Segment] = []
        self.nan = self.posinf = self.neginf = 0
        self._held = np.empty(capacity, dtype=np.float64) if capacity else None
        self._filled = 0

    def add(self, values: np.ndarray) -> None:
        # A NaN or an infinity makes the sum NaN or infinite: a finite sum means every value is
        # finite (an infinite one, from finite values too large, takes the long way).
        with np.errstate(invalid="ignore", over="ignore"):
            total = np.sum(values)
        if not math.isfinite(total):
            finite = np.isfinite(values)
            self.posinf += int(np.count_nonzero(values == np.inf))
            self.neginf += int(np.count_nonzero(values == -np.inf))
            self.nan += int(np.count_nonzero(np.isnan(values)))
            values = values[finite]
        if not values.size:
            return
        held, at = self._held, self._filled
        if held is not None and at + values.size <= held.size:
            held[at : at + values.size] = values
            self._filled += values.size
        else:
            # Copy: Arrow reuses the batch's memory for the next one. Views would keep every
            # batch, and fresh memory from Arrow's pool costs far more page faults.
            self.pending.append(np.array(values, dtype=np.float64, copy=True))
        self.nbytes += values.nbytes

    def _runs(self) -> list[np.ndarray]:
        held = [] if self._held is None or not self._filled else [self._held[: self._filled]]
        return held + self.pending

    def flush(self, writer: _SpillWriter, key: str) -> None:
        runs = self._runs()
        if runs:
            self.segments.append(writer.write(key, runs))
        self.pending = []
        self._held = None
        self._filled = 0
        self.nbytes = 0

    def state(self) -> NumericState:
        # One segment per run: concatenating them here would hold every value twice.
        segments = self.segments + [Segment(count=v.size, values=v) for v in self._runs()]
        return NumericState(tuple(segments), self.nan, self.posinf, self.neginf)


class _Tally:
    def __init__(self) -> None:
        self.values: list[pa.Array] = []
        self.counts: list[pa.Array] = []
        self.pending = 0
        self.missing = 0

    def add(self, array: pa.Array) -> None:
        self.missing += array.null_count
        if array.null_count == len(array):
            return
        present = array.drop_null() if array.null_count else array
        if pa.types.is_dictionary(array.type):
            # Count the codes, then name them: far cheaper than hashing every string.
            values, counts = _code_counts(present)
            if values.null_count:  # null entries in the dictionary itself
                self.missing += int(pc.sum(pc.filter(counts, values.is_null())).as_py())
                keep = values.is_valid()
                values, counts = values.filter(keep), counts.filter(keep)
        else:
            tallies = pc.value_counts(present)
            values, counts = tallies.field("values"), tallies.field("counts")
        self.values.append(values)
        self.counts.append(counts)
        self.pending += len(values)
        if self.pending > _TALLY_COMPACT_ROWS and len(self.values) > 1:
            self._compact()

    def _compact(self) -> None:
        # Sum the counts per value through a dictionary encoding (Table.group_by would
        # load Arrow's query engine, and with it pandas: 0.3 s of imports).
        encoded = pc.dictionary_encode(pa.concat_arrays(self.values))
        indices = pc.cast(encoded.indices, pa.int64())
        counts = np.concatenate([_view(c, np.int64) for c in self.counts])
        sums = np.bincount(_view(indices, np.int64), weights=counts, minlength=len(encoded.dictionary))
        self.values = [encoded.dictionary]
        # Whole counts stay exact as float64 weights below 2**53.
        self.counts = [_int64_array(sums)]
        self.pending = len(sums)

    def state(self) -> CategoricalState:
        if len(self.values) > 1:
            self._compact()
        counts: dict[str, int] = {}
        if self.values:
            counts = dict(zip(self.values[0].to_pylist(), self.counts[0].to_pylist(), strict=True))
        return CategoricalState(counts=counts, missing=self.missing)


class _SpillWriter:
    """Appends float64 runs to one file per column in a spill directory."""

    def __init__(self, spill_dir: str) -> None:
        self.dir = spill_dir
        self.prefix = uuid.uuid4().hex
        self.files: dict[str, tuple[str, BinaryIO]] = {}

    def write(self, key: str, runs: list[np.ndarray]) -> Segment:
        """Append *runs* one after the other: one segment, without joining them in memory first."""
        if key not in self.files:
            path = os.path.join(self.dir, f"{self.prefix}-{len(self.files)}.f64")
            self.files[key] = (path, open(path, "ab"))  # noqa: SIM115 - closed in close()
        path, fh = self.files[key]
        offset = fh.tell()
        for values in runs:
            values.astype(np.float64, copy=False).tofile(fh)
        return Segment(count=sum(int(v.size) for v in runs), path=path, offset=offset)

    def close(self) -> None:
        for _, fh in self.files.values():
            fh.close()
        self.files = {}
