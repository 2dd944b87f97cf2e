"""`mops check --format json` against `mops list --json` at scale (not run by pytest).

    .venv/bin/python tests/benchmarks/check_bench.py [--models 500] [--runs 3] [--evidence-kb 256]

Builds an inventory of MODELS models, each with one production version holding four
evidence records (one file each, EVIDENCE_KB large), a validator's and a risk
officer's sign-off bound to the real subject digest, and a drift record; the packs
in force are baseline and us-sr26-2. The files are written directly and committed
once (building through the commands would take minutes and measure something else).
Then times, as subprocesses, best of RUNS after one cold run each:
`mops list --json` and `mops check --format json` (target: check within 2x of list).
`list` fills its COMPLIANT column from the same evaluation, so for scale it also times
loading the inventory and printing list's rows without evaluating any policy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import bench_env

KINDS = ("conceptual-soundness", "outcomes-analysis", "benchmarking", "validation-report")


def timed(cmd: list[str], cwd: Path, env: dict, ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def build(root: Path, models: int, evidence_kb: int, env: dict) -> None:
    from mops.inventory.digest import DigestCache, combine, subject_parts
    from mops.inventory.store import Inventory

    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    (root / "mops.yaml").write_text(yaml.safe_dump({
        "inventory": "Benchmark", "policies": ["baseline", "us-sr26-2"],
        "roles": {"validator": ["carol@acme.test"], "risk-officer": ["dana@acme.test"]}}))
    blob = os.urandom(evidence_kb * 1024)
    for m in range(models):
        mid = f"model-{m:04d}"
        mdir = root / "models" / mid
        vdir = mdir / "versions" / "1.0.0"
        (vdir / "evidence").mkdir(parents=True)
        (mdir / "card.md").write_text(
            f"---\nid: {mid}\nname: Model {m}\nowner: owner{m % 17}@acme.test\n"
            f"developers: [dev{m % 5}@acme.test]\ntier: {1 + m % 3}\nintended_use: Scoring\n"
            f"out_of_scope: Everything else\nlimitations: [none known]\ninputs: [a, b]\n"
            f"outputs: score\ndata_sources: [warehouse]\ndependencies: []\nvendor: false\n"
            f"review: {{last: 2026-05-01}}\n---\n# Model {m}\n")
        (vdir / "version.yaml").write_text(yaml.safe_dump({
            "model": mid, "version": "1.0.0", "stage": "production",
            "registered_by": f"dev{m % 5}@acme.test", "registered_at": "2026-01-01T00:00:00Z",
            "artifact": {"sha256": "ab" * 32, "size": 10}, "metrics": {"auc": 0.8}}, sort_keys=False))
        for i, kind in enumerate(KINDS):
            eid = f"E-{m:04d}{i:02d}"
            data = blob + f"{mid} {kind}".encode()
            rel = f"evidence/files/{eid}/{kind}.bin"
            (vdir / rel).parent.mkdir(parents=True)
            (vdir / rel).write_bytes(data)
            (vdir / "evidence" / f"{eid}.yaml").write_text(yaml.safe_dump({
                "id": eid, "kind": kind, "title": kind,
                "files": [{"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}],
                "metrics": {}, "added_by": "carol@acme.test", "added_at": "2026-05-01T00:00:00Z"},
                sort_keys=False))
        (vdir / "monitoring").mkdir()
        (vdir / "monitoring" / "D-000001.json").write_text(json.dumps({
            "id": "D-000001", "kind": "drift", "at": "2026-05-20T00:00:00Z",
            "verdict": {"dataset_drift": False, "drifted_share": 0.0, "breaches": []}}))
    inv = Inventory.open(root)
    cache = DigestCache(inv)
    for model in inv.models():
        version = model.versions[0]
        parts = subject_parts(inv, version, cache)
        for n, (by, role) in enumerate((("carol@acme.test", "validator"), ("dana@acme.test", "risk-officer"))):
            aid = f"A-{model.id[-4:]}{n:02d}"
            (root / version.dir / "approvals").mkdir(exist_ok=True)
            (root / version.dir / "approvals" / f"{aid}.yaml").write_text(yaml.safe_dump({
                "id": aid, "role": role, "decision": "approve", "by": by, "at": "2026-05-02T00:00:00Z",
                "digest": combine(parts), "digest_parts": parts}, sort_keys=False))
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "benchmark inventory"], cwd=root, check=True, env=env)
    # Start cold: no digest or parse cache from building.
    shutil.rmtree(root / ".git" / "mops", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--evidence-kb", type=int, default=256)
    args = parser.parse_args()
    mops, env = bench_env(MOPS_NOW="2026-06-01")
    env.pop("NO_COLOR", None)
    with tempfile.TemporaryDirectory() as tmp:
        inv = Path(tmp) / "inv"
        build(inv, args.models, args.evidence_kb, env)
        list_cmd, check_cmd = [mops, "list", "--json"], [mops, "check", "--format", "json"]
        cold_check = timed(check_cmd, inv, env)  # hashes every evidence file once
        cold_list = timed(list_cmd, inv, env)
        t_list = min(timed(list_cmd, inv, env) for _ in range(args.runs))
        t_check = min(timed(check_cmd, inv, env) for _ in range(args.runs))
        # For scale: loading the inventory and printing list's rows without evaluating policy.
        bare = [sys.executable, "-c", "import json; from mops.inventory.store import Inventory; "
                "from mops.inventory.views import list_rows; from pathlib import Path; "
                "print(json.dumps(list_rows(Inventory.open(Path('.'))), indent=2))"]
        t_bare = min(timed(bare, inv, env) for _ in range(args.runs))
        out = subprocess.run(check_cmd, cwd=inv, env=env, capture_output=True, check=True).stdout
        summary = json.loads(out)["summary"]
    evidence_mb = args.models * len(KINDS) * args.evidence_kb / 1024
    print(f"{args.models} models, {args.models * len(KINDS)} evidence files ({evidence_mb:.0f} MB), "
          f"{args.models * 2} sign-offs; check summary {summary}")
    print(f"| measurement | seconds (best of {args.runs}) |")
    print("|---|---|")
    print(f"| `mops check --format json`, first run (cold caches) | {cold_check:.3f} |")
    print(f"| `mops list --json`, first run after it | {cold_list:.3f} |")
    print(f"| `mops list --json` | {t_list:.3f} |")
    print(f"| `mops check --format json` | {t_check:.3f} ({t_check / t_list:.2f}x list) |")
    print(f"| list's rows without policy evaluation (python -c) | {t_bare:.3f} "
          f"(check: {t_check / t_bare:.2f}x) |")


if __name__ == "__main__":
    main()
