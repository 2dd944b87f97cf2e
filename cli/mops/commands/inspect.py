"""Read-only views: ``mops list``, ``mops show``, ``mops log``."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from mops.commands.options import JSON, model_ref


class ListFormat(enum.StrEnum):
    """``list --format``."""

    text = "text"
    json = "json"
    csv = "csv"


def list_cmd(
    stage: Annotated[str | None, typer.Option(
        "--stage", metavar="S", help="Only versions in this stage.")] = None,
    as_json: JSON = False,
    fmt: Annotated[ListFormat, typer.Option(
        "--format", metavar="text|json|csv", case_sensitive=False,
        help="text (a table), json (as --json) or csv: the inventory for a spreadsheet or a "
             "risk committee, the table the audit report links.")] = ListFormat.text,
) -> None:
    """List every model version with its stage, tier, owner and compliance."""
    from mops import api
    from mops.commands import cwd
    from mops.heap import young_collections_only
    from mops.output import table

    if as_json or fmt == ListFormat.json:
        with young_collections_only(), api.opened(cwd()) as inv:
            typer.echo(api.list_json(inv, stage))  # as emit_json writes it, each row kept
        return
    with young_collections_only(), api.opened(cwd()) as inv:
        rows = api.list_versions(inv, stage)
    if fmt == ListFormat.csv:
        from mops.report.table import csv_text

        typer.echo(csv_text(rows), nl=False)
        return
    if not rows:
        typer.echo("No model versions" + (f" in stage {stage}" if stage else "") + ".", err=True)
        return
    table(["MODEL", "VERSION", "STAGE", "TIER", "OWNER", "COMPLIANCE"],
          [[r["model"], r["version"], r["stage"], r["tier"], r["owner"], r["compliance"]]
           for r in rows],
          styles={"NOT COMPLIANT": "red", "compliant": "green",
                  "compliant with waivers": "yellow"})


def show(
    ref: Annotated[str, model_ref("Model, or model@version (default: latest).")],
    as_json: JSON = False,
) -> None:
    """Show a model version: card, artifact, evidence, sign-offs, monitoring results and findings."""
    from mops import api
    from mops.commands import cwd
    from mops.inventory.names import parse_ref
    from mops.output import echo, emit_json

    with api.opened(cwd()) as inv:
        data = api.show(inv, parse_ref(ref))
    if as_json:
        emit_json(data)
        return
    card = data["card"]
    echo(f"{data['model']}@{data['version']}  ({card.get('name', data['model'])})")
    echo(f"  stage:       {data['stage']}")
    echo(f"  owner:       {card.get('owner') or '-'}")
    echo(f"  tier:        {card.get('tier') or '-'}")
    echo(f"  registered:  {data['registered_at']} by {data['registered_by']}")
    art = data["artifact"]
    echo(f"  artifact:    {(art.get('path') or art.get('uri') or '-') + '  sha256:' + art['sha256'] if art else '-'}")
    echo(f"  digest:      {data['digest']}")
    echo(f"  versions:    {', '.join(data['versions'])}")
    echo(f"  evidence:    {len(data['evidence']) or 'none'}")
    for e in data["evidence"]:
        echo(f"    {e['id']}  {e['kind']}  {e['title']}  ({len(e['files'])} file(s))")
    echo(f"  sign-offs:   {len(data['approvals']) or 'none'}")
    for a in data["approvals"]:
        state = "STALE (" + ", ".join(a["changed"]) + " changed)" if a["stale"] else "valid"
        echo(f"    {a['id']}  {a['role']}  {a['decision']}  by {a['by']} at {a['at']}  {state}")
    echo(f"  monitoring:  {len(data['monitoring']) or 'none'}")
    for m in data["monitoring"]:
        verdict = (("DRIFT" if m["dataset_drift"] else "BREACH") + f" ({len(m['breaches'])} "
                   f"breach(es))") if m["breach"] else "no breach"
        window = f"  window {m['window']}" if m["window"] else ""
        echo(f"    {m['id']}  {m['kind']}  {m['at']}{window}  {verdict}")
    open_findings = [f for f in data["findings"] if f["status"] == "open"]
    echo(f"  findings:    {len(open_findings) or 'none'} open")
    for f in open_findings:
        label = f"exception for {f['rule']} until {f['expires']}" if f["kind"] == "exception" \
            else f"{f['severity']}"
        echo(f"    {f['id']}  {label}  {f['title']}")


def log(
    model: Annotated[str | None, typer.Argument(metavar="MODEL", help="Only this model's history.")] = None,
    as_json: JSON = False,
) -> None:
    """The audit trail from git history: who did what, when, in which commit."""
    from mops import api
    from mops.commands import cwd
    from mops.output import emit_json, table

    with api.opened(cwd()) as inv:
        entries = api.log(inv, model)
    if as_json:
        emit_json(entries)
        return
    table(["COMMIT", "AT", "ACTOR", "ACTION", "MODEL", "VERSION"],
          [[e["commit"][:12], e["at"], e["actor"], e["action"] if e["by_mops"]
            else "edit (not by mops)", e["model"] or "", e["version"] or ""] for e in entries])


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command("show")(show)
    app.command("log")(log)
