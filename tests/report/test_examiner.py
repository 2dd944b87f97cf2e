"""What an examiner reads first: exceptions, readiness, verify's verdict, and the fixes of
issue 15 (each checked by parsing the report's HTML)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import Mops, git
from tests.report.helpers import (
    History,
    add_approval,
    add_evidence,
    add_monitoring,
    at,
    build_history,
    commit_files,
    drift_record,
    isolated_git_env,
    parse,
    section,
    squash,
)

NEW_CARD = """---
id: churn
name: Churn propensity
owner: grace@acme.test
developers: [bob@acme.test]
tier: 3
intended_use: Retention offers.
limitations: []
inputs: [balance]
outputs: A probability
data_sources: [warehouse]
---
# Churn propensity

## Limitations

<!-- Sections after Mitchell et al. (2019): write the limitations here -->

## Evaluation
AUC <!-- fill in --> 0.7
"""


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The report tests' history, then: credit-pd 1.1.0 signed off in validation and made
    stale by later evidence; churn registered from a card template and retired."""
    with isolated_git_env(tmp_path_factory) as mp:
        tmp = tmp_path_factory.mktemp("story")
        h = build_history(tmp, mp)
        repo, mops = h.repo, Mops(h.repo)
        at(mp, "2026-05-21T09:00:00Z")
        mops("register", "credit-pd", "--version", "1.1.0", "--artifact",
             "s3://models/credit-pd/1.1.0.pkl", "--sha256", "cd" * 32)
        add_evidence(repo, "credit-pd", "1.1.0", "ev-val2", "validation-report",
                     "2026-05-21T09:00:00Z", {"report.pdf": b"%PDF v2"})
        at(mp, "2026-05-22T09:00:00Z")
        add_approval(repo, "credit-pd", "1.1.0", "ap-carol2", "validator", "carol@acme.test",
                     "2026-05-22T09:00:00Z")
        at(mp, "2026-05-23T09:00:00Z")
        mops("promote", "credit-pd@1.1.0", "--to", "validation")
        at(mp, "2026-05-24T09:00:00Z")  # evidence after the sign-off: it is stale now
        add_evidence(repo, "credit-pd", "1.1.0", "ev-bench", "benchmarking",
                     "2026-05-24T09:00:00Z", {"bench.csv": b"a,b\n1,2\n"})
        at(mp, "2026-05-25T09:00:00Z")
        rec = drift_record("2026-05-25T09:00:00Z", {"income": 0.01, "utilisation": 0.02})
        rec["result"]["rows"] = {"reference": 1250000, "current": 987654}
        add_monitoring(repo, "credit-pd", "1.0.0", "m-big", rec)
        (tmp / "churn.md").write_text(NEW_CARD)
        mops("register", "churn", "--version", "0.1", "--card", str(tmp / "churn.md"))
        mops("register", "churn", "--version", "0.2")
        at(mp, "2026-05-26T09:00:00Z")
        mops("retire", "churn", "--reason", "never used")
        h.commits["head"] = git(repo, "rev-parse", "HEAD").strip()
        return h


