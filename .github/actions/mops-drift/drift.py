"""Scheduled drift checks for the mops-drift action (run in the inventory's folder).

Every model version in ``MOPS_STAGE`` whose card has a monitoring plan (the card's
``monitoring`` mapping) is checked with ``mops drift`` on the production logs that
the log pattern finds: the card's ``monitoring.logs``, else ``MOPS_LOGS``, else
mops.yaml's ``monitoring.logs``; relative to the inventory, ``{model}`` and
``{version}`` filled in, glob wildcards (``**`` too) expanded.

Annotations and a job summary for GitHub, ``ok`` and ``drifted`` step outputs.
Exit 0: no drift; 1: a model drifted or breached a threshold; 2: a check could not
run (bad input). A version without logs is a warning, not a failure.

mops is installed from the same checkout as this script, so its internals match.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mops.inventory.store import Inventory
from mops.output_github import command, markdown_cell


@dataclass
class Target:
    model: str
    version: str
    card: str           # the card's path, relative to the repository (for annotations)
    pattern: str
    files: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def targets(inv: Inventory, stage: str, default_pattern: str, only: set[str]) -> list[Target]:
    """The versions in ``stage`` with a monitoring plan, and the logs their pattern finds."""
    found = []
    for model in inv.models():
        plan = model.card.front.get("monitoring")
        if not isinstance(plan, dict) or not plan or (only and model.id not in only):
            continue
        pattern = plan.get("logs") if isinstance(plan.get("logs"), str) else default_pattern
        for version in model.versions:
            if version.stage != stage:
                continue
            t = Target(model.id, version.version, inv.git_path(model.card.path), pattern)
            if pattern:
                rel = pattern.replace("{model}", model.id).replace("{version}", version.version)
                matches = glob.glob(str(inv.root / rel), recursive=True)
                t.files = sorted(os.path.relpath(m, inv.root) for m in matches if os.path.isfile(m))
            found.append(t)
    return found


def run_drift(mops: str, t: Target, extra: list[str]) -> tuple[int, dict | None, str]:
    proc = subprocess.run([mops, "drift", t.ref, *[a for f in t.files for a in ("--current", f)],
                           "--json", *extra], capture_output=True, text=True)
    doc = None
    if proc.returncode in (0, 1):
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pass
    err = proc.stderr.strip().splitlines()
    return proc.returncode, doc, err[-1] if err else f"mops drift exited {proc.returncode}"


def verdict(doc: dict) -> tuple[str, str]:
    """A short verdict and the drifted columns or breaches, for people."""
    drifted = [c["column"] for c in doc.get("columns", []) if c.get("drifted")]
    breaches = [b.get("message", "") for b in doc.get("breaches") or []]
    share = doc.get("drifted_share")
    share_text = f"{share:.0%} of columns drifted" if isinstance(share, (int, float)) else ""
    if doc.get("dataset_drift"):
        head = f"dataset drift: {share_text}".rstrip(": ")
    elif breaches:
        head = "threshold breached"
    else:
        head = f"no drift ({share_text})" if share_text else "no drift"
    detail = ", ".join(drifted)
    if breaches:
        detail = "; ".join(filter(None, [detail, *breaches]))
    return head, detail


def main() -> int:
    env = os.environ
    stage = env.get("MOPS_STAGE") or "production"
    only = set(env.get("MOPS_MODELS", "").split())
    extra = shlex.split(env.get("MOPS_ARGS", ""))
    mops = shutil.which("mops") or "mops"
    inv = Inventory.open(Path.cwd())
    default_pattern = env.get("MOPS_LOGS") or str(inv.settings.monitoring.get("logs") or "")

    rows, drifted, worst = [], [], 0
    for t in targets(inv, stage, default_pattern, only):
        if not t.files:
            where = f"no file matches {t.pattern!r}" if t.pattern else \
                "no log pattern: set monitoring.logs in mops.yaml"
            print(command("warning", f"{t.ref}: no production logs ({where}); drift not checked",
                          file=t.card, title="mops drift"))
            rows.append((t, "⚠️ no logs", where, ""))
            continue
        code, doc, err = run_drift(mops, t, extra)
        if doc is not None:
            head, detail = verdict(doc)
            rows_seen = (doc.get("rows") or {}).get("current")
            if code == 1:
                drifted.append(t.ref)
                print(command("error", f"{t.ref}: {head}" + (f" ({detail})" if detail else ""),
                              file=t.card, title="mops drift"))
            else:
                print(f"{t.ref}: {head}")
            label = "❌ drift" if code == 1 else "✅ ok"
            rows.append((t, label, f"{head}" + (f": {detail}" if detail else ""),
                         f"{rows_seen:,}" if isinstance(rows_seen, int) else ""))
        else:
            print(command("error", f"{t.ref}: drift check failed: {err}", file=t.card,
                          title="mops drift"))
            rows.append((t, "❗ error", err, ""))
        worst = max(worst, 2 if doc is None else code)

    ok = worst == 0
    if env.get("GITHUB_STEP_SUMMARY"):
        lines = ["## " + ("✅ mops drift: no drift" if ok else "❌ mops drift: attention needed"), ""]
        if not rows:
            lines.append(f"No model version in stage {markdown_cell(stage)} has a monitoring plan.")
        else:
            lines += ["| Model | Version | Logs | Rows | Result | Detail |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for t, label, detail, nrows in rows:
                lines.append(f"| {markdown_cell(t.model)} | {markdown_cell(t.version)} | {len(t.files)} "
                             f"| {nrows} | {label} | {markdown_cell(detail)} |")
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n\n")
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.write(f"ok={'true' if ok else 'false'}\ndrifted={' '.join(drifted)}\n")
    print(f"mops drift: {len(rows)} model versions, {len(drifted)} drifted, ok={str(ok).lower()}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
