"""A bank-sized inventory: every command at 500, 2,000 and 10,000 models, and with
200,000 commits of history (not run by pytest; tests/inventory/test_scale_bench.py runs
the builders at a tiny size so that they cannot rot).

    .venv/bin/python tests/benchmarks/scale_bench.py                      # the whole table
    .venv/bin/python tests/benchmarks/scale_bench.py --sizes 50,2000 --runs 3 --no-history
    .venv/bin/python tests/benchmarks/scale_bench.py --history-commits 20000

Each inventory has, per model, a card, two versions (1.0.0 in production, 2.0.0 in
development), an evidence record with its file and a validator's sign-off bound to the
real subject digest; packs baseline@2. It is written with one ``git fast-import``
(building it through the commands would take hours and measure something else) and
checked out. The history inventory has the same models, made by ~200,000 commits as mops
would have made them (register, evidence, sign-off, promote, monthly drift records,
interleaved across models over ten years, each commit with its ``Mops-*`` trailers).

Every command runs as a subprocess of the installed ``mops`` (start-up included) on every
inventory *in the same run*, one size after the other for each repetition, so that load
from other work on the machine falls on all sizes alike. "cold" is the first run on a
fresh clone of the inventory (no ``.git/mops`` caches); "warm" is the best of RUNS after
it (each command's cold run starts with ``.git/mops`` removed, so no command inherits the
caches an earlier row filled). A command that writes (approve, evidence add, ...) acts on a
different model each run; so do the others, unless ``--same-model`` (then ``show``, ``log``
and ``audit M`` ask about one model every run, and what they keep of its history is warm).
Peak memory is the child's maximum resident set (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import heapq
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from common import PEOPLE, SETTINGS, bench_env, fast_import_commit  # noqa: E402

START = dt.datetime(2016, 6, 1, tzinfo=dt.UTC)
REFERENCE = "feature,score\n" + "".join(f"{i % 17},{(i * 7) % 100 / 100}\n" for i in range(400))
CURRENT = "feature,score\n" + "".join(f"{(i + 3) % 17},{(i * 11) % 100 / 100}\n" for i in range(400))


def model_id(n: int) -> str:
    return f"model-{n:05d}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=False).encode()


# ----------------------------------------------------------------------------- records

def card(n: int) -> bytes:
    mid = model_id(n)
    return (f"---\nid: {mid}\nname: Model {n}\nowner: alice@acme.test\n"
            f"developers: [bob@acme.test]\ntier: {1 + n % 3}\nintended_use: Scoring\n"
            f"out_of_scope: Everything else\nlimitations: [none known]\ninputs: [feature]\n"
            f"outputs: score\ndata_sources: [warehouse]\ndependencies: []\nvendor: false\n"
            f"review: {{last: 2026-05-01}}\nmonitoring: {{reference: models/{mid}/monitoring/reference.csv, "
            f"features: [feature, score]}}\n---\n# Model {n}\n\nScores applications.\n").encode()


def _history(events: list[tuple[str, str | None, str, str, str | None]]) -> str:
    out = "stage_history:\n"
    for stage, previous, at, by, digest in events:
        out += f"- stage: {stage}\n"
        if previous:
            out += f"  from: {previous}\n"
        out += f"  at: '{at}'\n  by: {by}\n"
        if digest:
            out += f"  digest: {digest}\n"
    return out


def version_record(mid: str, version: str, at: str,
                   events: list[tuple[str, str | None, str, str, str | None]]) -> bytes:
    return (f"model: {mid}\nversion: {version}\nstage: {events[-1][0]}\n"
            f"registered_by: bob@acme.test\nregistered_at: '{at}'\n"
            f"artifact:\n  sha256: {'ab' * 32}\n  size: 10\nmetrics:\n  auc: 0.8\n"
            + _history(events)).encode()


def version_fields(mid: str, version: str) -> dict:
    return {"model": mid, "version": version, "artifact": {"sha256": "ab" * 32, "size": 10},
            "data": None, "metrics": {"auc": 0.8}}


def evidence(eid: str, data: bytes, at: str) -> tuple[bytes, dict]:
    rel = f"evidence/files/{eid}/report.md"
    text = (f"id: {eid}\nkind: validation-report\ntitle: Validation report\nfiles:\n"
            f"- path: {rel}\n  sha256: {_sha(data)}\n  size: {len(data)}\nmetrics: {{}}\n"
            f"added_by: carol@acme.test\nadded_at: '{at}'\n").encode()
    entry = {"id": eid, "kind": "validation-report", "title": "Validation report", "metrics": {},
             "files": [{"path": rel, "sha256": _sha(data)}]}
    return text, entry


def approval(aid: str, mid: str, version: str, role: str, who: str, at: str,
             parts: dict[str, str]) -> bytes:
    digest = "sha256:" + _sha(_canonical(parts))
    return (f"id: {aid}\nmodel: {mid}\nversion: '{version}'\nrole: {role}\ndecision: approve\n"
            f"by: {PEOPLE[who]}\nname: {who}\nat: '{at}'\ncomment: null\nexpires: null\n"
            f"digest: {digest}\ndigest_parts:\n  card: {parts['card']}\n"
            f"  version: {parts['version']}\n  evidence: {parts['evidence']}\n").encode()


def drift_record(rid: str, mid: str, version: str, at: str) -> bytes:
    """A monitoring result as `mops drift --record` writes it, with the digests of the data
    it was computed from (without them, verify reports every result)."""
    ref, logs = REFERENCE.encode(), CURRENT.encode()
    return (json.dumps({"id": rid, "kind": "drift", "at": at, "by": PEOPLE["bot"], "model": mid,
                        "version": version,
                        "reference": {"path": f"models/{mid}/monitoring/reference.csv",
                                      "sha256": _sha(ref), "size": len(ref), "rows": 400},
                        "inputs": [{"path": f"logs/{mid}/{rid}.csv", "sha256": _sha(logs),
                                    "size": len(logs), "rows": 400}],
                        "verdict": {"dataset_drift": False,
                                    "drifted_share": 0.0, "breaches": []}},
                       indent=2) + "\n").encode()


def parts_of(card_bytes: bytes, mid: str, version: str, entries: list[dict]) -> dict[str, str]:
    return {"card": _sha(card_bytes), "version": _sha(_canonical(version_fields(mid, version))),
            "evidence": _sha(_canonical(sorted(entries, key=lambda e: e["id"])))}


# ----------------------------------------------------------------------------- fast-import

class Stream:
    """Commits on ``refs/heads/main``, streamed into one ``git fast-import``."""

    def __init__(self, root: Path, env: dict[str, str], start: dt.datetime = START) -> None:
        self.proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=root,
                                     stdin=subprocess.PIPE, env=env)
        self.clock = start
        self.count = 0

    def at(self, step: dt.timedelta = dt.timedelta(minutes=7)) -> str:
        self.clock += step
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def commit(self, who: str, action: str, files: dict[str, bytes], *, model: str | None = None,
               version: str | None = None, extra: dict[str, str] | None = None) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(fast_import_commit(
            who, int(self.clock.timestamp()), f"{action}: {model or ''} {version or ''}".strip(),
            files, action=action, model=model, version=version, extra=extra))
        self.count += 1

    def done(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"done\n")
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")
        return self.count


def _checkout(root: Path, env: dict[str, str]) -> None:
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=root, check=True, env=env)
    subprocess.run(["git", "read-tree", "-u", "--reset", "HEAD"], cwd=root, check=True, env=env)


def _model_files(n: int, at: str) -> dict[str, bytes]:
    """One model as it stands after register, evidence, sign-off and promotion."""
    mid, c = model_id(n), card(n)
    v1, v2 = f"models/{mid}/versions/1.0.0", f"models/{mid}/versions/2.0.0"
    data = f"Validation of {mid}: fit for use.\n".encode() * 20
    eid, aid = f"E-{n:06x}", f"A-{n:06x}"
    ev, entry = evidence(eid, data, at)
    parts = parts_of(c, mid, "1.0.0", [entry])
    digest = "sha256:" + _sha(_canonical(parts))
    return {
        f"models/{mid}/card.md": c,
        f"{v1}/version.yaml": version_record(mid, "1.0.0", at, [
            ("development", None, at, PEOPLE["bob"], None),
            ("validation", "development", at, PEOPLE["bob"], None),
            ("production", "validation", at, PEOPLE["alice"], digest)]),
        f"{v1}/evidence/{eid}.yaml": ev,
        f"{v1}/evidence/files/{eid}/report.md": data,
        f"{v1}/approvals/{aid}.yaml": approval(aid, mid, "1.0.0", "validator", "carol", at, parts),
        f"{v2}/version.yaml": version_record(mid, "2.0.0", at, [
            ("development", None, at, PEOPLE["bob"], None)]),
        f"models/{mid}/monitoring/reference.csv": REFERENCE.encode(),
    }


def build_snapshot(root: Path, models: int, env: dict[str, str]) -> int:
    """An inventory of ``models`` models in two commits (settings, then every model)."""
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    s = Stream(root, env)
    s.commit("dana", "init", {"mops.yaml": SETTINGS.encode(), "models/.gitkeep": b""})
    at = s.at()
    files: dict[str, bytes] = {}
    for n in range(models):
        files.update(_model_files(n, at))
    s.commit("bob", "import", files)
    count = s.done()
    _checkout(root, env)
    return count


def build_history(root: Path, models: int, commits: int, env: dict[str, str],
                  seed: int = 17) -> int:
    """The same models, made over ten years by about ``commits`` commits, one action each.

    Models enter the inventory over the first half of the period (register 1.0.0,
    evidence, promote to validation, sign-off, promote to production, register 2.0.0: six
    commits); monthly drift records for production versions fill the rest, interleaved
    across models in time order.
    """
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    rng = random.Random(seed)
    steps = 6
    drift_commits = max(0, commits - 1 - steps * models)
    span = dt.timedelta(days=3650)
    step = span / max(commits, 1)
    s = Stream(root, env, START)
    s.commit("dana", "init", {"mops.yaml": SETTINGS.encode(), "models/.gitkeep": b""})
    # Each model's start, over the first half; its drift records after it, by a random walk.
    starts = sorted(rng.random() * 0.5 for _ in range(models))
    queue: list[tuple[float, int, int]] = []  # (time, model, step)
    for n, t in enumerate(starts):
        queue.append((t, n, 0))
    per_model = [0] * models
    drift_left = drift_commits
    heapq.heapify(queue)
    state: dict[int, dict] = {}
    while queue:
        t, n, k = heapq.heappop(queue)
        s.clock = max(s.clock + step / 4, START + span * t)
        at = s.at(dt.timedelta(seconds=1))
        mid, c = model_id(n), card(n)
        base, v1 = f"models/{mid}", f"models/{mid}/versions/1.0.0"
        st = state.setdefault(n, {})
        if k == 0:
            st["reg"] = at
            files = {f"{base}/card.md": c, f"{base}/monitoring/reference.csv": REFERENCE.encode(),
                     f"{v1}/version.yaml": version_record(mid, "1.0.0", at, [
                         ("development", None, at, PEOPLE["bob"], None)])}
            s.commit("bob", "register", files, model=mid, version="1.0.0")
        elif k == 1:
            eid = f"E-{n:06x}"
            data = f"Validation of {mid}: fit for use.\n".encode() * 20
            ev, entry = evidence(eid, data, at)
            st["parts"] = parts_of(c, mid, "1.0.0", [entry])
            s.commit("carol", "evidence", {f"{v1}/evidence/{eid}.yaml": ev,
                                           f"{v1}/evidence/files/{eid}/report.md": data},
                     model=mid, version="1.0.0")
        elif k == 2:
            st["val"] = at
            s.commit("bob", "promote", {f"{v1}/version.yaml": version_record(mid, "1.0.0", st["reg"], [
                ("development", None, st["reg"], PEOPLE["bob"], None),
                ("validation", "development", at, PEOPLE["bob"], None)])},
                model=mid, version="1.0.0", extra={"Mops-Stage": "validation"})
        elif k == 3:
            aid = f"A-{n:06x}"
            s.commit("carol", "approve", {f"{v1}/approvals/{aid}.yaml": approval(
                aid, mid, "1.0.0", "validator", "carol", at, st["parts"])}, model=mid,
                version="1.0.0", extra={"Mops-Decision": "approve", "Mops-Role": "validator"})
        elif k == 4:
            digest = "sha256:" + _sha(_canonical(st["parts"]))
            s.commit("alice", "promote", {f"{v1}/version.yaml": version_record(mid, "1.0.0", st["reg"], [
                ("development", None, st["reg"], PEOPLE["bob"], None),
                ("validation", "development", st["val"], PEOPLE["bob"], None),
                ("production", "validation", at, PEOPLE["alice"], digest)])},
                model=mid, version="1.0.0", extra={"Mops-Stage": "production"})
        elif k == 5:
            s.commit("bob", "register", {f"{base}/versions/2.0.0/version.yaml": version_record(
                mid, "2.0.0", at, [("development", None, at, PEOPLE["bob"], None)])},
                model=mid, version="2.0.0")
        else:
            per_model[n] += 1
            rid = f"D-{per_model[n]:06d}"
            s.commit("bot", "drift", {f"{v1}/monitoring/{rid}.json": drift_record(rid, mid, "1.0.0", at)},
                     model=mid, version="1.0.0")
            drift_left -= 1
        if k + 1 < steps:
            heapq.heappush(queue, (t + rng.random() * 0.002, n, k + 1))
        elif drift_left > len(queue):
            # The next drift record of some model, about a month later.
            heapq.heappush(queue, (t + (0.5 / max(1, drift_commits / models)) * (0.5 + rng.random()),
                                   n, steps))
    count = s.done()
    _checkout(root, env)
    return count


# ----------------------------------------------------------------------------- timing

def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, git children included) and peak resident
    MB of one run of ``cmd``, measured by a small parent process of its own."""
    script = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
              "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
              "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, p.returncode)")
    out = subprocess.run([sys.executable, "-c", script, *cmd], cwd=cwd, env=env,
                         capture_output=True, check=True).stdout.split()
    if int(out[3]) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} in {cwd} exited {out[3]}")
    return float(out[0]), float(out[1]), int(out[2]) / 1024


