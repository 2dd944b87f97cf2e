"""The one clock, and the one place dates and timestamps are parsed and written.

:func:`now` is the clock of policy decisions: the current time, or ``MOPS_NOW`` for
tests and reproducible CI. ``MOPS_NOW`` is an ISO date (``2026-06-01``, meaning
midnight UTC) or datetime (``2026-06-01T12:00:00Z``; without an offset it is read
as UTC). It decides what is expired, overdue or too old; it does not change the
timestamps mops records, which come from git's committer identity (set
``GIT_COMMITTER_DATE`` for those).

Records hold timestamps as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, :data:`TIMESTAMP`) and
dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from mops.errors import UsageError

ENV = "MOPS_NOW"
#: How mops writes a timestamp: UTC, whole seconds, ``Z``.
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


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


def format_timestamp(when: dt.datetime) -> str:
    """``when`` as mops records it: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return when.astimezone(dt.UTC).strftime(TIMESTAMP)


def parse_recorded(text: str) -> dt.datetime:
    """A timestamp mops wrote (``YYYY-MM-DDTHH:MM:SSZ``) as aware UTC; ValueError otherwise."""
    return dt.datetime.strptime(text, TIMESTAMP).replace(tzinfo=dt.UTC)


def format_label(when: dt.datetime, *, minutes: bool = False) -> str:
    """A short date (``2026-06-01``), or date and time (``2026-06-01 12:30``), for labels."""
    return when.strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d")


def from_epoch(seconds: int) -> dt.datetime:
    """Seconds since the epoch (as git gives them) as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A timestamp as aware UTC, or None: ISO text (``Z`` or an offset; without one it is
    UTC; a bare date is midnight UTC), or a YAML datetime or date."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and value:
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")
                                             .replace("z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def as_date(value: Any) -> dt.date | None:
    """A YAML date or ISO date string as ``date`` (None if it is neither)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def parse_day(text: str) -> dt.date | None:
    """An ISO date (``2026-12-31``), or None when ``text`` is not one."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_date_option(text: str | None, option: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value; a usage error that names the option otherwise."""
    if text is None:
        return None
    day = parse_day(text)
    if day is None:
        raise UsageError(f"{option} {text!r}: expected a date such as 2026-12-31")
    return day


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of ``day`` in UTC (``--as-of DATE`` means the end of that day)."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)
