"""What a report guarantees whatever its templates say, checked on the rendered HTML.

An inventory may override any report template (``report_templates/``), and templates
arrive by pull request like any other file. The sandbox keeps them from running
Python; this keeps them from making the *report* run or fetch anything. After the
templates run, the HTML is read with the standard library's HTML tokenizer and
refused (a usage error naming the overridden templates) unless:

- it starts ``<html>``, ``<head>``, ``<meta charset>`` and then mops's fixed
  content-security policy (:data:`CSP`), exactly as ``base.html`` writes it, so
  the policy is in force for everything after it; there is no other ``http-equiv``
  ``<meta>`` (no second policy, no ``refresh`` that navigates away);
- it has no element that runs or embeds something (``<script>``, ``<iframe>``,
  ``<object>``, ``<embed>``, ``<base>``, ``<form>``, ...), no event-handler
  attribute (``on...``), and no ``javascript:`` or ``vbscript:`` address.

The report is refused rather than repaired: a report that differs from what its
templates asked for, silently, would be a second way to mislead. And a template can
still print any text ("approved" where nothing was), so a report rendered with
overrides says so at its top, in a notice mops inserts after ``<body>`` (no template
can leave it out): each overridden template with the SHA-256 of its bytes at the
reported commit.
"""

from __future__ import annotations

import hashlib
import re
from html import escape
from html.parser import HTMLParser
from typing import AnyStr

from mops.errors import UsageError

#: The content-security policy of every report: nothing is fetched or run.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")
#: Elements that run, embed or submit something; none belongs in an offline report.
FORBIDDEN = frozenset({"script", "iframe", "frame", "frameset", "object", "embed", "applet",
                       "base", "form", "portal", "noembed"})
#: Attributes whose value is an address (a ``javascript:`` one runs when followed).
URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster",
                       "background", "cite", "srcset", "ping", "to", "from", "values"})
_SCRIPT_URL = re.compile(r"(javascript|vbscript):", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
#: In the lowercased document, anything that could tokenize to one of the above (a
#: superset: it only decides whether to tokenize the whole document).
_SUSPECT = re.compile(r"<(?:" + "|".join(sorted(FORBIDDEN)) + r")\b|on[a-z0-9_-]*\s*="
                      r"|javascript:|vbscript:|http-equiv")
#: The same, in pieces that each begin with a fixed text the regex engine can skip to (one
#: alternation tries every "<", "o", "j", "v" and "h" of the document): 3× faster on a
#: report, for :class:`Stream`. None of these can hide inside another's match except
#: ``http-equiv`` inside an ``on...=`` name, which then counts twice (so is checked whole).
_SUSPECT_TAG = re.compile(r"<(?:" + "|".join(sorted(FORBIDDEN)) + r")\b")
_SUSPECT_ON = re.compile(r"on[a-z0-9_-]*\s*=")
_SUSPECT_WORDS = ("javascript:", "vbscript:")


def _suspect(html: str) -> bool:
    """Whether the document may hold anything :class:`_Reader` refuses, besides the one
    content-security policy (a plain search: ~50 MB/s, where tokenizing is ~2 MB/s)."""
    low = html.lower()  # a case-sensitive search of a lowercase copy is fastest
    equiv = 0
    for m in _SUSPECT.finditer(low):
        found = m.group()
        if found == "http-equiv":
            equiv += 1
            if equiv > 1:
                return True
        elif not found.startswith("on") or m.start() == 0 or low[m.start() - 1] in _BEFORE_ATTR:
            return True
    return equiv != 1


#: What may come right before an attribute's name inside a tag.
_BEFORE_ATTR = frozenset(" \t\n\r\f/\"'`")
#: The tags the document must open with, in order (``<!DOCTYPE>``, comments and blanks aside).
_PREAMBLE = ("html", "head", "meta", "meta")
NOTICE_ID = "mops-overrides"


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.opening: list[tuple[str, dict[str, str]]] = []
        self.body_end: tuple[int, int] | None = None  # (line, column) just after <body ...>
        self.csp_count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if len(self.opening) < len(_PREAMBLE):
            self.opening.append((tag, values))
        if tag in FORBIDDEN:
            self.problems.append(f"a <{tag}> element")
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"an event-handler attribute ({name}=) on <{tag}>")
            elif name in URL_ATTRS and _SCRIPT_URL.search(_INVISIBLE.sub("", value)):
                self.problems.append(f"a script address in {name}= on <{tag}>")
        if tag == "meta" and "http-equiv" in values:
            if values["http-equiv"].strip().lower() == "content-security-policy":
                self.csp_count += 1
                if values.get("content") != CSP:
                    self.problems.append("a content-security policy other than mops's")
            else:
                self.problems.append(f"a <meta http-equiv={values['http-equiv']!r}>")
        if tag == "body" and self.body_end is None:
            line, column = self.getpos()
            text = self.get_starttag_text() or ""
            newlines = text.count("\n")
            end_col = len(text) - text.rfind("\n") - 1 if newlines else column + len(text)
            self.body_end = (line + newlines, end_col)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _opens_with_policy(opening: list[tuple[str, dict[str, str]]]) -> bool:
    tags = tuple(tag for tag, _ in opening)
    if tags != _PREAMBLE:
        return False
    charset, policy = opening[2][1], opening[3][1]
    return ("charset" in charset
            and policy.get("http-equiv", "").lower() == "content-security-policy"
            and policy.get("content") == CSP)


