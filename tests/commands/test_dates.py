"""Impossible dates (2026-02-30) and garbled times in records: ``file:line``, never exit 3.

Each case edits one record of a real inventory by hand and commits it. ``check``,
``list`` and ``audit`` stop with exit 2 and ``file:line: ...``; ``verify`` reports a
sign-off or evidence record it cannot read as a problem (exit 1) naming the file.
The twin of each case writes a real date the same way and is read without complaint.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Mops, git
from tests.policy.helpers import CAROL, act, evidence, pin_clock, record_drift, register

VDIR = "models/credit-pd/versions/1.0.0"


@pytest.fixture
def records(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> dict[str, str]:
    """A model with a card, evidence, a sign-off, a finding and a drift result: their paths."""
    pin_clock(monkeypatch)
    ref = register(mops, tmp_path)
    eid = evidence(mops, tmp_path, ref, "validation-report")
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    fid = mops("finding", "add", ref, "--severity", "low", "--title", "Typo", "--due",
               "2026-09-30").stdout.strip()
    record_drift(inventory, ref, "2026-05-30T00:00:00Z")
    (approval,) = (inventory / VDIR / "approvals").glob("A-*.yaml")
    return {"card": "models/credit-pd/card.md", "finding": f"models/credit-pd/findings/{fid}.yaml",
            "approval": approval.relative_to(inventory).as_posix(),
            "evidence": f"{VDIR}/evidence/{eid}.yaml", "monitoring": f"{VDIR}/monitoring/M-1.json",
            "version": f"{VDIR}/version.yaml"}


def _edit(repo: Path, rel: str, pattern: str, replacement: str) -> int:
    """Replace ``pattern`` (a regex on one line) in a record and commit; returns the line."""
    path = repo / rel
    lines = path.read_text().splitlines(keepends=True)
    for n, line in enumerate(lines, 1):
        if re.search(pattern, line):
            lines[n - 1] = re.sub(pattern, replacement, line)
            path.write_text("".join(lines))
            git(repo, "commit", "-qam", f"hand edit of {rel}")
            return n
    raise AssertionError(f"{pattern!r} not in {rel}")


CASES = [
    # (record, pattern, impossible, real): unquoted YAML dates are read as dates by YAML itself
    ("card", r"last: 2026-01-15", "last: 2026-02-30", "last: 2026-02-28"),
    ("finding", r"due: 2026-09-30", "due: 2026-02-30", "due: 2026-02-28"),
    ("finding", r"opened_at: .*", "opened_at: '2026-02-30T12:00:00Z'", "opened_at: '2026-02-28T12:00:00Z'"),
    ("approval", r"^at: .*", "at: 2026-02-30T12:00:00Z", "at: 2026-05-30T12:00:00Z"),
    ("approval", r"^at: .*", "at: '2026-13-01T12:00:00Z'", "at: '2026-05-30T12:00:00Z'"),
    ("evidence", r"added_at: .*", "added_at: 'last tuesday'", "added_at: '2026-05-30T12:00:00Z'"),
    ("version", r"registered_at: .*", "registered_at: '2026-04-31T00:00:00Z'",
     "registered_at: '2026-04-30T00:00:00Z'"),
    ("monitoring", r'"at": "[^"]*"', '"at": "2026-02-30T00:00:00Z"', '"at": "2026-05-29T00:00:00Z"'),
]


@pytest.mark.parametrize(("record", "pattern", "impossible", "real"), CASES,
                         ids=[f"{c[0]}-{c[2].split(':')[0]}-{i}" for i, c in enumerate(CASES)])
def test_an_impossible_date_is_file_and_line(inventory: Path, mops: Mops, records: dict[str, str],
                                             record: str, pattern: str, impossible: str,
                                             real: str):
    rel = records[record]
    if record == "monitoring":  # one JSON line: put "at" on a line of its own
        path = inventory / rel
        path.write_text(path.read_text().replace('{"at"', '{\n"at"', 1))
        git(inventory, "commit", "-qam", "one key per line")
    line = _edit(inventory, rel, pattern, impossible)
    for command in (["check"], ["list"], ["audit", "--out", "report.html"], ["check", "--format",
                                                                             "github"]):
        r = mops(*command, code=2)
        assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert f"error: {rel}:{line}" in r.stderr, (command, r.stderr)
    data = mops.json("verify", "--json", code=None)
    if record in ("approval", "evidence"):
        assert data["ok"] is False
        assert any(p["path"] == rel and p["problem"].startswith(f"line {line}")
                   for p in data["problems"]), data["problems"]
    else:  # verify proves sign-offs and evidence; it does not read the other records
        assert "internal error" not in str(data)
    # The twin: a real date, written the same way, reads.
    _edit(inventory, rel, re.escape(impossible), real)
    for command in (["check"], ["list"], ["audit", "--out", "report.html"]):
        r = mops(*command, code=None)
        assert r.exit_code in (0, 1), (command, r.stderr)


def test_an_impossible_date_in_an_option_or_the_clock_is_a_usage_error(
        inventory: Path, mops: Mops, records: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for args, message in ((["finding", "add", "credit-pd", "--severity", "low", "--title", "x",
                            "--due", "2026-02-30"], "--due '2026-02-30'"),
                          (["audit", "--as-of", "2026-02-30"], "--as-of '2026-02-30'")):
        r = mops(*args, code=2)
        assert message in r.stderr, r.stderr
    monkeypatch.setenv("MOPS_NOW", "2026-02-30")
    r = mops("check", code=2)
    assert "MOPS_NOW='2026-02-30'" in r.stderr, r.stderr
