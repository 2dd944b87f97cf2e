"""Recording monitoring results (drift checks) in a version's monitoring folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mops import git
from mops.inventory import layout
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked, new_id
from mops.inventory.names import ModelRef


def record_monitoring(start: Path, ref: ModelRef, document: dict[str, Any], *, kind: str = "drift",
                      summary: str = "", notify: Callable[[str], None] | None = None) -> Done:
    """Write ``document`` as ``monitoring/<id>.json`` of the version, in one commit.

    The record gets ``id``, ``kind``, ``at`` (the commit time) and ``by`` (the actor);
    the governance ``monitoring`` requirement reads ``at`` and ``verdict``.
    """
    with locked(start, notify) as inv:
        model, version = inv.resolve(ref)
        actor = git.identity(inv.top)
        rid = new_id("D", lambda r: inv.source.isfile(layout.monitoring_path(version.dir, r)))
        record = {"id": rid, "kind": kind, "at": actor.timestamp, "by": actor.email,
                  "model": model.id, "version": version.version, **document}
        change = Change(inv, kind, model=model.id, version=version.version, actor=actor.email,
                        summary=f"{model.id}@{version.version} {summary}".strip())
        rel = layout.monitoring_path(version.dir, rid)
        change.write(rel, json.dumps(record, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
        commit = change.commit()
        return Done(commit, (rel,), {"id": rid, "path": rel, "model": model.id,
                                     "version": version.version})
