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
