"""`mops verify` on the demo inventory and on a large inventory with an honest history
(not run by pytest).

    .venv/bin/python tests/benchmarks/verify_bench.py [--models 500] [--runs 3]

The large inventory's history is what mops itself would have written, one commit per
action with its ``Mops-*`` trailers and the acting person as author and committer:
per model, register (bob), evidence (bob), promote to validation (bob), evidence
(carol), sign-offs by carol (validator) and dana (risk officer), promote to production
(alice) and a drift record (the monitoring bot); packs baseline@2. It is built with one
``git fast-import`` (the commands would take many minutes and measure something else),
its records made by the record classes mops writes with, its sign-offs bound to the real
subject digests. Then times `mops verify --json --full`, as a subprocess, best of RUNS after
one cold run; and on the large inventory, side by side: the full replay, verify after one
new commit (replaying from the checkpoint the clean run before it stored), and verify with
nothing new.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import PEOPLE, SETTINGS, bench_env, fast_import_commit


def timed(cmd: list[str], cwd: Path, env: dict, ok: tuple[int, ...] = (0, 1)) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed, proc.stdout.decode()


class Stream:
    """A ``git fast-import`` stream of commits on ``refs/heads/main``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.clock = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        self.count = 0

    def stamp(self) -> str:
        self.clock += dt.timedelta(minutes=7)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def commit(self, who: str, action: str, files: dict[str, bytes], *, model: str | None = None,
               version: str | None = None, extra: dict[str, str] | None = None) -> None:
        self.parts.append(fast_import_commit(
            who, int(self.clock.timestamp()), f"{action}: {model or ''}", files, action=action,
            model=model, version=version, extra=extra))
        self.count += 1


def build(root: Path, models: int, env: dict) -> int:
    from mops.inventory import layout, records
    from mops.inventory.digest import canonical, combine, sha256_bytes

    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    s = Stream()
    s.stamp()
    s.commit("dana", "init", {"mops.yaml": SETTINGS.encode(), "models/.gitkeep": b""})
    for m in range(models):
        mid = f"model-{m:04d}"
        vdir = layout.version_dir(mid, "1.0.0")
        card = (f"---\nid: {mid}\nname: Model {m}\nowner: alice@acme.test\n"
                f"developers: [bob@acme.test]\ntier: {1 + m % 3}\nintended_use: Scoring\n"
                f"out_of_scope: Everything else\nlimitations: [none known]\ninputs: [a, b]\n"
                f"outputs: score\ndata_sources: [warehouse]\ndependencies: []\nvendor: false\n"
                f"review: {{last: 2026-05-01}}\n---\n# Model {m}\n").encode()
        at = s.stamp()
        record = records.VersionRecord.new(
            layout.version_file(mid, "1.0.0"), model=mid, version="1.0.0", stage="development",
            by=PEOPLE["bob"], at=at, artifact=records.Artifact(sha256="ab" * 32, size=10),
            metrics={"auc": 0.8})
        s.commit("bob", "register", {layout.card_path(mid): card,
                                     record.path: record.dump().encode()},
                 model=mid, version="1.0.0")
        evidence = []
        for who, kind in (("bob", "conceptual-soundness"), ("carol", "validation-report")):
            if who == "carol":
                at = s.stamp()
                record = record.moved(records.StageEvent.new("validation", previous="development",
                                                             at=at, by=PEOPLE["bob"]))
                s.commit("bob", "promote", {record.path: record.dump().encode()}, model=mid,
                         version="1.0.0", extra={"Mops-Stage": "validation"})
            at = s.stamp()
            eid = f"E-{m:04d}{len(evidence):02d}"
            data = f"{kind} of {mid}\n".encode() * 40
            rel = layout.evidence_file(eid, f"{kind}.md")
            ev = records.Evidence.new(
                layout.evidence_path(vdir, eid), id=eid, kind=kind, title=kind,
                files=[records.EvidenceFile(rel, sha256_bytes(data), len(data))], metrics={},
                by=PEOPLE[who], at=at)
            evidence.append(ev)
            s.commit(who, "evidence", {f"{vdir}/{rel}": data, ev.path: ev.dump().encode()},
                     model=mid, version="1.0.0")
        parts = {"card": sha256_bytes(card),
                 "version": sha256_bytes(canonical(record.immutable_fields())),
                 "evidence": sha256_bytes(canonical([
                     {"id": e.id, "kind": e.kind, "title": e.title, "metrics": e.metrics,
                      "files": [{"path": f.path, "sha256": f.sha256} for f in e.files]}
                     for e in sorted(evidence, key=lambda e: e.id)]))}
        for who, role in (("carol", "validator"), ("dana", "risk-officer")):
            at = s.stamp()
            aid = f"A-{m:04d}{role[0]}"
            approval = records.Approval.new(
                layout.approval_path(vdir, aid), id=aid, model=mid, version="1.0.0", role=role,
                decision="approve", by=PEOPLE[who], name=who, at=at, comment=None, expires=None,
                digest=combine(parts), parts=parts)
            s.commit(who, "approve", {approval.path: approval.dump().encode()}, model=mid,
                     version="1.0.0", extra={"Mops-Decision": "approve", "Mops-Role": role})
        at = s.stamp()
        record = record.moved(records.StageEvent.new("production", previous="validation", at=at,
                                                     by=PEOPLE["alice"], digest=combine(parts)))
        s.commit("alice", "promote", {record.path: record.dump().encode()}, model=mid,
                 version="1.0.0", extra={"Mops-Stage": "production"})
        at = s.stamp()
        rid = f"D-{m:06d}"
        mon = records.Monitoring.new(
            layout.monitoring_path(vdir, rid), id=rid, kind="drift", by=PEOPLE["bot"], at=at,
            model=mid, version="1.0.0",
            document={"reference": {"path": "data/reference.parquet", "sha256": "cd" * 32,
                                    "size": 1 << 20, "rows": 10000},
                      "inputs": [{"path": f"logs/{mid}/2026-05.parquet", "sha256": "ef" * 32,
                                  "size": 1 << 19, "rows": 5000}],
                      "verdict": {"dataset_drift": False, "drifted_share": 0.0, "breaches": []}})
        s.commit("bot", "drift", {mon.path: mon.dump().encode()}, model=mid, version="1.0.0")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(s.parts),
                   check=True, env=env)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True, env=env)
    return s.count


