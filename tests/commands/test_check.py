"""mops check (text and JSON) and list's COMPLIANT column, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Mops
from tests.policy.lab import Lab


@pytest.fixture
def lab(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    lab = Lab(inventory)
    lab.version("credit-pd@1.0", stage="production")
    lab.version("credit-pd@2.0", at="2026-03-01T00:00:00Z")
    lab.card("fraud", owner=...)
    lab.version("fraud@0.1")
    return lab


def test_check_json_shape_and_exit_code(lab: Lab, mops: Mops):
    r = mops("check", "--format", "json", code=1)
    data = __import__("json").loads(r.stdout)
    assert data["ok"] is False
    assert data["summary"]["fail"] == 2 and sum(data["summary"].values()) == len(data["results"])
    for res in data["results"]:
        assert {"model", "version", "rule", "status", "message", "cite", "file"} <= res.keys()
        assert res["status"] in ("pass", "fail", "waived", "n/a")
    fails = {(x["model"], x["version"], x["rule"]) for x in data["results"] if x["status"] == "fail"}
    assert fails == {("credit-pd", "1.0", "BL-INDEPENDENT-SIGNOFF"), ("fraud", "0.1", "BL-OWNER")}
    assert r.stderr == ""


def test_check_text_groups_by_model_with_status_message_and_cite(lab: Lab, mops: Mops):
    out = mops("check", code=1).stdout
    assert out.index("credit-pd\n") < out.index("  @1.0") < out.index("  @2.0") < out.index("fraud\n")
    block = out[out.index("fraud\n"):]
    assert "FAIL    BL-OWNER  Model has a named owner" in block
    assert "the model card does not document owner (missing)" in block
    assert "cite: NIST AI RMF 1.0 GOVERN 2.1" in block
    assert "fix:  models/fraud/card.md" in block
    assert "(3 rule(s) n/a)" in block  # the production and retired rules
    assert out.rstrip().endswith("check FAILED")
    assert "2 failed, 0 waived" in out


def test_check_scope_by_model_and_version(lab: Lab, mops: Mops):
    data = mops.json("check", "credit-pd@2.0", "--format", "json")
    assert data["ok"] is True and {(r["model"], r["version"]) for r in data["results"]} == {("credit-pd", "2.0")}
    data = mops.json("check", "credit-pd", "--format", "json", code=1)
    assert {r["version"] for r in data["results"]} == {"1.0", "2.0"}
    assert "passed" in mops("check", "fraud@0.1", "credit-pd@2.0", code=1).stdout
    assert "unknown model 'nope'" in mops("check", "nope", code=2).stderr
    assert "has no version '9'" in mops("check", "fraud@9", code=2).stderr
    mops("check", "--format", "xml", code=2)


def test_list_compliant_column(lab: Lab, mops: Mops):
    rows = {(r["model"], r["version"]): r["compliant"] for r in mops.json("list", "--json")}
    assert rows == {("credit-pd", "1.0"): False, ("credit-pd", "2.0"): True, ("fraud", "0.1"): False}
    rows = mops.json("list", "--stage", "production", "--json")
    assert [(r["model"], r["compliant"]) for r in rows] == [("credit-pd", False)]
    lab.sign("credit-pd@1.0")
    assert mops.json("list", "--stage", "production", "--json")[0]["compliant"] is True
    text = mops("list").stdout  # the audit report's words, not yes/no
    rows = {tuple(line.split()[:2]): line for line in text.splitlines()[1:]}
    assert text.split()[5] == "COMPLIANCE" and " yes" not in text
    assert rows[("credit-pd", "1.0")].endswith(" compliant")
    assert rows[("fraud", "0.1")].endswith("NOT COMPLIANT")


def test_check_empty_inventory_passes(inventory: Path, mops: Mops):
    data = mops.json("check", "--format", "json")
    assert data == {"ok": True, "summary": {"fail": 0, "waived": 0, "pass": 0, "n/a": 0}, "results": []}


@pytest.mark.parametrize("n", [0, 1, 2000, 2001, 4003])
def test_json_document_written_in_pieces_is_one_document(n: int, capsys: pytest.CaptureFixture[str]):
    """``check --format json`` writes a large document in pieces: it is still one document,
    each result with its rule's basis."""
    from mops.commands.check import print_json, summary
    from mops.policy.results import Basis, Result

    bases = [(Basis("d", "text", "x"),), (Basis("e \u00e9", "practice", 'say "why"'),)]
    results = [Result(model="m", version=str(i), rule=f"R-{i % 3}", title="t",
                      status="fail" if i % 7 == 0 else "pass", message=f"line {i}\nnext",
                      cite="c", file="f", basis=bases[i % 2]) for i in range(n)]
    print_json(results)
    out = capsys.readouterr().out
    assert json.loads(out) == {"ok": not any(r.status == "fail" for r in results),
                               "summary": summary(results),
                               "results": json.loads(json.dumps([r.to_json() for r in results]))}
    assert out.count("\n") == n + 6 + (0 if n else -1)


def test_json_lines_are_what_json_dumps_writes(capsys: pytest.CaptureFixture[str]):
    """``check --format json`` writes each result made here (not kept: a deleted model's) as
    ``json.dumps(result.to_json(), ensure_ascii=False, default=str)`` does, for fields of
    every type a result can hold (and for one a caller put in by hand); the kept results'
    lines, put together from their parts, are held to the same in test_check_json.py."""
    import datetime as dt

    from mops.commands.check import print_json
    from mops.policy.results import Basis, Result

    basis = (Basis('a "quoted" demand', "text", "x\ty"), Basis("é", "practice", "\u2028"))
    results = [
        Result(model="m\u00e9", version="1.0", rule="R-1", title='t "q"', status="fail",
               message="a\nb\\c \U0001f600", cite="c", file="models/m/card.md", pack="p",
               weight=3, waiver=None, related=("x", 'y"z'), pack_version=2, basis=basis),
        Result(model="m", version="2.0", rule="R-1", title='t "q"', status="waived",
               message="", cite="c", file="f", pack="p", weight=1.5, waiver="W-1",
               related=(), pack_version=None, basis=()),
        Result(model="m", version="2.0", rule="R-2", title="other", status="pass",
               message="m", cite="c2", file="f", weight=True, waiver="", related=["l"],
               basis=basis),
        Result(model="m", version="3", rule="R-2", title="other", status="n/a",
               message=dt.date(2026, 1, 2), cite="c2", file="f", weight=-7, waiver=None,
               basis=basis),
    ]
    print_json(results)
    lines = capsys.readouterr().out.split("\n")[4:-3]
    assert [line.rstrip(",") for line in lines] == [
        "    " + json.dumps(r.to_json(), ensure_ascii=False, default=str) for r in results]
