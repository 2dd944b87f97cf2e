"""Drift engines by name: ``mops drift --engine NAME``.

Each engine is a module satisfying :class:`mops.drift.engines.base.DriftEngine`
(pre-commit's ``all_languages.py`` arrangement). ``local`` reads files on this
machine, in parallel processes with ``--jobs``; ``spark`` compares the windows in
Spark, where the data is (PySpark is imported only when it runs).
Importing this package imports the engines, so only drift itself imports it.
"""

from __future__ import annotations

from mops.drift.engines import local, spark
from mops.drift.engines.base import DriftEngine
from mops.errors import UsageError

ENGINES: dict[str, DriftEngine] = {
    "local": local,
    "spark": spark,
}


def get_engine(name: str) -> DriftEngine:
    """The engine called *name*, or a usage error listing the engines there are."""
    try:
        return ENGINES[name]
    except KeyError:
        raise UsageError(f"--engine {name}: no such drift engine (available: {', '.join(ENGINES)})") from None
