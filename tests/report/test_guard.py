"""Report templates cannot lie about what the report is (issue 12, item 8).

An inventory's committed ``report_templates/`` can change anything a report says, but
the rendered report must still run and fetch nothing (mops's content-security policy,
exactly, first in ``<head>``; no script, no handler, no script address), and it says at
its top which templates were overridden, with their digests. Every report here is
parsed as HTML; each forging override is refused with nothing written.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from mops.report import guard
from mops.resources import templates_dir
from tests.conftest import Mops, snapshot
from tests.report.helpers import at, build_history, commit_files, external_references, parse

CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{guard.CSP}">'

#: An honest override: the built-in page with an extra line, and a title of its own.
HONEST = {"report_templates/inventory.html":
          '{% extends "default:inventory.html" %}\n'
          '{% block title %}ACME: {{ super() }}{% endblock %}\n'}

FORGERIES = {
    # base.html without the content-security policy: everything else as the built-in
    "no-csp": {"report_templates/base.html": "<built-in base.html without its policy>"},
    # a weaker policy in its place
    "weak-csp": {"report_templates/base.html": "<built-in base.html, weaker policy>"},
    # a script, and a claim of an approval that does not exist
    "script": {"report_templates/inventory.html":
               '{% extends "default:inventory.html" %}\n'
               '{% block content %}<p>credit-pd 1.0.0: APPROVED</p>'
               '<script>document.title = "approved"</script>{{ super() }}{% endblock %}\n'},
    "script-in-svg": {"report_templates/_footer.html":
                      '<svg><script href="data:,x"></script></svg>{% include "default:_footer.html" %}\n'},
    "onerror": {"report_templates/_footer.html":
                '<img src="data:image/gif;base64,R0lGOD" onerror="alert(1)">\n'
                '{% include "default:_footer.html" %}\n'},
    "onerror-no-space": {"report_templates/_footer.html":
                         '<img src="data:,x"ONERROR=alert(1)>{% include "default:_footer.html" %}\n'},
    "javascript-link": {"report_templates/_footer.html":
                        '<a href=" jav&#x61;script:alert(1)">details</a>\n'
                        '{% include "default:_footer.html" %}\n'},
    "refresh": {"report_templates/inventory.html":
                '{% extends "default:inventory.html" %}\n'
                '{% block head %}<meta http-equiv="refresh" content="0;url=https://evil.test/">'
                '{% endblock %}\n'},
    "iframe": {"report_templates/_footer.html":
               '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>\n'},
}


def _builtin_base() -> str:
    text = (templates_dir() / "base.html").read_text()
    assert CSP_META in text  # what mops writes is what the guard demands
    return text


def _template(text: str) -> str:
    if text == "<built-in base.html without its policy>":
        return _builtin_base().replace(CSP_META, "")
    if text == "<built-in base.html, weaker policy>":
        return _builtin_base().replace(CSP_META, '<meta http-equiv="Content-Security-Policy" '
                                                 'content="default-src *">')
    return text


def audit(repo: Path, out: Path, code: int = 0):
    return Mops(repo)("audit", "--out", str(out), code=code)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = build_history(tmp_path, monkeypatch)
    at(monkeypatch, "2026-06-01T09:00:00Z")
    return h.repo


def test_the_builtin_report_opens_with_the_policy_and_names_no_overrides(repo: Path,
                                                                         tmp_path: Path):
    html = (audit(repo, tmp_path / "r.html"), (tmp_path / "r.html").read_text())[1]
    assert guard.check(html) == ([], html.index("<body>") + len("<body>"))
    doc = parse(html)
    head = [n for n in doc.find("head").children if not isinstance(n, str)]
    assert [n.tag for n in head[:2]] == ["meta", "meta"]
    assert head[1].attrs == {"http-equiv": "Content-Security-Policy", "content": guard.CSP}
    assert not doc.find_all(None, id=guard.NOTICE_ID)


def test_an_honest_override_renders_and_is_named_with_its_digest(repo: Path, tmp_path: Path):
    commit_files(repo, HONEST, "our title")
    audit(repo, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    doc = parse(html)
    assert doc.find("title").text().startswith("ACME: ")
    body = [n for n in doc.find("body").children if not isinstance(n, str)]
    notice = body[0]  # first in <body>, before the cover: no template can leave it out
    assert notice.attrs["id"] == guard.NOTICE_ID and "display:block !important" in \
        notice.attrs["style"]
    digest = hashlib.sha256(HONEST["report_templates/inventory.html"].encode()).hexdigest()
    items = [" ".join(li.text().split()) for li in notice.find_all("li")]
    assert items == [f"report_templates/inventory.html sha256:{digest}"]
    assert "own report templates" in notice.text()
    assert external_references(html) == []
    assert guard.check(html)[0] == []  # and the notice itself keeps the guarantees


def test_an_override_cannot_hide_the_notice_by_overriding_base_or_cover(repo: Path,
                                                                         tmp_path: Path):
    commit_files(repo, {"report_templates/_cover.html": "<p>Nothing to see.</p>\n",
                        "report_templates/base.html": _builtin_base()}, "own cover and base")
    audit(repo, tmp_path / "r.html")
    notice = parse((tmp_path / "r.html").read_text()).by_id(guard.NOTICE_ID)
    assert [li.text().split()[0] for li in notice.find_all("li")] == [
        "report_templates/_cover.html", "report_templates/base.html"]


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forging_override_does_not_survive(repo: Path, tmp_path: Path, name: str):
    files = {path: _template(text) for path, text in FORGERIES[name].items()}
    commit_files(repo, files, f"forgery: {name}")
    before = snapshot(repo)
    r = audit(repo, tmp_path / "r.html", code=2)
    assert "breaks what every mops report guarantees" in r.stderr, r.stderr
    assert "nothing was written" in r.stderr and "Traceback" not in r.stderr
    for path in files:
        assert path in r.stderr
    assert not (tmp_path / "r.html").exists()
    assert snapshot(repo) == before
    expected = {"no-csp": "content-security policy is not the first thing",
                "weak-csp": "content-security policy", "script": "a <script> element",
                "script-in-svg": "a <script> element",
                "onerror": "an event-handler attribute (onerror=) on <img>",
                "onerror-no-space": "an event-handler attribute (onerror=) on <img>",
                "javascript-link": "a script address in href= on <a>",
                "refresh": "<meta http-equiv='refresh'>", "iframe": "a <iframe> element"}[name]
    assert expected in r.stderr, r.stderr


def test_the_guard_on_its_own():
    ok = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
          f'{CSP_META}\n<title>t</title>\n</head>\n<body class="x"\n  data-a="1">\n<p>hi</p>'
          '</body></html>')
    problems, offset = guard.check(ok)
    assert problems == [] and ok[:offset].endswith('data-a="1">')
    marked = guard.enforce(ok, [("report_templates/x.html", "ab" * 32)])
    assert re.search(r'data-a="1">\n<section id="mops-overrides"', marked)
    assert guard.enforce(ok, []) == ok
    # built-ins only: the fast search and the full tokenizer agree
    for bad in ('<p onclick="x()">', "<SCRIPT>x</SCRIPT>", '<a href="javascript:x">',
                '<meta http-equiv="refresh" content="0">', "<form></form>"):
        html = ok.replace("<p>hi</p>", bad)
        assert guard.check(html, thorough=False)[0] == guard.check(html)[0] != [], bad
    assert guard.check(ok.replace(CSP_META, ""))[0][0].startswith(
        "mops's content-security policy is not the first thing")
    assert "more than one content-security policy" in guard.check(
        ok.replace("<title>", CSP_META + "<title>"))[0]
    assert "no <body>" in guard.check(ok.replace('<body class="x"\n  data-a="1">', ""))[0]


def _streamed(html: str, size: int) -> bool:
    """Whether the stream, fed ``html`` in pieces of ``size``, refuses it or asks for it
    to be checked whole."""
    stream = guard.Stream([])
    for start in range(0, len(html), size):
        stream.feed(html[start:start + size])
    try:
        stream.close()
    except Exception:
        return True
    return stream.recheck


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10, 11, 64, 65, 200])
def test_the_streamed_search_is_the_whole_search_at_any_piece_size(size: int):
    """The stream's search, in any pieces, flags whatever the whole-document search
    flags (then the report is checked whole), and passes a clean report."""
    ok = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
          f'{CSP_META}\n<title>t</title>\n</head>\n<body>\n<p>hi</p>\n'
          '<p class="on">Version: condition; JSON onward</p></body></html>')
    bads = ['<p onclick="x()">', '<p\nONCLICK =x>', "<SCRIPT>x</SCRIPT>", "<iframe>",
            '<a href="JavaScript:x">', "<a href=vbscript:x>", "<form></form>",
            '<meta http-equiv="refresh" content="0">', '<p data-x="1"onload=x>',
            "<noembed>", "<object data=x>"]
    harmless = ["<scripts>", "<formula>", "button=", "vbscript", "javascript", "xon=1",
                "http-equi", "<p>on =</p>", "Version one = two"]

    def streamed(html: str) -> bool:
        return _streamed(html, size)

    assert not guard._suspect(ok) and not streamed(ok)
    for text in bads:
        html = ok.replace("<p>hi</p>", text)
        assert guard._suspect(html) and streamed(html), text
    for text in harmless:  # (a piece may end in the middle of a word: then it is flagged)
        html = ok.replace("<p>hi</p>", text)
        assert streamed(html) == guard._suspect(html) or size < 16, text


@pytest.mark.parametrize("size", [1, 5, 11, 64, 65, 200, 1 << 16])
@pytest.mark.parametrize("beyond", ["", "caf\u00e9 \u00b7 ", "\u2014 \u2192 ", "\U0001f600 ",
                                    "\u212a ", "\u0130 "])
def test_the_streamed_search_sees_through_text_beyond_ascii(size: int, beyond: str):
    """Text beyond ASCII (one byte a character, or several, or characters that lowercase
    to ASCII letters): the stream flags whatever the whole-document search flags, spaces
    beyond ASCII before a handler's ``=`` and a Kelvin sign in its name included."""
    ok = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
          f'{CSP_META}\n<title>t</title>\n</head>\n<body>\n<p>{beyond * 3}hi</p>\n'
          f'<p class="on">Version: {beyond}condition; JSON onward</p></body></html>')
    bads = ['<p onclick="x()">', '<p onclick\u00a0=x>', '<p onclick\u2003\u3000 =x>',
            '<p onclic\u212a=x>', '<p on\u212aeypress=x>', "<SCRIPT>x</SCRIPT>", f"<iframe>{beyond}",
            '<a href="JavaScript:x">', '<meta http-equiv="refresh" content="0">',
            f'<p data-x="{beyond}"onload=x>', "<object data=x>"]

    def streamed(html: str) -> bool:
        return _streamed(html, size)

    assert not guard._suspect(ok) and (not streamed(ok) or size < 16)
    for text in bads:
        for where in ("<p>", "\u2014hi</p>"):
            html = ok.replace("hi</p>", text + beyond + where, 1)
            assert guard._suspect(html), text
            assert streamed(html), (text, where)
    # The twin: the same handler name without its "=" is not a handler to either.
    quiet = ok.replace("hi</p>", "onclick\u00a0x</p>", 1)
    assert not guard._suspect(quiet) and (not streamed(quiet) or size < 16)
