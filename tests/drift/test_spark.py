"""The Spark engine gives the local engine's answer: the same JSON, every value within 1e-9.

One Spark session (``local[2]``) for the module. Each agreement test compares the
local engine's result with the Spark engine's on generated data: heavy tails,
NaN/±inf, categories only in one window, empty partitions, many small files and
one big file, partitioned directories, labels, CSV and JSON; and the range
buckets forced small, so that prefix offsets across buckets (and empty buckets)
are exercised on small data. The pure last steps (:mod:`mops.drift.spark.exact`)
are tested against numpy's and scipy's own functions.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps

from mops.drift import stats
from mops.drift.comparison import compare
from mops.drift.engines import local
from mops.drift.engines import spark as spark_engine
from mops.drift.plan import DriftPlan
from mops.drift.spark import exact, passes
from mops.errors import UsageError
from tests.conftest import Mops, git, missing_tool
from tests.drift.helpers import write

try:
    import pyspark  # noqa: F401

    HAVE_PYSPARK = True
except ImportError:  # pragma: no cover - the extra is not installed
    HAVE_PYSPARK = False
HAVE_JAVA = shutil.which("java") is not None

needs_spark = pytest.mark.skipif(
    missing_tool(HAVE_PYSPARK and HAVE_JAVA),
    reason="the Spark engine's tests need PySpark (pip install 'mops[spark]') and Java 17+")

MASTER = "local[2]"
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):
    if not (HAVE_PYSPARK and HAVE_JAVA):
        pytest.skip("no PySpark or no Java")
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("warehouse")
    session = (SparkSession.builder.master(MASTER).appName("mops tests")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.warehouse.dir", str(warehouse))
               .getOrCreate())
    session.sparkContext.setLogLevel("FATAL")
    yield session
    session.stop()


@pytest.fixture
def small_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Range buckets of a few hundred values, so small data spans many buckets."""
    monkeypatch.setattr(passes, "BUCKET_VALUES", 700)


# -- helpers ----------------------------------------------------------------------------------


