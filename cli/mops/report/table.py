"""The inventory table: one row per version with its compliance in words (pure).

``mops list`` (text, ``--json``, ``--format csv``) and the audit report's CSV link
print the same rows with the same words: "NOT COMPLIANT", "compliant with waivers",
"compliant", "no rules apply", "not evaluated". No import beyond the policy results,
so ``mops list`` stays light.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from mops.policy.results import Result

#: The CSV columns, in order (a public format: add columns at the end only).
COLUMNS = ("model", "version", "stage", "tier", "owner", "compliance", "failing_rules",
           "waived_rules")


def compliance_status(results: Iterable[Result], *, evaluated: bool = True) -> tuple[str, str, str]:
    """(word, tone, detail): the compliance of one version with the rules of its stage."""
    results = list(results)
    if not evaluated:
        return "not evaluated", "muted", "no policy packs in force"
    fails = sum(r.status == "fail" for r in results)
    waived = sum(r.status == "waived" for r in results)
    passed = sum(r.status == "pass" for r in results)
    if fails:
        return "NOT COMPLIANT", "bad", f"{fails} rule(s) fail" + (f", {waived} waived" if waived else "")
    if waived:
        return "compliant with waivers", "warn", f"{waived} rule(s) waived, {passed} pass"
    if passed:
        return "compliant", "ok", f"{passed} rule(s) pass"
    return "no rules apply", "muted", ""


def inventory_row(model: str, version: str, stage: str, tier: Any, owner: Any,
                  results: Sequence[Result], *, evaluated: bool = True) -> dict[str, Any]:
    """One row of the table (``compliance`` in words; the rule ids failing and waived)."""
    word, _, _ = compliance_status(results, evaluated=evaluated)
    return {"model": model, "version": version, "stage": stage, "tier": tier, "owner": owner,
            "compliance": word,
            "failing_rules": sorted({r.rule for r in results if r.status == "fail"}),
            "waived_rules": sorted({r.rule for r in results if r.status == "waived"})}


def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """The rows as CSV (RFC 4180, CRLF line ends, a header row); lists joined by spaces.

    A cell that a spreadsheet would read as a formula (``= + - @``, tab, CR) gets a
    leading apostrophe, since a card's owner field is free text.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text