def check(html: str, *, thorough: bool = True) -> tuple[list[str], int | None]:
    """What breaks the guarantees (empty when nothing does), and the offset just after the
    ``<body>`` start tag (None when there is none).

    ``thorough=False`` (the built-in templates only, whose every value is autoescaped)
    tokenizes the whole document only when a conservative search finds anything that
    could be a forbidden element, a handler, a script address or a second ``http-equiv``;
    otherwise only its opening, up to ``<body>`` (tokenizing megabytes of a large
    inventory's report takes seconds).
    """
    reader = _Reader()
    if thorough or _suspect(html):
        reader.feed(html)
        reader.close()
    else:
        for start in range(0, len(html), 16384):
            reader.feed(html[start:start + 16384])
            if reader.body_end is not None:
                break
    problems = list(dict.fromkeys(reader.problems))  # each once, in order
    if not _opens_with_policy(reader.opening):
        problems.insert(0, "mops's content-security policy is not the first thing in <head> "
                           "(after <meta charset>), as base.html writes it")
    elif reader.csp_count != 1:
        problems.append("more than one content-security policy")
    offset = None
    if reader.body_end is None:
        problems.append("no <body>")
    else:
        line, column = reader.body_end
        starts = [0, *(m.end() for m in re.finditer("\n", html))]
        offset = starts[line - 1] + column
    return problems, offset


def notice(overrides: list[tuple[str, str]]) -> str:
    """The note a report rendered with the inventory's templates carries at its top."""
    items = "".join(f"<li><code>{escape(path)}</code> <code>sha256:{digest}</code></li>"
                    for path, digest in overrides)
    # Inline !important: a stylesheet of an override cannot hide it (only cover it, or
    # hide the whole page, which a reader notices).
    style = ("display:block !important;visibility:visible !important;position:relative "
             "!important;z-index:2147483647 !important;opacity:1 !important;background:#fff4d6 "
             "!important;color:#000 !important;border:2px solid #8a5300 !important;"
             "padding:.5em 1em !important;margin:0 !important;font:15px/1.4 sans-serif "
             "!important")
    return (f'\n<section id="{NOTICE_ID}" role="note" style="{style}">'
            f"<p><strong>Rendered with this inventory's own report templates.</strong> They "
            f"decide what this report shows and says; mops checked only that the report runs "
            f"and fetches nothing. The overridden templates, with the SHA-256 of each at the "
            f"reported commit:</p><ul>{items}</ul></section>\n")


def refuse(problems: list[str], overrides: list[tuple[str, str]]) -> None:
    """Raise the usage error that names what breaks the guarantees (nothing when nothing)."""
    if problems:
        who = (f"the inventory's report templates ({', '.join(p for p, _ in overrides)})"
               if overrides else "the report templates")
        raise UsageError(f"{who} render a report that breaks what every mops report "
                         f"guarantees (no script, nothing fetched, mops's content-security "
                         f"policy); nothing was written. Found:", details=problems)


def enforce(html: str, overrides: list[tuple[str, str]]) -> str:
    """``html`` with the overrides notice inserted; a usage error when it breaks a guarantee.

    ``overrides``: (path, sha256 hex) of each of the inventory's templates.
    """
    problems, offset = check(html, thorough=bool(overrides))
    refuse(problems, overrides)
    if not overrides or offset is None:
        return html
    return html[:offset] + notice(overrides) + html[offset:]


#: The patterns of :meth:`Stream._search`: forbidden tags, script addresses, http-equiv,
#: handlers, and what may come before a handler's name.
_Search = tuple[re.Pattern[AnyStr], tuple[AnyStr, ...], AnyStr, re.Pattern[AnyStr], AnyStr]
_STR_SEARCH: _Search[str] = (_SUSPECT_TAG, _SUSPECT_WORDS, "http-equiv", _SUSPECT_ON,
                             "".join(sorted(_BEFORE_ATTR)))
#: The same for the text's bytes, lowercased (ASCII letters only): ``\b`` and ``\s`` know
#: no letter or space beyond ASCII there, so a tag's name ends at any other byte, and the
#: spaces before a handler's ``=`` take any byte of a character beyond ASCII (Unicode
#: spaces among them): each finds whatever the str's patterns find, and perhaps more.
_BYTES_SEARCH: _Search[bytes] = (
    re.compile(_SUSPECT_TAG.pattern.encode()), tuple(w.encode() for w in _SUSPECT_WORDS),
    b"http-equiv", re.compile(rb"on[a-z0-9_-]*[\s\x1c-\x1f\x80-\xff]*="),
    "".join(sorted(_BEFORE_ATTR)).encode())