def agree(expected: Any, got: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ: numbers beyond 1e-9 (relative or absolute), anything else at all."""
    out: list[str] = []
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            out += agree(expected.get(key, "<missing>"), got.get(key, "<missing>"), f"{path}.{key}")
    elif isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{path}: {len(expected)} items, got {len(got)}"]
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            out += agree(a, b, f"{path}[{i}]")
    elif (isinstance(expected, float) and isinstance(got, float | int) and not isinstance(got, bool)) or (
            isinstance(got, float) and isinstance(expected, int) and not isinstance(expected, bool)):
        if not math.isclose(expected, got, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            out.append(f"{path}: {expected!r} != {got!r}")
    elif expected != got:
        out.append(f"{path}: {expected!r} != {got!r}")
    return out


def both(reference: list[str], current: list[str], plan: DriftPlan, *, spark_reference: list[str] | None = None,
         spark_current: list[str] | None = None, **options: str) -> tuple[dict, dict]:
    """The local engine's and the Spark engine's ``drift --json`` body for the same windows."""
    ref, cur = local.profile_windows(reference, current, plan)
    with ref, cur:
        expected = compare(ref, cur, plan).to_json()
    compared = spark_engine.compare_windows(spark_reference or reference, spark_current or current, plan,
                                            options={"master": MASTER, **options})
    return expected, compared.result.to_json()


def assert_agree(expected: dict, got: dict) -> None:
    problems = agree(expected, got)
    assert not problems, "\n".join(problems[:30])


def mixed_log(rng: np.random.Generator, n: int, shift: float = 0.0, *, labels: bool = True) -> pa.Table:
    """Heavy tails, NaN and ±inf, integers of few and many values, categories, text, score and label."""
    cauchy = rng.standard_t(1, n) + shift
    cauchy[rng.random(n) < 0.02] = np.nan
    cauchy[rng.random(n) < 0.01] = np.inf
    cauchy[rng.random(n) < 0.01] = -np.inf
    lognormal = rng.lognormal(shift, 3.0, n)
    ties = np.round(rng.normal(shift, 1, n), 1)  # many repeated values
    regions = ["north", "south", "east"] + (["overseas"] if shift else ["island"])
    region = rng.choice(regions, n).astype(object)
    region[rng.random(n) < 0.03] = None
    columns: dict[str, Any] = {
        "cauchy": cauchy, "lognormal": lognormal, "ties": ties,
        "grade": rng.integers(1, 6, n),  # integer, 5 values: categorical
        "age": rng.integers(18, 90, n),  # integer, many values: numeric
        "few": rng.choice([0.5, 1.5, 2.5] if not shift else [0.5, 1.5, 2.5, 4.0], n),
        "flag": rng.random(n) < 0.4 + shift / 10,
        "region": pa.array(region, pa.string()),
        "customer": pa.array([f"C{k}" for k in rng.integers(0, 10**9, n)]),
        "score": np.clip(rng.beta(2, 5, n) + shift / 10, 0, 1),
    }
    if labels:
        label = (rng.random(n) < columns["score"]).astype(np.float64)
        label[rng.random(n) < 0.05] = np.nan  # unlabelled rows
        columns["defaulted"] = label
        columns["score"][rng.random(n) < 0.01] = np.nan
    return pa.table(columns)


MIXED_PLAN = DriftPlan(features=["cauchy", "lognormal", "ties", "grade", "age", "few", "flag", "region", "customer"],
                       prediction="score", label="defaulted", thresholds={"psi": 0.2, "auc_drop": 0.01})


# -- agreement ------------------------------------------------------------------------------


@needs_spark
def test_mixed_columns_agree(spark, tmp_path: Path, small_buckets: None):
    rng = np.random.default_rng(7)
    ref = write(mixed_log(rng, 4000), tmp_path / "ref.parquet")
    cur = write(mixed_log(rng, 6000, shift=0.4), tmp_path / "cur.parquet")
    expected, got = both([ref], [cur], MIXED_PLAN)
    assert_agree(expected, got)
    kinds = {c["column"]: (c["kind"], c["method"]) for c in got["columns"]}
    assert kinds["grade"] == ("categorical", "jensenshannon") and kinds["customer"] == ("text", None)
    assert kinds["cauchy"] == ("numeric", "wasserstein") and kinds["few"][1] == "jensenshannon"
    assert got["performance"]["current"]["auc"] is not None and got["breaches"]


@needs_spark
def test_small_samples_tests_and_warnings_agree(spark, tmp_path: Path, small_buckets: None):
    """n_ref <= 1000: KS (exact p-values), chi-square, z-test; the small-window warnings."""
    rng = np.random.default_rng(3)

    def log(n: int, shift: float) -> pa.Table:
        return pa.table({"x": rng.normal(shift, 1, n), "three": rng.choice([1.0, 2.0, 3.0], n),
                         "two": rng.choice([0.0, 1.0], n), "cat": rng.choice(["a", "b", "c", "d"], n),
                         "bin": rng.choice(["yes", "no"], n), "tiny": rng.normal(shift, 1, n)})

    ref = write(log(800, 0), tmp_path / "ref.parquet")
    cur = write(log(700, 0.2), tmp_path / "cur.parquet")
    plan = DriftPlan(features=["x", "three", "two", "cat", "bin", "tiny"])
    expected, got = both([ref], [cur], plan)
    assert_agree(expected, got)
    methods = {c["column"]: c["method"] for c in got["columns"]}
    assert methods == {"x": "ks", "three": "chisquare", "two": "z", "cat": "chisquare", "bin": "z", "tiny": "ks"}
    small = write(log(20, 0.5), tmp_path / "small.parquet")
    expected, got = both([ref], [small], plan)
    assert_agree(expected, got)
    assert got["warnings"]


@needs_spark
def test_declared_methods_and_kinds_agree(spark, tmp_path: Path, small_buckets: None):
    """KS past scipy's exact range (Smirnov's asymptotics), PSI as the method, chi-square and z on a
    few values, Jensen-Shannon over Sturges bins, numbers declared categorical, booleans declared numeric."""
    rng = np.random.default_rng(11)

    def log(n: int, shift: float) -> pa.Table:
        return pa.table({"ks": rng.normal(shift, 1, n), "psi": rng.gamma(2, 1 + shift, n),
                         "chi": rng.choice([1.0, 2.0, 5.0], n), "z": rng.choice([3.0, 7.0], n),
                         "js": rng.lognormal(shift, 1, n), "code": rng.choice([10, 20, 30, 4_000_000_000], n),
                         "ratio": rng.choice([0.5, 1.0, 1e-7, 2.5e20], n), "yes": rng.random(n) < 0.5})

    ref = write(log(12_000, 0), tmp_path / "ref.parquet")
    cur = write(log(11_000, 0.05), tmp_path / "cur.parquet")
    columns = {"ks": {"method": "ks"}, "psi": {"method": "psi"}, "chi": {"method": "chisquare"},
               "z": {"method": "z", "threshold": 0.01}, "js": {"method": "jensenshannon"},
               "code": {"kind": "categorical"}, "ratio": {"kind": "categorical"}, "yes": {"kind": "numeric"}}
    plan = DriftPlan.from_monitoring({"features": list(columns), "columns": columns})
    expected, got = both([ref], [cur], plan)
    assert_agree(expected, got)
    by_name = {c["column"]: c for c in got["columns"]}
    assert by_name["ks"]["values"] == {"reference": 12_000, "current": 11_000}
    assert "4000000000" in by_name["code"]["psi_bins"]["bins"]
    assert {"2.5e+20", "1e-7", "0.5", "1"} == set(by_name["ratio"]["psi_bins"]["bins"])


@needs_spark
def test_no_data_and_text_statuses_agree(spark, tmp_path: Path):
    rng = np.random.default_rng(5)
    n = 1500
    ref = write(pa.table({"x": rng.normal(0, 1, n), "empty": np.full(n, np.nan), "id": [f"r{i}" for i in range(n)],
                          "all_inf": rng.normal(0, 1, n)}), tmp_path / "ref.parquet")
    cur = write(pa.table({"x": rng.normal(0, 1, n), "empty": rng.normal(0, 1, n), "id": [f"c{i}" for i in range(n)],
                          "all_inf": np.full(n, np.inf)}), tmp_path / "cur.parquet")
    plan = DriftPlan(features=["x", "empty", "id", "all_inf"])
    expected, got = both([ref], [cur], plan)
    assert_agree(expected, got)
    assert got["status"] == "data_quality"
    assert {c["column"]: c["status"] for c in got["columns"]} == {
        "x": "ok", "empty": "no_data", "id": "not_tested", "all_inf": "no_data"}


@needs_spark
def test_many_small_files_and_one_big_file_agree(spark, tmp_path: Path, small_buckets: None):
    rng = np.random.default_rng(17)
    ref = write(mixed_log(rng, 5000, labels=False), tmp_path / "ref.parquet")
    parts = []
    for i in range(12):
        table = mixed_log(rng, int(rng.integers(1, 400)), shift=0.2, labels=False)
        parts.append(write(table, tmp_path / f"part-{i:02d}.parquet", row_group_size=50))
    plan = DriftPlan(features=["cauchy", "lognormal", "ties", "grade", "age", "region"], prediction="score")
    expected, got = both([ref], parts, plan)
    assert_agree(expected, got)


@needs_spark
def test_partitioned_directory_with_an_empty_partition_and_a_filter(spark, tmp_path: Path, small_buckets: None):
    rng = np.random.default_rng(23)
    ref = write(mixed_log(rng, 3000, labels=True), tmp_path / "ref.parquet")
    files: dict[str, list[str]] = {}
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        folder = tmp_path / "logs" / f"dt={day}"
        folder.mkdir(parents=True)
        files[day] = [write(mixed_log(rng, 900, shift=0.3), folder / "part-0.parquet"),
                      write(mixed_log(rng, 300, shift=0.3), folder / "part-1.parquet")]
    empty = mixed_log(rng, 10, shift=0.3).slice(0, 0)
    pq.write_table(empty, tmp_path / "logs" / "dt=2026-11-02" / "part-2.parquet")
    plan = MIXED_PLAN
    # The data set's root with a filter on its partition column (pruning, as a daily job asks for a
    # day; that day holds an empty file), and a glob of partitions.
    expected, got = both([ref], files["2026-11-02"], plan, spark_current=[str(tmp_path / "logs")],
                         where="dt = '2026-11-02'")
    assert_agree(expected, got)
    expected, got = both([ref], files["2026-11-01"] + files["2026-11-03"], plan,
                         spark_current=[str(tmp_path / "logs" / "dt=2026-11-0[13]")])
    assert_agree(expected, got)


@needs_spark
@pytest.mark.parametrize("suffix", [".csv.gz", ".jsonl"])
def test_text_formats_agree(spark, tmp_path: Path, suffix: str):
    """CSV typed as Arrow types it (integers, booleans, NA and NaN as null, inf); JSON Lines."""
    rng = np.random.default_rng(29)

    def log(n: int, shift: float) -> pa.Table:
        x = rng.normal(shift, 1, n)
        x[rng.random(n) < 0.02] = np.nan
        x[rng.random(n) < 0.01] = np.inf
        region = rng.choice(["north", "south", "east"], n).astype(object)
        region[rng.random(n) < 0.05] = None
        return pa.table({"x": x, "count": rng.integers(0, 4, n), "big": rng.integers(0, 5000, n),
                         "flag": rng.random(n) < 0.3, "region": pa.array(region, pa.string()),
                         "score": rng.random(n), "label": rng.integers(0, 2, n)})

    ref = write(log(2000, 0), tmp_path / f"ref{suffix}")
    cur = write(log(2500, 0.2), tmp_path / f"cur{suffix}")
    plan = DriftPlan(features=["x", "count", "big", "flag", "region"], prediction="score", label="label")
    expected, got = both([ref], [cur], plan)
    assert_agree(expected, got)


# -- catalog tables and the command -------------------------------------------------------------


CARD = """---
id: spark-pd
name: PD on the lake
owner: alice@acme.test
developers: [bob@acme.test]
tier: 2
intended_use: Test.
out_of_scope: Nothing.
limitations: [None]
monitoring:
  reference: data/reference.parquet
  features: [cauchy, lognormal, ties, grade, age, few, flag, region, customer]
  prediction: score
  label: defaulted
  thresholds: {psi: 0.2}
  logs: "logs/{model}/dt=*"
