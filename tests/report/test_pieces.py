"""The pure parts, without files or git: Markdown, chart geometry, context, rendering."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mops.inventory import records
from mops.inventory.records import Monitoring
from mops.inventory.store import Model, Version
from mops.policy.results import Result
from mops.report.charts import Point, line_chart
from mops.report.context import build_context, drift_section, review_due
from mops.report.gather import AsOf, ReportInput
from mops.report.markdown import render_markdown
from mops.report.render import environment, render_html, verify_digest
from tests.report.helpers import drift_record, external_references, parse, squash

# ----------------------------------------------------------------------------- markdown


def test_markdown_shows_raw_html_as_text():
    out = render_markdown('Hi <script>alert(1)</script>\n\n<div onmouseover="x()">b</div>\n')
    assert "<script" not in out and "<div" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;div onmouseover=&quot;x()&quot;&gt;" in out


def test_markdown_links_and_images():
    out = render_markdown("[a](javascript:alert(1)) [b](https://example.test/doc) "
                          "![chart](http://example.test/c.png) ![dot](data:image/png;base64,iVBORw0KGgo=)")
    assert 'href="javascript' not in out
    assert '<a href="https://example.test/doc">b</a>' in out
    assert "<img" in out and 'src="data:image/png;base64,iVBORw0KGgo="' in out
    assert "http://example.test/c.png" not in out.split("[image not embedded")[0]
    assert "[image not embedded: chart (http://example.test/c.png)]" in out
    assert external_references(f"<div>{out}</div>") == []


def test_markdown_headings_shift_and_tables():
    out = render_markdown("# Title\n\n## Part\n\n###### Deep\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h4>Title</h4>" in out and "<h5>Part</h5>" in out and "<h6>Deep</h6>" in out
    assert "<table>" in out and "<td>2</td>" in out


# ----------------------------------------------------------------------------- charts


def _t(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, tzinfo=dt.UTC)


def test_chart_places_points_in_time_and_value():
    c = line_chart([Point(_t(1), 0.0), Point(_t(11), 0.2, True), Point(_t(21), 0.1)],
                   [Point(_t(1), 0.15), Point(_t(21), 0.15)], title="t", y_label="v")
    xs = [float(m["x"]) for m in c["markers"]]
    assert xs[0] == c["left"] + 8 and xs[-1] == c["plot_right"] - 8
    assert xs[1] == pytest.approx((xs[0] + xs[2]) / 2, abs=0.1)  # day 11 is half way
    ys = [float(m["y"]) for m in c["markers"]]
    assert ys[0] == c["plot_bottom"]  # zero at the bottom
    assert ys[1] < ys[2] < ys[0]
    assert [m["flagged"] for m in c["markers"]] == [False, True, False]
    y_thr = float(c["threshold"].split()[0].split(",")[1])
    assert ys[1] < y_thr < ys[2]  # 0.1 < 0.15 < 0.2
    assert c["threshold"].split()[0].startswith(f"{c['left']:.1f},")  # constant: full width
    assert c["yticks"][0]["label"] == "0" and float(c["yticks"][-1]["label"]) >= 0.2
    assert [t["label"] for t in c["xticks"]] == ["2026-01-01", "2026-01-11", "2026-01-21"]
    assert c["summary"] == ("3 value(s) from 2026-01-01 to 2026-01-21; latest 0.1; 1 flagged; "
                            "threshold 0.15")


def test_chart_single_point_changing_threshold_and_empty():
    one = line_chart([Point(_t(5), 3.0)], title="t", y_label="v")
    assert float(one["markers"][0]["x"]) == pytest.approx(one["left"] + (one["plot_right"] - one["left"]) / 2)
    assert one["threshold"] == ""
    step = line_chart([Point(_t(1), 1.0), Point(_t(3), 1.0)],
                      [Point(_t(1), 0.5), Point(_t(3), 2.0)], title="t", y_label="v")
    assert len(step["threshold"].split()) == 3  # a step, not a slope
    empty = line_chart([], title="t", y_label="v")
    assert empty["markers"] == [] and empty["summary"] == "no values"


def _mon(rid: str, data: dict) -> Monitoring:
    return Monitoring(path=f"m/{rid}.json", id=rid, at=data.get("at", ""),
                      kind=str(data.get("kind", "drift")), data=data)


def test_drift_section_survives_missing_and_odd_keys():
    records_ = [
        _mon("a", {"at": "2026-01-01T00:00:00Z"}),  # nothing but a time
        _mon("b", {"at": "not a time", "columns": [{"column": "x", "statistic": 1}]}),
        _mon("c", {"at": "2026-01-02T00:00:00Z", "columns": [
            {"column": "x", "statistic": "high", "threshold": None},
            "not a column", {"statistic": 0.3},
            {"column": "y", "statistic": float("nan"), "drifted": True}],
            "verdict": "odd", "rows": [1, 2], "performance": {"reference": 3}}),
        _mon("d", {"at": "2026-01-03T00:00:00Z", "drifted_share": 0.5,
                   "columns": [{"column": "x", "statistic": 0.2, "threshold": 0.1,
                                "drifted": True}],
                   "verdict": {"breaches": ["psi of x"]}}),
    ]
    d = drift_section(records_)
    assert d is not None and d["count"] == 3  # "not a time" is left out
    assert [c["title"] for c in d["charts"]] == ["Share of drifted columns", "Column x: statistic"]
    assert d["latest"]["outcome"]["word"] == "BREACH"
    assert d["latest"]["breaches"] == ["psi of x"]
    assert drift_section([]) is None


def test_drift_section_from_a_drift_engine_record():
    rec = drift_record("2026-02-01T00:00:00Z", {"a": 0.2, "b": 0.01}, drifted=("a",))
    d = drift_section([_mon("x", json.loads(json.dumps(rec)))])
    latest = d["latest"]
    assert [c["column"] for c in latest["columns"]] == ["a", "b"]
    assert latest["columns"][0]["drifted"]["word"] == "DRIFTED"
    assert latest["performance"][0] == {"metric": "auc", "reference": "0.81", "current": "0.78",
                                        "change": "-0.03"}


# ----------------------------------------------------------------------------- context


CARD = b"""---
id: m1
name: Model <One>
owner: alice@acme.test
tier: 1
review: {last: 2026-01-15}
custom_key: {b: 2, a: [x, y]}
---
# M1
"""


def _model(findings: list[bytes] = (), monitoring: list[Monitoring] = ()) -> Model:
    card = records.load_card("models/m1/card.md", CARD, expected_id="m1")
    rec = records.load_version("models/m1/versions/1/version.yaml",
                               b"model: m1\nversion: '1'\nstage: production\nregistered_by: "
                               b"bob@acme.test\nregistered_at: '2026-01-01T00:00:00Z'\n",
                               model="m1", version="1")
    ev = records.load_evidence("e.yaml", b"id: e1\nkind: validation-report\nadded_by: b@x.test\n"
                               b"added_at: '2026-01-02T00:00:00Z'\nfiles:\n- path: evidence/e1/r.pdf\n"
                               b"  sha256: " + b"a" * 64 + b"\n", record_id="e1")
    v = Version(model="m1", version="1", dir="models/m1/versions/1", record=rec, evidence=[ev],
                monitoring=list(monitoring))
    fs = [records.load_finding(f"f{i}.yaml", data, record_id=f"f{i}", model="m1")
          for i, data in enumerate(findings)]
    return Model(id="m1", dir="models/m1", card=card, versions=[v], findings=fs)


def _input(model: Model, results: list[Result], **kw) -> ReportInput:
    base = dict(settings=records.Settings(inventory="Inv <&>", policies=("baseline",)),
                commit="c" * 40, committed_at="2026-06-30T12:00:00Z", as_of=AsOf("date", "2026-06-30"),
                models=[model], packs=[{"name": "baseline", "title": "Base", "rules": 2}],
                results=results, file_digests={"models/m1/versions/1/evidence/e1/r.pdf": "b" * 64})
    base.update(kw)
    return ReportInput(**base)


def _r(rule: str, status: str, message: str = "ok") -> Result:
    return Result(model="m1", version="1", rule=rule, title=f"Rule {rule}", status=status,
                  message=message, cite=f"Std §{rule}", file="x", pack="baseline")


def test_compliance_in_words():
    def word(results):
        return build_context(_input(_model(), results))["summary"][0]["compliance"]["word"]

    assert word([_r("A", "pass"), _r("B", "fail")]) == "NOT COMPLIANT"
    assert word([_r("A", "pass"), _r("B", "waived")]) == "compliant with waivers"
    assert word([_r("A", "pass"), _r("B", "n/a")]) == "compliant"
    assert word([_r("B", "n/a")]) == "no rules apply"
    ctx = build_context(_input(_model(), [], packs=[], policy_note="No packs."))
    assert ctx["summary"][0]["compliance"]["word"] == "not evaluated"


def test_results_sorted_whatever_the_input_order():
    a = build_context(_input(_model(), [_r("B", "pass"), _r("A", "fail")]))
    b = build_context(_input(_model(), [_r("A", "fail"), _r("B", "pass")]))
    assert a == b
    assert [r["rule"] for r in a["models"][0]["versions"][0]["results"]] == ["A", "B"]


def test_review_due_from_card_or_policy():
    today = dt.date(2026, 6, 30)
    assert review_due({"next": dt.date(2026, 7, 1)}, today)["word"] == "2026-07-01"
    assert review_due({"next": "2026-06-01"}, today)["word"] == "2026-06-01 (overdue)"
    res = [_r("REV", "pass", "last review 2026-01-15, next due by 2027-01-15 (tier 1: every 12 months)")]
    assert review_due({"last": dt.date(2026, 1, 15)}, today, res)["word"] == "2027-01-15"
    assert review_due({"last": dt.date(2026, 1, 15)}, today)["word"] == "not scheduled"
    data = _input(_model(), res, review_rules={"REV"})
    assert build_context(data)["summary"][0]["review"]["word"] == "2027-01-15"


def test_findings_overdue_and_expired_waivers():
    model = _model(findings=[
        b"id: f0\nkind: finding\nseverity: high\ntitle: T\nstatus: open\nopened_at: '2026-01-01T00:00:00Z'\n"
        b"due: 2026-06-01\n",
        b"id: f1\nkind: exception\nrule: R\ntitle: W\nstatus: open\nopened_at: '2026-01-01T00:00:00Z'\n"
        b"expires: 2026-06-29\n",
        b"id: f2\nkind: finding\nseverity: low\ntitle: T\nstatus: closed\nopened_at: '2026-01-01T00:00:00Z'\n"])
    ctx = build_context(_input(model, []))
    states = [f["state"]["word"] for f in ctx["models"][0]["findings"]]
    assert states == ["OPEN, overdue", "EXPIRED", "closed"]
    assert ctx["summary"][0]["findings_text"] == "1 open (1 high)"


def test_evidence_mismatch_and_card_fields_order():
    ctx = build_context(_input(_model(), []))
    ev = ctx["models"][0]["versions"][0]["evidence"][0]
    assert ev["files"][0]["check"]["word"] == "MISMATCH"
    keys = [f["key"] for f in ctx["models"][0]["card"]["fields"]]
    assert keys == ["id", "name", "owner", "tier", "review", "custom_key"]
    custom = ctx["models"][0]["card"]["fields"][-1]["value"]
    assert [e["key"] for e in custom["entries"]] == ["a", "b"]


class DictSource:
    """An inventory source from a dict (what Inventory reads through), for template tests."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, rel: str) -> bytes:
        return self.files[rel].encode()

    def listdir(self, rel: str) -> list[str]:
        return sorted({k[len(rel) + 1:].split("/")[0] for k in self.files if k.startswith(rel + "/")})

    def isdir(self, rel: str) -> bool:
        return any(k.startswith(rel + "/") for k in self.files)

    def isfile(self, rel: str) -> bool:
        return rel in self.files


