"""The mergeable state of a partition: categorical tallies and numeric values, against plain Python."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from mops.drift.state import CATEGORICAL, NUMERIC, PartitionBuilder, PartitionSpec


def build(batches: list[pa.RecordBatch], kinds: dict[str, str]):
    builder = PartitionBuilder(PartitionSpec(source="t.parquet", kinds=kinds))
    for batch in batches:
        builder.add(batch)
    return builder.finish()


def tally(values: list) -> tuple[dict, int]:
    present = Counter(v for v in values if v is not None)
    return dict(present), sum(1 for v in values if v is None)


@pytest.mark.parametrize("index_type", [pa.int8(), pa.uint8(), pa.int16(), pa.uint16(), pa.int32(), pa.int64()])
def test_dictionary_codes_are_counted_as_their_values(index_type):
    rng = np.random.default_rng(1)
    words = ["north", "south", "east", "west", "unused"]
    batches = []
    every: list = []
    for size in (1000, 1, 0, 777):
        codes = rng.integers(0, 4, size)  # "unused" never appears
        nulls = rng.random(size) < 0.1
        indices = pa.array(codes, type=index_type, mask=nulls)
        array = pa.DictionaryArray.from_arrays(indices, pa.array(words))
        batches.append(pa.record_batch({"c": array.slice(size // 3) if size > 3 else array}))
        every += array.slice(size // 3).to_pylist() if size > 3 else array.to_pylist()
    state = build(batches, {"c": CATEGORICAL}).columns["c"]
    counts, missing = tally(every)
    assert dict(state.counts) == counts and "unused" not in state.counts
    assert state.missing == missing


def test_null_entries_of_the_dictionary_count_as_missing():
    array = pa.DictionaryArray.from_arrays(pa.array([0, 1, 1, 2, None, 2, 2], pa.int32()),
                                           pa.array(["a", None, "b"]))
    state = build([pa.record_batch({"c": array})], {"c": CATEGORICAL}).columns["c"]
    assert dict(state.counts) == {"a": 1, "b": 3}
    assert state.missing == 3  # one null code, two codes of the null entry


def test_a_dictionary_larger_than_its_batch_is_counted_too():
    words = [f"id-{i}" for i in range(50_000)]
    codes = [7, 49_999, 7, 123, 0]
    array = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(words))
    state = build([pa.record_batch({"c": array})], {"c": CATEGORICAL}).columns["c"]
    assert dict(state.counts) == dict(Counter(words[c] for c in codes))


def test_numeric_values_whose_sum_overflows_are_kept_and_non_finite_ones_counted():
    huge = np.array([1e308, 1e308, -1e308, 5.0])
    odd = np.array([1.0, np.nan, np.inf, -np.inf, np.inf, 2.0])
    state = build([pa.record_batch({"x": huge}), pa.record_batch({"x": odd})], {"x": NUMERIC}).columns["x"]
    values = np.concatenate((huge, odd))
    assert sorted(state.load()) == sorted(values[np.isfinite(values)])
    assert (state.nan, state.posinf, state.neginf) == (1, 2, 1)


def test_a_column_of_known_rows_is_held_in_one_array_and_sorted_where_it_is():
    rng = np.random.default_rng(4)
    values = rng.standard_t(1, 3000)
    values[::97] = np.nan
    batches = [pa.record_batch({"x": values[a:a + 512]}) for a in range(0, 3000, 512)]
    builder = PartitionBuilder(PartitionSpec(source="t.parquet", kinds={"x": NUMERIC}), rows=3000)
    for batch in batches:
        builder.add(batch)
    state = builder.finish().columns["x"]
    assert len(state.segments) == 1
    copy = state.load()
    first = state.load_sorted()
    assert np.array_equal(first, np.sort(values[np.isfinite(values)]))
    assert state.load_sorted() is first and not np.shares_memory(copy, first)


def test_more_rows_than_announced_are_kept_too():
    values = np.arange(100, dtype=np.float64)[::-1].copy()
    builder = PartitionBuilder(PartitionSpec(source="t.parquet", kinds={"x": NUMERIC}), rows=30)
    for a in range(0, 100, 20):
        builder.add(pa.record_batch({"x": values[a:a + 20]}))
    state = builder.finish().columns["x"]
    assert state.count == 100 and len(state.segments) > 1
    assert np.array_equal(state.load_sorted(), np.arange(100.0))
