"""GitHub Actions output for ``mops check --format github`` and ``mops verify --format github``.

Three channels, as GitHub reads them:

- workflow commands on stdout (``::error file=...,title=...::message``), escaped
  exactly as ``@actions/core`` escapes them (``escapeProperty``/``escapeData`` in
  the toolkit's ``command.ts``);
- a Markdown job summary appended to the file named by ``GITHUB_STEP_SUMMARY``;
- step outputs (``ok=true|false``) appended to the file named by ``GITHUB_OUTPUT``.

GitHub shows at most 10 error annotations per step, so failures are emitted most
important first (rule weight, then model, version, rule); every result is in the
summary. Paths in annotations are the repository's (:func:`repo_path`), since
GitHub resolves ``file=`` from the repository's root, not the inventory's. The
rendering functions are pure; :func:`emit` and :func:`emit_verify` do the IO, and
:func:`errors_annotated` turns a command's error into an annotation too.
"""

# No `from __future__ import annotations`: it would shadow `annotations` below.
import os
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from mops.errors import MopsError, RecordError
from mops.policy.results import Result, Status, basis_summary

if TYPE_CHECKING:  # pragma: no cover
    from mops.trust.verify import Verification

#: Annotations GitHub shows per step and level; the rest only appear in the log.
ANNOTATION_LIMIT = 10
#: GitHub rejects a step summary over 1 MiB; stay well below it.
SUMMARY_BUDGET = 900_000



# ----------------------------------------------------------------------------- escaping