def commands(mops: str, tmp: Path) -> list[tuple[str, list[str] | None]]:
    """(label, argv) for each row; ``{m}`` is replaced by the model of this run."""
    return [
        ("`list --json`", [mops, "list", "--json"]),
        ("`check --format json`", [mops, "check", "--format", "json"]),
        ("`verify`", [mops, "verify", "--json"]),
        # Each warm run after one new commit (a finding, not timed): from the checkpoint the
        # run before left, when that run found nothing (a history made by commands).
        ("`verify` after one new commit", [mops, "verify", "--json"]),
        ("`show M`", [mops, "show", "{m}", "--json"]),
        ("`log M`", [mops, "log", "{m}", "--json"]),
        ("`approve M@2.0.0`", [mops, "approve", "{m}@2.0.0", "--role", "validator", "--comment",
                               "ok"]),
        ("`evidence add M@2.0.0`", [mops, "evidence", "add", "{m}@2.0.0", str(tmp / "report.md"),
                                    "--kind", "validation-report"]),
        ("`finding M`", [mops, "finding", "add", "{m}", "--severity", "low", "--title", "t"]),
        ("`waive M@1.0.0`", [mops, "waive", "{m}@1.0.0", "--rule", "BL-LIMITATIONS", "--reason",
                             "r", "--expires", "2026-09-01"]),
        ("`promote M@2.0.0`", [mops, "promote", "{m}@2.0.0", "--to", "validation"]),
        ("`drift M`", [mops, "drift", "{m}@1.0.0", "--current", str(tmp / "current.csv")]),
        ("`audit M`", [mops, "audit", "{m}", "--out", str(tmp / "one.html")]),
        ("`audit` (whole inventory)", [mops, "audit", "--out", str(tmp / "all.html")]),
    ]


