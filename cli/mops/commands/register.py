"""``mops register``: add a model version to the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register_cmd(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model id, e.g. credit-pd.")],
    version: Annotated[str, typer.Option("--version", "-v", metavar="V",
                                         help="The version to register, e.g. 1.2.0.")],
    card: Annotated[Path | None, typer.Option(
        "--card", metavar="FILE",
        help="Model card: Markdown with YAML front matter (creates or updates the card).")] = None,
    artifact: Annotated[str | None, typer.Option(
        "--artifact", metavar="PATH|URI",
        help="The model artifact: a local file (hashed here) or a URI (needs --sha256).")] = None,
    sha256: Annotated[str | None, typer.Option(
        "--sha256", metavar="HEX", help="The artifact's sha256 (64 hex digits).")] = None,
    owner: Annotated[str | None, typer.Option(
        "--owner", metavar="EMAIL", help="Owner, for a generated card (new model without --card).")] = None,
    tier: Annotated[int | None, typer.Option(
        "--tier", metavar="N", help="Materiality tier, 1 = most material (generated card).")] = None,
    message: Annotated[str | None, typer.Option(
        "--message", "-m", metavar="TEXT", help="A note for the commit message.")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", metavar="NAME=VALUE",
        help="A development metric of this version, e.g. auc=0.81 (repeatable).")] = None,
) -> None:
    """Register a model version: its card, artifact digest and stage, in one commit."""
    from mops import api
    from mops.commands import committed, cwd, notify
    from mops.inventory.actions.register import parse_metrics
    from mops.output import echo

    done = api.register(cwd(), model, version, card=card, artifact=artifact, sha256=sha256,
                        owner=owner, tier=tier, message=message,
                        metrics=parse_metrics(metric or []), notify=notify)
    what = "new model" if done.new_model else "new version"
    echo(f"Registered {model}@{version} ({what}, stage {done.record.stage})")
    echo(committed(done.commit))


def register(app: typer.Typer) -> None:
    app.command("register")(register_cmd)
