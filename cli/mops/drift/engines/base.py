"""What a drift engine is: the part that reads a window of logs into a profile.

Like pre-commit's ``lang_base.Language``: a Protocol that each engine module
satisfies with module-level names, and a registry (:data:`mops.drift.engines.ENGINES`)
that maps ``--engine NAME`` to the module. An engine does the IO and the
profiling; comparing profiles, the statistics and the verdicts are shared
(:mod:`mops.drift.comparison`), so every engine gives the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from mops.drift.plan import DriftPlan
    from mops.drift.profile import Profile

#: Called with (bytes done, bytes total) over both windows, reference first.
Progress = Callable[[int, int], None]


class DriftEngine(Protocol):
    #: The name ``--engine`` takes.
    name: str

    def profile_windows(
        self,
        reference: Sequence[str],
        current: Sequence[str],
        plan: DriftPlan,
        *,
        jobs: int = 1,
        progress: Progress | None = None,
    ) -> tuple[Profile, Profile]:
        """Profile the reference and the current window (each one or more files).

        Both windows' columns are read the same way (numbers or strings), decided
        from the types of all files together (:func:`mops.drift.kinds.storage_kinds`).
        Raises :class:`~mops.errors.UsageError` for a missing, unreadable or empty
        file, a missing or ambiguous column, or types that do not fit the plan.
        """
        ...
