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
    github: Annotated[bool, typer.Option(
        "--github",
        help="Also write .github/workflows/mops.yml (the pull-request gate and a scheduled drift "
             "check). On an existing inventory, write only that file, in its own commit.")] = False,
) -> None:
    """Create a mops inventory: mops.yaml and models/, in one commit.

    With --github, also the GitHub Actions workflow that gates pull requests.
    """
    from mops.commands import notify
    from mops.errors import UsageError
    from mops.inventory.actions import register as actions
    from mops.inventory.layout import SETTINGS_FILE
    from mops.output import echo
    from mops.resources import workflow

    rel = workflow.GITHUB_WORKFLOW
    if github and (path / SETTINGS_FILE).is_file():
        if name is not None or pack:
            raise UsageError(f"{path / SETTINGS_FILE} exists: --name and --pack apply to a new "
                             f"inventory; with --github alone, mops adds {rel} to this one")
        wrote = actions.add_github_workflow(path, workflow.github_workflow, rel, notify)
        echo(f"Wrote {rel} (pushes to {wrote.branch!r} and pull requests are gated) "
             f"(commit {wrote.commit[:12]})")
        return
    packs = [_pinned(p) for p in pack or ["baseline"]]
    extra = actions.github_workflow_files(path, workflow.github_workflow, rel) if github else {}
    done = actions.init(path, name=name, packs=packs, known_packs=packs, extra_files=extra)
    echo(f"Initialised mops inventory {done.name!r} in {done.path} "
         f"(commit {done.commit[:12]})")
    if github and not extra:  # the inventory is a folder of a larger repository
        added = actions.add_github_workflow(path, workflow.github_workflow, rel, notify)
        echo(f"Wrote {added.path} (commit {added.commit[:12]})")
    elif github:
        echo(f"The commit includes {rel}: push it to GitHub to turn on the gate")


def _pinned(pack: str) -> str:
    """``NAME`` as ``NAME@LATEST`` (so mops.yaml records the version adopted); paths as given."""
    from mops.errors import UsageError
    from mops.policy.packs import builtin_ref, is_pack_path

    if is_pack_path(pack):
        return pack
    try:
        return builtin_ref(pack, default_latest=True).text
    except ValueError as exc:
        raise UsageError(f"--pack {pack!r}: {exc}") from None


def register(app: typer.Typer) -> None:
    app.command("init")(init)
