"""Governance commands: evidence, approve, promote, retire, finding, waive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mops.commands.options import REF, json_option, model_ref

evidence_app = typer.Typer(help="Attach validation evidence to a model version.",
                           no_args_is_help=True)
finding_app = typer.Typer(help="Record and close findings on a model or version.",
                          no_args_is_help=True)


@evidence_app.command("add")
def evidence_add(
    ref: REF,
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="Files to copy into the version's evidence folder.")],
    kind: Annotated[str, typer.Option(
        "--kind", metavar="KIND",
        help="Evidence kind, e.g. validation-report, conceptual-soundness, outcomes-analysis, "
             "benchmarking, fairness, risk-assessment (or your own).")],
    title: Annotated[str | None, typer.Option(
        "--title", metavar="TEXT", help="A title (default: the file names).")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", metavar="NAME=VALUE",
        help="A figure the evidence reports, e.g. gini=0.52 (repeatable).")] = None,
) -> None:
    """Copy files into a version's evidence, each with its sha256, in one commit."""
    from mops import api
    from mops.commands import committed, cwd, notify
    from mops.inventory.actions.register import parse_metrics
    from mops.inventory.names import parse_ref
    from mops.output import echo

    done = api.add_evidence(cwd(), parse_ref(ref), files, kind=kind, title=title,
                        metrics=parse_metrics(metric or []), notify=notify)
    ev = done.evidence
    echo(f"Added evidence {ev.id} ({ev.kind}, {len(ev.files)} file(s)) to "
         f"{done.model}@{done.version}")
    echo(committed(done.commit))


def approve(
    ref: REF,
    role: Annotated[str, typer.Option(
        "--role", metavar="ROLE", help="The role you sign off in, as listed in mops.yaml.")],
    reject: Annotated[bool, typer.Option(
        "--reject", help="Record a rejection instead of an approval.")] = False,
    comment: Annotated[str | None, typer.Option(
        "--comment", metavar="TEXT", help="A comment recorded with the sign-off.")] = None,
    expires: Annotated[str | None, typer.Option(
        "--expires", metavar="DATE", help="The approval counts until this date (YYYY-MM-DD).")] = None,
) -> None:
    """Sign off a model version in a role, bound to the digest of what you reviewed."""
    from mops import api, clock
    from mops.commands import committed, cwd, notify
    from mops.inventory.names import parse_ref
    from mops.output import echo

    done = api.approve(cwd(), parse_ref(ref), role=role, reject=reject, comment=comment,
                       expires=clock.parse_date_option(expires, "--expires"), notify=notify)
    a = done.approval
    verb = "rejected" if a.decision == "reject" else "approved"
    echo(f"{a.by} {verb} {done.model}@{done.version} as {a.role} (sign-off {a.id}, "
         f"{a.digest})")
    echo(committed(done.commit))


def promote(
    ref: REF,
    to: Annotated[str, typer.Option(
        "--to", metavar="STAGE", help="The target stage, e.g. validation or production.")],
) -> None:
    """Move a version to a stage if every rule for that stage is met (else exit 1)."""
    from mops import api
    from mops.commands import committed, cwd, notify
    from mops.inventory.names import parse_ref
    from mops.output import echo, warn

    done = api.promote(cwd(), parse_ref(ref), to=to, notify=notify)
    if done.waived:
        warn(f"promoted under exceptions for {', '.join(done.waived)}")
    echo(f"Promoted {done.model}@{done.version} from {done.previous} to {done.stage}")
    echo(committed(done.commit))


def retire(
    ref: Annotated[str, model_ref("A version, or a model (all its versions).")],
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="Why it is retired (recorded).")],
) -> None:
    """Mark a version or a whole model retired; every record is kept."""
    from mops import api
    from mops.commands import committed, cwd, notify
    from mops.inventory.names import parse_ref
    from mops.output import echo

    done = api.retire(cwd(), parse_ref(ref), reason=reason, notify=notify)
    echo(f"Retired {', '.join(done.model + '@' + v for v in done.versions)}")
    echo(committed(done.commit))


@finding_app.command("add")
def finding_add(
    ref: Annotated[str, model_ref("The model, or one version of it.")],
    severity: Annotated[str, typer.Option(
        "--severity", metavar="high|medium|low", help="How serious the finding is.")],
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="What was found.")],
    due: Annotated[str | None, typer.Option(
        "--due", metavar="DATE", help="When it must be resolved (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, json_option(
        "Print {\"id\": ..., \"commit\": ..., \"subject\": ...} as JSON.")] = False,
) -> None:
    """Open a finding; prints its id (alone on stdout; the commit made goes to stderr)."""
    from mops import api, clock
    from mops.commands import cwd, notify
    from mops.inventory.names import parse_ref
    from mops.output import echo, emit_json, info

    done = api.add_finding(cwd(), parse_ref(ref), severity=severity, title=title,
                       due=clock.parse_date_option(due, "--due"), notify=notify)
    made = api.commit_made(cwd(), done.commit)
    if as_json:
        emit_json({"id": done.finding.id, **made.to_json()})
    else:
        info(made.line)
        echo(done.finding.id)


@finding_app.command("close")
def finding_close(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="The model the finding belongs to.")],
    finding_id: Annotated[str, typer.Argument(metavar="FINDING-ID",
                                              help="The finding's id, e.g. F-3fa2c1.")],
    comment: Annotated[str | None, typer.Option(
        "--comment", metavar="TEXT", help="How it was resolved.")] = None,
) -> None:
    """Close a finding (or revoke an exception); the record is kept."""
    from mops import api
    from mops.commands import committed, cwd, notify
    from mops.inventory.names import validate_model
    from mops.output import echo

    done = api.close_finding(cwd(), validate_model(model), finding_id, comment=comment,
                             notify=notify)
    what = "exception" if done.finding.kind == "exception" else "finding"
    echo(f"Closed {what} {finding_id} on {model}")
    echo(committed(done.commit))


def waive(
    ref: Annotated[str, model_ref("A version, or a model (all its versions).")],
    rule: Annotated[str, typer.Option("--rule", metavar="RULE-ID",
                                      help="The id of the rule to waive.")],
    expires: Annotated[str, typer.Option(
        "--expires", metavar="DATE", help="The last day the exception holds (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT",
                                        help="Why the exception is granted.")],
    controls: Annotated[str | None, typer.Option(
        "--controls", metavar="TEXT", help="Compensating controls while it holds.")] = None,
) -> None:
    """Grant a time-limited exception: the rule reports waived (never pass) until it expires."""
    from mops import api, clock
    from mops.commands import committed, cwd, notify
    from mops.inventory.names import parse_ref
    from mops.output import echo

    done = api.waive(cwd(), parse_ref(ref), rule=rule,
                     expires=clock.parse_date_option(expires, "--expires"), reason=reason,
                     controls=controls, notify=notify)
    w = done.finding
    target = f"{w.model}@{w.version}" if w.version else w.model
    echo(f"Exception {w.id} waives {w.rule} for {target} until {w.expires}")
    echo(committed(done.commit))


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")
    app.command("approve")(approve)
    app.command("promote")(promote)
    app.command("retire")(retire)
    app.add_typer(finding_app, name="finding")
    app.command("waive")(waive)
