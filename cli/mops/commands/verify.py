"""``mops verify``: prove sign-offs and evidence against git history; exit 1 on any problem."""

from __future__ import annotations

from typing import Annotated

import typer


def verify(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document: {\"ok\", \"problems\": [{\"path\", \"problem\"}], "
                       "\"warnings\", \"checked\"}.")] = False,
    changed_since: Annotated[str | None, typer.Option(
        "--changed-since", metavar="REF",
        help="Only models with files changed since REF (from its merge base with HEAD to the "
             "working tree); every model when mops.yaml or the allowed signers changed.")] = None,
    artifacts: Annotated[bool, typer.Option(
        "--artifacts", help="Also hash local artifacts named by path in version records.")] = False,
) -> None:
    """Check that every sign-off was made by the person it names, over the content it names,
    and never touched since; that evidence files still match their digests; and, when
    signing is required, that roles and allowed signers changed only in signed commits.
    """
    from mops.commands import cwd
    from mops.inventory.store import Inventory
    from mops.inventory.verify import verify as run
    from mops.output import echo, emit_json, warn

    inv = Inventory.open(cwd())
    result = run(inv, changed_since=changed_since, artifacts=artifacts)
    if as_json:
        emit_json(result.to_json())
    else:
        for w in result.warnings:
            warn(f"{w.path}: {w.problem}")
        for p in result.problems:
            echo(f"{p.path}: {p.problem}")
        c = result.checked
        scope = "" if result.scope is None else \
            f" (models changed since {changed_since}: {len(result.scope)})"
        counted = (f"{c['signoffs']} sign-off(s), {c['evidence_records']} evidence record(s) with "
                   f"{c['evidence_files']} file(s), {c['governance_changes']} change(s) to roles "
                   f"or signers" + (f", {c['artifacts']} artifact(s)" if artifacts else ""))
        verdict = f"FAILED: {len(result.problems)} problem(s)" if result.problems else "ok"
        echo(f"verify{scope}: {counted}: {verdict}")
    if result.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
