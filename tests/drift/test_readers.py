"""Streaming readers: every format reads the same values; bad files are usage errors."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mops.drift import DriftPlan, profile_files, readers
from mops.errors import UsageError

from .helpers import write as _write

FORMATS = ["csv", "csv.gz", "parquet", "jsonl", "ndjson", "jsonl.gz"]


def sample_table(n: int = 500, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.standard_t(1, n)
    x[::17] = np.nan
    return pa.table(
        {
            "x": pa.array(x, from_pandas=True),  # NaN as null: JSON cannot hold NaN
            "k": pa.array(rng.integers(0, 5, n)),
            "cat": pa.array(rng.choice(["a", "b", "c"], n)),
            "flag": pa.array(rng.random(n) < 0.3),
            "unused": pa.array(rng.random(n)),
        }
    )


def write(table: pa.Table, path) -> str:
    return _write(table, path, row_group_size=128)


TARGETS = {"x": readers.FLOAT64, "k": readers.STRING, "cat": readers.STRING, "flag": readers.STRING}


def read_all(path, targets=TARGETS, progress=None) -> pa.Table:
    info = readers.inspect_file(path, list(targets))
    batches = list(readers.iter_batches(info, targets, progress=progress))
    return pa.Table.from_batches(batches)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_the_same_values(tmp_path, fmt):
    table = sample_table()
    got = read_all(write(table, tmp_path / f"log.{fmt}"))
    assert got.column_names == ["x", "k", "cat", "flag"]  # only the requested columns
    x = got.column("x").to_numpy(zero_copy_only=False)
    expected = table.column("x").to_numpy(zero_copy_only=False)
    assert np.array_equal(x, expected, equal_nan=True)
    assert got.column("k").to_pylist() == [str(v) for v in table.column("k").to_pylist()]
    assert got.column("cat").to_pylist() == table.column("cat").to_pylist()
    assert got.column("flag").to_pylist() == ["true" if v else "false" for v in table.column("flag").to_pylist()]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_nan_and_infinities_survive(tmp_path, fmt):
    table = pa.table({"x": pa.array([1.0, math.nan, math.inf, -math.inf, None, 2.5]), "i": pa.array(range(6))})
    got = read_all(write(table, tmp_path / f"log.{fmt}"), {"x": readers.FLOAT64})
    x = got.column("x").to_numpy(zero_copy_only=False)
    assert x[0] == 1.0 and math.isnan(x[1]) and x[2] == math.inf and x[3] == -math.inf
    assert math.isnan(x[4]) and x[5] == 2.5


def test_csv_is_streamed_in_blocks_and_types_can_widen(tmp_path):
    # Integers for the first blocks, then a decimal: the column is read as float
    # from the start, so the late value does not break type inference.
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("x,c\n")
        for i in range(300_000):
            fh.write(f"{i},v{i % 3}\n")
        fh.write("1.5,v9\n")
    seen = []
    table = read_all(path, {"x": readers.FLOAT64, "c": readers.STRING}, progress=lambda d, t: seen.append((d, t)))
    assert table.num_rows == 300_001
    assert table.column("x")[-1].as_py() == 1.5
    info = readers.inspect_file(path, ["x"])
    assert len(list(readers.iter_batches(info, {"x": readers.FLOAT64}))) > 1
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1] == (info.size, info.size)


def test_parquet_progress_reaches_the_total(tmp_path):
    path = write(sample_table(2000), tmp_path / "log.parquet")
    seen = []
    read_all(path, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] > 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_dictionary_columns_read_as_strings(tmp_path):
    table = pa.table({"c": pa.array(["x", "y", None, "x"]).dictionary_encode()})
    path = tmp_path / "dict.parquet"
    pq.write_table(table, path)
    got = read_all(path, {"c": readers.STRING})
    assert got.column("c").to_pylist() == ["x", "y", None, "x"]


# -- errors -----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(UsageError, match=r"nope\.csv: no such file"):
        readers.inspect_file(tmp_path / "nope.csv", ["x"])


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet", "empty.jsonl"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(UsageError, match=rf"{name}: file is empty"):
        readers.inspect_file(path, ["x"])


def test_gzip_of_nothing_is_empty(tmp_path):
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(UsageError, match=r"empty\.csv\.gz: file is empty"):
        readers.inspect_file(path, ["x"])


def test_header_only_csv(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("x,y\n")
    with pytest.raises(UsageError, match=r"header\.csv: has a header but no rows"):
        readers.inspect_file(path, ["x"])


def test_parquet_without_rows(tmp_path):
    path = tmp_path / "zero.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64())}), path)
    with pytest.raises(UsageError, match=r"zero\.parquet: has a header but no rows"):
        readers.inspect_file(path, ["x"])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_missing_column_names_column_and_file(tmp_path, fmt):
    path = write(sample_table(20), tmp_path / f"log.{fmt}")
    with pytest.raises(UsageError, match=rf"log\.{fmt}: missing column 'income'") as info:
        readers.inspect_file(path, ["x", "income"])
    assert "columns found: 'x'" in info.value.message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.parquet", b"this is not parquet at all"),
        ("bad.csv.gz", b"\x1f\x8bnot really gzip" * 5),
        ("bad.jsonl", b'{"x": 1}\n{"x": \n'),
    ],
)
def test_corrupt_file_is_named(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UsageError, match=rf"{name}: cannot read file"):
        info = readers.inspect_file(path, ["x"])
        list(readers.iter_batches(info, {"x": readers.FLOAT64}))


def test_text_in_a_numeric_column_names_the_column(tmp_path):
    path = tmp_path / "mixed.csv"
    with open(path, "w") as fh:
        fh.write("id,x\n")
        for i in range(200_000):
            fh.write(f"{i},{i * 0.5}\n")
        fh.write("200000,oops\n")
    info = readers.inspect_file(path, ["x"])
    with pytest.raises(UsageError, match=r"mixed\.csv: column 'x'"):
        list(readers.iter_batches(info, {"x": readers.FLOAT64}))


def test_text_column_cannot_be_numbers(tmp_path):
    path = write(sample_table(20), tmp_path / "log.parquet")
    info = readers.inspect_file(path, ["cat"])
    with pytest.raises(UsageError, match=r"log\.parquet: column 'cat' of type string cannot be read as numbers"):
        list(readers.iter_batches(info, {"cat": readers.FLOAT64}))


def test_unsupported_suffix_and_directory(tmp_path):
    (tmp_path / "log.xlsx").write_bytes(b"x")
    with pytest.raises(UsageError, match="unsupported file type"):
        readers.inspect_file(tmp_path / "log.xlsx", ["x"])
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        readers.inspect_file(tmp_path / "dir.csv", ["x"])


# -- files as real systems write them (issue 19) ---------------------------------------------


def test_duplicate_column_in_the_header_is_refused_with_its_name(tmp_path):
    (tmp_path / "dup.csv").write_text("x,x,y\n1,2,3\n4,5,6\n")
    with pytest.raises(UsageError, match=r"dup\.csv: column 'x' appears 2 times in the header"):
        readers.inspect_file(str(tmp_path / "dup.csv"), ["x", "y"])
    assert readers.inspect_file(str(tmp_path / "dup.csv"), ["y"]).types == {"y": pa.int64()}  # not asked for
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(UsageError, match=r"dup\.parquet: column 'x' appears 2 times"):
        readers.inspect_file(str(tmp_path / "dup.parquet"), ["x"])


def test_csv_with_quoted_newlines_larger_than_a_block(tmp_path):
    r = np.random.default_rng(6)
    n = 100_000  # ~4 MB: several 1 MB blocks, quoted newlines across their boundaries
    x = r.normal(0, 1, n)
    notes = [f"line one\nline two, \"quoted\" {i}\nand three" for i in range(n)]
    table = pa.table({"x": x, "note": notes, "k": r.choice(["a", "b"], n)})
    path = write(table, tmp_path / "log.csv")
    assert sum(len(s) for s in notes) > 3 * readers.CSV_BLOCK_BYTES
    got = pa.Table.from_batches(list(readers.iter_batches(
        readers.inspect_file(path, ["x", "note", "k"]),
        {"x": readers.FLOAT64, "note": readers.STRING, "k": readers.STRING})))
    assert got.column("note").to_pylist() == notes
    assert np.array_equal(got.column("x").to_numpy(), x)


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl", "jsonl.gz"])
def test_header_and_rows_longer_than_a_block(tmp_path, fmt):
    r = np.random.default_rng(7)
    # A 1.5 MB header (a generated column name; thousands of columns do the same) and a
    # 3 MB first row, each longer than the 1 MB read block.
    table = pa.table({"a" * 1_500_000: np.zeros(3, dtype=np.int64), "x": r.normal(0, 1, 3),
                      "pad": ["y" * 3_000_000, "short", "z" * 10]})
    path = str(tmp_path / f"wide.{fmt}")
    if fmt.startswith("csv"):
        write(table, path)
    else:
        opener = gzip.open if fmt.endswith(".gz") else open
        with opener(path, "wt") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row) + "\n")
    info = readers.inspect_file(path, ["x", "pad"])
    assert info.types["x"] == pa.float64() and info.block_size > readers.CSV_BLOCK_BYTES
    got = pa.Table.from_batches(list(readers.iter_batches(info, {"x": readers.FLOAT64})))
    assert np.array_equal(got.column("x").to_numpy(), table.column("x").to_numpy())
    # A line longer than the blocks further on: the engine reads the file again, larger.
    long_later = str(tmp_path / f"later.{fmt}")
    rows = [{"x": float(v), "pad": "p"} for v in r.normal(0, 1, 2000)]
    rows[1500]["pad"] = "q" * 5_000_000
    if fmt.startswith("csv"):
        write(pa.Table.from_pylist(rows), long_later)
    else:
        opener = gzip.open if fmt.endswith(".gz") else open
        with opener(long_later, "wt") as fh:
            fh.writelines(json.dumps(row) + "\n" for row in rows)
    with profile_files([long_later], DriftPlan(features=["x"])) as profile:
        assert profile.rows == 2000
        assert np.array_equal(np.sort(profile.state.columns["x"].load()), np.sort([row["x"] for row in rows]))


def test_a_gzip_of_nothing_is_still_empty(tmp_path):
    with gzip.open(tmp_path / "e.csv.gz", "wt") as fh:
        fh.write("\n\n")
    with pytest.raises(UsageError, match=r"e\.csv\.gz: file is empty"):
        readers.inspect_file(str(tmp_path / "e.csv.gz"), ["x"])
