"""The local engine: files on this machine, profiled in this process or in ``--jobs`` processes.

Each file is one partition: read in record batches (:mod:`mops.drift.readers`),
folded into a mergeable :class:`~mops.drift.state.ProfileState`, and the
partitions of a window merged. Numeric values past the memory budget are spilled
to a temporary directory that lives as long as the profile.
"""

from __future__ import annotations

import importlib
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from mops.drift import readers, state
from mops.drift.engines.base import Progress
from mops.drift.kinds import (
    FLOAT,
    INTEGER,
    NULL,
    NUMERIC,
    TEXT,
    combined_class,
    storage_kinds,
    type_class,
)
from mops.drift.outcomes import BINARY
from mops.drift.plan import DriftPlan, infer_task
from mops.drift.profile import Profile, SpillDir
from mops.drift.state import PartitionBuilder, PartitionSpec, ProfileState, in_memory_bytes, merge, spill
from mops.errors import UsageError

name = "local"


def profile_windows(
    reference: Sequence[str | os.PathLike[str]],
    current: Sequence[str | os.PathLike[str]],
    plan: DriftPlan,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[Profile, Profile]:
    """Profile both windows, at the same time; see :class:`~mops.drift.engines.base.DriftEngine`."""
    plan.validate()
    ref_infos = inspect_files(reference, plan)
    cur_infos = inspect_files(current, plan)
    resolve_task(plan, ref_infos)
    storage, origins = _storage(ref_infos + cur_infos, plan)
    total = sum(info.size for info in ref_infos + cur_infos)
    done = [0, 0]
    lock = threading.Lock()
    importing = _import_while_reading(plan)

    def side(k: int) -> Progress | None:
        if progress is None:
            return None

        def report(n: int, _total: int) -> None:
            with lock:
                done[k] = n
                progress(done[0] + done[1], total)

        return report

    # The two windows are read at the same time: Arrow decodes outside the GIL, and the
    # reference is usually done before the (larger) current window. A daemon thread, so
    # that an interrupt does not wait for the reference to be read.
    outcome: dict[str, Any] = {}

    def read_reference() -> None:
        try:
            outcome["profile"] = _profile(ref_infos, plan, storage, origins, jobs=1, progress=side(0))
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=read_reference, name="mops-drift-reference", daemon=True)
    thread.start()
    try:
        cur_profile = _profile(cur_infos, plan, storage, origins, jobs=jobs, progress=side(1))
    except BaseException:
        thread.join(0)
        raise
    thread.join()
    if importing is not None:
        importing.join()
    if "error" in outcome:
        cur_profile.close()
        raise outcome["error"]
    return outcome["profile"], cur_profile


def _import_while_reading(plan: DriftPlan) -> threading.Thread | None:
    """Import scipy.special, which a binary model's calibration and DeLong test need, in a
    thread while the logs are read: its import (numpy's testing tools and f2py come with
    it) takes 0.1-0.3 s of a run, mostly hidden this way.

    The readers import nothing once the files are inspected (the process pool of
    ``--jobs`` and a progress bar import modules that import nothing of scipy's), and
    the caller joins the thread before the comparison imports more."""
    if plan.label is None or plan.task not in (None, BINARY):
        return None
    thread = threading.Thread(target=importlib.import_module, args=("scipy.special",),
                              name="mops-drift-import", daemon=True)
    thread.start()
    return thread


