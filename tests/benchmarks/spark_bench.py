"""Spark engine benchmark: the local engine and the Spark engine on the same windows, in one run.

Not collected by pytest. Run it directly:

    .venv/bin/python tests/benchmarks/spark_bench.py                    # 20M current rows
    .venv/bin/python tests/benchmarks/spark_bench.py --rows 5000000     # a smaller window

The data set is drift_bench.py's (22 columns: 15 numeric with heavy tails, 5
categorical, score, label), the reference 1M rows, the current window ``--rows``
rows in Parquet files of 1M rows. Each engine runs in a fresh child process:

* local: ``profile_windows`` + ``compare`` (what ``mops drift`` runs), peak RSS of
  the process;
* spark: ``--engine spark`` on ``local[2]`` (``--master``), peak RSS of the Python
  driver and of the JVM (in local mode the JVM is the Spark driver *and* its
  executors), and from Spark's REST API per stage: tasks, input bytes, shuffle
  records and bytes written, time. Those per-row costs are what the README's
  1-billion-row estimate is built from.

Both documents are compared (every value within 1e-9), so a fast wrong answer
does not pass for a result.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.drift_bench import features, make_chunk  # noqa: E402

FILE_ROWS = 1_000_000
TOLERANCE = 1e-9


def plan_json() -> dict:
    return {"features": features(), "prediction": "score", "label": "label",
            "thresholds": {"psi": 0.25, "auc_drop": 0.05}}


def write_window(folder: Path, rows: int, shift: float, seed: int) -> list[str]:
    import numpy as np
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        path = folder / f"part-{i:04d}.parquet"
        writer = None
        for chunk_start in range(start, min(start + FILE_ROWS, rows), 250_000):
            table = make_chunk(rng, min(250_000, rows - chunk_start, start + FILE_ROWS - chunk_start), shift)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        assert writer is not None
        writer.close()
        paths.append(str(path))
    return paths


# -- the measured children --------------------------------------------------------------------


def local_child(args) -> None:
    from mops.drift import DriftPlan, compare, profile_windows

    plan = DriftPlan.from_monitoring(plan_json())
    t0 = time.perf_counter()
    reference, current = profile_windows(args.reference, args.current, plan, jobs=args.jobs)
    t1 = time.perf_counter()
    with reference, current:
        doc = compare(reference, current, plan).to_json()
    t2 = time.perf_counter()
    Path(args.out).write_text(json.dumps(doc))
    print(json.dumps({"profile": t1 - t0, "compare": t2 - t1, "total": t2 - t0}))


def spark_child(args) -> None:
    from pyspark.sql import SparkSession

    from mops.drift import DriftPlan
    from mops.drift.engines import spark as engine
    from mops.drift.spark import passes

    if args.bucket_values:
        passes.BUCKET_VALUES = args.bucket_values
    plan = DriftPlan.from_monitoring(plan_json())
    t0 = time.perf_counter()
    session = (SparkSession.builder.master(args.master).appName("mops spark bench")
               .config("spark.driver.memory", args.driver_memory)
               .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
               .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    session.sparkContext.setLogLevel("FATAL")
    t1 = time.perf_counter()
    compared = engine.compare_windows([args.reference_dir], [args.current_dir], plan,
                                      options={"master": args.master})
    t2 = time.perf_counter()
    Path(args.out).write_text(json.dumps(compared.result.to_json()))
    stages = stage_metrics(session)
    jvm_peak = jvm_peak_rss(session)
    session.stop()
    print(json.dumps({"session": t1 - t0, "compare": t2 - t1, "total": t2 - t0, "stages": stages,
                      "jvm_peak_mb": jvm_peak}))


def stage_metrics(session) -> list[dict]:
    """Per completed stage, from Spark's REST API on this machine (the UI of the local session)."""
    import urllib.request

    url = session.sparkContext.uiWebUrl
    app = session.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete", timeout=30) as r:
        stages = json.load(r)
    keep = ("stageId", "name", "numTasks", "executorRunTime", "inputBytes", "inputRecords",
            "shuffleReadBytes", "shuffleReadRecords", "shuffleWriteBytes", "shuffleWriteRecords",
            "memoryBytesSpilled", "diskBytesSpilled")
    out = []
    for s in sorted(stages, key=lambda s: s["stageId"]):
        row = {k: s.get(k) for k in keep}
        if s.get("submissionTime") and s.get("completionTime"):
            row["wall_ms"] = _ms(s["completionTime"]) - _ms(s["submissionTime"])
        out.append(row)
    return out


