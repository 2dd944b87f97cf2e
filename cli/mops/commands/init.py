"""``mops init``: create an inventory, and/or its GitHub workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def init(
    path: Annotated[Path, typer.Argument(
        metavar="PATH", help="Folder for the inventory (created if needed; default: the current folder).")] = Path("."),
    name: Annotated[str | None, typer.Option(
        "--name", metavar="TEXT", help="The inventory's name, shown in reports (default: the folder's name).")] = None,
    pack: Annotated[list[str] | None, typer.Option(
        "--pack", metavar="NAME",
        help="A built-in policy pack to apply, NAME or NAME@VERSION (repeatable; default: "
             "baseline). mops.yaml records the version: the latest unless one is given.")] = None,
    role: Annotated[list[str] | None, typer.Option(
        "--role", metavar="ROLE=EMAIL",
        help="Who may sign off in a role, e.g. validator=carol@acme.test (repeatable; mops.yaml "
             "lists them under roles; edit it later to change them).")] = None,
    github: Annotated[bool, typer.Option(
        "--github",
        help="Also write .github/workflows/mops.yml (the pull-request gate and a scheduled drift "
             "check). On an existing inventory, write only that file, in its own commit.")] = False,
) -> None:
    """Create a mops inventory: mops.yaml and models/, in one commit.

    With --github, also the GitHub Actions workflow that gates pull requests.
    """
    from mops import api
    from mops.commands import committed, notify
    from mops.inventory.actions.register import parse_roles
    from mops.output import echo

    done = api.init(path, name=name, packs=pack or (), github=github,
                    roles=parse_roles(role or []), notify=notify)
    if done.inventory is None:
        assert done.workflow is not None  # only the workflow was added
        echo(f"Wrote {done.workflow.files[0]} (pushes to {done.workflow.branch!r} and pull "
             f"requests are gated)")
        echo(committed(done.workflow.commit, path))
        return
    echo(f"Initialised mops inventory {done.inventory.name!r} in {done.inventory.path}")
    echo(committed(done.inventory.commit, path))
    if done.workflow is not None:  # the inventory is a folder of a larger repository
        echo(f"Wrote {done.workflow.path}")
        echo(committed(done.workflow.commit, path))
    elif done.workflow_in_commit:
        echo(f"The commit includes {done.workflow_in_commit}: push it to GitHub to turn on the gate")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
