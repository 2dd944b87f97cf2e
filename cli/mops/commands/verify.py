"""``mops verify``: replay history against the provenance rules; exit 1 on any problem."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mops.commands.options import Format, changed_since_option, format_option, json_option

if TYPE_CHECKING:  # pragma: no cover
    from mops.output.github import ErrorContext
    from mops.trust.verify import Verification


def verify(
    as_json: Annotated[bool, json_option(
        "Print one JSON document: {\"ok\", \"problems\": [{\"path\", \"problem\"}], "
        "\"warnings\", \"checked\"} (the same as --format json).")] = False,
    fmt: Annotated[Format | None, format_option(
        "Output: text (the default), one JSON document, or GitHub Actions annotations on "
        "each file with a problem (plus the job summary and the `ok` output when GitHub's "
        "files are set).")] = None,
    changed_since: Annotated[str | None, changed_since_option(
        "Only models with files changed since REF (from its merge base with HEAD to the "
        "working tree); every model when mops.yaml or the allowed signers changed.")] = None,
    artifacts: Annotated[bool, typer.Option(
        "--artifacts", help="Also hash local artifacts named by path in version records.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Warnings are problems too: with signing optional, every change to the "
                         "rules that no governor signed fails.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Replay all of history, not only the commits after the last clean run's "
                       "checkpoint (kept in .git/mops/), and check the whole working tree "
                       "afresh, not only what can have changed since that run.")] = False,
) -> None:
    """Replay history against the provenance rules: every record made by its mops action, by
    the person it names, allowed and (when required) signed, never edited or deleted but by
    the actions named; every change to the rules by a governor; every promotion let through
    by the gate then in force; evidence files still matching their digests. A run that finds
    no problem remembers HEAD and what it saw of the working tree; the next replays only newer
    commits and re-checks only the files that can have changed (--full: all).
    """
    if as_json and fmt not in (None, Format.json):
        from mops.errors import UsageError

        raise UsageError(f"--json and --format {fmt.value} ask for two outputs: give one of them")
    fmt = Format.json if as_json else fmt or Format.text
    if fmt == Format.github:
        from mops.output.github import errors_annotated

        with errors_annotated("mops verify") as where:
            _verify(fmt, changed_since, artifacts, strict, full, where)
    else:
        _verify(fmt, changed_since, artifacts, strict, full)


def _verify(fmt: Format, changed_since: str | None, artifacts: bool, strict: bool, full: bool,
            where: ErrorContext | None = None) -> None:
    from mops import api
    from mops.commands import cwd
    from mops.output import echo, emit_json, warn

    with api.opened(cwd()) as inv:
        if where is not None:
            where.prefix = inv.prefix
        result = api.verify(inv, changed_since=changed_since, artifacts=artifacts, strict=strict,
                            full=full)
    if fmt == Format.json:
        emit_json(result.to_json())
    elif fmt == Format.github:
        from mops.output.github import emit_verify

        emit_verify(result, tally=_tally(result, changed_since, artifacts), prefix=inv.prefix)
    else:
        for w in result.warnings:
            warn(f"{w.path}: {w.problem}")
        for p in result.problems:
            echo(f"{p.path}: {p.problem}")
        echo(_tally(result, changed_since, artifacts))
    if result.problems:
        raise typer.Exit(1)


def _tally(result: Verification, changed_since: str | None, artifacts: bool) -> str:
    """One line: what was checked, and the verdict."""
    c = result.checked
    scope = "" if result.scope is None else \
        f" (models changed since {changed_since}: {len(result.scope)})"
    since = "" if result.checkpoint is None else \
        f" since the checkpoint {result.checkpoint[:12]} (--full: all)"
    counted = (f"{c['commits']} commit(s) replayed{since}, {c['signoffs']} sign-off(s), "
               f"{c['evidence_records']} evidence record(s) with {c['evidence_files']} file(s), "
               f"{c['promotions']} promotion(s) re-gated, {c['governance_changes']} change(s) to "
               f"the rules" + (f", {c['artifacts']} artifact(s)" if artifacts else ""))
    verdict = f"FAILED: {len(result.problems)} problem(s)" if result.problems else "ok"
    return f"verify{scope}: {counted}: {verdict}"


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