def test_render_without_files_and_escape_everything():
    html = render_html(build_context(_input(_model(), [_r("A", "fail", "<b>bad</b>")])), environment())
    doc = parse(html)
    assert verify_digest(html)
    assert doc.find("title").text().startswith("Model audit report: Inv <&>")
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "<b>bad</b>" not in html
    assert "Model <One>" in squash(doc.by_id("model-m1").find("h2").text())
    assert external_references(html) == []
    again = render_html(build_context(_input(_model(), [_r("A", "fail", "<b>bad</b>")])), environment())
    assert again == html


def test_override_through_a_source_and_default_prefix():
    source = DictSource({"report_templates/_summary.html":
                         '<p id="mine">{{ summary | length }} model(s)</p>{% include "default:_summary.html" %}',
                         "report_templates/base.html": '{% extends "default:base.html" %}'
                                                       '{% block head %}<meta name="x" content="y">{% endblock %}'})
    html = render_html(build_context(_input(_model(), [])), environment(source))
    doc = parse(html)
    assert doc.by_id("mine").text() == "1 model(s)"
    assert doc.by_id("summary")  # the built-in, reached with default:
    assert doc.find("meta", name="x").attrs["content"] == "y"
    assert verify_digest(html)


def test_chart_text_from_records_is_escaped():
    rec = drift_record("2026-02-01T00:00:00Z", {'<script>x</script>"': 0.2})
    d = drift_section([_mon("x", rec)], anchor='a"b')
    svg = str(d["charts"][-1]["svg"])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'id="a&#34;b-chart-3-t"' in svg
    assert external_references(svg) == []


