"""`mops audit` end to end: content, escaping, determinism, as-of, overrides, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mops import __version__
from tests.conftest import Mops, git, snapshot
from tests.report.helpers import (
    History,
    add_approval,
    at,
    build_history,
    commit_files,
    external_references,
    parse,
    section,
    squash,
)


def audit(repo: Path, out: Path, *args: str, code: int = 0):
    result = Mops(repo)("audit", "--out", str(out), *args, code=code)
    return result


def render(repo: Path, out: Path, *args: str) -> str:
    result = audit(repo, out, *args)
    assert result.stdout.strip() == str(out.resolve())
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def head_html(history: History, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("out") / "report.html"
    return render(history.repo, out)


# ----------------------------------------------------------------------------- content


def test_cover_names_commit_as_of_version_packs_and_digest(history: History, head_html: str):
    doc = parse(head_html)
    assert doc.find("html").attrs["lang"] == "en"
    cover = squash(doc.find("section", class_="cover").text())
    head = history.commits["waiver"]
    assert head in cover  # the full SHA
    assert "Acme test inventory" in cover
    assert "committed 2026-05-20T09:00:00Z" in cover
    assert f"mops {__version__}" in cover
    assert "baseline" in cover  # the pack `mops init` sets
    assert doc.by_id("report-digest").text() != "0" * 64


def test_report_digest_is_sha256_of_the_file_with_zeros_in_its_place(head_html: str):
    digest = parse(head_html).by_id("report-digest").text()
    blank = head_html.replace(f'id="report-digest">{digest}<', f'id="report-digest">{"0" * 64}<')
    assert hashlib.sha256(blank.encode("utf-8")).hexdigest() == digest
    from mops.report import verify_digest

    assert verify_digest(head_html)
    assert not verify_digest(head_html.replace("Acme test inventory", "Acme test inventorY", 1))


def test_summary_lists_every_model_with_stage_tier_owner_compliance(head_html: str):
    table = parse(head_html).by_id("summary").find("table")
    rows = table.rows()
    assert rows[0] == ["Model", "Version", "Stage", "Tier", "Owner", "Compliance",
                       "Open findings", "Next review due", "Next stage"]
    body = {r[0].split()[0]: r for r in rows[1:]}
    assert sorted(body) == ["credit-pd", "fraud-detect"]
    credit = body["credit-pd"]
    assert credit[1:5] == ["1.0.0", "development", "1", "alice@acme.test"]
    assert credit[6] == "1 open (1 high)"
    assert body["fraud-detect"][3] == "2"
    assert body["fraud-detect"][6] == "none"
    for row in body.values():  # compliance in words
        assert any(w in row[5] for w in ("compliant", "COMPLIANT", "no rules apply"))


def test_summary_has_a_row_for_every_version_not_retired(tmp_path, monkeypatch):
    """A failing production version is never hidden behind a compliant newer version."""
    from mops.inventory.store import Inventory
    from mops.report import render_report
    from tests.conftest import Mops, git, write_card

    repo = tmp_path / "inv"
    m = Mops(tmp_path)
    m("init", str(repo))
    m = Mops(repo)
    write_card(tmp_path / "card.md")
    m("register", "credit-pd", "--version", "1", "--card", str(tmp_path / "card.md"))
    m("register", "credit-pd", "--version", "2")
    m("register", "credit-pd", "--version", "3")
    m("promote", "credit-pd@1", "--to", "production", code=1)  # refused: no sign-off
    # force the stage by hand, as a careless edit would: the report must show it failing
    v1 = repo / "models/credit-pd/versions/1/version.yaml"
    v1.write_text(v1.read_text().replace("stage: development", "stage: production", 1))
    m("retire", "credit-pd@2", "--reason", "superseded", code=None)
    git(repo, "commit", "-qam", "hand edit")
    html = render_report(Inventory.open(repo)).html
    rows = parse(html).by_id("summary").find("table").rows()[1:]
    by_version = {r[1]: r for r in rows}
    assert sorted(by_version) == ["1", "3"]  # 2 is retired
    assert by_version["1"][2] == "production" and "NOT COMPLIANT" in by_version["1"][5]


def test_model_section_shows_card_versions_evidence_signoffs(head_html: str):
    doc = parse(head_html)
    credit = section(doc, "credit-pd")
    text = squash(credit.text())
    assert "Probability of default for retail credit decisions." in text  # front matter
    body = credit.find("div", class_="markdown")  # headings shifted under the model's <h3>
    assert body.find("h4").text() == "Retail credit PD scorecard"
    assert body.find("h5").text() == "Intended use"
    assert "s3://models/credit-pd/1.0.0.pkl" in text and "ab" * 32 in text  # artifact digest
    assert "auc = 0.81" in text
    evidence = credit.by_id("model-credit-pd-v-1.0.0")
    ev_text = squash(evidence.text())
    assert "validation-report" in ev_text and "Independent validation 2026" in ev_text
    assert hashlib.sha256(b"%PDF validation report").hexdigest() in ev_text
    assert "verified" in ev_text
    signoffs = [t for t in evidence.find_all("table") if "Sign-offs of" in t.find("caption").text()]
    rows = signoffs[0].rows()
    assert rows[1][0] == "validator"
    assert rows[1][1] == "approved" and rows[1][2] == "carol@acme.test"
    assert rows[1][3] == "2026-03-01T12:00:00Z"
    assert rows[1][4] == "Fit for use within the stated limits"
    assert rows[1][5].startswith("sha256:")
    assert rows[1][6].startswith("valid")
    assert "not signed" in rows[1][7]


def test_signoff_names_the_commit_that_added_its_file(history: History, head_html: str):
    folder = history.repo / "models/credit-pd/versions/1.0.0/approvals"
    files = sorted(folder.glob("*.yaml"))
    assert files
    table = next(t for t in section(parse(head_html), "credit-pd").by_id("model-credit-pd-v-1.0.0")
                 .find_all("table") if "Sign-offs of" in t.find("caption").text())
    for path, row in zip(files, table.rows()[1:], strict=True):
        rel = path.relative_to(history.repo).as_posix()
        added = git(history.repo, "log", "--diff-filter=A", "--format=%H", "--", rel).split()
        assert len(added) == 1 and added[0] in row[7]


def test_policy_results_carry_citations(head_html: str):
    credit = section(parse(head_html), "credit-pd")
    tables = [t for t in credit.find_all("table") if "The rules that apply" in t.text()]
    assert tables, "no policy results table"
    rows = tables[0].rows()[1:]
    assert rows and all(r[4] for r in rows)  # every result cites something
    assert {r[2] for r in rows} <= {"PASS", "FAIL", "WAIVED", "N/A"}


def test_findings_and_waivers_with_expiry(head_html: str):
    credit = section(parse(head_html), "credit-pd")
    table = credit.find("section", class_="findings").find("table")
    rows = {r[0]: r for r in table.rows()[1:]}
    assert rows["f-001"][1] == "finding" and rows["f-001"][3] == "high"
    assert "Thin-file applicants under-predicted" in rows["f-001"][4]
    assert rows["f-001"][7] == "2026-05-31" and rows["f-001"][9].startswith("open")
    waiver = rows["x-001"]
    assert waiver[1] == "waiver (policy exception)" and waiver[5] == "BASE-REVIEW"
    assert waiver[8] == "2026-09-30" and waiver[9] == "in force until 2026-09-30"
    assert "Validator capacity" in waiver[4] and "Monthly monitoring" in waiver[4]


def test_drift_history_charts_and_latest_table(head_html: str):
    version = parse(head_html).by_id("model-credit-pd-v-1.0.0")
    figures = version.find_all("figure")
    titles = [squash(f.find("figcaption").text()) for f in figures]
    assert [t.split(":")[0] for t in titles] == ["Share of drifted columns",
                                                 "Largest PSI of any column", "Column income",
                                                 "Column utilisation"]
    psi = figures[1].find("svg")
    assert len(psi.find_all("rect", class_="marker flagged")) == 1  # April: 0.32 >= 0.25
    assert "threshold 0.25" in squash(psi.text())
    util = figures[3]
    svg = util.find("svg")
    assert svg.attrs["role"] == "img" and svg.find("title").text() == "Column utilisation: wasserstein"
    assert len(svg.find_all("circle")) + len(svg.find_all("rect", class_="marker flagged")) == 3
    assert len(svg.find_all("rect", class_="marker flagged")) == 1  # April drifted
    assert svg.find("polyline", class_="threshold")
    assert "threshold 0.1" in squash(svg.text())
    assert "3 value(s) from 2026-03-15 to 2026-05-15; latest 0.07; 1 flagged" in titles[3]
    latest = [t for t in version.find_all("table") if "Latest check" in t.find("caption").text()][0]
    assert "2026-05-15T06:00:00Z" in latest.find("caption").text()
    rows = {r[0]: r for r in latest.rows()[1:]}
    assert rows["utilisation"][1:6] == ["numeric", "wasserstein", "0.07", "0.1", "0.14"]
    assert rows["utilisation"][6] == "no drift"


def test_audit_trail_lists_commits_with_actors(history: History, head_html: str):
    credit = section(parse(head_html), "credit-pd")
    rows = credit.find("section", class_="trail").find("table").rows()[1:]
    commits = [r[4] for r in rows]
    expected = git(history.repo, "log", "--format=%H", "--", "models/credit-pd").split()
    assert commits == expected
    approval = rows[commits.index(history.commits["approval"])]
    assert approval[1] == "carol@acme.test" and approval[2].startswith("approve")
    settings = parse(head_html).by_id("inventory-trail").find("table").rows()[1:]
    assert [r[3] for r in settings] == [history.commits["roles"],
                                        git(history.repo, "rev-list", "--max-parents=0",
                                            "HEAD").strip()]
    assert settings[0][2].startswith("edit (not by mops)")


def test_tables_are_accessible(head_html: str):
    doc = parse(head_html)
    for table in doc.find_all("table"):
        assert table.find_all("caption"), "a table without a caption"
        for th in table.find_all("th"):
            assert th.attrs.get("scope") in ("col", "row"), squash(th.text())
    for svg in doc.find_all("svg"):
        assert svg.find_all("title") and svg.attrs.get("aria-labelledby")


def test_report_is_self_contained(head_html: str):
    assert external_references(head_html) == []
    assert "<script" not in head_html.lower()


def test_selected_models_only(history: History, tmp_path: Path):
    doc = parse(render(history.repo, tmp_path / "one.html", "fraud-detect"))
    assert doc.find_all("section", id="model-fraud-detect")
    assert not doc.find_all("section", id="model-credit-pd")
    assert "selected models: fraud-detect" in squash(doc.find("section", class_="cover").text())


# ----------------------------------------------------------------------------- determinism


def test_same_commit_renders_the_same_bytes(history: History, tmp_path: Path, head_html: str):
    again = tmp_path / "elsewhere" / "again.html"
    render(history.repo, again)
    assert again.read_bytes() == head_html.encode("utf-8")
    (tmp_path / "sub").mkdir()
    r = Mops(tmp_path / "sub")("-C", str(history.repo), "audit", "--out",
                               str(tmp_path / "third.html"))
    assert r.exit_code == 0
    assert (tmp_path / "third.html").read_bytes() == again.read_bytes()


def test_as_of_rev_equal_to_head_differs_only_in_the_as_of_line(history: History, tmp_path: Path,
                                                                 head_html: str):
    by_rev = render(history.repo, tmp_path / "rev.html", "--as-of", history.commits["waiver"])
    a = [ln for ln in head_html.splitlines() if "report-digest" not in ln]
    b = [ln for ln in by_rev.splitlines() if "report-digest" not in ln]
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    assert len(diff) == 1 and "revision" in diff[0][1]


# ----------------------------------------------------------------------------- as of


def test_as_of_date_before_the_signoff(history: History, tmp_path: Path):
    before = snapshot(history.repo)
    html = render(history.repo, tmp_path / "feb.html", "--as-of", "2026-02-15")
    assert snapshot(history.repo) == before
    doc = parse(html)
    cover = squash(doc.find("section", class_="cover").text())
    assert history.commits["evidence"] in cover and "2026-02-15 (end of day, UTC)" in cover
    credit = section(doc, "credit-pd")
    assert "Independent validation 2026" in credit.text()  # evidence existed
    assert "No sign-offs are recorded for this version." in squash(credit.text())
    assert "carol@acme.test" not in credit.by_id("model-credit-pd-v-1.0.0").text()
    assert not doc.find_all("section", id="model-fraud-detect")  # registered in April
    assert "No monitoring results" in credit.text()
    assert "No findings or waivers are recorded." in squash(credit.text())


def test_as_of_rev_after_the_signoff(history: History, tmp_path: Path):
    doc = parse(render(history.repo, tmp_path / "mar.html", "--as-of", history.commits["approval"]))
    credit = section(doc, "credit-pd")
    assert "carol@acme.test" in credit.by_id("model-credit-pd-v-1.0.0").text()
    assert not doc.find_all("section", id="model-fraud-detect")
    assert f"revision {history.commits['approval']}" in squash(doc.find("section", class_="cover").text())


def test_as_of_the_day_a_model_was_registered(history: History, tmp_path: Path):
    doc = parse(render(history.repo, tmp_path / "apr.html", "--as-of", "2026-04-01"))
    assert doc.find_all("section", id="model-fraud-detect")
    figures = section(doc, "credit-pd").find_all("figure")
    assert "1 value(s)" in squash(figures[-1].find("figcaption").text())  # March only
    doc = parse(render(history.repo, tmp_path / "apr20.html", "--as-of", "2026-04-20"))
    figures = section(doc, "credit-pd").find_all("figure")
    assert "2 value(s)" in squash(figures[-1].find("figcaption").text())  # March and April


def test_as_of_reads_history_not_the_working_tree(history: History, tmp_path: Path):
    card = history.repo / "models/credit-pd/card.md"
    original = card.read_text()
    card.write_text(original.replace("Retail credit decisions.", "UNCOMMITTED EDIT"))
    try:
        before = snapshot(history.repo)
        html = render(history.repo, tmp_path / "r.html", "--as-of", "2026-03-02")
        assert snapshot(history.repo) == before
        assert "UNCOMMITTED EDIT" not in html
        result = audit(history.repo, tmp_path / "head.html")
        assert "uncommitted change" in result.stderr
        assert "UNCOMMITTED EDIT" not in (tmp_path / "head.html").read_text()
        assert snapshot(history.repo) == before
    finally:
        card.write_text(original)


def test_as_of_errors(history: History, tmp_path: Path):
    r = audit(history.repo, tmp_path / "x.html", "--as-of", "2025-12-31", code=2)
    assert "did not exist yet" in r.stderr
    r = audit(history.repo, tmp_path / "x.html", "--as-of", "no-such-rev", code=2)
    assert "--as-of 'no-such-rev'" in r.stderr and "YYYY-MM-DD" in r.stderr
    r = audit(history.repo, tmp_path / "x.html", "--as-of", "2026-02-30", code=2)
    assert "not a valid date" in r.stderr
    r = audit(history.repo, tmp_path / "x.html", "fraud-detect", "--as-of", "2026-02-15", code=2)
    assert "unknown model 'fraud-detect' at commit" in r.stderr
    assert not (tmp_path / "x.html").exists()


# ----------------------------------------------------------------------------- changes over time


def test_signoff_goes_stale_when_the_card_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = build_history(tmp_path, monkeypatch)
    at(monkeypatch, "2026-06-01T09:00:00Z")
    card = h.repo / "models/credit-pd/card.md"
    commit_files(h.repo, {"models/credit-pd/card.md": card.read_text() + "\nMore text.\n"},
                 "edit card by hand")
    doc = parse(render(h.repo, tmp_path / "r.html"))
    version = doc.by_id("model-credit-pd-v-1.0.0")
    text = squash(version.text())
    assert "STALE changed since: the model card" in text
    rows = section(doc, "credit-pd").find("section", class_="trail").find("table").rows()
    assert rows[1][2].startswith("edit (not by mops)")
    # ...and as of before the edit it was valid:
    old = parse(render(h.repo, tmp_path / "old.html", "--as-of", "2026-05-31"))
    assert "STALE" not in old.by_id("model-credit-pd-v-1.0.0").text()


def test_escaping_of_card_text_and_titles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    h = build_history(tmp_path, monkeypatch)
    at(monkeypatch, "2026-06-01T09:00:00Z")
    card = h.repo / "models/credit-pd/card.md"
    text = card.read_text().replace("name: Retail credit PD scorecard",
                                    "name: 'Evil <script>alert(1)</script> name'")
    text += f"\n## Caveats {evil}\n\n{evil}\n\n[click](javascript:alert(1)) ![x](http://example.test/x.png)\n"
    commit_files(h.repo, {"models/credit-pd/card.md": text}, "evil card")
    commit_files(h.repo, {"models/credit-pd/findings/f-002.yaml":
                          "id: f-002\nkind: finding\nseverity: low\n"
                          f"title: '{evil}'\nstatus: open\nopened_by: x@acme.test\n"
                          "opened_at: '2026-06-01T09:00:00Z'\n"}, "evil finding")
    html = render(h.repo, tmp_path / "r.html")
    doc = parse(html)
    assert doc.find_all("script") == []
    assert all("onerror" not in n.attrs for n in doc.iter())
    assert [a.attrs for a in section(doc, "credit-pd").find_all("a")] == []  # no javascript: link
    assert external_references(html) == []
    body = squash(section(doc, "credit-pd").find("div", class_="markdown").text())
    assert '<script>alert("x")</script><img src=x onerror=alert(1)>' in body  # shown as text
    assert "[image not embedded: x (http://example.test/x.png)]" in body
    assert "Evil <script>alert(1)</script> name" in doc.find("title").text() or \
        "Evil <script>alert(1)</script> name" in squash(section(doc, "credit-pd").find("h2").text())
    assert evil in squash(section(doc, "credit-pd").find("section", class_="findings").text())


# ----------------------------------------------------------------------------- templates


def test_inventory_template_override_reaches_the_builtin(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    h = build_history(tmp_path, monkeypatch)
    at(monkeypatch, "2026-06-01T09:00:00Z")
    override = commit_files(h.repo, {
        "report_templates/inventory.html":
            '{% extends "default:inventory.html" %}\n'
            '{% block title %}ACME CONFIDENTIAL: {{ super() }}{% endblock %}\n',
        "report_templates/_footer.html":
            '<p class="acme">Acme internal · {{ report.commit }}</p>\n'
            '{% include "default:_footer.html" %}\n',
    }, "report templates")
    doc = parse(render(h.repo, tmp_path / "r.html"))
    assert doc.find("title").text().startswith("ACME CONFIDENTIAL: Model audit report")
    assert doc.find("p", class_="acme").text() == f"Acme internal · {override}"
    assert "mops" in doc.find("footer").text()  # the built-in footer, included
    assert doc.by_id("summary")  # the rest of the built-in page
    # As of before the override, the built-ins alone:
    old = parse(render(h.repo, tmp_path / "old.html", "--as-of", "2026-05-31"))
    assert not old.find("title").text().startswith("ACME")
    # An uncommitted override is not used either:
    (h.repo / "report_templates/_summary.html").write_text("<p>UNCOMMITTED</p>")
    assert "UNCOMMITTED" not in render(h.repo, tmp_path / "r2.html")


def test_template_errors_are_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    h = build_history(tmp_path, monkeypatch)
    commit_files(h.repo, {"report_templates/_footer.html": "{{ no_such_field }}\n"}, "broken")
    r = audit(h.repo, tmp_path / "r.html", code=2)
    assert "report_templates/_footer.html:1" in r.stderr and "no_such_field" in r.stderr
    commit_files(h.repo, {"report_templates/_footer.html":
                          "{{ report.__class__.__mro__[1].__subclasses__() }}\n"}, "sneaky")
    r = audit(h.repo, tmp_path / "r.html", code=2)
    assert "report template error" in r.stderr
    assert not (tmp_path / "r.html").exists()


# ----------------------------------------------------------------------------- output files


def test_default_out_is_in_the_current_directory(history: History, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    import os

    old = os.getcwd()
    os.chdir(work)
    try:
        from typer.testing import CliRunner

        from mops.main import app

        r = CliRunner().invoke(app, ["-C", str(history.repo), "audit", "--as-of", "2026-02-15"])
    finally:
        os.chdir(old)
    # -C changes directory like git -C: the default file lands in the inventory's folder.
    written = history.repo / "mops-audit.html"
    try:
        assert r.exit_code == 0, r.stderr
        assert r.stdout.strip() == str(written)
        assert written.read_text().startswith("<!DOCTYPE html>")
    finally:
        written.unlink(missing_ok=True)


def test_pdf_without_chromium_is_a_clear_usage_error(history: History, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_CHROMIUM", str(tmp_path / "no-such-chromium"))
    r = audit(history.repo, tmp_path / "r.html", "--pdf", str(tmp_path / "r.pdf"), code=2)
    assert "--pdf needs Chromium, which is not installed" in r.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_unknown_model(history: History, tmp_path: Path):
    r = audit(history.repo, tmp_path / "r.html", "nope", code=2)
    assert "unknown model 'nope'" in r.stderr


def test_signoff_by_a_second_role_is_added_to_the_chain(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    h = build_history(tmp_path, monkeypatch)
    at(monkeypatch, "2026-06-02T09:00:00Z")
    add_approval(h.repo, "credit-pd", "1.0.0", "ap-dana", "risk-officer", "dana@acme.test",
                 "2026-06-02T09:00:00Z", decision="reject", comment="Wait for the finding")
    doc = parse(render(h.repo, tmp_path / "r.html"))
    table = [t for t in doc.by_id("model-credit-pd-v-1.0.0").find_all("table")
             if "Sign-offs of" in t.find("caption").text()][0]
    rows = table.rows()[1:]
    assert [(r[0], r[1]) for r in rows] == [("validator", "approved"), ("risk-officer", "REJECTED")]


def test_as_of_date_counts_what_expired_by_that_day(history: History, tmp_path: Path):
    """No commit after 20 May, yet as of 1 October the waiver has expired and the finding
    is overdue: a date report evaluates at the end of that day, not at the commit's time."""
    late = parse(render(history.repo, tmp_path / "oct.html", "--as-of", "2026-10-01"))
    facts = dict(late.find("table", class_="facts").rows())
    assert facts["Rendered from commit"] == history.commits["waiver"]
    assert facts["Policies evaluated at"].startswith("2026-10-01T23:59:59Z (the end of the day")
    assert late.find("p", class_="asof").text() == "As of 2026-10-01"
    rows = {r[0]: r for r in section(late, "credit-pd").find("section", class_="findings")
            .find("table").rows()[1:]}
    assert rows["x-001"][9].startswith("EXPIRED")
    assert rows["f-001"][9].startswith("OPEN, overdue")
    head = parse(render(history.repo, tmp_path / "head.html", "--as-of", "HEAD"))
    facts = dict(head.find("table", class_="facts").rows())
    assert facts["Policies evaluated at"].startswith("2026-05-20T09:00:00Z (the commit's time")
    rows = {r[0]: r for r in section(head, "credit-pd").find("section", class_="findings")
            .find("table").rows()[1:]}
    assert rows["x-001"][9].startswith("in force") and rows["f-001"][9].startswith("open")
