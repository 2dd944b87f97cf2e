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

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mops.errors import UsageError

NUMERIC = "numeric"
CATEGORICAL = "categorical"

#: In-memory bytes of numeric values a partition may hold before it spills to disk.
SPILL_BUDGET_BYTES = 256 << 20

# Categorical tallies from each batch are compacted once this many (value, count)
# pairs are pending, so a high-cardinality column stays bounded too.
_TALLY_COMPACT_ROWS = 1 << 20


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
        """All finite values, sorted ascending."""
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
class ProfileState:
    """Everything the statistics need from one window of a log (or a part of it)."""

    rows: int
    columns: Mapping[str, ColumnState]
    outcome: OutcomeState | None = None
    sources: tuple[str, ...] = ()
    #: Rows read from each of ``sources``, in the same order.
    source_rows: tuple[int, ...] = ()


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
    if isinstance(a, ProfileState) and isinstance(b, ProfileState):
        if set(a.columns) != set(b.columns):
            raise ValueError("cannot merge profiles of different columns")
        if (a.outcome is None) != (b.outcome is None):
            raise ValueError("cannot merge a profile with labels and one without")
        return ProfileState(
            rows=a.rows + b.rows,
            columns={name: merge(a.columns[name], b.columns[name]) for name in a.columns},
            outcome=None if a.outcome is None else merge(a.outcome, b.outcome),
            sources=a.sources + b.sources,
            source_rows=a.source_rows + b.source_rows,
        )
    raise TypeError(f"cannot merge {type(a).__name__} with {type(b).__name__}")


def in_memory_bytes(state: ProfileState) -> int:
    """Bytes of numeric values a profile holds in memory (not spilled)."""
    total = sum(c.in_memory_bytes for c in state.columns.values() if isinstance(c, NumericState))
    if state.outcome is not None:
        total += state.outcome.positives.in_memory_bytes
        total += state.outcome.negatives.in_memory_bytes
    return total


def spill(state: ProfileState, spill_dir: str) -> ProfileState:
    """Move the in-memory numeric values of *state* to files in *spill_dir*."""
    writer = _SpillWriter(spill_dir)
    try:
        columns = {
            name: _spill_numeric(writer, name, col) if isinstance(col, NumericState) else col
            for name, col in state.columns.items()
        }
        outcome = state.outcome
        if outcome is not None:
            outcome = OutcomeState(
                positives=_spill_numeric(writer, "\0positives", outcome.positives),
                negatives=_spill_numeric(writer, "\0negatives", outcome.negatives),
                missing_label=outcome.missing_label,
            )
    finally:
        writer.close()
    return ProfileState(state.rows, columns, outcome, state.sources, state.source_rows)


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
    """What to profile in a partition: column kinds and the label/score pair."""

    source: str
    kinds: Mapping[str, str]
    label: str | None = None
    score: str | None = None


