"""The drift check as one action: plan from the card, profile, compare, maybe record.

This sits between the command and the packages it joins (inventory for the card
and the record, drift for the statistics), so that neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops.errors import UsageError
from mops.inventory.actions import Done
from mops.inventory.digest import sha256_file
from mops.inventory.names import ModelRef
from mops.inventory.store import Inventory

#: Inputs larger than this get a progress bar on a terminal.
PROGRESS_BYTES = 64 * 1024 * 1024


@dataclass
class DriftOutcome:
    document: dict[str, Any]
    recorded: Done | None


def _progress_bar(total_bytes: int):
    import sys

    from mops.output import is_terminal

    if total_bytes < PROGRESS_BYTES or not is_terminal(sys.stderr):
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    return bar, bar.add_task("reading logs", total=total_bytes)


def run_drift(start: Path, ref: ModelRef, current: Sequence[Path], *, reference: Path | None = None,
              jobs: int = 1, features: Sequence[str] | None = None, prediction: str | None = None,
              label: str | None = None, window: str | None = None, record: bool = False,
              notify: Callable[[str], None] | None = None) -> DriftOutcome:
    from mops.drift.engine import DriftPlan, compare, profile_files
    from mops.inventory.monitoring import record_monitoring

    inv = Inventory.open(start)
    model, version = inv.resolve(ref)
    plan_map = dict(model.card.front.get("monitoring") or {})
    if features is not None:
        plan_map["features"] = [f.strip() for f in features if f.strip()]
    if prediction is not None:
        plan_map["prediction"] = prediction
    if label is not None:
        plan_map["label"] = label
    if not plan_map.get("features") and not plan_map.get("prediction"):
        raise UsageError(f"{model.card.path} has no monitoring plan and no columns were given: add "
                         f"'monitoring: {{features: [...], prediction: ...}}' to the card, or pass "
                         f"--features and --prediction")
    try:
        plan = DriftPlan.from_monitoring(plan_map)
    except UsageError as exc:
        raise UsageError(f"{model.card.path}: {exc.message}") from None
    if reference is None:
        ref_setting = plan_map.get("reference")
        if not ref_setting:
            raise UsageError(f"no reference data: set monitoring.reference in {model.card.path} or "
                             f"pass --reference PATH")
        reference = inv.root / str(ref_setting)
    for path in (reference, *current):
        if not Path(path).exists():
            raise UsageError(f"{path}: no such file")
        if Path(path).is_dir():
            raise UsageError(f"{path}: is a directory, expected a log file")

    total = sum(os.path.getsize(p) for p in (reference, *current))
    bar, task = _progress_bar(total)
    done_before = 0

    def progress(done: int, _total: int) -> None:
        if bar is not None:
            bar.update(task, completed=done_before + done)

    if bar is not None:
        bar.start()
    try:
        ref_profile = profile_files([reference], plan, jobs=1, progress=progress)
        done_before = os.path.getsize(reference)
        cur_profile = profile_files(list(current), plan, jobs=jobs, progress=progress)
        rows_by_file = cur_profile.rows_by_source()
        try:
            result = compare(ref_profile, cur_profile, plan, jobs=jobs)
        finally:
            ref_profile.close()
            cur_profile.close()
    finally:
        if bar is not None:
            bar.stop()

    body = result.to_json()
    document: dict[str, Any] = {"model": model.id, "version": version.version, **body}
    recorded = None
    if record:
        ref_sha, ref_size = sha256_file(reference)
        record_doc = {
            "window": window,
            "reference": {"path": _shown(inv, reference), "sha256": ref_sha, "size": ref_size,
                          "rows": body["rows"]["reference"]},
            "inputs": [{"path": _shown(inv, p), "size": os.path.getsize(p),
                        "rows": rows_by_file.get(os.fspath(p))} for p in current],
            "rows": body["rows"],
            "plan": {k: v for k, v in plan_map.items() if k != "reference"},
            "result": body,
            "verdict": {"dataset_drift": body["dataset_drift"], "drifted_share": body["drifted_share"],
                        "breaches": [b["message"] for b in body["breaches"]]},
        }
        summary = "drift" if body["dataset_drift"] or body["breaches"] else "no drift"
        recorded = record_monitoring(start, ModelRef(model.id, version.version), record_doc,
                                     summary=f"({summary}{', ' + window if window else ''})",
                                     notify=notify)
        document["record"] = recorded.detail["path"]
    return DriftOutcome(document, recorded)


def _shown(inv: Inventory, path: Path) -> str:
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(inv.root.resolve()).as_posix()
    except ValueError:
        return str(resolved)
