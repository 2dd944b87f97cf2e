"""``mops demo``: build a sample inventory and run the whole flow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    directory: Annotated[Path, typer.Argument(
        metavar="DIR", help="Folder for the demo inventory (must not exist or be empty).")
    ] = Path("mops-demo"),
) -> None:
    """Build a sample inventory: models, evidence, sign-offs, drift checks and an audit report."""
    from mops.demo.build import build
    from mops.output import echo, info

    result = build(directory, notify=info)
    echo(f"Demo inventory: {result.path}")
    if result.report is not None:
        echo(f"Audit report: {result.report}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