@pytest.fixture(scope="module")
def html(story: History, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("out") / "r.html"
    Mops(story.repo)("audit", "--out", str(out))
    return out.read_text()


def hrefs_resolve(doc) -> None:
    ids = {n.attrs["id"] for n in doc.iter() if n.attrs.get("id")}
    for a in doc.find_all("a"):
        href = a.attrs.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, href


def group(doc, key: str) -> list[tuple[str, str]]:
    """(link text, href) of each item of one row of the exceptions table."""
    row = doc.by_id(f"exceptions-{key}")
    return [(squash(li.find("a").text()), li.find("a").attrs["href"]) for li in row.find_all("li")]


def test_exceptions_come_first_and_link_to_their_detail(html: str):
    doc = parse(html)
    main = doc.find("main")
    first = next(c for c in main.children if not isinstance(c, str))
    assert first.attrs.get("id") == "exceptions"
    hrefs_resolve(doc)
    kinds = {r[0]: r[1] for r in doc.find("table", class_="exceptions").rows()[1:]}
    assert len(kinds) == 7 and kinds["Reviews overdue"] == "none"
    stale = group(doc, "signoffs")
    assert stale == [("credit-pd 1.1.0 (validation): validator sign-off by carol@acme.test",
                      "#model-credit-pd-v-1.1.0-signoff-ap-carol2")]
    assert doc.by_id("model-credit-pd-v-1.1.0-signoff-ap-carol2").find("td") is not None
    assert ("credit-pd f-001 (1.0.0)", "#model-credit-pd-finding-f-001") in group(doc, "findings")
    assert [t for t, _ in group(doc, "waivers")] == ["credit-pd x-001"]
    assert group(doc, "reviews") == []
    assert "none" in squash(doc.by_id("exceptions").text())


def test_a_breach_and_a_failing_version_are_listed(story: History, tmp_path: Path):
    """The twin of the empty groups: a breach in the latest check, a failing version."""
    out = tmp_path / "r.html"
    Mops(story.repo)("audit", "--out", str(out), "--as-of", "2026-04-20")
    doc = parse(out.read_text())
    assert group(doc, "drift") == [("credit-pd 1.0.0 (development), check of 2026-04-15T06:00:00Z",
                                    "#model-credit-pd-v-1.0.0-drift")]
    hrefs_resolve(doc)


def test_readiness_beside_compliance(html: str):
    doc = parse(html)
    rows = {(r[0].split()[0], r[1]): r for r in doc.by_id("summary").find("table").rows()[1:]}
    v11 = rows[("credit-pd", "1.1.0")]
    assert v11[2] == "validation"
    assert v11[8].startswith("not ready for production")
    version = doc.by_id("model-credit-pd-v-1.1.0-readiness")
    assert "stale" in squash(version.text())
    # the high finding belongs to 1.0.0: counted there, not on 1.1.0
    assert v11[6] == "none" and rows[("credit-pd", "1.0.0")][6] == "1 open (1 high)"


def cover_facts(out: Path) -> dict[str, str]:
    return dict(parse(out.read_text()).find("section", class_="cover").find("table").rows())


def test_verify_result_on_the_cover_and_its_forging_twin(tmp_path: Path):
    """An inventory made by mops alone verifies; an evidence file replaced by hand in a
    later commit makes the cover say FAILED and the exceptions name the file."""
    from tests.conftest import write_card

    m = Mops(tmp_path)
    m("init", str(tmp_path / "inv"))
    repo = tmp_path / "inv"
    m = Mops(repo)
    m("register", "credit-pd", "--version", "1", "--card", str(write_card(tmp_path / "c.md")))
    (tmp_path / "val.pdf").write_bytes(b"%PDF validation")
    m("evidence", "add", "credit-pd@1", str(tmp_path / "val.pdf"), "--kind", "validation-report")
    m("audit", "--out", str(tmp_path / "ok.html"))
    facts = cover_facts(tmp_path / "ok.html")
    assert facts["mops verify at this commit"].startswith("passed"), facts
    assert "baseline version" in facts["Policy packs in force"]

    # a plain `mops verify` leaves a checkpoint; the report still replays everything
    m("verify")
    m("audit", "--out", str(tmp_path / "again.html"))
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "ok.html").read_bytes()

    evidence = next((repo / "models/credit-pd/versions/1/evidence").rglob("val.pdf"))
    path = evidence.relative_to(repo).as_posix()
    commit_files(repo, {path: b"%PDF a different report"}, "swap the report")
    m("audit", "--out", str(tmp_path / "bad.html"))
    facts = cover_facts(tmp_path / "bad.html")
    assert facts["mops verify at this commit"].startswith("FAILED"), facts
    assert path in [t for t, _ in group(parse((tmp_path / "bad.html").read_text()), "verify")]


def test_rule_tables_lead_with_failures_and_fold_na(html: str):
    v10 = parse(html).by_id("model-credit-pd-v-1.0.0")
    policy = [t for t in v10.find_all("table") if "The rules that apply" in t.text()][0]
    words = [r[2] for r in policy.rows()[1:]]
    order = {"FAIL": 0, "WAIVED": 1, "PASS": 2}
    assert words == sorted(words, key=order.__getitem__) and "N/A" not in words
    folded = v10.find("details", class_="na")
    assert {r[2] for r in folded.find("table").rows()[1:]} == {"N/A"}


def test_card_placeholders_empty_lists_and_empty_sections(html: str):
    churn = section(parse(html), "churn")
    text = squash(churn.find("div", class_="markdown").text())
    assert "<!--" not in text and "Mitchell" not in text and "fill in" not in text
    assert "AUC 0.7" in text
    fields = dict(churn.find("table", class_="fields").rows())
    assert fields["Limitations"] == "not documented (an empty list)"
    assert "(This section is empty.)" in text  # the Limitations heading has nothing under it