def escape_data(value: object) -> str:
    """A command's message, escaped as ``@actions/core``'s ``escapeData``."""
    return (_text(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(value: object) -> str:
    """A command's property value, escaped as ``@actions/core``'s ``escapeProperty``."""
    return (escape_data(value).replace(":", "%3A").replace(",", "%2C"))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def command(name: str, message: str, **properties: object) -> str:
    """One workflow command line; empty properties are left out, as the toolkit does."""
    props = ",".join(f"{key}={escape_property(val)}" for key, val in properties.items()
                     if _text(val))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def repo_path(prefix: str, path: str) -> str:
    """``path`` (relative to the inventory) as GitHub names it: from the repository's root.

    ``prefix`` is the inventory's folder inside the repository ("" at the top).
    """
    return f"{prefix}/{path}" if prefix and path else path


# ----------------------------------------------------------------------------- annotations


def by_importance(results: Iterable[Result]) -> list[Result]:
    """Most important first: status (fail, waived, pass, n/a), larger weight, then names."""
    return sorted(results, key=lambda r: (r.status.order, -r.weight,
                                          r.model, r.version, r.rule))


def annotations(results: Iterable[Result], *, prefix: str = "",
                changed: Collection[str] = ()) -> list[str]:
    """An ``::error`` per failing result and a ``::notice`` per waived one, most important first.

    ``prefix`` is the inventory's folder inside the repository: GitHub resolves an
    annotation's ``file`` from the repository's root. A failure also gets an ``::error``
    on each of its ``related`` files that is in ``changed`` (paths from the repository's
    root, e.g. what a pull request changed): a sign-off made stale by an edit to a card
    or an evidence file shows on that file, inline in the pull request's diff.
    """
    lines = []
    for r in by_importance(results):
        if r.status not in ("fail", "waived"):
            continue
        path = repo_path(prefix, r.file)
        text = f"{r.model}@{r.version}: {r.message}"
        if r.status == "waived":
            text = f"{r.model}@{r.version}: waived by {r.waiver or 'an exception'}: {r.title}"
        cite = f" ({r.cite})" if r.cite else ""
        if r.basis:  # which demands are the regulation's text and which practice
            cite += f" [basis: {basis_summary(r.basis)}]"
        lines.append(command("error" if r.status == "fail" else "notice", text + cite,
                             file=path, title=r.rule))
        if r.status != "fail" or not changed:
            continue
        for rel in r.related:
            where = repo_path(prefix, rel)
            if where in changed and where != path:
                lines.append(command("error", f"{r.model}@{r.version}: this change made a "
                                              f"sign-off stale: {r.message}{cite}",
                                     file=where, title=r.rule))
    return lines


# ----------------------------------------------------------------------------- job summary


def markdown_cell(value: object) -> str:
    """Text that stays inside one Markdown table cell and renders as written."""
    text = _text(value).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<br>".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _counts(results: Sequence[Result]) -> str:
    n: Counter[str] = Counter(r.status for r in results)
    versions = len({(r.model, r.version) for r in results})
    parts = [f"{n[s]} {word}" for s, word in (("fail", "failing"), ("waived", "waived"),
                                              ("pass", "passing"), ("n/a", "not applicable"))]
    return f"{', '.join(parts)} across {versions} model version{'s' if versions != 1 else ''}."


def _tables(results: Sequence[Result], keep: set[str]) -> tuple[list[str], int]:
    """Markdown tables, one per model (models with failures first); rows not kept are counted."""
    per_model: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        per_model[r.model].append(r)

    def rank(model: str) -> tuple:
        rows = per_model[model]
        failing = [r.weight for r in rows if r.status == "fail"]
        return (0 if failing else 1, -max(failing, default=0), model)

    blocks, omitted = [], 0
    for model in sorted(per_model, key=rank):
        rows = [r for r in by_importance(per_model[model]) if r.status in keep]
        omitted += len(per_model[model]) - len(rows)
        if not rows:
            continue
        lines = [f"### {markdown_cell(model)}", "",
                 "| Version | Rule | Status | Message | Citation |",
                 "| --- | --- | --- | --- | --- |"]
        for r in rows:
            rule = f"**{markdown_cell(r.rule)}** {markdown_cell(r.title)}".strip()
            message = r.message
            if r.status == "waived" and r.waiver:
                message = f"{message} (exception {r.waiver})" if message else f"exception {r.waiver}"
            lines.append(f"| {markdown_cell(r.version)} | {rule} | {f'{r.status.icon} {r.status}'.strip()}"
                         f" | {markdown_cell(message)} | {markdown_cell(r.cite)} |")
        blocks.append("\n".join(lines) + "\n")
    return blocks, omitted


def summary(results: Sequence[Result], *, ok: bool, scope: str | None = None,
            budget: int = SUMMARY_BUDGET) -> str:
    """The job summary: a headline, counts, and a table per model (rule, status, message, citation).

    When every row does not fit in ``budget`` bytes, passing and not-applicable rows
    are left out (counted), then whole models, so that GitHub accepts the summary.
    """
    head = "## ✅ mops check passed" if ok else "## ❌ mops check failed"
    intro = [head, ""]
    if scope:
        intro += [markdown_cell(scope), ""]
    if not results:
        intro.append("No model versions to check.")
        return "\n".join(intro) + "\n"
    intro += [_counts(results), "", ""]
    text = "\n".join(intro)

    blocks, omitted = _tables(results, set(Status))
    if sum(len(b.encode()) for b in blocks) + len(text.encode()) > budget:
        blocks, omitted = _tables(results, {"fail", "waived"})
    notes = []
    if omitted:
        notes.append(f"{omitted} passing or not-applicable results are left out to keep this "
                     f"summary within GitHub's size limit; `mops check --format json` lists them all.")
    out, size, dropped = [], len(text.encode()) + 400, 0
    for block in blocks:
        size += len(block.encode()) + 1
        if size > budget:
            dropped += 1
            continue
        out.append(block)
    if dropped:
        notes.append(f"{dropped} more models with failing or waived results did not fit; "
                     f"`mops check --format json` lists them all.")
    return text + "\n".join(out) + ("\n" + "\n\n".join(f"_{n}_" for n in notes) + "\n" if notes else "")


# ----------------------------------------------------------------------------- IO


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def emit(results: Sequence[Result], *, ok: bool | None = None, prefix: str = "",
         scope: str | None = None, changed: Collection[str] = (),
         env: Mapping[str, str] | None = None) -> bool:
    """Print annotations, append the job summary and the ``ok`` output; return ``ok``.

    ``ok`` defaults to "no result failed". Without ``GITHUB_STEP_SUMMARY`` and
    ``GITHUB_OUTPUT`` (e.g. run locally) only the annotations are printed. ``changed``:
    see :func:`annotations`.
    """
    env = os.environ if env is None else env
    if ok is None:
        ok = not any(r.status == "fail" for r in results)
    lines = annotations(results, prefix=prefix, changed=changed)
    for line in lines:
        typer.echo(line)
    failing = sum(1 for r in results if r.status == "fail")
    verdict = "passed" if ok else "failed"
    extra = (f"; GitHub shows the first {ANNOTATION_LIMIT} as annotations, the job summary "
             f"lists every result" if failing > ANNOTATION_LIMIT else "")
    typer.echo(f"mops check {verdict}: {failing} failing of {len(results)} results{extra}")
    if env.get("GITHUB_STEP_SUMMARY"):
        _append(env["GITHUB_STEP_SUMMARY"], summary(results, ok=ok, scope=scope) + "\n")
    if env.get("GITHUB_OUTPUT"):
        _append(env["GITHUB_OUTPUT"], f"ok={'true' if ok else 'false'}\nfailed={failing}\n")
    return ok


# ----------------------------------------------------------------------------- mops verify


VERIFY_TITLE = "mops verify"


def verify_annotations(result: "Verification", *, prefix: str = "") -> list[str]:
    """An ``::error`` per problem and a ``::warning`` per warning, on the file concerned."""
    return ([command("error", p.problem, file=repo_path(prefix, p.path), title=VERIFY_TITLE)
             for p in result.problems]
            + [command("warning", w.problem, file=repo_path(prefix, w.path), title=VERIFY_TITLE)
               for w in result.warnings])


def verify_summary(result: "Verification", *, tally: str, prefix: str = "",
                   budget: int = SUMMARY_BUDGET) -> str:
    """The job summary of ``mops verify``: a headline, what was checked, a table of problems."""
    head = "## ✅ mops verify passed" if result.ok else "## ❌ mops verify failed"
    text = "\n".join([head, "", markdown_cell(tally), ""]) + "\n"
    rows = [("❌", p) for p in result.problems] + [("⚠️", w) for w in result.warnings]
    if not rows:
        return text
    text += "|  | Path | Problem |\n| --- | --- | --- |\n"
    left = 0
    for n, (mark, p) in enumerate(rows):
        row = f"| {mark} | {markdown_cell(repo_path(prefix, p.path))} | {markdown_cell(p.problem)} |\n"
        if len(text.encode()) + len(row.encode()) + 400 > budget:
            left = len(rows) - n
            break
        text += row
    if left:
        text += (f"\n_{left} more problems or warnings did not fit in GitHub's size limit; "
                 f"`mops verify --format json` lists them all._\n")
    return text


def emit_verify(result: "Verification", *, tally: str, prefix: str = "",
                env: Mapping[str, str] | None = None) -> bool:
    """Print ``verify``'s annotations and tally; append the job summary and outputs; return ok."""
    env = os.environ if env is None else env
    for line in verify_annotations(result, prefix=prefix):
        typer.echo(line)
    extra = (f"; GitHub shows the first {ANNOTATION_LIMIT} as annotations, the job summary "
             f"lists them all" if len(result.problems) > ANNOTATION_LIMIT else "")
    typer.echo(escape_data(tally) + extra)
    if env.get("GITHUB_STEP_SUMMARY"):
        _append(env["GITHUB_STEP_SUMMARY"],
                verify_summary(result, tally=tally, prefix=prefix) + "\n")
    if env.get("GITHUB_OUTPUT"):
        _append(env["GITHUB_OUTPUT"],
                f"ok={'true' if result.ok else 'false'}\nproblems={len(result.problems)}\n")
    return result.ok


# ----------------------------------------------------------------------------- errors


@dataclass
class ErrorContext:
    """Where a command's error points: set ``prefix`` once the inventory is open."""

    title: str
    prefix: str | None = None


@contextmanager
def errors_annotated(title: str) -> Iterator[ErrorContext]:
    """Also report a command's error (exit 2 or 3) as an ``::error`` annotation titled ``title``.

    The error propagates unchanged, so ``main``'s one handler still prints the
    ``error: ...`` line on stderr and sets the exit code; this only adds the workflow
    command on stdout, where GitHub reads it. A record error points at its file and
    line once the command has recorded the inventory's ``prefix``.
    """
    context = ErrorContext(title)
    try:
        yield context
    except MopsError as exc:
        props: dict[str, object] = {}
        if isinstance(exc, RecordError) and context.prefix is not None:
            props = {"file": repo_path(context.prefix, exc.path), "line": exc.line,
                     "col": exc.column}
        typer.echo(command("error", "\n".join([exc.message, *exc.details]), **props,
                           title=title))
        raise
    except (typer.Exit, typer.Abort):  # an exit code chosen by the command (Exit is an Exception)
        raise
    except Exception as exc:  # a bug: main's handler says so and exits 3
        typer.echo(command("error", f"internal error ({type(exc).__name__}: {exc}); this is a "
                                    f"bug in mops", title=title))
        raise
