"""Issue 19: drift on real data. Each case is generated here and checked against scipy
on the raw values, with the method and column kind from drift.md's published rule
(Evidently's), written out in the test, never against mops's earlier output.
(Files as real systems write them - quoted newlines, long lines, duplicate
headers - are in test_readers.py.)"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

from mops.drift import DriftPlan, compare, profile_files, profile_windows, readers

from .helpers import write
from .test_stats import close, oracle_chisquare, oracle_jensenshannon, oracle_wasserstein


def doc_of(tmp_path, ref: pa.Table, cur: pa.Table, plan: DriftPlan, fmt="parquet", **kw) -> dict:
    """Both windows profiled together, as the command does."""
    sub = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    sub.mkdir()
    r = write(ref, sub / f"ref.{fmt}")
    c = write(cur, sub / f"cur.{fmt}")
    ref_profile, cur_profile = profile_windows([r], [c], plan, **kw)
    with ref_profile, cur_profile:
        return compare(ref_profile, cur_profile, plan).to_json()


def column(doc: dict, name: str) -> dict:
    return next(c for c in doc["columns"] if c["column"] == name)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- 1, 2: columns without values are a data-quality failure, not "ok" -------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_all_null_current_column_is_no_data_and_not_in_the_share(tmp_path, fmt):
    r = rng(1)
    ref = pa.table({"a": r.normal(0, 1, 3000), "b": r.normal(0, 1, 3000), "c": r.choice(["x", "y"], 3000)})
    cur = pa.table({"a": r.normal(0.5, 1, 2000),
                    "b": pa.array([None] * 2000, pa.float64()),
                    "c": pa.array([None] * 2000, pa.string())})
    doc = doc_of(tmp_path, ref, cur, DriftPlan(features=["a", "b", "c"]), fmt=fmt)
    a, b, c = column(doc, "a"), column(doc, "b"), column(doc, "c")
    expected = oracle_wasserstein(ref.column("a").to_numpy(), cur.column("a").to_numpy())
    assert a["status"] == "drift" and close(a["statistic"], expected) and expected >= 0.1
    for col in (b, c):
        assert col["status"] == "no_data" and col["drifted"] is False
        assert col["method"] is None and col["statistic"] is None and col["dropped"]["nan"] == 2000
    assert c["kind"] == "categorical"  # not "incompatible types" in a CSV, where the column reads as null
    # The share counts tested columns only: a drifted of a alone.
    assert doc["tested_columns"] == 1 and doc["drifted_share"] == 1.0 and doc["dataset_drift"] is True
    assert doc["status"] == "data_quality"
    assert [p["column"] for p in doc["problems"]] == ["b", "c"]
    assert "no usable value in the current data (all 2,000 null or NaN)" in doc["problems"][0]["message"]


def test_columns_empty_on_both_sides_are_no_data(tmp_path):
    r = rng(2)
    empty = pa.array([None] * 500, pa.float64())
    ref = pa.table({"a": r.normal(0, 1, 500), "e": empty, "inf": np.full(500, np.inf)})
    cur = pa.table({"a": r.normal(0, 1, 500), "e": empty, "inf": np.full(500, np.inf)})
    doc = doc_of(tmp_path, ref, cur, DriftPlan(features=["a", "e", "inf"]), fmt="csv")
    assert column(doc, "e")["status"] == column(doc, "inf")["status"] == "no_data"
    assert column(doc, "e")["method"] is None
    p = sps.ks_2samp(ref.column("a").to_numpy(), cur.column("a").to_numpy()).pvalue
    assert close(column(doc, "a")["statistic"], p)
    assert doc["tested_columns"] == 1 and doc["drifted_share"] == (1.0 if p <= 0.05 else 0.0)
    messages = [p["message"] for p in doc["problems"]]
    assert "in the reference (all 500 null or NaN) nor in the current data" in messages[0]
    assert "all 500 +inf" in messages[1]


def test_all_null_categorical_profiled_apart_is_no_data_too(tmp_path):
    """Windows profiled separately (merge API): the all-null side takes the other's kind."""
    r = rng(3)
    plan = DriftPlan(features=["c"])
    ref = write(pa.table({"c": r.choice(["x", "y"], 800), "n": np.arange(800)}), tmp_path / "ref.csv")
    cur = write(pa.table({"c": pa.array([None] * 300, pa.string()), "n": np.arange(300)}), tmp_path / "cur.csv")
    with profile_files([ref], plan) as rp, profile_files([cur], plan) as cp:
        doc = compare(rp, cp, plan).to_json()
    assert column(doc, "c")["status"] == "no_data" and doc["status"] == "data_quality"


