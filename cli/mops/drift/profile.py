"""A profiled window of a log: mergeable column states, and how each column was read.

Engines (:mod:`mops.drift.engines`) produce profiles; :func:`mops.drift.comparison.compare`
consumes them. A profile of one window can be merged with another of the same
columns (partitions profiled apart), see :func:`merge_profiles`.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field

from mops.drift.kinds import NULL, combined_class
from mops.drift.state import ProfileState, merge
from mops.errors import UsageError


class SpillDir:
    """A temporary directory removed when the last profile using it goes away."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="mops-drift-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def remove(self) -> None:
        self._cleanup()


@dataclass
class Profile:
    """A profiled window of a log: merged column states plus how they were read."""

    state: ProfileState
    #: How each read column is stored: "numeric" (float64) or "categorical" (strings).
    kinds: dict[str, str]
    #: Where each column's kind came from, e.g. "int64 in ref.parquet" (for errors).
    origins: dict[str, str]
    _spill_dirs: tuple[SpillDir, ...] = field(default=(), repr=False, compare=False)
    #: The type class of each column in this window (:mod:`mops.drift.kinds`):
    #: integer, float, string, boolean, dictionary, or null when no file has values.
    types: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.state.rows

    @property
    def sources(self) -> tuple[str, ...]:
        return self.state.sources

    def rows_by_source(self) -> dict[str, int]:
        """Rows read from each file of the window."""
        return dict(zip(self.state.sources, self.state.source_rows, strict=True))

    def type_of(self, name: str) -> str:
        return self.types.get(name, NULL)

    def close(self) -> None:
        """Delete the spill files now instead of when the profile is collected."""
        for spill_dir in self._spill_dirs:
            spill_dir.remove()

    def __enter__(self) -> Profile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def merge_profiles(a: Profile, b: Profile) -> Profile:
    """Merge two profiles of the same columns (e.g. partitions profiled apart)."""
    for name, kind in a.kinds.items():
        if b.kinds.get(name) != kind:
            raise UsageError(
                f"column {name!r} is {kind} ({a.origins[name]}) but {b.kinds.get(name)} ({b.origins.get(name)})"
            )
    types = {name: combined_class([a.type_of(name), b.type_of(name)]) for name in set(a.types) | set(b.types)}
    return Profile(
        merge(a.state, b.state),
        dict(a.kinds),
        dict(a.origins),
        a._spill_dirs + b._spill_dirs,
        types,
    )
