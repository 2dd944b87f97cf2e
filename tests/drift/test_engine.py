"""End to end: files in, ``drift --json`` document out, checked against scipy.

The oracle works on the raw arrays that were written to the files: it picks the
method from drift.md's table by itself and computes each statistic with scipy
(PSI by hand with numpy). Format, partition, merge and process variants are
checked to give identical documents.
"""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

from mops.drift import DriftPlan, compare, merge_profiles, profile_files, state
from mops.drift.engines import local
from mops.errors import UsageError

from .helpers import write
from .test_stats import (
    close,
    oracle_chisquare,
    oracle_jensenshannon,
    oracle_psi_counts,
    oracle_psi_numeric,
    oracle_wasserstein,
    oracle_z,
)

NUMERIC_FEATURES = ["normal", "cauchy", "lognorm", "binary", "levels", "holes"]
CATEGORICAL_FEATURES = ["region", "flag", "grade"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


def make_log(n: int, seed: int, shift: float = 0.0, *, new_category=False, with_inf=False) -> pa.Table:
    """A prediction log: heavy tails, low cardinality, holes, categories, score, label."""
    r = np.random.default_rng(seed)
    holes = r.normal(shift, 1, n)
    holes[r.random(n) < 0.05] = np.nan
    if with_inf:
        holes[r.random(n) < 0.01] = np.inf
        holes[r.random(n) < 0.01] = -np.inf
    regions = ["north", "south", "east"] + (["new-west"] if new_category else [])
    score = np.round(1 / (1 + np.exp(-(r.normal(0, 1.5, n) + shift))), 3)  # ties on purpose
    return pa.table(
        {
            "normal": r.normal(shift, 1, n),
            "cauchy": r.standard_t(1, n) + shift,
            "lognorm": r.lognormal(shift, 3, n),
            "binary": (r.random(n) < 0.3 + shift / 4).astype(np.int64),
            "levels": r.integers(0, 4, n),
            "holes": pa.array(holes, from_pandas=True),  # NaN as null, inf kept
            "region": r.choice(regions, n),
            "flag": r.random(n) < 0.4 + shift / 4,
            "grade": r.integers(1, 4, n),
            "score": score,
            "label": (r.random(n) < score).astype(np.int64),
        }
    )


def plan(**kw) -> DriftPlan:
    args = dict(features=list(FEATURES), prediction="score", label="label", kinds={"grade": "categorical"})
    args.update(kw)
    return DriftPlan(**args)


def run(tmp_path, ref: pa.Table, cur: pa.Table, fmt="parquet", the_plan=None, **kw) -> dict:
    the_plan = the_plan or plan()
    ref_path = write(ref, tmp_path / f"ref.{fmt}")
    cur_path = write(cur, tmp_path / f"cur.{fmt}")
    with profile_files([ref_path], the_plan, **kw) as r, profile_files([cur_path], the_plan, **kw) as c:
        return compare(r, c, the_plan).to_json()


# -- the oracle -------------------------------------------------------------------------


def expected_method(kind: str, n: int, u: int) -> str:
    """drift.md's table, written out independently of the code under test."""
    if n <= 1000:
        if kind == "numeric":
            return "z" if u <= 2 else ("chisquare" if u <= 5 else "ks")
        return "chisquare" if u > 2 else "z"
    if kind == "numeric":
        return "jensenshannon" if u <= 5 else "wasserstein"
    return "jensenshannon"


def as_text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def oracle_column(kind: str, ref_raw: list, cur_raw: list) -> dict:
    if kind == "numeric":
        ref_all = np.array([np.nan if v is None else v for v in ref_raw], dtype=float)
        cur_all = np.array([np.nan if v is None else v for v in cur_raw], dtype=float)
        ref, cur = ref_all[np.isfinite(ref_all)], cur_all[np.isfinite(cur_all)]
        psi = oracle_psi_numeric(ref, cur)
        dropped = {
            "nan": int(np.isnan(cur_all).sum()),
            "posinf": int((cur_all == np.inf).sum()),
            "neginf": int((cur_all == -np.inf).sum()),
        }
    else:
        ref = np.array([as_text(v) for v in ref_raw if v is not None])
        cur = np.array([as_text(v) for v in cur_raw if v is not None])
        keys = np.union1d(ref, cur)
        psi = oracle_psi_counts([np.sum(ref == k) for k in keys], [np.sum(cur == k) for k in keys])
        dropped = {"nan": sum(v is None for v in cur_raw), "posinf": 0, "neginf": 0}
    u = np.unique(np.concatenate([ref, cur])).size
    method = expected_method(kind, ref.size, u)
    statistic = {
        "ks": lambda: sps.ks_2samp(ref, cur).pvalue,
        "wasserstein": lambda: oracle_wasserstein(ref, cur),
        "jensenshannon": lambda: oracle_jensenshannon(ref, cur),
        "chisquare": lambda: oracle_chisquare(ref, cur),
        "z": lambda: oracle_z(ref, cur),
    }[method]()
    if method == "ks":
        drifted = statistic <= 0.05
    elif method in ("chisquare", "z"):
        drifted = statistic < 0.05
    else:
        drifted = statistic >= 0.1
    return {"method": method, "statistic": statistic, "drifted": drifted, "psi": psi, "dropped": dropped}


def expected_kind(cur: pa.Table, name: str, declared: dict) -> str:
    """Evidently 0.7's ``infer_column_type`` on the current data (drift.md), written out here:
    float numeric; integer categorical with at most 10 distinct values; string text when more
    than half its values are distinct; boolean categorical. A declared kind wins."""
    if name in declared:
        return declared[name]
    data_type = cur.schema.field(name).type
    values = [v for v in cur.column(name).to_pylist() if v is not None]
    if pa.types.is_floating(data_type):
        return "numeric"
    if pa.types.is_integer(data_type):
        return "categorical" if len(set(values)) <= 10 else "numeric"
    if pa.types.is_string(data_type):
        return "text" if len(set(values)) > 0.5 * len(values) else "categorical"
    return "categorical"


def check_against_oracle(doc: dict, ref: pa.Table, cur: pa.Table) -> None:
    # Integers with few values ("binary", "levels") are categorical, as in Evidently.
    kinds = {name: expected_kind(cur, name, {"grade": "categorical"}) for name in FEATURES + ["score"]}
    assert [c["column"] for c in doc["columns"]] == FEATURES + ["score"]
    drifted = 0
    for col in doc["columns"]:
        name = col["column"]
        want = oracle_column(kinds[name], ref.column(name).to_pylist(), cur.column(name).to_pylist())
        assert col["kind"] == kinds[name], name
        assert col["role"] == ("prediction" if name == "score" else "feature")
        assert col["method"] == want["method"], name
        assert close(col["statistic"], want["statistic"]), (name, col["statistic"], want["statistic"])
        assert col["drifted"] == want["drifted"], name
        assert close(col["psi"], want["psi"]), name
        assert col["dropped"] == want["dropped"], name
        drifted += want["drifted"]
    assert close(doc["drifted_share"], drifted / len(doc["columns"]))
    assert doc["dataset_drift"] == (drifted / len(doc["columns"]) >= 0.5)
    assert doc["rows"] == {"reference": ref.num_rows, "current": cur.num_rows}


def check_performance(doc: dict, ref: pa.Table, cur: pa.Table) -> None:
    perf = doc["performance"]
    for side, table in (("reference", ref), ("current", cur)):
        s = table.column("score").to_numpy()
        y = table.column("label").to_numpy()
        auc = sps.mannwhitneyu(s[y == 1], s[y == 0]).statistic / ((y == 1).sum() * (y == 0).sum())
        got = perf[side]
        assert close(got["auc"], auc)
        assert close(got["gini"], 2 * auc - 1)
        assert close(got["ks"], sps.ks_2samp(s[y == 1], s[y == 0]).statistic)
        predicted = s >= 0.5
        assert close(got["accuracy"], np.mean(predicted == (y == 1)))
        assert close(got["precision"], np.sum(predicted & (y == 1)) / np.sum(predicted))
        assert close(got["recall"], np.sum(predicted & (y == 1)) / np.sum(y == 1))
        assert close(got["mean_score"], s.mean())
        assert close(got["observed_rate"], y.mean())
    assert close(perf["change"]["auc"], perf["current"]["auc"] - perf["reference"]["auc"])


# -- exact results ------------------------------------------------------------------------


def test_large_window_matches_scipy(tmp_path):
    ref = make_log(3000, seed=1, with_inf=True)
    cur = make_log(5000, seed=2, shift=0.3, new_category=True, with_inf=True)
    doc = run(tmp_path, ref, cur)
    check_against_oracle(doc, ref, cur)
    check_performance(doc, ref, cur)
    methods = {c["column"]: c["method"] for c in doc["columns"]}
    assert methods["cauchy"] == methods["lognorm"] == "wasserstein"
    assert methods["binary"] == methods["levels"] == methods["region"] == "jensenshannon"
    holes = next(c for c in doc["columns"] if c["column"] == "holes")
    assert holes["dropped"]["posinf"] > 0 and holes["dropped"]["neginf"] > 0
    assert holes["dropped_reference"]["nan"] > 0


def test_small_window_matches_scipy(tmp_path):
    ref = make_log(600, seed=3)
    cur = make_log(800, seed=4, shift=0.2, new_category=True)
    doc = run(tmp_path, ref, cur)
    check_against_oracle(doc, ref, cur)
    check_performance(doc, ref, cur)
    methods = {c["column"]: c["method"] for c in doc["columns"]}
    assert methods["cauchy"] == "ks"
    assert methods["binary"] == methods["flag"] == "z"
    assert methods["levels"] == methods["region"] == methods["grade"] == "chisquare"
    region = next(c for c in doc["columns"] if c["column"] == "region")
    assert region["statistic"] == 0.0 and region["drifted"]  # a category new in production


def test_no_drift_on_the_same_distribution(tmp_path):
    doc = run(tmp_path, make_log(4000, seed=5), make_log(4000, seed=6))
    check_against_oracle(doc, make_log(4000, seed=5), make_log(4000, seed=6))
    assert doc["dataset_drift"] is False


def test_all_formats_give_identical_results(tmp_path):
    ref = make_log(1500, seed=7)
    cur = make_log(2500, seed=8, shift=0.2, new_category=True)
    docs = {}
    for fmt in ("parquet", "csv", "csv.gz", "jsonl", "ndjson", "jsonl.gz"):
        sub = tmp_path / fmt.replace(".", "-")
        sub.mkdir()
        docs[fmt] = run(sub, ref, cur, fmt=fmt)
    check_against_oracle(docs["parquet"], ref, cur)
    for fmt, doc in docs.items():
        assert doc == docs["parquet"], fmt


def split_files(tmp_path, table: pa.Table, fmts) -> list[str]:
    cuts = np.linspace(0, table.num_rows, len(fmts) + 1).astype(int)
    return [
        write(table.slice(a, b - a), tmp_path / f"part{i}.{fmt}")
        for i, (a, b, fmt) in enumerate(zip(cuts[:-1], cuts[1:], fmts, strict=True))
    ]


def test_window_split_over_files_equals_one_file(tmp_path):
    ref = make_log(2000, seed=9)
    cur = make_log(3000, seed=10, shift=0.1, new_category=True, with_inf=True)
    p = plan()
    one = run(tmp_path, ref, cur)
    parts = split_files(tmp_path, cur, ["parquet", "csv", "parquet"])
    with profile_files([write(ref, tmp_path / "r.parquet")], p) as r, profile_files(parts, p) as c:
        assert c.rows == cur.num_rows and len(c.sources) == 3
        assert compare(r, c, p).to_json() == one


def test_merge_is_associative(tmp_path):
    p = plan()
    cur = make_log(3000, seed=11, new_category=True)
    a, b, c = (profile_files([f], p) for f in split_files(tmp_path, cur, ["parquet", "csv", "jsonl"]))
    left = merge_profiles(merge_profiles(a, b), c)
    right = merge_profiles(a, merge_profiles(b, c))
    for name in FEATURES + ["score"]:
        s1, s2 = left.state.columns[name], right.state.columns[name]
        if isinstance(s1, state.NumericState):
            assert np.array_equal(s1.load_sorted(), s2.load_sorted())
            assert (s1.nan, s1.posinf, s1.neginf) == (s2.nan, s2.posinf, s2.neginf)
        else:
            assert dict(s1.counts) == dict(s2.counts) and s1.missing == s2.missing
    ref = profile_files([write(make_log(2000, seed=12), tmp_path / "r.parquet")], p)
    assert compare(ref, left, p).to_json() == compare(ref, right, p).to_json()


def test_jobs_two_equals_jobs_one(tmp_path):
    p = plan()
    cur = make_log(3000, seed=13, shift=0.2, with_inf=True)
    parts = split_files(tmp_path, cur, ["parquet", "csv", "jsonl.gz"])
    ref = profile_files([write(make_log(2000, seed=14), tmp_path / "r.parquet")], p)
    serial = compare(ref, profile_files(parts, p, jobs=1), p).to_json()
    seen = []
    parallel_profile = profile_files(parts, p, jobs=2, progress=lambda d, t: seen.append((d, t)))
    assert compare(ref, parallel_profile, p, jobs=2).to_json() == serial
    assert seen[-1][0] == seen[-1][1] == sum(os.path.getsize(f) for f in parts)


def test_spilled_state_gives_the_same_results(tmp_path, monkeypatch):
    ref = make_log(2000, seed=15)
    cur = make_log(3000, seed=16, shift=0.3)
    in_memory = run(tmp_path, ref, cur)
    monkeypatch.setattr(state, "SPILL_BUDGET_BYTES", 4096)
    p = plan()
    cur_path = write(cur, tmp_path / "cur2.parquet")
    profile = profile_files([cur_path], p)
    spill_dir = profile._spill_dirs[0].path
    assert any(name.endswith(".f64") for name in os.listdir(spill_dir))
    assert all(seg.path for seg in profile.state.columns["cauchy"].segments)
    with profile_files([write(ref, tmp_path / "ref2.parquet")], p) as r:
        assert compare(r, profile, p).to_json() == in_memory
    profile.close()
    assert not os.path.exists(spill_dir)


def test_progress_reaches_the_total(tmp_path):
    files = split_files(tmp_path, make_log(3000, seed=17), ["csv", "parquet"])
    seen = []
    profile_files(files, plan(), progress=lambda d, t: seen.append((d, t)))
    total = sum(os.path.getsize(f) for f in files)
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- the JSON document -----------------------------------------------------------------------


def test_json_document_is_plain_and_nan_is_null(tmp_path):
    ref = make_log(1500, seed=18)
    cur = make_log(1500, seed=19)
    cur = cur.set_column(cur.column_names.index("holes"), "holes", pa.array([None] * 1500, pa.float64()))
    doc = run(tmp_path, ref, cur)
    text = json.dumps(doc, allow_nan=False)  # no NaN, no numpy types
    assert json.loads(text) == doc
    holes = next(c for c in doc["columns"] if c["column"] == "holes")
    assert holes["statistic"] is None and holes["drifted"] is False and holes["psi"] is None
    assert holes["dropped"]["nan"] == 1500
    required = {"column", "kind", "method", "statistic", "threshold", "drifted", "psi", "psi_band", "dropped", "role"}
    assert all(required <= set(c) for c in doc["columns"])
    assert set(doc) >= {
        "dataset_drift",
        "drifted_share",
        "rows",
        "columns",
        "performance",
        "breaches",
        "drift_share_threshold",
    }

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value) in (bool, int, float, str), type(value)

    walk(doc)