# -- 3: integers with at most 10 distinct values are categorical -------------------------


@pytest.mark.parametrize("levels", [6, 8, 10])
def test_integers_with_few_values_are_categorical(tmp_path, levels):
    r = rng(levels)
    ref = pa.table({"i": r.integers(0, levels, 3000)})
    cur = pa.table({"i": r.integers(0, levels, 2000)})
    small_ref = pa.table({"i": r.integers(0, levels, 600)})
    big = column(doc_of(tmp_path, ref, cur, DriftPlan(features=["i"])), "i")
    small = column(doc_of(tmp_path, small_ref, cur, DriftPlan(features=["i"])), "i")
    assert big["kind"] == small["kind"] == "categorical"
    assert big["method"] == "jensenshannon"  # n > 1000: categorical, not normed Wasserstein
    assert close(big["statistic"], oracle_jensenshannon(ref.column("i").to_numpy(), cur.column("i").to_numpy()))
    assert small["method"] == "chisquare"  # n <= 1000, u > 2: not KS
    assert close(small["statistic"], oracle_chisquare(small_ref.column("i").to_numpy(), cur.column("i").to_numpy()))
    assert big["psi_bins"]["bins"] == [str(v) for v in sorted(range(levels), key=str)]


def test_integers_with_eleven_values_stay_numeric_and_the_current_window_decides(tmp_path):
    r = rng(11)
    eleven = pa.table({"i": r.integers(0, 11, 3000)})
    doc = doc_of(tmp_path, eleven, pa.table({"i": r.integers(0, 11, 2000)}), DriftPlan(features=["i"]))
    assert column(doc, "i")["kind"] == "numeric" and column(doc, "i")["method"] == "wasserstein"
    # As in Evidently, the current window's values decide: 50 values in the reference,
    # 8 now: categorical (Jensen-Shannon over the categories of both).
    ref = pa.table({"i": r.integers(0, 50, 3000)})
    cur = pa.table({"i": r.integers(0, 8, 2000)})
    col = column(doc_of(tmp_path, ref, cur, DriftPlan(features=["i"])), "i")
    assert col["kind"] == "categorical"
    assert close(col["statistic"], oracle_jensenshannon(ref.column("i").to_numpy(), cur.column("i").to_numpy()))


def test_float_and_declared_kinds_are_not_inferred(tmp_path):
    r = rng(12)
    ref = pa.table({"f": r.integers(0, 4, 3000).astype(float), "i": r.integers(0, 4, 3000)})
    cur = pa.table({"f": r.integers(0, 4, 2000).astype(float), "i": r.integers(0, 4, 2000)})
    doc = doc_of(tmp_path, ref, cur, DriftPlan(features=["f", "i"], kinds={"i": "numeric"}))
    assert column(doc, "f")["kind"] == column(doc, "i")["kind"] == "numeric"  # float; declared


def test_csv_integer_column_with_a_fraction_later_is_numeric(tmp_path):
    """A CSV column typed int64 from its first block but holding 1.5 further on is not integer."""
    values = ["1", "2", "3"] * 200_000 + ["1.5"]
    (tmp_path / "ref.csv").write_text("x\n" + "\n".join(values) + "\n")
    (tmp_path / "cur.csv").write_text("x\n" + "\n".join(values[:1000]) + "\n")
    assert readers.inspect_file(str(tmp_path / "ref.csv"), ["x"]).types["x"] == pa.int64()
    (tmp_path / "cur2.csv").write_text("x\n" + "\n".join(values[:1000] + ["2.5"]) + "\n")
    plan = DriftPlan(features=["x"])
    ref_profile, cur_profile = profile_windows([tmp_path / "ref.csv"], [tmp_path / "cur2.csv"], plan)
    assert column(compare(ref_profile, cur_profile, plan).to_json(), "x")["kind"] == "numeric"


# -- 4: identifier-like strings are text: reported, not tested, not in the share ----------


