"""``mops check``: evaluate the policy rules in force; exit 1 when any fails.

Each output format is one function taking the results; ``check`` picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mops.commands.options import Format as Format  # re-exported: verify imports it from here
from mops.commands.options import changed_since_option, format_option, model_refs

if TYPE_CHECKING:  # pragma: no cover
    from mops.output.github import ErrorContext
    from mops.policy.results import Result, Status


#: Terminal colours by a status's tone (``Status.tone``).
TONE_COLOUR = {"bad": "red", "warn": "yellow", "ok": "green"}


def summary(results: list[Result]) -> dict[str, int]:
    from mops.policy.results import Status

    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status] += 1
    return counts


def print_json(results: list[Result]) -> None:
    """One JSON document; one result per line (json's C encoder: indent= would be 10x slower)."""
    import json

    # One encoder for the 120,000 results of a large inventory: json.dumps makes a new one
    # per call (a third of the encoding's cost). The results hold no cycles to check for.
    dumps = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode

    ok = not any(r.status == "fail" for r in results)
    # A rule's basis is the same in each of its results: written once per rule, and put in
    # place (the same bytes as dumps(r.to_json()), at a fraction of the cost).
    bases: dict[int, str] = {}

    def line(r: Result) -> str:
        basis = bases.get(id(r.basis))
        if basis is None:
            basis = bases[id(r.basis)] = dumps([b.to_json() for b in r.basis])
        return f"    {dumps(r.to_json(basis=False))[:-1]}, \"basis\": {basis}}}"

    # Written in pieces: the whole document of a large inventory is 100 MB.
    typer.echo(f'{{\n  "ok": {dumps(ok)},\n  "summary": {dumps(summary(results))},\n'
               f'  "results": [' + ("\n" if results else ""), nl=False)
    step = 2000
    for start in range(0, len(results), step):
        chunk = ",\n".join(line(r) for r in results[start:start + step])
        typer.echo(chunk + (",\n" if start + step < len(results) else ""), nl=False)
    typer.echo(("\n  ]" if results else "]") + "\n}")


def print_text(results: list[Result]) -> None:
    """Grouped by model and version: each rule with status, message and citation."""
    import os

    from mops.output import echo, is_terminal

    colour = is_terminal() and not os.environ.get("NO_COLOR")

    def label(status: Status) -> str:
        text = f"{status.label:<6}"
        return typer.style(text, fg=TONE_COLOUR.get(status.tone), bold=status == "fail") \
            if colour else text

    groups: dict[str, dict[str, list[Result]]] = {}
    for r in results:
        groups.setdefault(r.model, {}).setdefault(r.version, []).append(r)
    for model, by_version in groups.items():
        echo(model)
        for version, rows in by_version.items():
            shown = sorted((r for r in rows if r.status != "n/a"),
                           key=lambda r: r.status.order)
            na = len(rows) - len(shown)
            echo(f"  @{version}" + (f"  ({na} rule(s) n/a)" if na else ""))
            for r in shown:
                echo(f"    {label(r.status)}  {r.rule}  {r.title}")
                echo(f"              {r.message}")
                echo(f"              cite: {r.cite}")
                for i, line in enumerate(b.describe() for b in r.basis):
                    echo(f"              {'basis:' if i == 0 else '':<6} {line}")
                if r.status == "fail":
                    echo(f"              fix:  {r.file}")
    counts = summary(results)
    versions = len({(r.model, r.version) for r in results})
    verdict = "FAILED" if counts["fail"] else "passed"
    echo(f"\n{counts['fail']} failed, {counts['waived']} waived, {counts['pass']} passed, "
         f"{counts['n/a']} n/a across {versions} version(s) of {len(groups)} model(s): "
         f"check {verdict}")


FORMATTERS = {Format.text: print_text, Format.json: print_json}


def check(
    refs: Annotated[list[str] | None, model_refs(
        "Models or versions to check (default: every version in the inventory).")] = None,
    fmt: Annotated[Format, format_option(
        "Output: text grouped by model, one JSON document, or GitHub Actions annotations "
        "(plus the job summary and the `ok` output when GitHub's files are set).")] = Format.text,
    changed_since: Annotated[str | None, changed_since_option(
        "Only models with files changed since REF (from its merge base with HEAD to the "
        "working tree); every model when mops.yaml or a policy pack changed.")] = None,
) -> None:
    """Evaluate every policy rule for every version in scope; exit 1 if any fails."""
    from mops.heap import young_collections_only

    with young_collections_only():
        if fmt == Format.github:
            from mops.output.github import errors_annotated

            # An error (a bad REF, a malformed mops.yaml) is also an annotation, not only
            # a log line.
            with errors_annotated("mops check") as where:
                _check(refs, fmt, changed_since, where)
        else:
            _check(refs, fmt, changed_since)


def _check(refs: list[str] | None, fmt: Format, changed_since: str | None,
           where: ErrorContext | None = None) -> None:
    from mops import api
    from mops.commands import cwd
    from mops.inventory.names import parse_ref

    parsed = [parse_ref(r) for r in refs] if refs else None
    with api.opened(cwd()) as inv:
        if where is not None:
            where.prefix = inv.prefix
        checked = api.check(inv, parsed, changed_since=changed_since)
        results = checked.results
        if checked.nothing_checked:
            _warn_nothing_checked(checked.nothing_checked, github=fmt == Format.github)
        if fmt == Format.github:
            from mops.output.github import emit

            paths: list[str] = []
            if changed_since is not None and any(r.status == "fail" and r.related for r in results):
                from mops.inventory.changes import changed_paths

                # What the pull request changed: a stale sign-off is annotated on those files too.
                paths = changed_paths(inv, changed_since)
            emit(results, prefix=inv.prefix, scope=checked.scope, changed=set(paths))
        else:
            FORMATTERS[fmt](results)
    if any(r.status == "fail" for r in results):
        raise typer.Exit(1)


def _warn_nothing_checked(why: str, *, github: bool) -> None:
    """No rule was evaluated: say so, so that an empty check never reads as a pass."""
    from mops.output import warn

    message = f"no policy rule was evaluated: {why}"
    if github:
        from mops.output.github import command

        typer.echo(command("warning", message, title="mops check"))
    else:
        warn(message)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
