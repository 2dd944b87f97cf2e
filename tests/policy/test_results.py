"""Status: one order and one set of labels for every output."""

from __future__ import annotations

import json

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
