"""``mops check``: evaluate the policy rules in force; exit 1 when any fails.

Each output format is one function taking the results; ``check`` picks one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

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
    """One JSON document; one result per line, each as ``json.dumps(r.to_json(),
    ensure_ascii=False, default=str)`` writes it (without indent=: 10x slower)."""
    import json

    dumps = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode
    line = _line_writer(dumps)
    ok = not any(r.status == "fail" for r in results)
    # Written in pieces: the whole document of a large inventory is 100 MB.
    typer.echo(f'{{\n  "ok": {dumps(ok)},\n  "summary": {dumps(summary(results))},\n'
               f'  "results": [' + ("\n" if results else ""), nl=False)
    step = 2000
    for start in range(0, len(results), step):
        chunk = ",\n".join(line(r) for r in results[start:start + step])
        typer.echo(chunk + (",\n" if start + step < len(results) else ""), nl=False)
    typer.echo(("\n  ]" if results else "]") + "\n}")


def _line_writer(dumps: Callable[[Any], str]) -> Callable[[Result], str]:
    """``"    " + dumps(r.to_json())`` for each result ``r``, at a fraction of the cost
    (120,000 results at 10,000 models).

    A result's fields are its dict's, in their order (a frozen dataclass's: :data:`FIELDS`);
    those of its rule (rule, title, cite, pack, pack version, basis) are written once per
    rule and put in place, its own strings by json's C string encoder, a field of another
    type by ``dumps``."""
    from dataclasses import fields
    from json.encoder import encode_basestring as text

    from mops.policy.results import Result

    if tuple(f.name for f in fields(Result)) != FIELDS:  # a field added: every one written
        return lambda r: f"    {dumps(r.to_json())}"

    def value(v: Any) -> str:
        if type(v) is str:
            return text(v)
        if v is None:
            return "null"
        return int.__repr__(v) if type(v) is int else dumps(v)

    rules: dict[tuple[Any, ...], tuple[str, str, str, str]] = {}

    def line(r: Result) -> str:
        d = r.__dict__
        # The basis by identity: every result is alive while the document is written.
        key = (d["rule"], d["title"], d["cite"], d["pack"], d["pack_version"], id(d["basis"]))
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = (
                f', "rule": {value(r.rule)}, "title": {value(r.title)}, "status": ',
                f', "cite": {value(r.cite)}, "file": ',
                f', "pack": {value(r.pack)}, "weight": ',
                f', "pack_version": {value(r.pack_version)}, '
                f'"basis": {dumps([b.to_json() for b in r.basis])}}}')
        status, related = d["status"], d["related"]
        return (f'    {{"model": {value(d["model"])}, "version": {value(d["version"])}{rule[0]}'
                f'{text(status) if isinstance(status, str) else dumps(status)}, "message": '
                f'{value(d["message"])}{rule[1]}{value(d["file"])}{rule[2]}{value(d["weight"])}'
                f', "waiver": {value(d["waiver"])}, "related": '
                f'{"[" + ", ".join(map(value, related)) + "]" if type(related) in (tuple, list) else value(related)}'
                f'{rule[3]}')

    return line


#: The fields of a result, in the order :func:`_line_writer` writes them.
FIELDS = ("model", "version", "rule", "title", "status", "message", "cite", "file", "pack",
          "weight", "waiver", "related", "pack_version", "basis")


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