def _ms(stamp: str) -> float:
    from datetime import datetime

    return datetime.strptime(stamp.replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000


def jvm_peak_rss(session) -> float | None:
    """The JVM's peak resident set (VmHWM), read from /proc: it is the Spark driver and executors here."""
    try:
        pid = session.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except Exception:  # noqa: BLE001 - a measurement, not a result
        return None
    return None


# -- the parent ----------------------------------------------------------------------------------


def run_measured(argv: list[str]) -> dict:
    """A fresh child process: its JSON line, wall time and its own peak RSS (``os.wait4``)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *argv], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"child {argv[1]} failed with {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = wall
    result["child_peak_mb"] = usage.ru_maxrss / 1024
    return result


def differences(expected, got, path="") -> list[str]:
    out = []
    if type(expected) is not type(got) and not (isinstance(expected, float) and isinstance(got, float | int)):
        return [f"{path}: {str(expected)[:200]} != {str(got)[:200]}"]
    if isinstance(expected, dict):
        for k in sorted(set(expected) | set(got)):
            out += differences(expected.get(k), got.get(k), f"{path}.{k}")
    elif isinstance(expected, list):
        if len(expected) != len(got):
            return [f"{path}: lengths {len(expected)} != {len(got)}"]
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            out += differences(a, b, f"{path}[{i}]")
    elif isinstance(expected, float) and isinstance(got, float | int):
        if not math.isclose(expected, got, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            out.append(f"{path}: {expected!r} != {got!r}")
    elif expected != got:
        out.append(f"{path}: {expected!r} != {got!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000_000, help="current window rows")
    parser.add_argument("--reference-rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g", help="the JVM's heap (driver and executors in local mode)")
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--dir", help="keep the data here (default: a temporary folder)")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--bucket-values", type=int, help="values per range bucket (default: the engine's)")
    parser.add_argument("--child", choices=["local", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--reference", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--current", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--reference-dir", help=argparse.SUPPRESS)
    parser.add_argument("--current-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "local":
        return local_child(args)
    if args.child == "spark":
        return spark_child(args)

    with tempfile.TemporaryDirectory(prefix="mops-spark-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        reference = write_window(root / "reference", args.reference_rows, 0.0, seed=1)
        current = write_window(root / "current", args.rows, 0.05, seed=2)
        size = sum(os.path.getsize(p) for p in reference + current) / 1e6
        print(f"data: reference {args.reference_rows:,} rows, current {args.rows:,} rows in {len(current)} files, "
              f"22 columns, {size:,.0f} MB of Parquet (written in {time.perf_counter() - t:.0f} s)", flush=True)
        local_doc = None
        if not args.skip_local:
            local = run_measured(["--child", "local", "--reference", *reference, "--current", *current,
                                  "--out", str(root / "local.json")])
            local_doc = json.loads((root / "local.json").read_text())
            print(f"local engine: {local['wall']:.1f} s wall (profile {local['profile']:.1f} s, compare "
                  f"{local['compare']:.1f} s), peak {local['child_peak_mb']:,.0f} MB", flush=True)
        spark = run_measured(["--child", "spark", "--reference-dir", str(root / "reference"),
                              "--current-dir", str(root / "current"), "--out", str(root / "spark.json"),
                              "--master", args.master, "--driver-memory", args.driver_memory,
                              "--shuffle-partitions", str(args.shuffle_partitions),
                              *(["--bucket-values", str(args.bucket_values)] if args.bucket_values else [])])
        spark_doc = json.loads((root / "spark.json").read_text())
        print(f"spark engine ({args.master}): {spark['wall']:.1f} s wall (session {spark['session']:.1f} s, "
              f"compare {spark['compare']:.1f} s); peak Python driver {spark['child_peak_mb']:,.0f} MB, "
              f"JVM (driver + executors) {spark['jvm_peak_mb'] or float('nan'):,.0f} MB")
        rows = args.rows + args.reference_rows
        totals = {k: sum((s.get(k) or 0) for s in spark["stages"])
                  for k in ("inputBytes", "shuffleWriteBytes", "shuffleWriteRecords", "executorRunTime",
                            "diskBytesSpilled")}
        print(f"  stages {len(spark['stages'])}, tasks {sum(s['numTasks'] for s in spark['stages'])}; input "
              f"{totals['inputBytes'] / 1e6:,.0f} MB; shuffle written {totals['shuffleWriteBytes'] / 1e6:,.0f} MB in "
              f"{totals['shuffleWriteRecords']:,} records ({totals['shuffleWriteBytes'] / rows:.1f} B and "
              f"{totals['shuffleWriteRecords'] / rows:.2f} records per row); executor time "
              f"{totals['executorRunTime'] / 1e3:,.0f} s ({totals['executorRunTime'] * 1e6 / rows:,.0f} ns per row); "
              f"spilled {totals['diskBytesSpilled'] / 1e6:,.0f} MB")
        for s in spark["stages"]:
            print(f"    stage {s['stageId']:>3} {s['numTasks']:>5} tasks {s.get('wall_ms', 0) / 1e3:7.1f} s  "
                  f"run {s['executorRunTime'] / 1e3:7.1f} s  in {s['inputBytes'] / 1e6:8.1f} MB  "
                  f"shuffle w {s['shuffleWriteBytes'] / 1e6:8.1f} MB / {s['shuffleWriteRecords']:>11,} rec  "
                  f"r {s['shuffleReadBytes'] / 1e6:8.1f} MB  {s['name'][:40]}")
        if local_doc is not None:
            problems = differences(local_doc, spark_doc)
            print("agreement: every value within 1e-9 and every verdict equal" if not problems
                  else "DISAGREEMENT:\n  " + "\n  ".join(problems[:20]))
            if problems:  # keep both documents for whoever looks into it
                keep = Path(args.dir or ".")
                for name in ("local.json", "spark.json"):
                    (keep / f"disagreement-{name}").write_bytes((root / name).read_bytes())
                print(f"both documents kept in {keep}/disagreement-*.json")
            if local:
                print(f"spark / local wall time: {spark['wall'] / local['wall']:.1f}x")


if __name__ == "__main__":
    main()