def test_no_python_reprs_backticks_and_counts_with_separators(html: str):
    doc = parse(html)
    text = squash(doc.find("main").text())
    assert "['" not in text and "`" not in text
    assert doc.find_all("code") and any(c.text().startswith("mops ") for c in doc.find_all("code"))
    latest = [t for t in doc.by_id("model-credit-pd-v-1.0.0").find_all("table")
              if "Latest check" in t.text()][0]
    caption = squash(latest.find("caption").text())
    assert "rows reference 1,250,000, current 987,654" in caption


def test_retire_commit_names_its_versions(html: str):
    trail = section(parse(html), "churn").find("section", class_="trail").find("table")
    retire = [r for r in trail.rows()[1:] if r[2].startswith("retire")]
    assert retire and retire[0][3] == "0.1, 0.2"


def test_drift_charts_label_each_check_date(html: str):
    chart = parse(html).by_id("model-credit-pd-v-1.0.0").find("svg")
    labels = [t.text() for t in chart.find_all("text") if t.text().startswith("2026-")]
    # a label per check (05-15 and 05-25 are close: on two rows)
    assert labels == ["2026-03-15", "2026-04-15", "2026-05-15", "2026-05-25"]


def test_chart_labels_every_check_until_both_rows_are_full():
    import datetime as dt

    from mops.report.charts import Point, line_chart

    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    weekly = [Point(day + dt.timedelta(days=7 * i), 0.1) for i in range(6)]
    labels = [t["label"] for t in line_chart(weekly, title="t", y_label="v")["xticks"]]
    assert labels == [p.at.date().isoformat() for p in weekly]
    daily = [Point(day + dt.timedelta(days=i), 0.1) for i in range(60)]
    ticks = line_chart(daily, title="t", y_label="v")["xticks"]
    assert 8 <= len(ticks) < 60 and ticks[0]["label"] == "2026-01-01" \
        and ticks[-1]["label"] == "2026-03-01"
    for row in (16, 28):  # no two labels on a row closer than a label's width
        xs = [float(t["x"]) for t in ticks if t["dy"] == row]
        assert all(b - a >= 72 for a, b in zip(xs, xs[1:], strict=False))


def test_regions_have_unique_names(html: str):
    doc = parse(html)
    names = [n.attrs["aria-labelledby"] for n in doc.find_all("section") if "aria-labelledby" in n.attrs]
    assert len(names) == len(set(names))


def test_printed_contents_and_header_rows_kept_with_their_table(html: str):
    doc = parse(html)
    toc = doc.find("nav", class_="contents")
    links = [a.attrs["href"] for a in toc.find_all("a")]
    assert "#exceptions" in links and "#model-credit-pd-v-1.1.0" in links
    css = doc.find("style").text()
    printed = css[css.index("@media print"):]
    assert "nav.contents { display: none" not in printed
    assert "thead, thead tr { break-after: avoid" in printed


def test_csv_link_is_mops_list_format_csv(story: History, html: str):
    doc = parse(html)
    link = [a for a in doc.by_id("summary").find_all("a") if a.attrs.get("download")][0]
    href = link.attrs["href"]
    assert href.startswith("data:text/csv;charset=utf-8,")
    embedded = unquote(href.split(",", 1)[1])
    listed = Mops(story.repo)("list", "--format", "csv").stdout
    assert embedded.splitlines() == listed.splitlines()
    rows = list(csv.DictReader(io.StringIO(listed)))
    by = {(r["model"], r["version"]): r for r in rows}
    assert by[("credit-pd", "1.0.0")]["compliance"] in ("NOT COMPLIANT", "compliant",
                                                        "compliant with waivers")
    assert by[("churn", "0.2")]["stage"] == "retired"


def test_list_csv_words_and_formula_cells(tmp_path: Path):
    from mops.report.table import csv_text

    text = csv_text([{"model": "m", "version": "1", "stage": "production", "tier": 1,
                      "owner": "=HYPERLINK(\"x\")", "compliance": "compliant with waivers",
                      "failing_rules": [], "waived_rules": ["A", "B"]}])
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[4].startswith("'=") and row[5] == "compliant with waivers" and row[7] == "A B"
