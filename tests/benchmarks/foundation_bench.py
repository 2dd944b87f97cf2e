"""Start-up and `mops list --json` at scale (not run by pytest).

    .venv/bin/python tests/benchmarks/foundation_bench.py [--models 500] [--versions 3]

Measures, best of N runs each, as subprocesses:
- `mops --help` against a bare two-command Typer app (target: within 1.5x);
- `mops list --json` over an inventory of MODELS models x VERSIONS versions
  (target: well under 1 s; GTO takes ~5 s for 500 models).
The inventory is written directly as files and committed once (building it through
`mops register` would take minutes and measure something else).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from common import bench_env, best_of

BARE_APP = textwrap.dedent("""
    import typer
    app = typer.Typer()
    @app.command()
    def one(name: str = typer.Option("x", help="a name")) -> None:
        "First."
    @app.command()
    def two() -> None:
        "Second."
    app()
""")


def build_inventory(root: Path, models: int, versions: int, env: dict) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    (root / "mops.yaml").write_text("inventory: Benchmark\npolicies: [baseline]\n"
                                    "roles: {validator: [carol@acme.test]}\n")
    for m in range(models):
        mid = f"model-{m:04d}"
        mdir = root / "models" / mid
        (mdir).mkdir(parents=True)
        (mdir / "card.md").write_text(
            f"---\nid: {mid}\nname: Model {m}\nowner: owner{m % 17}@acme.test\n"
            f"developers: [dev{m % 5}@acme.test]\ntier: {1 + m % 3}\n"
            f"intended_use: Scoring\nlimitations: [none known]\n---\n# Model {m}\n")
        for v in range(versions):
            vdir = mdir / "versions" / f"1.{v}.0"
            vdir.mkdir(parents=True)
            (vdir / "version.yaml").write_text(
                f"model: {mid}\nversion: 1.{v}.0\nstage: {'production' if v == 0 else 'development'}\n"
                f"registered_by: dev@acme.test\nregistered_at: '2026-0{1 + v}-01T00:00:00Z'\n"
                f"artifact: {{sha256: {'ab' * 32}, size: 10}}\nmetrics: {{auc: 0.8}}\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "benchmark inventory"], cwd=root, check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mops, env = bench_env()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        t_bare = best_of([sys.executable, str(bare), "--help"], args.runs)
        t_help = best_of([mops, "--help"], args.runs)
        inv = Path(tmp) / "inv"
        build_inventory(inv, args.models, args.versions, env)
        t_list = best_of([mops, "list", "--json"], args.runs, cwd=inv, env=env)
    print(f"| measurement | seconds (best of {args.runs}) |")
    print("|---|---|")
    print(f"| bare two-command Typer app `--help` | {t_bare:.3f} |")
    print(f"| `mops --help` | {t_help:.3f} ({t_help / t_bare:.2f}x bare) |")
    print(f"| `mops list --json`, {args.models} models x {args.versions} versions | {t_list:.3f} |")


if __name__ == "__main__":
    main()
