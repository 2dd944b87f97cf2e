"""The one clock of policy decisions: now, or ``MOPS_NOW`` for tests and reproducible CI.

``MOPS_NOW`` is an ISO date (``2026-06-01``, meaning midnight UTC) or datetime
(``2026-06-01T12:00:00Z``; without an offset it is read as UTC). It decides what
is expired, overdue or too old; it does not change the timestamps mops records,
which come from git's committer identity (set ``GIT_COMMITTER_DATE`` for those).
"""

from __future__ import annotations

import datetime as dt
import os

from mops.errors import UsageError

ENV = "MOPS_NOW"


def parse_instant(text: str, what: str = ENV) -> dt.datetime:
    """An ISO date or datetime as an aware UTC datetime (a date means 00:00 UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(), dt.UTC)
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what}={text!r}: expected an ISO date (2026-06-01) or datetime "
                         f"(2026-06-01T12:00:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def now() -> dt.datetime:
    """The current time in UTC, or ``MOPS_NOW`` when that is set."""
    fixed = os.environ.get(ENV)
    if fixed:
        return parse_instant(fixed)
    return dt.datetime.now(dt.UTC)
