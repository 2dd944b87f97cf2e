"""``mops export cyclonedx``: a version as a CycloneDX ML-BOM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

export_app = typer.Typer(help="Export a model version for other tools (CycloneDX ML-BOM).",
                         no_args_is_help=True)


@export_app.command("cyclonedx")
def export_cyclonedx(
    ref: Annotated[str, typer.Argument(
        metavar="MODEL@V", help="The version to export (MODEL alone: its latest version).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE", help="Write the BOM to FILE (default: stdout).")] = None,
) -> None:
    """Write a CycloneDX 1.6 ML-BOM of a version: a machine-learning-model component with its
    model card, artifact digest, metrics and datasets, validated against the schema.
    """
    from mops import api
    from mops.commands import cwd
    from mops.inventory.names import parse_ref
    from mops.output import echo

    with api.opened(cwd()) as inv:
        bom = api.export_cyclonedx(inv, parse_ref(ref))
    text = bom.text
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            from mops.errors import UsageError

            raise UsageError(f"--out {out}: {exc.strerror}") from None
        echo(f"Wrote the CycloneDX {bom.ref} ML-BOM: {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