def profile_files(
    paths: Sequence[str | os.PathLike[str]],
    plan: DriftPlan,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Profile:
    """Read the plan's columns from *paths* (one window) into a merged profile.

    Each file is profiled on its own and the states merged; with ``jobs > 1``
    files are profiled in that many processes. *progress* is called with
    (bytes done, bytes total) over all files. Column storage is decided from
    these files alone; :func:`profile_windows` decides it from both windows.
    """
    plan.validate()
    infos = inspect_files(paths, plan)
    resolve_task(plan, infos)
    storage, origins = _storage(infos, plan)
    return _profile(infos, plan, storage, origins, jobs=jobs, progress=progress)


def inspect_files(paths: Sequence[str | os.PathLike[str]], plan: DriftPlan) -> list[readers.FileInfo]:
    """Check each file (readable, rows, every column once) without reading it all."""
    files = [os.fspath(p) for p in paths]
    if not files:
        raise UsageError("no input files given")
    names = plan.read_columns()
    return [readers.inspect_file(f, names) for f in files]


def _storage(infos: Sequence[readers.FileInfo], plan: DriftPlan) -> tuple[dict[str, str], dict[str, str]]:
    return storage_kinds(
        [(info.path, info.types) for info in infos],
        plan.read_columns(),
        declared=plan.declared_kinds(),
        prediction=plan.prediction,
        label=plan.label,
        task=plan.task,
    )


def resolve_task(plan: DriftPlan, infos: Sequence[readers.FileInfo]) -> None:
    """Fill in ``plan.task`` from the reference's label and prediction when the plan names none."""
    if plan.label is None or plan.task is not None or plan.prediction is None:
        return
    label_class = combined_class(type_class(info.types[plan.label]) for info in infos)
    prediction_class = combined_class(type_class(info.types[plan.prediction]) for info in infos)
    values, binary, whole, prediction_whole, unit = 0, True, True, True, True
    if label_class in (INTEGER, FLOAT) and prediction_class in (INTEGER, FLOAT, NULL):
        targets = {plan.label: readers.FLOAT64, plan.prediction: readers.FLOAT64}
        for info in infos:
            for batch in readers.iter_batches(info, targets):
                y = state._as_float(batch.column(plan.label))
                p = state._as_float(batch.column(plan.prediction))
                y, p = y[np.isfinite(y)], p[np.isfinite(p)]
                values += int(y.size)
                binary = binary and bool(np.all((y == 0) | (y == 1)))
                whole = whole and bool(np.all(y == np.floor(y)))
                prediction_whole = prediction_whole and bool(np.all(p == np.floor(p)))
                unit = unit and bool(np.all((p >= 0) & (p <= 1)))
    plan.task = infer_task(label_class, prediction_class, label_values=values, label_binary=binary,
                           label_whole=whole, prediction_whole=prediction_whole, prediction_unit=unit)
    plan.validate()


def _profile(
    infos: Sequence[readers.FileInfo],
    plan: DriftPlan,
    storage: Mapping[str, str],
    origins: Mapping[str, str],
    *,
    jobs: int,
    progress: Progress | None,
) -> Profile:
    # A column declared text is not tested, so it is not read (identifiers would
    # make a tally as large as the log).
    compared = [n for n, _ in plan.columns() if plan.kinds.get(n) != TEXT]
    read = compared + ([plan.label] if plan.label is not None else [])
    read += [g for g in plan.group_columns() if g not in read]
    targets = {n: readers.FLOAT64 if storage[n] == NUMERIC else readers.STRING for n in read}
    if not targets:  # every column declared text: read one only to count the rows
        first = plan.columns()[0][0]
        targets = {first: readers.STRING}
    spill_dir = SpillDir()
    specs = [
        PartitionSpec(
            source=info.path,
            kinds={n: storage[n] for n in compared},
            label=plan.label,
            score=plan.prediction if plan.label else None,
            task=plan.task,
            groups={g: g in plan.segments for g in plan.group_columns()},
        )
        for info in infos
    ]
    total = sum(info.size for info in infos)
    workers = max(1, min(int(jobs), len(infos)))
    try:
        if workers == 1:
            parts: Iterable[ProfileState] = _profile_serially(infos, targets, specs, spill_dir.path, progress, total)
        else:
            parts = _profile_in_processes(infos, targets, specs, spill_dir.path, progress, total, workers)
        merged: ProfileState | None = None
        for part in parts:
            merged = part if merged is None else merge(merged, part)
            if in_memory_bytes(merged) > state.SPILL_BUDGET_BYTES:
                merged = spill(merged, spill_dir.path)
    except BaseException:
        spill_dir.remove()
        raise
    if merged is None:  # one partition per file, and there is at least one file
        raise UsageError("no input files given")
    # Arrow keeps the blocks it decoded for reuse; the comparison needs the memory more.
    pa.default_memory_pool().release_unused()
    types = {n: combined_class(type_class(info.types[n]) for info in infos) for n in compared}
    return Profile(merged, {n: storage[n] for n in compared}, {n: origins[n] for n in compared},
                   (spill_dir,), types)


def _profile_serially(
    infos: Sequence[readers.FileInfo],
    targets: Mapping[str, pa.DataType],
    specs: Sequence[PartitionSpec],
    spill_path: str,
    progress: Progress | None,
    total: int,
) -> Iterator[ProfileState]:
    done = 0
    for info, spec in zip(infos, specs, strict=True):
        report = None
        if progress is not None:
            base = done

            def report(n: int, _size: int, base: int = base, progress: Progress = progress) -> None:
                progress(base + n, total)

        yield profile_partition(info, targets, spec, spill_path, progress=report)
        done += info.size


def _profile_in_processes(
    infos: Sequence[readers.FileInfo],
    targets: Mapping[str, pa.DataType],
    specs: Sequence[PartitionSpec],
    spill_path: str,
    progress: Progress | None,
    total: int,
    workers: int,
) -> list[ProfileState]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: Arrow's thread pools do not survive a fork reliably.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(profile_partition, info, targets, spec, spill_path)
            for info, spec in zip(infos, specs, strict=True)
        ]
        done = 0
        results = []
        for info, future in zip(infos, futures, strict=True):
            results.append(future.result())
            done += info.size
            if progress is not None:
                progress(done, total)
    return results


