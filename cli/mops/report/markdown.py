"""Model-card Markdown to HTML that can be shown but never executed.

``MarkdownIt("commonmark", {"html": False})``: with ``html`` off, markdown-it
does not pass raw HTML through; a ``<script>`` or an ``onerror=`` attribute in a
card comes out as escaped text, so it is *shown* to the reader, never run. (With
``html: True`` commonmark copies HTML blocks verbatim, and the report would run
whatever a card author wrote.) markdown-it's own link check already refuses
``javascript:``, ``vbscript:``, ``file:`` and non-image ``data:`` targets.

Two more rules keep the report self-contained and well-formed:
- an image is embedded only when it is a ``data:image/...`` URI; any other image
  is shown as text (its alt text and address), so opening the report never
  fetches anything;
- headings are shifted down (``#`` becomes ``<h4>``), so a card's title sits
  under the model's own heading in the document outline.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

#: ``#`` in a card becomes this heading level (the model is <h2>, its card <h3>).
HEADING_SHIFT = 3


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def render_markdown(text: str) -> Markup:
    """Render a card's Markdown body to safe HTML (see the module's docstring)."""
    md = _parser()
    tokens = md.parse(text)
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