---
Card.
"""


@pytest.fixture
def lake(inventory: Path, mops: Mops) -> Path:
    rng = np.random.default_rng(31)
    (inventory / "data").mkdir()
    write(mixed_log(rng, 3000), inventory / "data" / "reference.parquet")
    for day in ("2026-11-01", "2026-11-02"):
        folder = inventory / "logs" / "spark-pd" / f"dt={day}"
        folder.mkdir(parents=True)
        write(mixed_log(rng, 2000, shift=0.2), folder / "part-0.parquet")
    (inventory / "card.md").write_text(CARD)
    git(inventory, "add", "data", "card.md")
    git(inventory, "commit", "-qm", "data")
    mops("register", "spark-pd", "--version", "1.0.0", "--card", "card.md", "--sha256", "b" * 64)
    return inventory


@needs_spark
def test_command_json_equals_the_local_engine(spark, lake: Path, mops: Mops):
    days = sorted(str(p) for p in (lake / "logs" / "spark-pd").glob("dt=*/part-0.parquet"))
    args = [a for d in days for a in ("--current", d)]
    local_run = mops("drift", "spark-pd", *args, "--json", code=None)
    spark_run = mops("drift", "spark-pd", "--current", str(lake / "logs" / "spark-pd"), "--engine", "spark",
                     "--spark-master", MASTER, "--json", code=None)
    assert spark_run.exit_code == local_run.exit_code, spark_run.stderr
    expected, got = json.loads(local_run.stdout), json.loads(spark_run.stdout)
    assert_agree(expected, got)


@needs_spark
def test_all_engine_spark_reads_partitioned_directories_and_records(spark, lake: Path, mops: Mops):
    mops("promote", "spark-pd@1.0.0", "--to", "validation", code=None)
    git(lake, "config", "user.email", "bob@acme.test")
    # Put the version in production the way an inventory does, whatever the policy says.
    version = lake / "models" / "spark-pd" / "versions" / "1.0.0" / "version.yaml"
    text = version.read_text()
    version.write_text(text.replace("stage: development", "stage: production").replace(
        "stage: validation", "stage: production"))
    git(lake, "commit", "-qam", "production")
    spark_doc = mops.json("drift", "--all", "--engine", "spark", "--spark-master", MASTER, "--format", "json",
                          "--record", "--where", "dt >= '2026-11-02'", code=None)
    local_doc = mops.json("drift", "--all", "--logs", "logs/{model}/dt=2026-11-02/*.parquet", "--format", "json",
                          code=None)
    [spark_result], [local_result] = spark_doc["results"], local_doc["results"]
    assert spark_result["logs"] == ["logs/spark-pd/dt=2026-11-01", "logs/spark-pd/dt=2026-11-02"]
    assert_agree(local_result["drift"], {k: v for k, v in spark_result["drift"].items() if k != "record"})
    record = json.loads((lake / spark_result["record"]).read_text())
    assert [(i["size"], i["rows"]) for i in record["inputs"]] == [(None, 0), (None, 2000)]
    # A folder Spark reads has no one digest: the record says so rather than leave it out.
    assert all(i["sha256"] is None and i["unhashed"] for i in record["inputs"])
    assert record["reference"]["rows"] == 3000 and len(record["reference"]["sha256"]) == 64


@needs_spark
def test_catalog_tables_with_filters(spark, lake: Path, mops: Mops, tmp_path: Path):
    reference = spark.read.parquet(str(lake / "data" / "reference.parquet"))
    current = spark.read.parquet(str(lake / "logs" / "spark-pd"))
    spark.sql("CREATE DATABASE IF NOT EXISTS lake")
    reference.write.mode("overwrite").saveAsTable("lake.reference")
    current.write.mode("overwrite").partitionBy("dt").saveAsTable("lake.predictions")
    day = str(lake / "logs" / "spark-pd" / "dt=2026-11-01" / "part-0.parquet")
    expected = mops.json("drift", "spark-pd", "--current", day, "--json", code=None)
    got = mops.json("drift", "spark-pd", "--engine", "spark", "--spark-master", MASTER,
                    "--current-table", "lake.predictions", "--where", "dt = '2026-11-01'",
                    "--reference-table", "lake.reference", "--reference-where", "true", "--json", code=None)
    assert_agree(expected, got)


@needs_spark
def test_usage_errors_are_exit_2(spark, lake: Path, mops: Mops):
    r = mops("drift", "spark-pd", "--current", "x.parquet", "--where", "dt > 1", code=2)
    assert "--engine spark" in r.stderr
    r = mops("drift", "spark-pd", "--engine", "spark", "--spark-master", MASTER, "--current",
             str(lake / "nowhere" / "*.parquet"), "--json", code=2)
    assert "nowhere" in r.stderr
    r = mops("drift", "spark-pd", "--engine", "spark", "--spark-master", MASTER, "--current",
             str(lake / "logs" / "spark-pd"), "--input-format", "avro", code=2)
    assert "--input-format" in r.stderr
    r = mops("drift", "spark-pd", "--engine", "spark", "--spark-master", MASTER, "--current",
             str(lake / "logs" / "spark-pd"), "--features", "cauchy,missing", code=2)
    assert "missing" in r.stderr
    r = mops("drift", "spark-pd", "--engine", "spark", "--spark-master", MASTER, "--current",
             str(lake / "logs" / "spark-pd"), "--where", "no_such_column > 1", code=2)
    assert "no_such_column" in r.stderr
    # A file Spark fails on while it runs a job is bad input (exit 2, one line), not a crash.
    bad = lake / "bad.csv"
    bad.write_text("cauchy,lognormal,ties,grade,age,few,flag,region,customer,score,defaulted\n"
                   "1,2,3,4,5,6,true,north,c1,0.5,1\n\"unterminated,2,3\n")
    r = mops("drift", "spark-pd", "--engine", "spark", "--spark-master", MASTER, "--current", str(bad), code=2)
    assert "MALFORMED" in r.stderr and "unterminated" not in r.stderr, r.stderr  # no data in the message


def test_without_pyspark_the_engine_is_a_usage_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(UsageError, match=r"mops\[spark\]"):
        spark_engine.compare_windows(["r.parquet"], ["c.parquet"], DriftPlan(features=["x"]))


def test_help_does_not_import_pyspark():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom mops.main import app\n"
            "for args in (['--help'], ['drift', '--help']):\n"
            "    r = CliRunner().invoke(app, args)\n    assert r.exit_code == 0, r.output\n"
            "import mops.drift.engines\nprint('pyspark' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the pure last steps against numpy and scipy --------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 11, 19, 100, 1001, 12345])
def test_deciles_are_numpys_quantiles_bit_for_bit(n: int):
    rng = np.random.default_rng(n)
    values = np.sort(rng.standard_t(1, n) * 10.0 ** rng.integers(-5, 5, n))
    got = exact.deciles(n, lambda i: float(values[i]))
    assert np.array_equal(got, np.quantile(values, stats.DECILES))
    assert np.array_equal(exact.psi_cuts(n, lambda i: float(values[i])),
                          np.unique(np.quantile(values, stats.DECILES)))


@pytest.mark.parametrize("n", [2, 5, 1000, 123_457])
def test_sturges_edges_are_numpys(n: int):
    rng = np.random.default_rng(n)
    values = rng.lognormal(0, 2, n)
    assert np.array_equal(exact.sturges_edges(values.min(), values.max(), n),
                          np.histogram_bin_edges(values, bins="sturges"))
    constant = np.full(n, 3.25)
    assert np.array_equal(exact.sturges_edges(3.25, 3.25, n), np.histogram_bin_edges(constant, bins="sturges"))


@pytest.mark.filterwarnings("ignore:ks_2samp")
@pytest.mark.parametrize(("n", "m", "shift"), [(50, 70, 0.3), (1000, 9999, 0.05), (10_001, 300, 0.1),
                                               (30_000, 45_000, 0.02), (20_000, 20_000, 0.0)])
def test_ks_pvalue_from_the_largest_gap_is_scipys(n: int, m: int, shift: float):
    rng = np.random.default_rng(n + m)
    ref, cur = np.sort(rng.normal(0, 1, n)), np.sort(np.round(rng.normal(shift, 1, m), 2))
    f_ref = np.searchsorted(ref, np.concatenate((ref, cur)), side="right")
    f_cur = np.searchsorted(cur, np.concatenate((ref, cur)), side="right")
    at = int(np.argmax(np.abs(f_ref / n - f_cur / m)))
    got = exact.ks_pvalue(int(f_ref[at]), int(f_cur[at]), n, m)
    assert math.isclose(got, sps.ks_2samp(ref, cur).pvalue, rel_tol=1e-12, abs_tol=1e-300)


def test_performance_from_counts_is_stats_performance():
    rng = np.random.default_rng(41)
    scores = np.round(rng.random(5000), 3)
    labels = rng.random(5000) < scores
    pos, neg = np.sort(scores[labels]), np.sort(scores[~labels])
    want = stats.performance(pos, neg, 0.4)
    below = sum(int(np.searchsorted(neg, p, side="left")) for p in pos)
    ties = sum(int(np.searchsorted(neg, p, side="right") - np.searchsorted(neg, p, side="left")) for p in pos)
    got = exact.performance(positives=pos.size, negatives=neg.size, twice_u=2 * below + ties,
                            ks=stats._ks_statistic_sorted(pos, neg), true_positive=int((pos >= 0.4).sum()),
                            false_positive=int((neg >= 0.4).sum()), score_sum=float(pos.sum()) + float(neg.sum()),
                            decision_threshold=0.4)
    assert got == want


def test_numbers_read_as_categories_are_spelled_as_arrow_spells_them():
    marked = {"\u00005.0": 3, "\u00001.0E20": 2, "\u0000-0.0": 1, "north": 4, "\u00001.0E-7": 1}
    assert exact.arrow_labels(marked, "\u0000") == {"5": 3, "1e+20": 2, "-0": 1, "north": 4, "1e-7": 1}


def test_bucket_boundaries_split_a_sample_evenly():
    assert passes.boundaries([], 8) == [] and passes.boundaries([1.0, 2.0], 1) == []
    bounds = passes.boundaries(list(range(100)), 4)
    assert bounds == [25, 50, 75]
    assert passes.boundaries([1.0] * 50 + [2.0] * 50, 10) == [1.0, 2.0]


def test_the_file_spark_submit_runs_is_mops():
    """spark-submit runs Python files, not console scripts: mops ships one (README's cluster jobs)."""
    from mops.drift.spark import submit

    out = subprocess.run([sys.executable, submit.__file__, "drift", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--spark-master" in out.stdout


# -- regression, multiclass, calibration, segments and fairness --------------------------------------


def outcome_log(rng: np.random.Generator, n: int, shift: float = 0.0) -> pa.Table:
    """A binary score, a regression and a multiclass model's columns, with segments and groups."""
    x = rng.normal(shift, 1, n)
    score = 1 / (1 + np.exp(-x))
    defaulted = (rng.random(n) < score).astype(np.float64)
    defaulted[rng.random(n) < 0.02] = np.nan
    severity = 2 * x + rng.normal(0, 1, n)
    severity[rng.random(n) < 0.02] = 0.0  # zero labels: left out of MAPE
    severity[rng.random(n) < 0.01] = np.nan
    truth = rng.choice(["a", "b", "c"], n)
    guess = np.where(rng.random(n) < 0.7, truth, rng.choice(["a", "b", "c"], n))
    region = rng.choice(["north", "south", "island"], n, p=[0.5, 0.45, 0.05]).astype(object)
    region[rng.random(n) < 0.02] = None
    return pa.table({"x": x, "score": score, "defaulted": defaulted, "region": pa.array(region, pa.string()),
                     "sex": rng.choice(["f", "m"], n), "grade": rng.integers(1, 6, n),
                     "severity_hat": 2 * x, "severity": severity, "class_hat": guess, "class": truth})


@needs_spark
@pytest.mark.parametrize("plan", [
    DriftPlan(features=["x", "grade"], prediction="score", label="defaulted", segments=["region"],
              protected=["sex"], min_segment_rows=150, thresholds={"demographic_parity_ratio": 0.99}),
    DriftPlan(features=["x"], prediction="score", label="defaulted", grade="grade",
              thresholds={"jeffreys_pvalue": 0.5}),
    DriftPlan(features=["x"], prediction="severity_hat", label="severity", segments=["sex"]),
    DriftPlan(features=["x"], prediction="class_hat", label="class"),
], ids=["binary-segments-fairness", "binary-grade-column", "regression", "multiclass"])
def test_task_figures_agree(spark, tmp_path: Path, small_buckets: None, plan: DriftPlan):
    from dataclasses import replace

    rng = np.random.default_rng(41)
    ref = write(outcome_log(rng, 2500), tmp_path / "ref.parquet")
    cur = [write(outcome_log(rng, 1200, shift=0.2), tmp_path / f"cur{i}.parquet") for i in range(2)]
    local_plan, spark_plan = replace(plan), replace(plan)  # each engine infers the task itself
    ref_profile, cur_profile = local.profile_windows([ref], cur, local_plan)
    with ref_profile, cur_profile:
        expected = compare(ref_profile, cur_profile, local_plan).to_json()
    got = spark_engine.compare_windows([ref], cur, spark_plan, options={"master": MASTER}).result.to_json()
    assert spark_plan.task == local_plan.task and expected["task"] == local_plan.task is not None
    assert expected["regression"] or expected["multiclass"] or expected["calibration"]
    assert_agree(expected, got)
