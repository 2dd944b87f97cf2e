"""Audit reports: :func:`gather` (IO) → :func:`build_context` (pure) → :func:`render_html`.

The one call to render a report from Python::

    from mops.inventory.store import Inventory
    from mops.report import write_report

    report = write_report(Inventory.open(path), Path("mops-audit.html"))
    print(report.path)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment

from mops.heap import young_collections_only
from mops.inventory.store import Inventory
from mops.report.context import build_context
from mops.report.gather import (
    Evaluator,
    ReportInput,
    Verifier,
    gather,
    open_snapshot,
    read_snapshot,
)
from mops.report.markdown import KeptMarkdown
from mops.report.render import (
    DEFAULT_TEMPLATE,
    environment,
    render_html,
    render_to,
    verify_digest,
)

__all__ = ["Report", "ReportInput", "build_context", "gather", "render_html", "render_report",
           "verify_digest", "write_report"]


@dataclass(frozen=True)
class Report:
    #: The HTML (empty from :func:`write_report`, which streams it to ``path``).
    html: str
    digest: str
    commit: str
    committed_at: str
    models: tuple[str, ...]
    path: Path | None = None


def render_report(inv: Inventory, models: Sequence[str] = (), *, as_of: str | None = None,
                  template: str = DEFAULT_TEMPLATE, evaluate: Evaluator | None = None,
                  verify: Verifier | None = None) -> Report:
    """Render the audit report of ``inv`` (or of ``models``) as of a date or revision.

    Everything, templates included, is read from the one commit ``as_of`` names
    (HEAD when None), so the same commit always gives the same bytes. ``verify`` runs
    ``mops verify`` at that commit for the cover (``mops.api.audit`` passes it).
    """
    from mops.report.render import DIGEST_RE

    with _prepared(inv, models, as_of, evaluate, verify) as (data, context, env):
        html = render_html(context, env, template)
    found = DIGEST_RE.search(html)
    return Report(html=html, digest=found.group(2) if found else "", commit=data.commit,
                  committed_at=data.committed_at, models=tuple(m.id for m in data.models))


@contextlib.contextmanager
def _prepared(inv: Inventory, models: Sequence[str], as_of: str | None,
              evaluate: Evaluator | None, verify: Verifier | None,
              ) -> Iterator[tuple[ReportInput, dict[str, Any], Environment]]:
    """The facts, the template context and the environment of one report (the snapshot
    stays open while they are used: templates are read from it)."""
    snapshot, resolved = open_snapshot(inv, as_of)
    try:
        with young_collections_only():  # gathered, built and rendered (mops.heap)
            data = read_snapshot(snapshot, resolved, models, evaluate=evaluate, verify=verify)
            markdown = KeptMarkdown(_cache_dir(inv, MARKDOWN_CACHE))
            context = build_context(data, markdown)
            markdown.save()
            yield data, context, environment(snapshot.source, _cache_dir(inv))
    finally:
        snapshot.close()


#: Where cards' HTML is kept (:class:`KeptMarkdown`), beside the compiled templates.
MARKDOWN_CACHE = "markdown"


def _cache_dir(inv: Inventory, name: str | None = None) -> Path | None:
    from mops import git
    from mops.inventory import layout

    try:
        return git.git_dir(inv.top) / layout.CACHE_DIR / (name or layout.TEMPLATE_CACHE)
    except Exception:  # no cache, just slower
        return None


def write_report(inv: Inventory, out: Path, models: Sequence[str] = (), *,
                 as_of: str | None = None, evaluate: Evaluator | None = None,
                 verify: Verifier | None = None) -> Report:
    """Render the report into ``out`` (UTF-8, replaced atomically); returns it with ``path``.

    The HTML is streamed to the file as it is rendered, never held whole (``html`` of
    the result is empty: read ``path``), so a whole-inventory report's memory is that
    of its facts, not of its text.
    """
    with _prepared(inv, models, as_of, evaluate, verify) as (data, context, env):
        digest = render_to(context, env, out)
    return Report(html="", digest=digest, commit=data.commit, committed_at=data.committed_at,
                  models=tuple(m.id for m in data.models), path=Path(out).resolve())
