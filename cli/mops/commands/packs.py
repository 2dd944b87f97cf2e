"""``mops packs``: the policy packs available, what each demands and on what basis, and upgrades."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # pragma: no cover
    from mops.inventory.store import Inventory
    from mops.policy.catalog import Entry

packs_app = typer.Typer(help="Policy packs: list them, show their rules and basis, upgrade "
                             "the built-in packs in force.", no_args_is_help=True)


def _inventory() -> Inventory | None:
    """The inventory here, or None: ``list`` and ``show`` work before ``mops init`` too."""
    from mops.commands import cwd
    from mops.errors import NotAnInventoryError
    from mops.inventory.store import Inventory

    try:
        return Inventory.open(cwd())
    except NotAnInventoryError:
        return None


@packs_app.command("list")
def list_packs(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print a JSON array: name, title, builtin, path, version, versions, "
                       "latest, in_force, rules, description.")] = False,
) -> None:
    """The packs available: built-in (every version shipped) and this inventory's own."""
    from mops.output import echo, emit_json, table
    from mops.policy.catalog import available, summary

    inv = _inventory()
    rows = [summary(e) for e in available(inv)]
    if as_json:
        emit_json(rows)
        return
    table(["PACK", "VERSION", "IN FORCE", "RULES", "SOURCE", "TITLE"],
          [[r["name"], _versions(r), "-" if r["in_force"] is None else f"version {r['in_force']}",
            r["rules"], "built-in" if r["builtin"] else r["path"], r["title"]] for r in rows])
    if inv is None:
        echo("\n(not in an inventory: `mops init --pack NAME` adopts the latest version)")
    else:
        _notices(inv)


def _versions(row: dict[str, Any]) -> str:
    shown = f"{row['version']}"
    if row["builtin"] and row["latest"] != row["version"]:
        shown += f" (latest {row['latest']})"
    return shown


def _notices(inv: Inventory) -> None:
    from mops.output import warn
    from mops.policy.catalog import pack_notices
    from mops.policy.packs import load_packs

    for notice in pack_notices(load_packs(inv)):
        warn(notice)


@packs_app.command("show")
def show(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="A pack: a built-in name (the version in force here, else the "
                             "latest), NAME@VERSION, or the path of this inventory's own pack.")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document: the pack, its settings, changelog and every "
                       "rule with its citation and basis.")] = False,
) -> None:
    """A pack's rules: what each demands, when, its citation and the basis of each demand."""
    from mops.output import emit_json
    from mops.policy.catalog import describe, find

    entry = find(_inventory(), name)
    if as_json:
        emit_json(describe(entry))
        return
    _print_pack(entry)


def _print_pack(entry: Entry) -> None:
    from mops.output import echo
    from mops.policy.catalog import describe

    d = describe(entry)
    echo(f"{d['ref']}  {d['title']}")
    where = "built-in" if d["builtin"] else d["path"]
    versions = ", ".join(map(str, d["versions"]))
    force = "not in force here" if d["in_force"] is None else f"in force here: version {d['in_force']}"
    echo(f"{where}; versions {versions} (latest {d['latest']}); {force}")
    if d["description"]:
        echo(f"\n{d['description']}")
    if d["sources"]:
        echo("\nSources:")
        for s in d["sources"]:
            echo(f"  - {s}")
    if d["settings"]:
        echo("\nSettings (change them in mops.yaml under policy_settings."
             f"{d['name']}):")
        for s in d["settings"]:
            origin = "the default" if s["source"] == "default" \
                else f"from {s['source']}; default {s['default']!r}"
            echo(f"  {s['name']} = {s['value']!r} ({origin})")
            if s["note"]:
                echo(f"      {s['note']}")
    for what, items in d["declares"].items():
        if items:
            echo(f"\nDeclares {what.replace('_', ' ')}:")
            for key, meaning in items.items():
                echo(f"  {key}: {meaning}")
    echo(f"\nRules ({len(d['rules'])}):")
    for r in d["rules"]:
        echo(f"  {r['id']}  [{r['severity']}]  {r['title']}")
        echo(f"      applies:  {r['applies']}")
        if r["off"]:
            echo(f"      now off:  {r['off']}")
        echo(f"      requires: {r['requires']}")
        echo(f"      cite:     {r['cite']}")
        for i, b in enumerate(r["basis"]):
            label = "basis:" if i == 0 else ""
            detail = b["detail"] if b["kind"] == "unspecified" else f"{b['demand']} ({b['detail']})"
            echo(f"      {label:<9} {b['kind']}: {detail}")
        if r["note"]:
            echo(f"      note:     {r['note']}")
    if d["changelog"]:
        echo("\nChangelog:")
        for c in d["changelog"]:
            for change in c["changes"]:
                echo(f"  version {c['version']}: {change}")


@packs_app.command("upgrade")
def upgrade(
    name: Annotated[str | None, typer.Argument(
        metavar="NAME", help="A built-in pack in force (default: every built-in pack in force "
                               "that has a newer version).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the differences; change nothing.")] = False,
) -> None:
    """Adopt the latest version of built-in packs: show the differences, then one commit.

    Rules added, removed and changed (citation, basis, demand) and settings are shown;
    mops.yaml records the new versions. Only a governance.changed_by member may upgrade.
    """
    from mops.api import upgrade_packs
    from mops.commands import committed, cwd, notify
    from mops.output import echo

    upgrades, done = upgrade_packs(cwd(), name, dry_run=dry_run, notify=notify)
    if not upgrades:
        which = f"pack {name} is" if name else "every built-in pack in force is"
        echo(f"Nothing to upgrade: {which} at its latest version")
        return
    for u in upgrades:
        for line in u.lines():
            echo(line)
    if done is None:
        echo("\n(dry run: nothing was changed)")
    else:
        adopted = ", ".join(f"{u.name}@{u.new}" for u in upgrades)
        echo(f"\nAdopted {adopted} in mops.yaml")
        echo(committed(done.commit))


def register(app: typer.Typer) -> None:
    app.add_typer(packs_app, name="packs")