def _table(table: dict, names: list[str], cold: int, warm: int) -> None:
    print(f"| command | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for label, cells in table.items():
        out = []
        for k in names:
            cell = f"{cells[k][cold]:.2f} / {min(cells[k][warm]):.2f}"
            if "whole" in label:
                cell += f", {cells[k][4]:.0f} MB"
            out.append(cell)
        print(f"| {label} | {' | '.join(out)} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,500,2000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--history-models", type=int, default=10000)
    parser.add_argument("--history-commits", type=int, default=200000)
    parser.add_argument("--no-history", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated row labels' words to keep")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the inventories here")
    parser.add_argument("--same-model", action="store_true",
                        help="rows that only read (show, log, audit M) ask about one model every "
                             "run, as a user coming back to it does (default: another each run)")
    args = parser.parse_args()
    mops, env = bench_env(MOPS_NOW="2026-06-01")
    # The validator acts (approve); exceptions are granted by the risk officer (waive).
    env.update(GIT_AUTHOR_NAME="carol", GIT_AUTHOR_EMAIL=PEOPLE["carol"],
               GIT_COMMITTER_NAME="carol", GIT_COMMITTER_EMAIL=PEOPLE["carol"])
    env.pop("NO_COLOR", None)
    dana = dict(env, GIT_AUTHOR_NAME="dana", GIT_AUTHOR_EMAIL=PEOPLE["dana"],
                GIT_COMMITTER_NAME="dana", GIT_COMMITTER_EMAIL=PEOPLE["dana"])
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tmpdir = tempfile.TemporaryDirectory(prefix="mops-scale-")
    base = args.keep or Path(tmpdir.name)
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tmpdir.name)
    (work / "report.md").write_text("More evidence.\n")
    (work / "current.csv").write_text(CURRENT)
    built: dict[str, Path] = {}
    for size in sizes:
        src = base / f"snap-{size}"
        if not (src / ".git").is_dir():
            t = time.perf_counter()
            n = build_snapshot(src, size, env)
            print(f"built {size} models ({n} commits) in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
        built[f"{size:,}"] = src
    if not args.no_history:
        src = base / f"hist-{args.history_models}-{args.history_commits}"
        if not (src / ".git").is_dir():
            t = time.perf_counter()
            n = build_history(src, args.history_models, args.history_commits, env)
            print(f"built {args.history_models} models, {n} commits in "
                  f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
        built[f"{args.history_models:,}, {args.history_commits:,} commits"] = src
    # Fresh clones: the caches start empty, and the writes of one run do not reach the next.
    inventories = {}
    for label, src in built.items():
        dst = work / f"clone-{len(inventories)}"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(src), str(dst)], check=True,
                       env=env)
        inventories[label] = dst
    rows = commands(mops, work)
    if args.only:
        keep = args.only.split(",")
        rows = [r for r in rows if any(k in r[0] for k in keep)]
    # label -> inventory -> (cold wall, cold CPU, [warm walls], [warm CPUs], peak MB)
    table: dict[str, dict[str, tuple[float, float, list[float], list[float], float]]] = {}
    for label, argv in rows:
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in inventories}
        for inv in inventories.values():  # each command's first run is cold: no caches at all
            shutil.rmtree(inv / ".git" / "mops", ignore_errors=True)
        for i in range(args.runs + 1):
            for name, inv in inventories.items():
                same = args.same_model and label.startswith(("`show", "`log", "`audit M"))
                cmd = [a.replace("{m}", model_id(1 if same else 1 + i)) for a in argv]
                if "one new commit" in label and i > 0:
                    subprocess.run([mops, "finding", "add", model_id(1 + i), "--severity",
                                    "low", "--title", "t"], cwd=inv, env=env, check=True,
                                   capture_output=True)
                runs[name].append(measure(cmd, inv, dana if "waive" in label else env))
        table[label] = {k: (r[0][0], r[0][1], [x[0] for x in r[1:]], [x[1] for x in r[1:]],
                            max(x[2] for x in r)) for k, r in runs.items()}
        print(label, {k: f"{v[0]:.2f}/{min(v[2]):.2f} s, cpu {v[1]:.2f}/{min(v[3]):.2f}"
                      for k, v in table[label].items()}, file=sys.stderr, flush=True)
    names = list(inventories)
    load = os.getloadavg()[0]
    print(f"\nWall seconds, cold / warm (best of {args.runs}); load average at the end {load:.1f}")
    _table(table, names, 0, 2)
    print("\nCPU seconds (user + system, git included), cold / warm")
    _table(table, names, 1, 3)
    tmpdir.cleanup()


if __name__ == "__main__":
    main()
