"""`mops audit` at scale (not run by pytest).

    .venv/bin/python tests/benchmarks/audit_bench.py [--models 500] [--years 4] [--runs 3]

Measures, best of RUNS, `mops audit` as a subprocess (start-up included):
- the inventory report of MODELS models, each with 2 versions, evidence with a
  file, a sign-off, a finding and 3 drift records (target: a few seconds);
- the report of one model with YEARS years of history: a drift check every week,
  evidence and a sign-off every quarter, one commit each (hundreds of commits;
  target: well under a second);
- the report of one of the MODELS models, its cover verifying that model and the rules,
  beside the same with ``--verify-all`` (the whole inventory verified);
and, for the large report, how the time splits between reading the commit
(gather), building the context and rendering the templates, and the report rendered
in memory and then written (as before it was streamed) beside the report streamed into
its file, alternately in fresh processes: time and peak memory of each.
Inventories are written directly as files and committed with git (building them
through mops commands would take minutes and measure something else), then packed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from common import bench_env, best_of

CARD = """---
id: {mid}
name: Model {n}
owner: owner{o}@acme.test
developers: [dev{d}@acme.test]
tier: {tier}
intended_use: Scoring retail applications.
out_of_scope: Commercial lending.
limitations: [Trained on 2019-2024 data]
inputs: [income, utilisation, region]
outputs: A probability
data_sources: [core banking]
review: {{last: 2026-01-15}}
monitoring: {{features: [income, utilisation, region], thresholds: {{psi: 0.25}}}}
---
# Model {n}

## Intended use
Scoring retail applications. *Not* for commercial lending.

