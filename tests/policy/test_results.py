"""Status: one order and one set of labels for every output."""

from __future__ import annotations

import json

import pytest

from mops.policy.results import Result, Status


def test_status_is_its_string_and_carries_order_and_labels():
    assert [s.value for s in sorted(Status, key=lambda s: s.order)] == ["fail", "waived", "pass", "n/a"]
    assert Status.NA == "n/a" and {Status.FAIL, Status.PASS} == {"fail", "pass"}
    assert [s.label for s in Status] == ["FAIL", "WAIVED", "pass", "n/a"]
    assert [s.headline for s in Status] == ["FAIL", "WAIVED", "PASS", "N/A"]
    assert json.dumps([Status.WAIVED]) == '["waived"]'


def test_a_result_made_with_a_plain_string_holds_a_status():
    r = Result(model="m", version="1", rule="R", title="t", status="n/a", message="", cite="",
               file="f")  # type: ignore[arg-type]
    assert r.status is Status.NA and r.to_json()["status"] == "n/a"


def test_a_decoded_result_is_the_result_its_constructor_makes():
    from mops.policy.results import Basis

    values = dict(model="m", version="1", rule="R", title="t", status=Status.FAIL, message="no",
                  cite="SR 26-2", file="models/m/card.md", pack="baseline", weight=3,
                  waiver=None, related=("a", "b"), pack_version=2,
                  basis=(Basis(demand="d", kind="text", detail="x"),))
    made, decoded = Result(**values), Result.decoded(**values)  # type: ignore[arg-type]
    assert decoded == made and hash(decoded) == hash(made)
    assert json.dumps(decoded.to_json()) == json.dumps(made.to_json())
    assert json.dumps(decoded.to_json(basis=False)) == json.dumps(made.to_json(basis=False))
    # Every field, in its order, or nothing is made.
    for wrong in ({k: v for k, v in values.items() if k != "pack"},
                  dict(reversed(values.items()))):
        with pytest.raises(TypeError):
            Result.decoded(**wrong)
