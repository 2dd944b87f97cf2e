"""``mops audit``: the self-contained HTML audit report, as of any date or commit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_OUT = "mops-audit.html"


def audit(
    models: Annotated[list[str] | None, typer.Argument(
        metavar="MODEL...", help="Only these models (default: the whole inventory).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE",
        help=f"Where to write the HTML report (default: {DEFAULT_OUT} in the current "
             f"directory; with --pdf alone, no HTML file is kept).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="DATE|REV",
        help="Report the inventory as it stood then: YYYY-MM-DD (the last commit at or before "
             "the end of that day, UTC) or a git revision. Read from history; the working tree "
             "is not touched.")] = None,
    pdf: Annotated[Path | None, typer.Option(
        "--pdf", metavar="FILE",
        help="Also print the report to this PDF file with headless Chromium (must be "
             "installed).")] = None,
    verify_all: Annotated[bool, typer.Option(
        "--verify-all",
        help="With MODELs: the cover's `mops verify` checks the whole inventory, not only "
             "these models and the rules (its cost then follows the inventory's size and "
             "history).")] = False,
) -> None:
    """Write the audit report: cards, evidence, sign-offs, policy results, drift and history.

    The report is one HTML file with inline CSS and SVG that opens offline; it is
    rendered from a commit (HEAD, or the one --as-of names), and the same commit
    always gives the same bytes. Its cover holds `mops verify`'s verdict at that commit,
    from a replay of all of history: of the whole inventory, or, when MODELs are named,
    of those models and the rules (the cover says which). Prints the path(s) written.
    """
    from mops import api
    from mops.commands import cwd
    from mops.output import echo, warn

    with api.opened(cwd()) as inv:
        audited = api.audit(inv, models or (), out=out or (None if pdf else Path(DEFAULT_OUT)),
                            as_of=as_of, pdf=pdf, warn=warn, verify_all=verify_all)
    for path in audited.files:
        echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
