"""Drift and performance checks of prediction logs against a reference.

* ``plan``: the monitoring plan (what to compare), from a card and options;
* ``engines``: read a window of logs into a mergeable ``profile`` (``local`` today,
  by name; ``readers`` is the local engine's IO, ``state`` the mergeable state);
* ``kinds``: how a column is read and compared (Evidently's kind inference);
* ``comparison`` and ``result``: per-column verdicts, statuses and the JSON document,
  from the pure statistics in ``stats``;
* ``targets`` and ``run``: what ``mops drift`` and ``mops drift --all`` check, and
  the run itself (plan, files, profile, compare, record).

Importing this package is cheap: the names below load their module (numpy,
pyarrow) on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DriftPlan": "mops.drift.plan",
    "DriftResult": "mops.drift.result",
    "Profile": "mops.drift.profile",
    "merge_profiles": "mops.drift.profile",
    "compare": "mops.drift.comparison",
    "profile_files": "mops.drift.engines.local",
    "profile_windows": "mops.drift.engines.local",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mops.drift' has no attribute {name!r}")