def profile_partition(
    info: readers.FileInfo,
    targets: Mapping[str, pa.DataType],
    spec: PartitionSpec,
    spill_dir: str | None,
    *,
    progress: Progress | None = None,
) -> ProfileState:
    """Profile one file into a :class:`ProfileState` (runs in a worker process).

    A line longer than the read block further into the file means reading it
    again with larger blocks (:class:`~mops.drift.readers.BlockTooSmall`);
    progress already reported is not reported again.
    """
    reached = 0

    def report(done: int, size: int) -> None:
        nonlocal reached
        if progress is not None and done > reached:
            reached = done
            progress(done, size)

    while True:
        builder = PartitionBuilder(spec, spill_dir, rows=info.rows)
        try:
            for batch in read_ahead(readers.iter_batches(info, targets, progress=report)):
                builder.add(batch)
        except readers.BlockTooSmall as exc:
            builder.abandon()
            info = exc.info
            continue
        except BaseException:
            builder.abandon()
            raise
        break
    result = builder.finish()
    if result.rows == 0:
        raise UsageError(f"{info.path}: has a header but no rows")
    return result


#: Batches decoded ahead of the one being folded in.
READ_AHEAD = 2


def read_ahead(batches: Iterator[pa.RecordBatch], depth: int = READ_AHEAD) -> Iterator[pa.RecordBatch]:
    """The batches of *batches*, decoded in a thread of their own *depth* batches ahead.

    Arrow decodes without the GIL, so the next batches are read while this thread folds
    one into the state: on two cores, reading and profiling overlap. An error in the
    reader is raised here; when the caller stops early, the reader stops and is closed.
    """
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(depth)
    stop = threading.Event()

    def offer(kind: str, item: Any) -> bool:
        """Queue *item* unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                ready.put((kind, item), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer("batch", batch):
                    return
            offer("end", None)
        except BaseException as exc:  # raised in the consuming thread
            offer("error", exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="mops-drift-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