def test_identifier_strings_are_text_and_left_out(tmp_path):
    r = rng(4)
    ref = pa.table({"id": [f"A{i:06d}" for i in range(3000)], "region": r.choice(["n", "s", "e"], 3000),
                    "x": r.normal(0, 1, 3000)})
    cur = pa.table({"id": [f"B{i:06d}" for i in range(2000)], "region": r.choice(["n", "s", "e"], 2000),
                    "x": r.normal(0, 1, 2000)})
    doc = doc_of(tmp_path, ref, cur, DriftPlan(features=["id", "region", "x"]))
    ident = column(doc, "id")
    assert ident["kind"] == "text" and ident["status"] == "not_tested" and ident["drifted"] is False
    assert ident["method"] is None and ident["n_unique"] == 2000
    assert doc["tested_columns"] == 2  # region and x
    expected = [oracle_jensenshannon(ref.column("region").to_numpy(), cur.column("region").to_numpy()) >= 0.1,
                oracle_wasserstein(ref.column("x").to_numpy(), cur.column("x").to_numpy()) >= 0.1]
    assert doc["drifted_share"] == sum(expected) / 2
    assert doc["status"] != "data_quality"
    assert [(w["column"], w["warning"]) for w in doc["warnings"]] == [("id", "text")]
    assert "declare its kind" in doc["warnings"][0]["message"]
    # Half distinct or fewer: categorical (Evidently: text when more than half are distinct).
    half = pa.table({"id": [f"k{i % 1000}" for i in range(2000)], "region": cur.column("region"),
                     "x": cur.column("x")})
    assert column(doc_of(tmp_path, ref, half, DriftPlan(features=["id", "region", "x"])), "id")["kind"] == \
        "categorical"


def test_a_declared_kind_or_method_tests_a_text_column(tmp_path):
    r = rng(5)
    ref = pa.table({"id": [f"A{i % 900}" for i in range(1000)]})
    cur = pa.table({"id": [f"A{i}" for i in range(r.integers(0, 900), 900)]})
    for plan in (DriftPlan(features=["id"], kinds={"id": "categorical"}),
                 DriftPlan(features=["id"], methods={"id": "chisquare"})):
        col = column(doc_of(tmp_path, ref, cur, plan), "id")
        assert col["kind"] == "categorical" and col["method"] == "chisquare"
        assert close(col["statistic"], oracle_chisquare(ref.column("id").to_numpy(), cur.column("id").to_numpy()))
    declared = doc_of(tmp_path, ref, cur, DriftPlan(features=["id"], kinds={"id": "text"}))
    assert column(declared, "id")["status"] == "not_tested" and declared["status"] == "data_quality"
    assert declared["problems"][0]["problem"] == "nothing_tested"


# -- 7: tiny windows are tested, with a warning ------------------------------------------------


def test_one_row_window_is_tested_with_a_warning(tmp_path):
    r = rng(8)
    ref = pa.table({"x": r.normal(0, 1, 3000), "y": r.normal(0, 1, 3000)})
    cur = pa.table({"x": [9.0], "y": [0.1]})
    doc = doc_of(tmp_path, ref, cur, DriftPlan(features=["x", "y"]))
    x = column(doc, "x")
    assert close(x["statistic"], oracle_wasserstein(ref.column("x").to_numpy(), np.array([9.0])))
    assert x["status"] == "drift"  # tested, as Evidently would
    assert any("only 1 values in the current data" in w for w in x["warnings"])
    assert [w["warning"] for w in doc["warnings"]] == ["small_sample"]
    assert doc["warnings"][0]["column"] is None and "small window: 1 rows" in doc["warnings"][0]["message"]


def test_small_window_under_a_large_reference_warns_that_distances_overstate(tmp_path):
    r = rng(9)
    ref = pa.table({"x": r.normal(0, 1, 5000), "region": r.choice(["a", "b", "c"], 5000)})
    cur = pa.table({"x": r.normal(0, 1, 200), "region": r.choice(["a", "b", "c"], 200)})
    doc = doc_of(tmp_path, ref, cur, DriftPlan(features=["x", "region"]))
    assert [w["warning"] for w in doc["warnings"]] == ["small_sample_distance"]
    big = doc_of(tmp_path, ref, pa.table({"x": r.normal(0, 1, 1000), "region": r.choice(["a", "b"], 1000)}),
                 DriftPlan(features=["x", "region"]))
    assert big["warnings"] == []