def one_new_commit(inv: Path, env: dict, mops: str, runs: int) -> tuple[float, float, float, dict]:
    """verify --full; then, after one new commit (a finding, made by mops), verify from the
    checkpoint the clean run before it left (restored before each run), and verify with
    nothing new: best of ``runs`` each."""
    cmd = [mops, "verify", "--json"]
    full = min(timed([*cmd, "--full"], inv, env)[0] for _ in range(runs))
    saved = (inv / ".git/mops/verify-checkpoint.json").read_bytes()
    subprocess.run([mops, "finding", "add", "model-0001", "--severity", "low", "--title", "tidy"],
                   cwd=inv, env=dict(env, GIT_AUTHOR_EMAIL=PEOPLE["dana"],
                                     GIT_COMMITTER_EMAIL=PEOPLE["dana"]),
                   check=True, capture_output=True)
    times = []
    for _ in range(runs):
        (inv / ".git/mops/verify-checkpoint.json").write_bytes(saved)
        elapsed, out = timed(cmd, inv, env)
        times.append(elapsed)
    data = json.loads(out)
    assert data["checkpoint"] is not None and data["checked"]["commits"] == 1, data
    unchanged = min(timed(cmd, inv, env)[0] for _ in range(runs))
    return full, min(times), unchanged, data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    mops, env = bench_env(MOPS_NOW="2026-06-01")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        subprocess.run([mops, "demo", str(demo)], env=env, check=True, capture_output=True)
        cmd = [mops, "verify", "--json", "--full"]
        cold, _ = timed(cmd, demo, env)
        best = min(timed(cmd, demo, env)[0] for _ in range(args.runs))
        _, out = timed(cmd, demo, env)
        rows.append(("demo inventory", cold, best, json.loads(out)))
        inv = Path(tmp) / "inv"
        commits = build(inv, args.models, env)
        cold, _ = timed(cmd, inv, env)
        best = min(timed(cmd, inv, env)[0] for _ in range(args.runs))
        _, out = timed(cmd, inv, env)
        rows.append((f"{args.models} models, {commits} commits", cold, best, json.loads(out)))
        full, incremental, unchanged, data = one_new_commit(inv, env, mops, args.runs)
    print(f"| `mops verify --json --full` on | first run | best of {args.runs} | ok | problems | "
          f"warnings |")
    print("|---|---|---|---|---|---|")
    for name, cold, best, result in rows:
        print(f"| {name} | {cold:.3f} | {best:.3f} | {result['ok']} | {len(result['problems'])} | "
              f"{len(result.get('warnings', []))} |")
    print(f"\n| {args.models} models, `mops verify --json` | best of {args.runs} (s) | vs full |")
    print("|---|---|---|")
    print(f"| full replay (`--full`), {commits} commits | {full:.3f} | 1.00× |")
    print(f"| after one new commit, from the checkpoint | {incremental:.3f} | "
          f"{incremental / full:.2f}× |")
    print(f"| nothing new since the checkpoint | {unchanged:.3f} | {unchanged / full:.2f}× |")
    print(f"(the run from the checkpoint: ok={data['ok']}, {data['checked']['commits']} commit "
          f"replayed)")


if __name__ == "__main__":
    main()
