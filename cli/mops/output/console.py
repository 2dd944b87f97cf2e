"""Consoles, JSON and tables: results to stdout, everything else to stderr.

Rich styling only on a terminal; when piped, plain stable text. ``NO_COLOR`` (any
non-empty value) and ``TERM=dumb`` make a terminal get that plain text too: no escape
code at all, neither colour nor bold nor a progress bar's cursor moves. JSON goes
through ``json.dumps`` and ``typer.echo``, never rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer


def escape_codes_allowed() -> bool:
    """False when the user asked for none: ``NO_COLOR`` set and not empty
    (https://no-color.org), or ``TERM=dumb`` (a terminal that interprets none)."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stdout) gets terminal output: rich tables, styles and
    progress bars. A tty, unless escape codes are not allowed; then output is as when piped."""
    if not escape_codes_allowed():
        return False
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def emit_json(value: Any) -> None:
    """Print one JSON document on stdout (nothing else may go to stdout with --json)."""
    import json

    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def echo(text: str = "") -> None:
    typer.echo(text)


def _stderr_console():  # rich is imported only when a message is shown
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def info(message: str) -> None:
    """Progress or context for a person, on stderr."""
    if is_terminal(sys.stderr):
        _stderr_console().print(message, markup=False, style="dim")
    else:
        typer.echo(message, err=True)


def warn(message: str) -> None:
    if is_terminal(sys.stderr):
        _stderr_console().print(f"warning: {message}", markup=False, style="yellow")
    else:
        typer.echo(f"warning: {message}", err=True)


def error(message: str, details: Sequence[str] = ()) -> None:
    if is_terminal(sys.stderr):
        console = _stderr_console()
        console.print(f"error: {message}", markup=False, style="bold red")
        for line in details:
            console.print(f"  {line}", markup=False)
    else:
        typer.echo(f"error: {message}", err=True)
        for line in details:
            typer.echo(f"  {line}", err=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None,
          styles: dict[str, str] | None = None) -> None:
    """A table on stdout: rich on a terminal, aligned plain text when piped."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if is_terminal():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        tbl = Table(title=title, title_justify="left", header_style="bold")
        for h in headers:
            tbl.add_column(h)
        for row in cells:
            tbl.add_row(*[Text(c, style=(styles or {}).get(c, "")) for c in row])
        Console(highlight=False).print(tbl)
        return
    if title:
        typer.echo(title)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