def test_ticks_escapes_first_then_marks_code():
    from mops.report.render import ticks

    out = str(ticks("run `mops <x>` & <script>`"))
    assert out == "run <code>mops &lt;x&gt;</code> &amp; &lt;script&gt;`"


def test_markdown_drops_comments_keeps_other_html_as_text():
    out = render_markdown("## A\n\n<!-- write here -->\n\n## B\n\nx <!-- y --> <b>z</b>\n\n"
                          "<!-- a --> <div>kept</div>\n")
    assert "write here" not in out and "<!--" not in out and "y -->" not in out
    assert "<h5>A</h5>\n<p class=\"muted\">(This section is empty.)</p>" in out
    assert "&lt;b&gt;z&lt;/b&gt;" in out and "&lt;div&gt;kept&lt;/div&gt;" in out


def test_a_long_run_of_empty_pieces_is_streamed_whole(tmp_path):
    """A template loop that prints nothing for thousands of items yields thousands of
    empty pieces in a row: the streamed file still holds the whole report."""
    from mops.report.render import render_to

    source = DictSource({"report_templates/_summary.html":
                         '{% for i in range(10000) %}{{ "" }}{% endfor %}'
                         '{% include "default:_summary.html" %}'})
    context = build_context(_input(_model(), []))
    html = render_html(context, environment(source))
    render_to(context, environment(source), tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html
    assert parse(html).by_id("summary")


def test_no_full_collection_while_a_report_is_made_and_the_thresholds_come_back():
    import gc

    from mops.heap import NEVER, young_collections_only

    before = gc.get_threshold()
    seen = []
    with young_collections_only():
        seen.append(gc.get_threshold())
        with young_collections_only():  # nested: as write_report around build_context
            pass
        seen.append(gc.get_threshold())
    assert seen == [(before[0], before[1], NEVER)] * 2
    assert gc.get_threshold() == before
    with pytest.raises(ZeroDivisionError), young_collections_only():
        1 / 0  # noqa: B018
    assert gc.get_threshold() == before
    build_context(_input(_model(), []))
    assert gc.get_threshold() == before
