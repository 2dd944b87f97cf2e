"""What a drift engine is: the part that reads a window of logs into a profile.

Like pre-commit's ``lang_base.Language``: a Protocol that each engine module
satisfies with module-level names, and a registry (:data:`mops.drift.engines.ENGINES`)
that maps ``--engine NAME`` to the module. An engine does the IO and the
profiling; comparing profiles, the statistics and the verdicts are shared
(:mod:`mops.drift.comparison`), so every engine gives the same result.

An engine whose data cannot come to this machine (a profile holds every value of
a numeric column) also satisfies :class:`ComparingEngine`: it compares the windows
where the data is and returns the result, ending in the same shared statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from mops.drift.plan import DriftPlan
    from mops.drift.profile import Profile
    from mops.drift.result import DriftResult

#: Called with (bytes done, bytes total) over both windows together (they may be read at once).
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


class Compared(Protocol):
    """What :meth:`ComparingEngine.compare_windows` returns."""

    @property
    def result(self) -> DriftResult: ...

    @property
    def rows_by_input(self) -> dict[str, int]:
        """Rows read from each current (and reference) input, by the input as given."""
        ...


class ComparingEngine(DriftEngine, Protocol):
    def compare_windows(
        self,
        reference: Sequence[str],
        current: Sequence[str],
        plan: DriftPlan,
        *,
        options: Mapping[str, Any] | None = None,
    ) -> Compared:
        """Compare the windows where they are; *options* are the engine's own settings.

        The result is what :func:`mops.drift.comparison.compare` gives on the
        profiles of the same windows. Raises :class:`~mops.errors.UsageError` as
        :meth:`DriftEngine.profile_windows` does.
        """
        ...