def test_no_label_means_no_performance(tmp_path):
    doc = run(tmp_path, make_log(500, seed=20), make_log(500, seed=21), the_plan=plan(label=None))
    assert doc["performance"] is None


def test_plan_thresholds_are_reported_as_breaches(tmp_path):
    ref = make_log(3000, seed=22)
    cur = make_log(3000, seed=23, shift=1.0)
    doc = run(tmp_path, ref, cur, the_plan=plan(thresholds={"psi": 0.25, "auc_drop": -1.0}))
    psi_breaches = {b["column"] for b in doc["breaches"] if b["threshold"] == "psi"}
    expected = {c["column"] for c in doc["columns"] if c["psi"] is not None and c["psi"] >= 0.25}
    assert psi_breaches == expected and expected
    assert any(b["threshold"] == "auc_drop" for b in doc["breaches"])
    calm = run(tmp_path, ref, cur, the_plan=plan(thresholds={"psi": 100.0, "auc_drop": 1.0}))
    assert calm["breaches"] == []


def test_overrides_of_method_threshold_and_share(tmp_path):
    ref = make_log(3000, seed=24)
    cur = make_log(3000, seed=25, shift=0.1)
    p = plan(
        methods={"normal": "ks", "region": "chisquare", "lognorm": "psi"},
        column_thresholds={"cauchy": 0.001},
        drift_share=0.1,
    )
    doc = run(tmp_path, ref, cur, the_plan=p)
    cols = {c["column"]: c for c in doc["columns"]}
    assert cols["normal"]["method"] == "ks"
    assert close(cols["normal"]["statistic"], sps.ks_2samp(ref.column("normal"), cur.column("normal")).pvalue)
    region_ref = np.array(ref.column("region").to_pylist())
    region_cur = np.array(cur.column("region").to_pylist())
    assert close(cols["region"]["statistic"], oracle_chisquare(region_ref, region_cur))
    assert cols["lognorm"]["statistic"] == cols["lognorm"]["psi"]
    assert cols["cauchy"]["threshold"] == 0.001
    assert doc["drift_share_threshold"] == 0.1


