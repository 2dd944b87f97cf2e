"""Recording monitoring results (drift checks) in a version's monitoring folder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops.inventory import layout, records
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked, new_id
from mops.inventory.names import ModelRef


@dataclass(frozen=True)
class MonitoringRecorded(Done):
    record: records.Monitoring


def record_monitoring(start: Path, ref: ModelRef, document: dict[str, Any], *, kind: str = "drift",
                      summary: str = "", notify: Callable[[str], None] | None = None,
                      env: Mapping[str, str] | None = None) -> MonitoringRecorded:
    """Write ``document`` as ``monitoring/<id>.json`` of the version, in one commit.

    The record gets ``id``, ``kind``, ``at`` (the commit time) and ``by`` (the actor);
    the governance ``monitoring`` requirement reads ``at`` and ``verdict``.
    """
    with locked(start, notify, env=env) as inv:
        model, version = inv.resolve(ref)
        actor = inv.identity()
        rid = new_id("D", lambda r: inv.source.isfile(layout.monitoring_path(version.dir, r)))
        record = records.Monitoring.new(
            layout.monitoring_path(version.dir, rid), id=rid, kind=kind, by=actor.email,
            at=actor.timestamp, model=model.id, version=version.version, document=document)
        change = Change(inv, kind, model=model.id, version=version.version, actor=actor.email,
                        summary=f"{model.id}@{version.version} {summary}".strip())
        change.write(record.path, record.dump())
        commit = change.commit()
        return MonitoringRecorded(commit, (record.path,), record=record)
