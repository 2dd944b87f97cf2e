"""``mops init``: create an inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def init(
    path: Annotated[Path, typer.Argument(
        help="Folder for the inventory (created if needed; default: the current folder).")] = Path("."),
    name: Annotated[str | None, typer.Option(
        "--name", help="The inventory's name, shown in reports (default: the folder's name).")] = None,
    pack: Annotated[list[str] | None, typer.Option(
        "--pack", metavar="NAME",
        help="A built-in policy pack to apply (repeatable; default: baseline).")] = None,
) -> None:
    """Create a mops inventory: mops.yaml and models/, in one commit."""
    from mops import resources
    from mops.inventory.actions import init as do_init
    from mops.output import echo

    done = do_init(path, name=name, packs=pack or ["baseline"],
                   known_packs=resources.builtin_pack_names())
    echo(f"Initialised mops inventory {done.detail['name']!r} in {done.detail['path']} "
         f"(commit {done.commit[:12]})")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