def test_integer_column_declared_categorical(tmp_path):
    doc = run(tmp_path, make_log(3000, seed=26), make_log(3000, seed=27))
    grade = next(c for c in doc["columns"] if c["column"] == "grade")
    assert grade["kind"] == "categorical"
    assert grade["psi_bins"]["bins"] == ["1", "2", "3"]
    # Undeclared, an integer column with at most 10 distinct values is categorical too
    # (Evidently's rule); declared numeric, it is numeric.
    undeclared = run(tmp_path, make_log(3000, seed=26), make_log(3000, seed=27), the_plan=plan(kinds={}))
    inferred = next(c for c in undeclared["columns"] if c["column"] == "grade")
    assert inferred["kind"] == "categorical" and inferred["psi_bins"] == grade["psi_bins"]
    numeric = run(tmp_path, make_log(3000, seed=26), make_log(3000, seed=27),
                  the_plan=plan(kinds={"grade": "numeric"}))
    assert next(c for c in numeric["columns"] if c["column"] == "grade")["kind"] == "numeric"


# -- bad input -------------------------------------------------------------------------------


def test_incompatible_types_between_reference_and_current(tmp_path):
    ref = make_log(500, seed=28)
    cur = make_log(500, seed=29)
    cur = cur.set_column(0, "normal", pa.array([f"v{i % 3}" for i in range(500)]))
    with pytest.raises(UsageError, match="column 'normal' has incompatible types"):
        run(tmp_path, ref, cur)


