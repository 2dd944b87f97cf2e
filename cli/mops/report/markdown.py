"""Model-card Markdown to HTML that can be shown but never executed.

markdown-it parses raw HTML so that it can be recognised, and every HTML token is
then replaced: an HTML comment (a card template's ``<!-- placeholder -->``) is
dropped, anything else becomes text, so a ``<script>`` or an ``onerror=`` attribute
in a card is *shown* to the reader, never run. (Rendered as it is, commonmark would
copy HTML blocks verbatim, and the report would run whatever a card author wrote.)
A heading with nothing under it (a section left unwritten) says so. markdown-it's own link check already refuses
``javascript:``, ``vbscript:``, ``file:`` and non-image ``data:`` targets.

Two more rules keep the report self-contained and well-formed:
- an image is embedded only when it is a ``data:image/...`` URI; any other image
  is shown as text (its alt text and address), so opening the report never
  fetches anything;
- headings are shifted down (``#`` becomes ``<h4>``), so a card's title sits
  under the model's own heading in the document outline.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

#: ``#`` in a card becomes this heading level (the model is <h2>, its card <h3>).
HEADING_SHIFT = 3


@cache
def _parser() -> MarkdownIt:
    # HTML is parsed only to be recognised: comments are dropped, anything else becomes text.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


COMMENT_RE = re.compile(r"\s*(<!--.*?-->\s*)+", re.S)


def _is_comment(html: str) -> bool:
    return COMMENT_RE.fullmatch(html) is not None


def _paragraph(content: str, cls: str = "") -> list[Token]:
    opening = Token("paragraph_open", "p", 1)
    if cls:
        opening.attrSet("class", cls)
    inline = Token("inline", "", 0)
    inline.content = content
    inline.children = [_text(content)]
    return [opening, inline, Token("paragraph_close", "p", -1)]


def _html_as_text(tokens: list[Token]) -> list[Token]:
    """Raw HTML out: a comment (a template's ``<!-- placeholder -->``) is dropped, other
    HTML is shown as text; a heading left with nothing under it says so."""
    out: list[Token] = []
    for token in tokens:
        if token.type == "html_block":
            if not _is_comment(token.content):
                out += _paragraph(token.content.rstrip("\n"))
            continue
        if token.children:
            token.children = [_text(c.content) if c.type == "html_inline" else c
                              for c in token.children
                              if not (c.type == "html_inline" and _is_comment(c.content))]
        out.append(token)
    marked: list[Token] = []
    for i, token in enumerate(out):
        marked.append(token)
        if token.type == "heading_close":
            nxt = out[i + 1] if i + 1 < len(out) else None
            if nxt is None or (nxt.type == "heading_open" and nxt.tag <= token.tag):
                marked += _paragraph("(This section is empty.)", "muted")
    return marked


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def render_markdown(text: str) -> Markup:
    """Render a card's Markdown body to safe HTML (see the module's docstring)."""
    md = _parser()
    tokens = _html_as_text(md.parse(text))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1:]) + HEADING_SHIFT, 6)
            token.tag = f"h{level}"
        if token.children:
            children = []
            for child in token.children:
                src = str(child.attrGet("src") or "")
                if child.type == "image" and not src.startswith("data:image/"):
                    alt = "".join(c.content for c in child.children or [])
                    children.append(_text(f"[image not embedded: {alt or 'no description'} "
                                          f"({src})]"))
                else:
                    children.append(child)
            token.children = children
    return Markup(md.renderer.render(tokens, md.options, {}))


class KeptMarkdown:
    """:func:`render_markdown`, keeping each card's HTML by a hash of its text and of the
    code that renders it (this module, markdown-it, Python): a whole-inventory
    report renders thousands of cards, each costing more than its text's size suggests.

    Kept in sealed shards (:class:`mops.inventory.sealed.Shards`) in the git directory: a
    shard this user's mops did not write is ignored, as the parsed records are, so what
    a card says in a report is what rendering its text gives. ``folder`` None, or caches
    off (``MOPS_NO_CACHE``): every card is rendered.
    """

    FORMAT = "markdown-1"

    def __init__(self, folder: Path | None) -> None:
        from mops.inventory import sealed

        self._store = sealed.Shards(folder, self.FORMAT)
        self._code = _code_key() if self._store.enabled else b""

    def __call__(self, text: str) -> Markup:
        if not self._store.enabled:
            return render_markdown(text)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rendered, not kept
            return render_markdown(text)
        key = hashlib.blake2b(data, digest_size=32, key=self._code).digest()
        kept = self._store.get(key)
        if kept is not None:
            try:
                return Markup(kept.decode("utf-8"))
            except UnicodeDecodeError:
                self._store.drop(key)
        html = render_markdown(text)
        with contextlib.suppress(UnicodeEncodeError):
            self._store.put(key, str(html).encode("utf-8"))
        return html

    def save(self) -> None:
        self._store.save()


@cache
def _code_key() -> bytes:
    """What a text's HTML depends on besides the text, hashed (blake2b's key): this
    module's source, markdown-it's version and Python's."""
    import sys

    import markdown_it

    h = hashlib.blake2b(digest_size=32, person=b"mops-markdown")
    h.update(f"{KeptMarkdown.FORMAT}\0{sys.version}\0{markdown_it.__version__}\0".encode())
    h.update(Path(__file__).read_bytes())
    return h.digest()
