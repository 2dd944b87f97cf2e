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

import re
from functools import cache

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