def test_incompatible_types_within_a_window(tmp_path):
    cur = make_log(500, seed=30)
    bad = cur.set_column(0, "normal", pa.array([f"v{i % 3}" for i in range(500)]))
    files = [write(cur, tmp_path / "a.parquet"), write(bad, tmp_path / "b.parquet")]
    with pytest.raises(UsageError, match=r"column 'normal' has incompatible types.*b\.parquet"):
        profile_files(files, plan())


def test_prediction_must_be_numeric(tmp_path):
    table = make_log(200, seed=31)
    table = table.set_column(table.column_names.index("score"), "score", pa.array(["high"] * 200))
    with pytest.raises(UsageError, match="prediction column 'score' must be numeric"):
        profile_files([write(table, tmp_path / "log.parquet")], plan(label=None))
    with pytest.raises(UsageError, match="prediction column 'score' must be numeric"):
        plan(kinds={"score": "categorical"}).validate()


def test_no_columns():
    with pytest.raises(UsageError, match="nothing to compare"):
        profile_files(["whatever.csv"], DriftPlan(features=[]))


def test_missing_column_names_column_and_file(tmp_path):
    path = write(make_log(100, seed=32).drop_columns(["cauchy"]), tmp_path / "log.csv")
    with pytest.raises(UsageError, match=r"log\.csv: missing column 'cauchy'"):
        profile_files([path], plan())


