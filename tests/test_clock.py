"""The one clock: MOPS_NOW, and how dates and timestamps are read and written."""

from __future__ import annotations

import datetime as dt

import pytest

from mops import clock
from mops.errors import UsageError


def test_clock_reads_mops_now(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    assert clock.now() == dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    monkeypatch.setenv("MOPS_NOW", "2026-06-01T12:30:00+02:00")
    assert clock.now() == dt.datetime(2026, 6, 1, 10, 30, tzinfo=dt.UTC)
    monkeypatch.setenv("MOPS_NOW", "June")
    with pytest.raises(UsageError, match="MOPS_NOW='June'"):
        clock.now()
    monkeypatch.delenv("MOPS_NOW")
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 5


def test_parse_time():
    parse_time = clock.parse_timestamp
    assert parse_time("2026-03-01T12:00:00Z") == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert parse_time("2026-03-01T14:00:00+02:00") == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert parse_time("2026-03-01") == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_timestamps_written_and_read_back():
    when = dt.datetime(2026, 6, 1, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert clock.format_timestamp(when) == "2026-06-01T12:30:05Z"
    assert clock.parse_recorded("2026-06-01T12:30:05Z") == when
    assert clock.as_date("2026-06-01T12:30:05Z") == dt.date(2026, 6, 1)
    assert clock.as_date(dt.datetime(2026, 6, 1, 23)) == dt.date(2026, 6, 1) and clock.as_date(7) is None
    assert clock.parse_day("2026-02-30") is None
    assert clock.end_of_day(dt.date(2026, 6, 1)) == dt.datetime(2026, 6, 1, 23, 59, 59, tzinfo=dt.UTC)
    with pytest.raises(UsageError, match="--due '1 June': expected a date"):
        clock.parse_date_option("1 June", "--due")
