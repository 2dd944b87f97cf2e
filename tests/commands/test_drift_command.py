"""`mops drift` through the CLI: plan from the card, verdicts, exit codes, recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from mops.demo.data import credit_log, write_credit_logs
from tests.conftest import Mops, git, snapshot

CARD = Path(__file__).resolve().parents[2] / "cli/mops/demo/cards/credit-pd.md"


@pytest.fixture
def logs(inventory: Path, mops: Mops) -> dict[str, Path]:
    paths = write_credit_logs(inventory / "data/credit-pd", reference_rows=3000, month_rows=5000)
    git(inventory, "add", "data/credit-pd/reference.parquet")
    git(inventory, "commit", "-qm", "reference data")
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(CARD), "--sha256", "a" * 64)
    return paths


def test_stable_month_exit_0_and_contract_keys(mops: Mops, logs):
    doc = mops.json("drift", "credit-pd", "--current", str(logs["2026-09"]), "--json")
    assert doc["model"] == "credit-pd" and doc["version"] == "1.0.0"
    assert doc["dataset_drift"] is False and doc["rows"] == {"reference": 3000, "current": 5000}
    assert {"dataset_drift", "drifted_share", "rows", "columns", "performance"} <= doc.keys()
    cols = {c["column"]: c for c in doc["columns"]}
    assert set(cols) == {"income", "utilisation", "age", "tenure_months", "region", "channel", "score"}
    for c in cols.values():
        assert {"column", "kind", "method", "statistic", "threshold", "drifted", "psi"} <= c.keys()
    assert cols["region"]["kind"] == "categorical" and cols["income"]["kind"] == "numeric"
    # n_ref = 3000 > 1000 and many distinct values: normed Wasserstein, checked against scipy
    ref = credit_log(3000, seed=1).column("utilisation").to_numpy()
    cur = credit_log(5000, seed=9).column("utilisation").to_numpy()
    expected = stats.wasserstein_distance(ref, cur) / max(ref.std(), 0.001)
    assert cols["utilisation"]["method"] == "wasserstein"
    assert cols["utilisation"]["statistic"] == pytest.approx(expected, abs=1e-6)
    assert doc["performance"]["reference"]["auc"] is not None


def test_drifted_month_exit_1_and_nothing_written_without_record(inventory: Path, mops: Mops, logs):
    before = snapshot(inventory)
    r = mops("drift", "credit-pd@1.0.0", "--current", str(logs["2026-10"]), "--json", code=1)
    doc = json.loads(r.stdout)
    assert doc["dataset_drift"] is True or doc["breaches"]
    assert snapshot(inventory) == before


def test_record_makes_one_commit_read_back_by_show(inventory: Path, mops: Mops, logs):
    head = git(inventory, "rev-parse", "HEAD").strip()
    mops("drift", "credit-pd", "--current", str(logs["2026-09"]), "--record", "--window", "2026-09")
    assert git(inventory, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    files = git(inventory, "show", "--name-only", "--format=", "HEAD").split()
    assert len(files) == 1 and files[0].startswith("models/credit-pd/versions/1.0.0/monitoring/D-")
    record = json.loads((inventory / files[0]).read_text())
    assert record["window"] == "2026-09" and record["verdict"]["dataset_drift"] is False
    assert record["reference"]["rows"] == 3000 and len(record["reference"]["sha256"]) == 64
    assert record["inputs"][0]["size"] == logs["2026-09"].stat().st_size
    assert record["inputs"][0]["rows"] == 5000
    assert "Mops-Action: drift" in git(inventory, "log", "-1", "--format=%B")
    show = mops.json("show", "credit-pd", "--json")
    assert [m["breach"] for m in show["monitoring"]] == [False]


def test_window_split_over_files_equals_one_file(inventory: Path, mops: Mops, logs):
    import pyarrow.parquet as pq

    table = credit_log(5000, seed=9)
    pq.write_table(table.slice(0, 2000), inventory / "a.parquet")
    pq.write_table(table.slice(2000), inventory / "b.parquet")
    pq.write_table(table, inventory / "all.parquet")
    split = mops.json("drift", "credit-pd", "--current", "a.parquet", "--current", "b.parquet",
                      "--json", "--jobs", "2")
    whole = mops.json("drift", "credit-pd", "--current", "all.parquet", "--json")
    assert split["columns"] == whole["columns"] and split["performance"] == whole["performance"]
    mops("drift", "credit-pd", "--current", "a.parquet", "--current", "b.parquet", "--record",
         "--jobs", "2")
    record = json.loads(next((inventory / "models/credit-pd/versions/1.0.0/monitoring").glob("*.json"))
                        .read_text())
    assert [(i["path"], i["rows"]) for i in record["inputs"]] == [("a.parquet", 2000), ("b.parquet", 3000)]


@pytest.mark.parametrize("args,message", [
    (["--current", "nope.csv"], "nope.csv: no such file"),
    (["--current", "data"], "is a directory"),
    (["--current", "{sept}", "--features", "income,salary"], "salary"),
    (["--current", "{sept}", "--reference", "missing.parquet"], "missing.parquet: no such file"),
])
def test_bad_input_exit_2_changes_nothing(inventory: Path, mops: Mops, logs, args, message):
    args = [a.replace("{sept}", str(logs["2026-09"])) for a in args]
    before = snapshot(inventory)
    r = mops("drift", "credit-pd", *args, "--record", code=2)
    assert message in r.stderr and "Traceback" not in r.stderr
    assert snapshot(inventory) == before


def test_no_plan_and_no_columns(inventory: Path, mops: Mops, logs):
    mops("register", "other", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    r = mops("drift", "other", "--current", str(logs["2026-09"]), code=2)
    assert "has no monitoring plan and no columns were given" in r.stderr


def test_empty_and_corrupt_files(inventory: Path, mops: Mops, logs):
    (inventory / "empty.csv").write_text("")
    (inventory / "header.csv").write_text("income,utilisation,age,tenure_months,region,channel,score,defaulted\n")
    (inventory / "corrupt.parquet").write_bytes(b"PAR1 not really")
    for name in ("empty.csv", "header.csv", "corrupt.parquet"):
        r = mops("drift", "credit-pd", "--current", name, code=2)
        assert name in r.stderr, r.stderr


# -- issue 19: data quality, small windows, monitoring.logs, engines ------------------------


def test_all_null_column_exits_2_with_the_document_and_records_nothing(inventory: Path, mops: Mops, logs):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = credit_log(5000, seed=9)
    table = table.set_column(table.column_names.index("income"), "income",
                             pc.cast(pa_nulls(5000), table.schema.field("income").type))
    pq.write_table(table, inventory / "nulls.parquet")
    before = snapshot(inventory)
    r = mops("drift", "credit-pd", "--current", "nulls.parquet", "--json", "--record", code=2)
    doc = json.loads(r.stdout)
    income = next(c for c in doc["columns"] if c["column"] == "income")
    assert income["status"] == "no_data" and doc["status"] == "data_quality"
    assert doc["tested_columns"] == 6 and doc["problems"][0]["column"] == "income"
    assert "data quality" in r.stderr and "no usable value in the current data" in r.stderr
    assert "nothing was recorded" in r.stderr
    assert snapshot(inventory) == before
    text = mops("drift", "credit-pd", "--current", "nulls.parquet", code=2)
    assert "DATA QUALITY FAILURE" in text.stdout and "NO DATA" in text.stdout


def pa_nulls(n: int):
    import pyarrow as pa

    return pa.array([None] * n, pa.float64())


def test_one_row_window_is_checked_with_a_warning_in_text_json_and_record(inventory: Path, mops: Mops, logs):
    import pyarrow.parquet as pq

    pq.write_table(credit_log(5000, seed=9).slice(0, 1), inventory / "one.parquet")
    r = mops("drift", "credit-pd", "--current", "one.parquet", code=None)
    assert r.exit_code in (0, 1) and "warning: small window: 1 rows in the current data" in r.stderr
    doc = mops.json("drift", "credit-pd", "--current", "one.parquet", "--json", code=None)
    assert doc["rows"]["current"] == 1 and doc["warnings"][0]["warning"] == "small_sample"
    mops("drift", "credit-pd", "--current", "one.parquet", "--record", code=None)
    record = json.loads(next((inventory / "models/credit-pd/versions/1.0.0/monitoring").glob("*.json"))
                        .read_text())
    assert record["verdict"]["warnings"] and record["result"]["warnings"] == doc["warnings"]


def test_card_monitoring_logs_is_accepted_by_drift_and_check(inventory: Path, mops: Mops, logs):
    card = inventory / "models/credit-pd/card.md"
    card.write_text(card.read_text().replace("  label: defaulted\n",
                                             '  label: defaulted\n  logs: "data/credit-pd/predictions-*.parquet"\n'))
    git(inventory, "commit", "-qam", "where the logs are")
    doc = mops.json("drift", "credit-pd", "--current", str(logs["2026-09"]), "--json")
    assert doc["model"] == "credit-pd"
    r = mops("check", code=None)
    assert "unknown key" not in r.stdout + r.stderr and r.exit_code in (0, 1)


def test_unknown_engine_and_conflicting_options_are_usage_errors(inventory: Path, mops: Mops, logs):
    sept = str(logs["2026-09"])
    r = mops("drift", "credit-pd", "--current", sept, "--engine", "flink", code=2)
    assert "--engine flink: no such drift engine (available: local" in r.stderr
    r = mops("drift", "--all", "--engine", "nope", code=2)
    assert "no such drift engine" in r.stderr
    for args, message in ((["credit-pd"], "no current logs"),
                          (["--current", sept], "name one MODEL[@V]"),
                          (["credit-pd", "--current", sept, "--stage", "production"], "go with --all"),
                          (["--all", "--current", sept], "drop --current"),
                          (["--all", "credit-pd@1.0.0"], "without @VERSION"),
                          (["credit-pd", "--current", sept, "--json", "--format", "github"], "give one")):
        r = mops("drift", *args, code=2)
        assert message in r.stderr, (args, r.stderr)
