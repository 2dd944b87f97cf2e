"""``check --format json`` writes the results as the memo keeps them, without decoding them:
each line is still exactly ``json.dumps(r.to_json(), ensure_ascii=False, default=str)`` of
the result ``r`` decoded, and the document is the one a plain writer gives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mops import api
from mops.api import Checked
from mops.commands.check import print_json
from mops.inventory.names import parse_ref
from mops.policy import engine
from mops.policy.engine import Kept
from mops.policy.results import Result
from tests.conftest import Mops, git
from tests.policy.lab import Lab

#: A pack of the inventory's own (version 1; no basis: "unspecified"), with texts JSON
#: must escape.
PACK = r"""pack: house
title: House rules
rules:
  - id: H-1
    title: 'Card says "why" \ and é'
    cite: "House §1 \u2028 \t tab"
    require: {card_fields: [limitations, vendor]}
  - id: H-2
    title: Retired versions only
    cite: House §2
    when: {stage: retired}
    require: {card_fields: [monitoring]}
"""

#: A waiver's reason ends up in its result's message: every kind of character JSON escapes.
REASON = 'a "quoted" \\ back\tslash é \U0001f600 \u2028 \x01 end'


def oracle(results: list[Result]) -> str:
    """The document as a plain writer gives it: every line by ``json.dumps``."""
    ok = not any(r.status == "fail" for r in results)
    counts = {s: sum(r.status == s for r in results) for s in ("fail", "waived", "pass", "n/a")}
    lines = ",\n".join("    " + json.dumps(r.to_json(), ensure_ascii=False, default=str)
                       for r in results)
    return (f'{{\n  "ok": {json.dumps(ok)},\n  "summary": {json.dumps(counts)},\n  "results": ['
            + (f"\n{lines}\n  ]" if results else "]") + "\n}\n")


@pytest.fixture
def lab(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """Two packs; failing, waived, passing and n/a results; a stale sign-off (related files)."""
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    lab = Lab(inventory)
    lab.pack(PACK, also=("baseline@2",))
    lab.version("credit-pd@1.0", stage="production")
    lab.sign("credit-pd@1.0")
    lab.card("credit-pd", name="Changed after the sign-off")  # the sign-off is stale
    lab.version("credit-pd@2.0", at="2026-03-01T00:00:00Z")
    lab.card("fraud", owner=...)
    lab.version("fraud@0.1")
    lab.version("fraud@0.2", stage="retired")
    lab.finding("fraud", None, kind="exception", rule="BL-OWNER", version="0.1",
                expires="2026-12-31", reason=REASON)
    return lab


def checked(repo: Path) -> Checked:
    with api.opened(repo) as inv:
        return api.check(inv)


def written(capsys: pytest.CaptureFixture[str], results: list[Result], kept: Kept | None) -> str:
    print_json(results, kept)
    return capsys.readouterr().out


def test_kept_results_are_written_as_json_dumps_writes_them_decoded(
        lab: Lab, capsys: pytest.CaptureFixture[str]):
    found = checked(lab.repo)
    results = found.results
    # Every status, field type and pack the fast writer puts together is here.
    assert {r.status.value for r in results} == {"fail", "waived", "pass", "n/a"}
    assert {r.pack for r in results} == {"baseline", "house"}
    assert {r.pack_version for r in results} == {1, 2}
    assert any(r.related for r in results) and any(r.waiver for r in results)
    assert any(REASON in r.message for r in results)
    assert found.deleted == [] and len(found.kept) == len(results)
    out = written(capsys, found.deleted, found.kept)
    assert out == oracle(results)
    assert json.loads(out) == {"ok": False, "summary": found.kept.counts,
                               "results": json.loads(json.dumps([r.to_json() for r in results]))}
    assert found.failed and found.kept.counts["waived"] == 1


def test_the_command_writes_that_document_and_exits_as_before(lab: Lab, mops: Mops):
    expected = oracle(checked(lab.repo).results)
    assert mops("check", "--format", "json", code=1).stdout == expected
    # A scope naming one version twice, and its model: each result once, in scope order.
    with api.opened(lab.repo) as inv:
        refs = [parse_ref(r) for r in ("fraud@0.2", "credit-pd", "fraud@0.2", "fraud")]
        scoped = api.check(inv, refs).results
    assert list(dict.fromkeys((r.model, r.version) for r in scoped)) == [
        ("fraud", "0.2"), ("credit-pd", "1.0"), ("credit-pd", "2.0"), ("fraud", "0.1")]
    assert mops("check", "fraud@0.2", "credit-pd", "fraud@0.2", "fraud", "--format", "json",
                code=1).stdout == oracle(scoped)
    # Nothing failing: exit 0, "ok": true.
    passing = mops("check", "credit-pd@2.0", "--format", "json", code=0).stdout
    assert json.loads(passing)["ok"] is True


def test_a_deleted_model_comes_first_and_fails_the_check(lab: Lab, mops: Mops):
    git(lab.repo, "add", "-A")
    git(lab.repo, "commit", "-qm", "lab")
    git(lab.repo, "tag", "base")
    git(lab.repo, "rm", "-rq", "models/fraud")
    git(lab.repo, "commit", "-qm", "fraud deleted")

    def since_base() -> Checked:
        with api.opened(lab.repo) as inv:
            return api.check(inv, changed_since="base")

    found = since_base()  # only the deleted model: nothing kept fails, the check does
    assert [r.rule for r in found.deleted] == ["MOPS-NO-DELETION"] * 2 and len(found.kept) == 0
    assert found.failed and found.kept.counts["fail"] == 0
    assert mops("check", "--changed-since", "base", "--format", "json", code=1).stdout \
        == oracle(found.results)
    lab.card("credit-pd", name="Changed again")  # a model kept is in scope too
    found = since_base()
    assert len(found.kept) and found.results[:2] == found.deleted
    assert mops("check", "--changed-since", "base", "--format", "json", code=1).stdout \
        == oracle(found.results)


def test_every_type_a_kept_field_can_hold_is_written_as_dumps_writes_it(
        lab: Lab, capsys: pytest.CaptureFixture[str]):
    rules = checked(lab.repo).kept.rules
    odd: list[list[Any]] = [
        ["1.0", "H-1", "fail", None, "f", 0, None, []],
        ["1.0", "H-1", "waived", 7, "f", -3, "", ["a", 'b"c', "\\", "é\x00"]],
        ["2", "BL-OWNER", "pass", dt.date(2026, 1, 2), None, True, "W-1", [1, None, 2.5]],
        ["2", "BL-OWNER", "n/a", "\x1b[31mred\x1b[0m \x7f \u2028", "f\n", 1.5, 3, ("t",)],
        [3, "H-2", "n/a", "", "", 10**20, None, [dt.date(2026, 1, 2), {"k": [1]}]],
    ]
    kept = Kept(rules, [("m\u00e9 \"q\"", odd[:2]), ("m", odd[2:4]), ("m", odd[4:])])
    made = [Result(model="gone", version="1", rule="R", title="t", status="fail", message="m",
                   cite="c", file="f")]
    out = written(capsys, made, kept)
    assert out == oracle(made + kept.decoded())
    assert "\x1b" not in out  # JSON escapes it: no ANSI code for click to strip


def test_a_field_added_to_result_is_written_too(
        lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """A field a result gains is written, with every other, though the fast writer does not
    know it (:data:`mops.commands.check.FIELDS` is not updated)."""

    @dataclasses.dataclass(frozen=True)
    class Wider(Result):
        ticket: str = "T-1"

    decode = engine.decode_result

    def decode_wider(model: str, item: list[Any], rules: dict[str, Any]) -> Result:
        return Wider(**decode(model, item, rules).__dict__, ticket=f"T-{item[0]}")

    found = checked(lab.repo)
    monkeypatch.setattr("mops.policy.results.Result", Wider)
    monkeypatch.setattr(engine, "decode_result", decode_wider)
    out = written(capsys, found.deleted, found.kept)
    assert out == oracle(found.kept.decoded())
    assert all(r["ticket"].startswith("T-") for r in json.loads(out)["results"])


def test_an_empty_check_is_one_document(inventory: Path, capsys: pytest.CaptureFixture[str]):
    found = checked(inventory)
    assert found.results == [] and not found.failed
    assert written(capsys, found.deleted, found.kept) == oracle([])
    assert json.loads(oracle([])) == {"ok": True, "summary": {"fail": 0, "waived": 0, "pass": 0,
                                                             "n/a": 0}, "results": []}