#: The only characters whose lowercase holds an ASCII letter (İ -> i̇, the Kelvin sign -> k).
_LOWER_TO_ASCII = ("\u0130", "\u212a")


def _lowered_bytes(window: str, cut: int) -> tuple[bytes, int] | None:
    """``window`` as bytes lowercased, and where ``cut`` (a character offset) falls in
    them; None when only ``str.lower`` finds what is there (a character lowering to an
    ASCII letter, or one UTF-8 cannot encode). A tenth of the cost of the str's search:
    ``str.lower`` is slow on text beyond ASCII, and so are the patterns over it."""
    if _LOWER_TO_ASCII[0] in window or _LOWER_TO_ASCII[1] in window:
        return None
    try:  # one byte a character: the same offsets
        return window.encode("latin-1").lower(), cut
    except UnicodeEncodeError:
        pass
    try:
        return window.encode("utf-8").lower(), len(window[:cut].encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate
        return None


class Stream:
    """:func:`enforce` for a report rendered piece by piece (never held whole).

    :meth:`feed` takes the rendered text in order and returns what may be written: the
    opening is held back until ``<body>`` (its preamble checked, the overrides notice
    inserted after it), the rest passes through. With overrides every piece is
    tokenized; with the built-ins only, the conservative search of :func:`check` runs
    over the pieces (with an overlap, so nothing hides across a boundary) and, when it
    finds anything, :attr:`recheck` asks the caller to :func:`check` the whole file.
    :meth:`close` raises the usage error when a guarantee is broken.
    """

    OVERLAP = 64

    def __init__(self, overrides: list[tuple[str, str]]) -> None:
        self.overrides = overrides
        self.thorough = bool(overrides)
        self.reader = _Reader()
        self.head: list[str] | None = []
        self.tail = ""
        self.equiv = 0
        self.recheck = False

    def feed(self, text: str) -> str:
        if self.thorough or self.head is not None:
            self.reader.feed(text)
        if not self.thorough:
            self._search(text)
        if self.head is None:
            return text
        self.head.append(text)
        if self.reader.body_end is None:
            return ""
        return self._release()

    def _release(self) -> str:
        head = "".join(self.head or [])
        self.head = None
        line, column = self.reader.body_end or (1, 0)
        starts = [0, *(m.end() for m in re.finditer("\n", head))]
        offset = starts[line - 1] + column
        if not self.overrides:
            return head
        return head[:offset] + notice(self.overrides) + head[offset:]

    def _search(self, text: str) -> None:
        """:func:`_suspect` over a stream: a match counts once, in the piece it ends in
        (those ending in the overlap were counted with the previous piece)."""
        window = self.tail + text
        cut = len(self.tail)
        self.tail = window[-self.OVERLAP:]
        if self.recheck:
            return  # checked whole in the end: nothing more to learn here
        found = _lowered_bytes(window, cut)
        if found is None:  # as str: what the bytes' search would not see
            self._matches(window.lower(), cut, _STR_SEARCH)
        else:
            self._matches(*found, _BYTES_SEARCH)

    def _matches(self, low: AnyStr, cut: int, search: _Search[AnyStr]) -> None:
        tag, words, equiv, on, before = search
        if any(m.end() > cut for m in tag.finditer(low)):
            self.recheck = True
        for word in words:
            if low.find(word, max(0, cut - len(word) + 1)) != -1:
                self.recheck = True
        at = low.find(equiv, max(0, cut - len(equiv) + 1))
        while at != -1:
            self.equiv += 1
            at = low.find(equiv, at + 1)
        if self.equiv > 1:
            self.recheck = True
        for m in on.finditer(low):
            if m.end() > cut and (m.start() == 0 or low[m.start() - 1:m.start()] in before):
                self.recheck = True

    def close(self) -> str:
        """The text still held back; raises when the report breaks a guarantee (a report
        left to :attr:`recheck` is checked whole by the caller instead)."""
        if self.thorough:
            self.reader.close()
        if not self.thorough and self.equiv != 1:
            self.recheck = True
        rest = ""
        problems = list(dict.fromkeys(self.reader.problems))
        if not _opens_with_policy(self.reader.opening):
            problems.insert(0, "mops's content-security policy is not the first thing in "
                               "<head> (after <meta charset>), as base.html writes it")
        elif self.thorough and self.reader.csp_count != 1:
            problems.append("more than one content-security policy")
        if self.head is not None:
            rest = "".join(self.head)
            self.head = None
            problems.append("no <body>")
        if not self.recheck:
            refuse(problems, self.overrides)
        return rest


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
