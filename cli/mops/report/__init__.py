"""Audit reports: :func:`gather` (IO) → :func:`build_context` (pure) → :func:`render_html`.

The one call to render a report from Python::

    from mops.inventory.store import Inventory
    from mops.report import write_report

    report = write_report(Inventory.open(path), Path("mops-audit.html"))
    print(report.path)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
from mops.report.render import DEFAULT_TEMPLATE, environment, render_html, verify_digest

__all__ = ["Report", "ReportInput", "build_context", "gather", "render_html", "render_report",
           "verify_digest", "write_report"]


@dataclass(frozen=True)
class Report:
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

    snapshot, resolved = open_snapshot(inv, as_of)
    try:
        data = read_snapshot(snapshot, resolved, models, evaluate=evaluate, verify=verify)
        html = render_html(build_context(data), environment(snapshot.source, _cache_dir(inv)),
                           template)
    finally:
        snapshot.close()
    found = DIGEST_RE.search(html)
    return Report(html=html, digest=found.group(2) if found else "", commit=data.commit,
                  committed_at=data.committed_at, models=tuple(m.id for m in data.models))


def _cache_dir(inv: Inventory) -> Path | None:
    from mops import git
    from mops.inventory import layout

    try:
        return git.git_dir(inv.top) / layout.CACHE_DIR / layout.TEMPLATE_CACHE
    except Exception:  # no cache, just slower
        return None


def write_report(inv: Inventory, out: Path, models: Sequence[str] = (), *,
                 as_of: str | None = None, evaluate: Evaluator | None = None,
                 verify: Verifier | None = None) -> Report:
    """Render the report and write it to ``out`` atomically (UTF-8); returns it with ``path``."""
    report = render_report(inv, models, as_of=as_of, evaluate=evaluate, verify=verify)
    out = Path(out)
    write_atomic(out, report.html.encode("utf-8"))
    return Report(**{**report.__dict__, "path": out.resolve()})


def write_atomic(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