class PartitionBuilder:
    """Accumulates record batches of one partition into a :class:`ProfileState`.

    Batches hold numeric columns (and the label) as float64 and categorical
    columns as string, as :func:`mops.drift.readers.iter_batches` yields them.
    """

    def __init__(
        self,
        spec: PartitionSpec,
        spill_dir: str | None = None,
        *,
        budget_bytes: int | None = None,
    ) -> None:
        self.spec = spec
        self.rows = 0
        self._budget = SPILL_BUDGET_BYTES if budget_bytes is None else budget_bytes
        self._writer = _SpillWriter(spill_dir) if spill_dir else None
        self._spilled = False
        self._numeric = {n: _NumericBuffer() for n, k in spec.kinds.items() if k == NUMERIC}
        self._categorical = {n: _Tally() for n, k in spec.kinds.items() if k == CATEGORICAL}
        self._outcome: tuple[_NumericBuffer, _NumericBuffer] | None = None
        self._missing_label = 0
        if spec.label is not None:
            self._outcome = (_NumericBuffer(), _NumericBuffer())

    def add(self, batch: pa.RecordBatch) -> None:
        """Fold one record batch into the state."""
        self.rows += batch.num_rows
        for name, buf in self._numeric.items():
            buf.add(_as_float(batch.column(name)))
        for name, tally in self._categorical.items():
            tally.add(batch.column(name))
        if self._outcome is not None:
            self._add_outcome(batch, *self._outcome)
        if self._writer is not None and self._buffered_bytes() > self._budget:
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
            return ProfileState(self.rows, columns, outcome, (self.spec.source,), (self.rows,))
        finally:
            if self._writer is not None:
                self._writer.close()

    def abandon(self) -> None:
        """Close the spill files of a partition that failed (the directory owner deletes them)."""
        if self._writer is not None:
            self._writer.close()

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
                f"{self.spec.source}: label column {self.spec.label!r} must hold 0/1 or true/false, found {example:g}"
            )
        pos.add(score[is_pos])
        neg.add(score[is_neg])

    def _buffered_bytes(self) -> int:
        total = sum(b.nbytes for b in self._numeric.values())
        if self._outcome is not None:
            total += self._outcome[0].nbytes + self._outcome[1].nbytes
        return total

    def _flush(self, writer: _SpillWriter) -> None:
        for name, buf in self._numeric.items():
            buf.flush(writer, name)
        if self._outcome is not None:
            self._outcome[0].flush(writer, "\0positives")
            self._outcome[1].flush(writer, "\0negatives")
        self._spilled = True


def _as_float(array: pa.Array) -> np.ndarray:
    if array.type != pa.float64():
        array = pc.cast(array, pa.float64())
    if array.null_count:
        # Nulls become NaN, so they are dropped and counted with NaN.
        array = pc.fill_null(array, np.nan)
    return _view(array, np.float64)


def _view(array: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """A numpy view of a primitive Arrow array without nulls.

    Array.to_numpy would do the same, but imports pandas first (0.2 s a process).
    """
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * itemsize)


class _NumericBuffer:
    def __init__(self) -> None:
        self.pending: list[np.ndarray] = []
        self.nbytes = 0
        self.segments: list[Segment] = []
        self.nan = self.posinf = self.neginf = 0

    def add(self, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        n_finite = int(np.count_nonzero(finite))
        if n_finite == values.size:
            # Copy: a view would pin the whole Arrow batch in memory.
            kept = np.array(values, dtype=np.float64, copy=True)
        else:
            self.posinf += int(np.count_nonzero(values == np.inf))
            self.neginf += int(np.count_nonzero(values == -np.inf))
            self.nan += int(np.count_nonzero(np.isnan(values)))
            kept = values[finite]
        if kept.size:
            self.pending.append(kept)
            self.nbytes += kept.nbytes

    def flush(self, writer: _SpillWriter, key: str) -> None:
        if self.pending:
            self.segments.append(writer.write(key, self.pending))
            self.pending = []
            self.nbytes = 0

    def state(self) -> NumericState:
        # One segment per batch: concatenating them here would hold every value twice.
        segments = self.segments + [Segment(count=v.size, values=v) for v in self.pending]
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
            tallies = pc.value_counts(present.indices)
            values = present.dictionary.take(tallies.field("values"))
            counts = tallies.field("counts")
            if values.null_count:  # null entries in the dictionary itself
                self.missing += int(pc.sum(pc.filter(counts, values.is_null())).as_py())
                keep = values.is_valid()
                values, counts = values.filter(keep), counts.filter(keep)
        else:
            tallies = pc.value_counts(present)
            values, counts = tallies.field("values"), tallies.field("counts")
        self.values.append(values)
        self.counts.append(counts)
        self.pending += len(tallies)
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
        self.counts = [pa.Array.from_buffers(pa.int64(), len(sums), [None, pa.py_buffer(sums.astype(np.int64))])]
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