## Evaluation
| metric | value |
|---|---|
| AUC | 0.81 |
"""


def drift(at: str, i: int) -> str:
    cols = [{"column": c, "kind": "numeric", "method": "wasserstein",
             "statistic": round(0.01 * ((i * (k + 3)) % 17), 4), "threshold": 0.1,
             "drifted": (i * (k + 3)) % 17 > 10, "psi": round(0.02 * ((i * (k + 5)) % 13), 4)}
            for k, c in enumerate(("income", "utilisation", "region", "age", "tenure"))]
    return json.dumps({"at": at, "kind": "drift", "plan": {"thresholds": {"psi": 0.25}},
                       "result": {"dataset_drift": False, "drifted_share": 0.2,
                                  "drift_share_threshold": 0.5,
                                  "rows": {"reference": 20000, "current": 50000},
                                  "columns": cols, "performance": None, "breaches": []},
                       "verdict": {"dataset_drift": False, "breaches": []}}, indent=1)


def evidence(rid: str, kind: str, at: str, data: bytes) -> str:
    return (f"id: {rid}\nkind: {kind}\ntitle: {kind} report\nadded_by: bob@acme.test\n"
            f"added_at: '{at}'\nfiles:\n  - path: evidence/{rid}/report.md\n"
            f"    sha256: {hashlib.sha256(data).hexdigest()}\n    size: {len(data)}\n")


def approval(rid: str, at: str) -> str:
    return (f"id: {rid}\nrole: validator\ndecision: approve\nby: carol@acme.test\nat: '{at}'\n"
            f"digest: sha256:{'cd' * 32}\ncomment: Fit for use\n")


def version_yaml(mid: str, v: str, stage: str, at: str) -> str:
    return (f"model: {mid}\nversion: {v}\nstage: {stage}\nregistered_by: dev@acme.test\n"
            f"registered_at: '{at}'\nartifact: {{uri: 's3://m/{mid}/{v}', sha256: {'ab' * 32}}}\n"
            f"metrics: {{auc: 0.8}}\n")


def write(root: Path, rel: str, text: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def init(root: Path, env: dict) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    write(root, "mops.yaml", "inventory: Benchmark\npolicies: [baseline, us-sr26-2]\n"
                             "roles: {validator: [carol@acme.test]}\n")


def commit(root: Path, message: str, env: dict, when: str) -> None:
    env = dict(env, GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", message, "--trailer", "Mops-Action: bench"],
                   cwd=root, check=True, env=env)


def build_wide(root: Path, models: int, env: dict) -> None:
    init(root, env)
    for m in range(models):
        mid = f"model-{m:04d}"
        mdir = f"models/{mid}"
        write(root, f"{mdir}/card.md", CARD.format(mid=mid, n=m, o=m % 17, d=m % 5,
                                                   tier=1 + m % 3))
        write(root, f"{mdir}/findings/f-1.yaml",
              "id: f-1\nkind: finding\nseverity: medium\ntitle: Calibration drift\n"
              "status: open\nopened_by: carol@acme.test\nopened_at: '2026-02-01T00:00:00Z'\n")
        for v, stage in (("1.0.0", "production"), ("1.1.0", "validation")):
            vdir = f"{mdir}/versions/{v}"
            write(root, f"{vdir}/version.yaml", version_yaml(mid, v, stage, "2026-01-01T00:00:00Z"))
            data = f"report {mid} {v}\n".encode()
            write(root, f"{vdir}/evidence/e-1/report.md", data)
            write(root, f"{vdir}/evidence/e-1.yaml",
                  evidence("e-1", "validation-report", "2026-01-05T00:00:00Z", data))
            write(root, f"{vdir}/approvals/a-1.yaml", approval("a-1", "2026-01-10T00:00:00Z"))
            if v == "1.0.0":
                for i in range(3):
                    at = f"2026-0{3 + i}-01T00:00:00Z"
                    write(root, f"{vdir}/monitoring/d-{i}.json", drift(at, i + m))
    commit(root, "benchmark inventory", env, "2026-06-01T00:00:00Z")
    pack(root, env)


def pack(root: Path, env: dict) -> None:
    # A real inventory built over time is packed by git's automatic gc; loose objects
    # would make every read a file open and measure the file system instead.
    subprocess.run(["git", "gc", "-q"], cwd=root, check=True, env=env)


def build_deep(root: Path, years: int, env: dict) -> int:
    """One model, a commit per weekly drift check and per quarterly evidence and sign-off."""
    init(root, env)
    mid, vdir = "credit-pd", "models/credit-pd/versions/1.0.0"
    start = dt.datetime(2026 - years, 1, 1, tzinfo=dt.UTC)
    write(root, "models/credit-pd/card.md", CARD.format(mid=mid, n=0, o=0, d=0, tier=1))
    write(root, f"{vdir}/version.yaml", version_yaml(mid, "1.0.0", "production",
                                                     start.strftime("%Y-%m-%dT%H:%M:%SZ")))
    commit(root, "register", env, start.isoformat())
    commits = 1
    for week in range(1, years * 52 + 1):
        when = start + dt.timedelta(weeks=week)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if week % 13 == 0:
            q = week // 13
            data = f"quarterly validation {q}\n".encode()
            write(root, f"{vdir}/evidence/e-{q:03d}/report.md", data)
            write(root, f"{vdir}/evidence/e-{q:03d}.yaml",
                  evidence(f"e-{q:03d}", "outcomes-analysis", stamp, data))
            commit(root, f"evidence {q}", env, stamp)
            write(root, f"{vdir}/approvals/a-{q:03d}.yaml", approval(f"a-{q:03d}", stamp))
            commit(root, f"approve {q}", env, stamp)
            commits += 2
        write(root, f"{vdir}/monitoring/d-{week:04d}.json", drift(stamp, week))
        commit(root, f"drift week {week}", env, stamp)
        commits += 1
    pack(root, env)
    return commits


def phases(root: Path) -> tuple[float, float, float]:
    from mops.inventory.store import Inventory
    from mops.report.context import build_context
    from mops.report.gather import open_snapshot, read_snapshot
    from mops.report.render import environment, render_html

    inv = Inventory.open(root)
    t0 = time.perf_counter()
    snapshot, as_of = open_snapshot(inv, None)
    data = read_snapshot(snapshot, as_of)
    t1 = time.perf_counter()
    context = build_context(data)
    t2 = time.perf_counter()
    render_html(context, environment(snapshot.source))
    t3 = time.perf_counter()
    snapshot.close()
    return t1 - t0, t2 - t1, t3 - t2


#: The report rendered in memory and then written (as before streaming), or streamed.
HELD = """
import pathlib, resource, sys, time
from mops.inventory.store import Inventory
from mops.report import render_report
t = time.perf_counter()
html = render_report(Inventory.open(pathlib.Path(sys.argv[1]))).html
pathlib.Path(sys.argv[2]).write_bytes(html.encode("utf-8"))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
STREAMED = """
import pathlib, resource, sys, time
from mops.inventory.store import Inventory
from mops.report import write_report
t = time.perf_counter()
write_report(Inventory.open(pathlib.Path(sys.argv[1])), pathlib.Path(sys.argv[2]))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def held_or_streamed(root: Path, out: Path, runs: int, env: dict) -> dict[str, tuple[float, float]]:
    """Best time (s) and least peak RSS (MB) of each way, run alternately in fresh processes."""
    import sys

    best: dict[str, tuple[float, float]] = {}
    for _ in range(runs):
        for name, code in (("held", HELD), ("streamed", STREAMED)):
            proc = subprocess.run([sys.executable, "-c", code, str(root), str(out)], env=env,
                                  check=True, capture_output=True, text=True)
            secs, kb = proc.stdout.split()
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], float(secs)), min(old[1], int(kb) / 1024))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    mops, env = bench_env()
    with tempfile.TemporaryDirectory() as tmp:
        wide, deep = Path(tmp) / "wide", Path(tmp) / "deep"
        build_wide(wide, args.models, env)
        commits = build_deep(deep, args.years, env)
        out = Path(tmp) / "r.html"
        t_wide = best_of([mops, "audit", "--out", str(out)], args.runs, wide, env)
        size_wide = out.stat().st_size
        os.environ.update({k: env[k] for k in ("GIT_CONFIG_NOSYSTEM",)})
        gather, context, render = phases(wide)
        ways = held_or_streamed(wide, out, args.runs, env)
        t_deep = best_of([mops, "audit", "--out", str(out)], args.runs, deep, env)
        size_deep = out.stat().st_size
        # One model of the large inventory: its cover verifies that model and the rules,
        # or (--verify-all) the whole inventory, as it always did before.
        one = [mops, "audit", "model-0001", "--out", str(out)]
        t_one = best_of(one, args.runs, wide, env)
        t_one_all = best_of([*one, "--verify-all"], args.runs, wide, env)
    print(f"| measurement | seconds (best of {args.runs}) |")
    print("|---|---|")
    print(f"| `mops audit`, {args.models} models x 2 versions ({size_wide / 1e6:.1f} MB) | "
          f"{t_wide:.2f} (in process: read {gather:.2f}, context {context:.2f}, "
          f"render {render:.2f}) |")
    for name, (secs, mb) in ways.items():
        print(f"| report of {args.models} models rendered in process, {name} | {secs:.2f} "
              f"({mb:.0f} MB peak) |")
    print(f"| `mops audit`, 1 model, {args.years} years, {commits} commits "
          f"({size_deep / 1e6:.2f} MB) | {t_deep:.2f} |")
    print(f"| `mops audit model-0001` of the {args.models} models: verifying it and the rules "
          f"/ the whole inventory (`--verify-all`) | {t_one:.2f} / {t_one_all:.2f} |")


if __name__ == "__main__":
    main()