def test_missing_empty_and_header_only_files(tmp_path):
    with pytest.raises(UsageError, match=r"gone\.parquet: no such file"):
        profile_files([tmp_path / "gone.parquet"], plan())
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(UsageError, match=r"empty\.jsonl: file is empty"):
        profile_files([tmp_path / "empty.jsonl"], plan())
    (tmp_path / "head.csv").write_text(",".join(FEATURES + ["score", "label"]) + "\n")
    with pytest.raises(UsageError, match=r"head\.csv: has a header but no rows"):
        profile_files([tmp_path / "head.csv"], plan())


def test_label_must_be_zero_or_one(tmp_path):
    table = make_log(200, seed=33)
    table = table.set_column(table.column_names.index("label"), "label", pa.array([0, 1, 2, 1] * 50))
    with pytest.raises(UsageError, match=r"log\.parquet: label column 'label' must hold 0/1"):
        profile_files([write(table, tmp_path / "log.parquet")], plan())
    table = table.set_column(table.column_names.index("label"), "label", pa.array(["yes"] * 200))
    with pytest.raises(UsageError, match=r"label column 'label' has type string"):
        profile_files([write(table, tmp_path / "log2.parquet")], plan())


def test_boolean_labels_are_accepted(tmp_path):
    ref, cur = make_log(800, seed=34), make_log(800, seed=35)
    as_bool = [
        t.set_column(t.column_names.index("label"), "label", pa.compute.cast(t.column("label"), pa.bool_()))
        for t in (ref, cur)
    ]
    assert run(tmp_path, *as_bool)["performance"] == run(tmp_path, ref, cur)["performance"]


