"""``mops check``: evaluate the policy rules in force; exit 1 when any fails.

Each output format is one function taking the results (JSON: as the memo keeps them);
``check`` picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mops.commands.options import Format as Format  # re-exported: verify imports it from here
from mops.commands.options import changed_since_option, format_option, model_refs

if TYPE_CHECKING:  # pragma: no cover
    from mops.output.github import ErrorContext
    from mops.policy.engine import Kept
    from mops.policy.packs import Rule
    from mops.policy.results import Result, Status


#: Terminal colours by a status's tone (``Status.tone``).
TONE_COLOUR = {"bad": "red", "warn": "yellow", "ok": "green"}


def summary(results: list[Result]) -> dict[str, int]:
    from mops.policy.results import Status

    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status] += 1
    return counts


def print_json(results: list[Result], kept: Kept | None = None) -> None:
    """One JSON document of ``results``, then those ``kept`` holds; one result per line, each
    as ``json.dumps(r.to_json(), ensure_ascii=False, default=str)`` writes it (without
    indent=: 10x slower), ``r`` a kept result decoded (:func:`line_writer` needs none;
    a whole run's lines may be kept written, :attr:`Kept.chunks`)."""
    import itertools

    dumps = _dumps()
    counts, total = summary(results), len(results)
    if kept is not None:
        for status, n in kept.counts.items():
            counts[status] += n
        total += len(kept)
    pieces: Iterator[bytes] = (f"    {dumps(r.to_json())}".encode() for r in results)
    if kept is not None and kept.chunks is not None:
        pieces = itertools.chain(pieces, (text for _, text in kept.chunks if text))
    elif kept is not None:
        write = line_writer(kept.rules)
        pieces = itertools.chain(pieces, (write(model, items).encode()
                                          for model, items in kept.models if items))
    # Written in pieces (each one result's line, or a model's lines), as UTF-8: the whole
    # document of a large inventory is 100 MB.
    typer.echo(f'{{\n  "ok": {dumps(not counts["fail"])},\n  "summary": {dumps(counts)},\n'
               f'  "results": [' + ("\n" if total else ""), nl=False)
    chunk = b",\n".join(itertools.islice(pieces, 200))
    while chunk:
        following = b",\n".join(itertools.islice(pieces, 200))
        typer.echo(chunk + (b",\n" if following else b""), nl=False)
        chunk = following
    typer.echo(("\n  ]" if total else "]") + "\n}")


def _dumps() -> Callable[[Any], str]:
    import json

    return json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode


def line_writer(rules: dict[str, Rule]) -> Callable[[str, list[list[Any]]], str]:
    """What writes a model's kept results (``items``, of ``rules``) as their lines of the
    JSON document, joined by a comma and a newline: for each item, ``"    " + dumps(r.to_json())`` of the
    result ``r`` it decodes to, written without a :class:`Result` (120,000 at 10,000 models).

    An item holds a result's own fields (:func:`mops.policy.engine.encode_results`); those
    of its rule (rule, title, status, cite, pack, pack version, basis) are written once per
    rule and status and put in place. Strings go through json's C string encoder, a value
    of another type through ``dumps``; the fields are :data:`FIELDS`, in their order."""
    from dataclasses import fields
    from json.encoder import encode_basestring as text

    from mops.policy.engine import decode_result
    from mops.policy.results import Result, Status

    dumps = _dumps()
    if tuple(f.name for f in fields(Result)) != FIELDS:  # a field added: every one written
        return lambda model, items: ",\n".join(
            f"    {dumps(decode_result(model, item, rules).to_json())}" for item in items)

    def value(v: Any) -> str:
        if type(v) is str:
            return text(v)
        if v is None:
            return "null"
        return int.__repr__(v) if type(v) is int else dumps(v)

    parts: dict[tuple[str, str], tuple[str, str, str, str]] = {}

    def rule_parts(rule_id: str, status: str) -> tuple[str, str, str, str]:
        rule = rules[rule_id]
        made = parts[rule_id, status] = (
            f', "rule": {value(rule_id)}, "title": {value(rule.title)}, '
            f'"status": {text(Status(status))}, "message": ',
            f', "cite": {value(rule.cite)}, "file": ',
            f', "pack": {value(rule.pack)}, "weight": ',
            f', "pack_version": {value(rule.pack_version)}, '
            f'"basis": {dumps([b.to_json() for b in rule.basis])}}}')
        return made

    def write(model: str, items: list[list[Any]]) -> str:
        head = f'    {{"model": {value(model)}, "version": '
        lines = []
        for version, rule_id, status, message, file, weight, waiver, related in items:
            rule = parts.get((rule_id, status)) or rule_parts(rule_id, status)
            lines.append(
                f'{head}{text(version) if type(version) is str else value(version)}{rule[0]}'
                f'{text(message) if type(message) is str else value(message)}{rule[1]}'
                f'{text(file) if type(file) is str else value(file)}{rule[2]}'
                f'{weight if type(weight) is int else value(weight)}, "waiver": '
                f'{"null" if waiver is None else value(waiver)}, "related": '
                f'{"[" + ", ".join(map(value, related)) + "]" if related else "[]"}{rule[3]}')
        return ",\n".join(lines)

    return write


#: The fields of a result, in the order :func:`line_writer` writes them.
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
        checked = api.check(inv, parsed, changed_since=changed_since,
                            lines=line_writer if fmt == Format.json else None)
        if checked.nothing_checked:
            _warn_nothing_checked(checked.nothing_checked, github=fmt == Format.github)
        if fmt == Format.github:
            from mops.output.github import emit

            paths: list[str] = []
            if changed_since is not None and any(r.status == "fail" and r.related
                                                 for r in checked.results):
                from mops.inventory.changes import changed_paths

                # What the pull request changed: a stale sign-off is annotated on those files too.
                paths = changed_paths(inv, changed_since)
            emit(checked.results, prefix=inv.prefix, scope=checked.scope, changed=set(paths))
        elif fmt == Format.json:
            print_json(checked.deleted, checked.kept)
        else:
            print_text(checked.results)
    if checked.failed:
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
