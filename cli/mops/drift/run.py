"""``mops drift`` as actions: check one version, or every version in a stage.

Each check: the plan from the card (:mod:`mops.drift.plan`), the files, the
engine's profiles of both windows, the comparison, and with ``record`` the result
written to the version's ``monitoring/`` folder in one commit. A result with a
data-quality problem is not recorded: it is not a verdict.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops.drift.plan import plan_for
from mops.drift.result import DATA_QUALITY, DRIFT, OK, DriftResult
from mops.drift.targets import Target, find_targets
from mops.errors import MopsError, UsageError
from mops.inventory.actions.monitoring import MonitoringRecorded
from mops.inventory.contained import inside
from mops.inventory.digest import sha256_file
from mops.inventory.names import ModelRef
from mops.inventory.store import Inventory, Model, Version

#: Called with (what is being read, e.g. "credit-pd@1.0.0", bytes done, bytes total).
Progress = Callable[[str, int, int], None]

#: A scheme (``s3a:``, ``dbfs:``) or ``table:``: not a path relative to the inventory.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")

#: Statuses of a version in ``drift --all``, beyond a result's own (ok, drift, data_quality).
NO_LOGS, ERROR = "no_logs", "error"


@dataclass
class DriftOutcome:
    """One version checked: the ``drift --json`` document, the result, and the record if made."""

    document: dict[str, Any]
    result: DriftResult
    #: The model card (relative to the inventory) and the current logs checked.
    card: str = ""
    inputs: tuple[str, ...] = ()
    #: The inventory's folder and its path inside the repository ("" at the top).
    root: Path = Path(".")
    prefix: str = ""
    recorded: MonitoringRecorded | None = None

    @property
    def status(self) -> str:
        return self.result.status


@dataclass
class TargetOutcome:
    """One version of ``drift --all``: its status, and the check or why there is none."""

    target: Target
    status: str  # ok | drift | data_quality | no_logs | error
    outcome: DriftOutcome | None = None
    message: str = ""


@dataclass
class AllOutcome:
    """Every version of ``drift --all``, in the order checked, and where the inventory is."""

    stage: str
    results: list[TargetOutcome] = field(default_factory=list)
    root: Path = Path(".")
    prefix: str = ""

    @property
    def exit_code(self) -> int:
        """2 when a check could not run or its data is unusable, else 1 on drift, else 0."""
        statuses = {r.status for r in self.results}
        if statuses & {ERROR, DATA_QUALITY}:
            return 2
        return 1 if DRIFT in statuses else 0


def run_drift(start: Path, ref: ModelRef, current: Sequence[Path | str], *, reference: Path | str | None = None,
              engine: str = "local", jobs: int = 1, features: Sequence[str] | None = None,
              prediction: str | None = None, label: str | None = None, window: str | None = None,
              record: bool = False, progress: Progress | None = None,
              notify: Callable[[str], None] | None = None,
              env: Mapping[str, str] | None = None,
              engine_options: Mapping[str, Any] | None = None) -> DriftOutcome:
    """Check one version's current logs against its reference; record the result if asked
    (``env``: who records it, see ``Inventory.git_env``; ``engine_options``: settings of an
    engine that compares where the data is, such as ``spark``'s master and filters)."""
    inv = Inventory.open(start, git_env=env)
    model, version = inv.resolve(ref)
    return check_version(inv, start, model, version, current, reference=reference, engine=engine, jobs=jobs,
                         features=features, prediction=prediction, label=label, window=window, record=record,
                         progress=progress, notify=notify, engine_options=engine_options)


def run_all(start: Path, *, stage: str = "production", logs: str | None = None, models: Collection[str] = (),
            engine: str = "local", jobs: int = 1, window: str | None = None, record: bool = False,
            progress: Progress | None = None, notify: Callable[[str], None] | None = None,
            engine_options: Mapping[str, Any] | None = None) -> AllOutcome:
    """Check every version in *stage* with a monitoring plan on the logs its pattern finds.

    A version without logs is reported (``no_logs``), not checked; a version whose
    check fails (a bad file, a malformed plan) is reported as ``error`` and the
    others are still checked. With *record*, each checked version's result is
    recorded in a commit of its own.
    """
    from mops.drift.engines import get_engine

    # An unknown engine is a usage error before anything is read. An engine that compares
    # where the data is reads patterns itself: URIs and directories are its inputs too.
    remote = hasattr(get_engine(engine), "compare_windows")
    inv = Inventory.open(start)
    out = AllOutcome(stage, root=inv.root, prefix=inv.prefix)
    for target in find_targets(inv, stage, logs=logs, models=models, pass_through=remote):
        if target.problem:
            out.results.append(TargetOutcome(target, ERROR, message=target.problem))
            continue
        if not target.files:
            why = (f"no file matches {target.pattern!r}" if target.pattern
                   else "no log pattern: set monitoring.logs in mops.yaml or the card, or pass --logs")
            out.results.append(TargetOutcome(target, NO_LOGS, message=why))
            continue
        try:
            model, version = inv.resolve(ModelRef(target.model, target.version))
            outcome = check_version(inv, start, model, version, list(target.files), engine=engine, jobs=jobs,
                                    window=window, record=record, progress=progress, notify=notify,
                                    engine_options=engine_options)
        except MopsError as exc:
            out.results.append(TargetOutcome(target, ERROR, message=exc.message))
            continue
        out.results.append(TargetOutcome(target, outcome.status, outcome))
    return out


def check_version(inv: Inventory, start: Path, model: Model, version: Version, current: Sequence[Path | str], *,
                  reference: Path | str | None = None, engine: str = "local", jobs: int = 1,
                  features: Sequence[str] | None = None, prediction: str | None = None,
                  label: str | None = None, window: str | None = None, record: bool = False,
                  progress: Progress | None = None,
                  notify: Callable[[str], None] | None = None,
                  engine_options: Mapping[str, Any] | None = None) -> DriftOutcome:
    """The check of one version of an open inventory (see :func:`run_drift`)."""
    from mops.drift.comparison import compare
    from mops.drift.engines import get_engine

    drift_engine = get_engine(engine)
    card = model.card.path
    plan, plan_map = plan_for(card, model.card.front.get("monitoring"), features=features,
                              prediction=prediction, label=label)
    if reference is None:
        setting = plan_map.get("reference")
        if not setting:
            raise UsageError(f"no reference data: set monitoring.reference in {card} or pass --reference PATH")
        reference = _inventory_path(inv, str(setting), f"{card}: monitoring.reference")
    if not current:
        raise UsageError("no current log given")
    ref_path, cur_paths = os.fspath(reference), [os.fspath(p) for p in current]
    name = f"{model.id}@{version.version}"
    report = None if progress is None else (lambda done, total: progress(name, done, total))
    compare_windows = getattr(drift_engine, "compare_windows", None)
    if compare_windows is not None:  # the engine compares where the data is
        compared = compare_windows([ref_path], cur_paths, plan, options=engine_options)
        result, rows_by_file = compared.result, compared.rows_by_input
    else:
        if engine_options:
            raise UsageError(f"--engine {engine} takes none of the options {', '.join(sorted(engine_options))}")
        ref_profile, cur_profile = drift_engine.profile_windows([ref_path], cur_paths, plan, jobs=jobs,
                                                                progress=report)
        try:
            rows_by_file = cur_profile.rows_by_source()
            result = compare(ref_profile, cur_profile, plan)
        finally:
            ref_profile.close()
            cur_profile.close()

    body = result.to_json()
    document: dict[str, Any] = {"model": model.id, "version": version.version, **body}
    outcome = DriftOutcome(document, result, card=card, inputs=tuple(cur_paths), root=inv.root,
                           prefix=inv.prefix)
    if record and result.status != DATA_QUALITY:
        outcome.recorded = _record(inv, start, model, version, ref_path, cur_paths, rows_by_file, plan_map,
                                   body, window, notify)
        document["record"] = outcome.recorded.record.path
    return outcome


def _record(inv: Inventory, start: Path, model: Model, version: Version, reference: str, current: Sequence[str],
            rows_by_file: dict[str, int], plan_map: dict[str, Any], body: dict[str, Any], window: str | None,
            notify: Callable[[str], None] | None) -> MonitoringRecorded:
    from mops.inventory.actions.monitoring import record_monitoring

    facts = _file_facts([reference, *current])
    record_doc = {
        "window": window,
        "reference": {"path": _shown(inv, reference), **facts[reference], "rows": body["rows"]["reference"]},
        "inputs": [{"path": _shown(inv, p), **facts[p], "rows": rows_by_file.get(p)} for p in current],
        "rows": body["rows"],
        "plan": {k: v for k, v in plan_map.items() if k not in ("reference", "logs")},
        "result": body,
        "verdict": {"task": body.get("task"), "dataset_drift": body["dataset_drift"],
                    "drifted_share": body["drifted_share"],
                    "breaches": [b["message"] for b in body["breaches"]],
                    "warnings": [w["message"] for w in body["warnings"]]},
    }
    summary = "drift" if body["status"] == DRIFT else "no drift"
    assert body["status"] in (OK, DRIFT)
    return record_monitoring(start, ModelRef(model.id, version.version), record_doc,
                             summary=f"({summary}{', ' + window if window else ''})", notify=notify,
                             env=inv.git_env)


def _file_facts(paths: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What a monitoring record says of each input: the sha256 and size of a file; of what is
    not one file (a table, a URI, a directory or pattern the Spark engine reads), ``sha256``
    null and ``unhashed`` saying why, so that a missing digest is never silent."""
    from concurrent.futures import ThreadPoolExecutor

    def one(path: str) -> dict[str, Any]:
        if _URI.match(path) and not path.lower().startswith("file:"):
            return {"sha256": None, "size": None,
                    "unhashed": "a table or URI read by the engine where the data is: mops cannot hash it"}
        if not os.path.isfile(path):
            return {"sha256": None, "size": None,
                    "unhashed": "a directory or pattern read by the engine: not one file to hash"}
        digest, size = sha256_file(Path(path))
        return {"sha256": digest, "size": size}

    unique = list(dict.fromkeys(paths))
    with ThreadPoolExecutor(max_workers=min(4, len(unique))) as pool:  # hashlib releases the GIL
        return dict(zip(unique, pool.map(one, unique), strict=True))


def _inventory_path(inv: Inventory, setting: str, what: str) -> Path | str:
    """A card's path setting: inside the inventory (see :mod:`mops.inventory.contained`),
    unless it is a URI or a table (``table:db.name``); a ``file:`` URI is a path too."""
    if _URI.match(setting) and not setting.lower().startswith("file:"):
        return setting
    return inside(inv.root, setting, what)


def _shown(inv: Inventory, path: str) -> str:
    if _URI.match(path):
        return path
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(inv.root.resolve()).as_posix()
    except ValueError:
        return str(resolved)