def test_numeric_method_on_categorical_column(tmp_path):
    with pytest.raises(UsageError, match="column 'region': method 'ks' needs a numeric column"):
        run(tmp_path, make_log(300, seed=36), make_log(300, seed=37), the_plan=plan(methods={"region": "ks"}))


def test_declared_numeric_text_column(tmp_path):
    with pytest.raises(UsageError, match="column 'region' is declared numeric"):
        profile_files([write(make_log(100, seed=38), tmp_path / "l.parquet")], plan(kinds={"region": "numeric"}))


# -- plans from model cards ----------------------------------------------------------------


def test_plan_from_monitoring_mapping():
    p = DriftPlan.from_monitoring(
        {
            "reference": "data/ref.parquet",
            "features": ["income", "region"],
            "prediction": "score",
            "label": "defaulted",
            "thresholds": {"psi": 0.25, "auc_drop": 0.05},
            "columns": {"region": {"kind": "categorical", "method": "chisquare", "threshold": 0.01}},
            "drift_share": 0.3,
            "decision_threshold": 0.4,
        }
    )
    assert p.features == ["income", "region"] and p.prediction == "score" and p.label == "defaulted"
    assert p.kinds == {"region": "categorical"} and p.methods == {"region": "chisquare"}
    assert p.column_thresholds == {"region": 0.01}
    assert p.thresholds == {"psi": 0.25, "auc_drop": 0.05}
    assert p.drift_share == 0.3 and p.decision_threshold == 0.4


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"features": ["a"], "window": 7}, r"monitoring\.window: unknown key"),
        ({"features": "a"}, r"monitoring\.features: expected a list"),
        ({"features": ["a"], "thresholds": {"kl": 1}}, r"monitoring\.thresholds\.kl: unknown threshold"),
        ({"features": ["a"], "thresholds": {"psi": "high"}}, r"monitoring\.thresholds\.psi: expected a number"),
        ({"features": ["a"], "columns": {"b": {"kind": "numeric"}}}, r"monitoring\.columns\.b: not one of"),
        ({"features": ["a"], "columns": {"a": {"method": "t-test"}}}, r"monitoring\.columns\.a\.method"),
        ({"features": ["a"], "columns": {"a": {"kind": "words"}}}, r"monitoring\.columns\.a\.kind"),
        ({"features": ["a"], "columns": {"a": {"bins": 10}}}, r"monitoring\.columns\.a\.bins: unknown key"),
        ({"features": ["a"], "drift_share": "half"}, r"monitoring\.drift_share: expected a number"),
        ({"features": ["a"], "prediction": 3}, r"monitoring\.prediction: expected a column name"),
        ({"features": ["a"], "thresholds": {"auc_drop": 0.1}}, r"threshold 'auc_drop' needs a label"),
        ({"features": []}, "nothing to compare"),
        ([1, 2], "expected a mapping"),
    ],
)
def test_plan_from_monitoring_rejects_bad_keys(mapping, message):
    with pytest.raises(UsageError, match=message):
        DriftPlan.from_monitoring(mapping)


# -- reading ahead ----------------------------------------------------------------------------


def _read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mops-drift-read-ahead"]


def test_read_ahead_yields_every_batch_in_order_and_raises_the_readers_error():
    closed = []

    def source(fail: bool):
        try:
            yield from range(50)
            if fail:
                raise UsageError("bad block")
        finally:
            closed.append(fail)

    assert list(local.read_ahead(source(False), depth=3)) == list(range(50))
    got = []
    with pytest.raises(UsageError, match="bad block"):
        for item in local.read_ahead(source(True), depth=3):
            got.append(item)
    assert got == list(range(50)) and closed == [False, True]
    assert not _read_ahead_threads()


def test_read_ahead_stops_and_closes_the_reader_when_the_caller_stops():
    closed = []

    def source():
        try:
            yield from range(10_000)
        finally:
            closed.append(True)

    batches = local.read_ahead(source(), depth=2)
    assert [next(batches) for _ in range(3)] == [0, 1, 2]
    batches.close()
    assert closed == [True] and not _read_ahead_threads()


def test_a_bad_label_late_in_a_large_file_is_refused_and_reading_stops(tmp_path):
    ref = make_log(2000, seed=31)
    cur = make_log(200_000, seed=32)
    labels = cur.column("label").to_numpy().astype(float)
    labels[-5] = 3.0
    cur = cur.set_column(cur.column_names.index("label"), "label", pa.array(labels))
    with pytest.raises(UsageError, match="label column 'label' must hold 0/1"):
        run(tmp_path, ref, cur)
    assert not _read_ahead_threads()
