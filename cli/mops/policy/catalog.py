"""The packs a user can choose, described for ``mops packs list`` and ``mops packs show``.

Built-in packs (every version shipped with mops) and, inside an inventory, its own
packs (``policies/*.yaml`` and any path ``mops.yaml`` names). Works outside an
inventory too, so that packs can be chosen before ``mops init``. Returns plain data
(JSON-ready dicts); the command prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mops.errors import NotFoundError
from mops.inventory import yamlio
from mops.inventory.records import DEFAULT_STAGES
from mops.inventory.store import Inventory
from mops.policy.packs import Pack, builtin_ref, is_pack_path, latest_version, load_builtin, load_pack, load_packs

INVENTORY_PACKS_DIR = "policies"


@dataclass(frozen=True)
class Entry:
    """One pack as ``mops packs`` shows it: the version shown, and what is in force."""

    pack: Pack
    #: Versions shipped with mops (built-in), or the file's own version.
    versions: tuple[int, ...]
    #: The version in force in this inventory (None: not in force, or no inventory).
    in_force: int | None


def available(inv: Inventory | None) -> list[Entry]:
    """Every built-in pack (the version in force here, else the latest) and the inventory's own."""
    from mops import resources

    in_force = {p.name: p for p in load_packs(inv)} if inv is not None else {}
    stages = inv.settings.stages if inv is not None else DEFAULT_STAGES
    out = []
    for name in resources.builtin_pack_names():
        versions = tuple(resources.builtin_pack_versions(name))
        current = in_force.get(name)
        if current is not None and current.builtin:
            out.append(Entry(current, versions, current.version))
        else:
            out.append(Entry(load_builtin(builtin_ref(name, default_latest=True), stages=stages),
                             versions, None))
    if inv is not None:
        for pack in in_force.values():
            if not pack.builtin:
                out.append(Entry(pack, (pack.version,), pack.version))
        for rel in _inventory_pack_files(inv):
            if any(e.pack.path == rel for e in out):
                continue
            pack = load_pack(rel, inv.read(rel), stages=stages)
            out.append(Entry(pack, (pack.version,), None))
    return out


def _inventory_pack_files(inv: Inventory) -> list[str]:
    return [f"{INVENTORY_PACKS_DIR}/{name}" for name in inv.source.listdir(INVENTORY_PACKS_DIR)
            if is_pack_path(name) and inv.source.isfile(f"{INVENTORY_PACKS_DIR}/{name}")]


def find(inv: Inventory | None, name: str) -> Entry:
    """A pack by name, ``name@version`` (built-in) or path (the inventory's own).

    A built-in name without a version is the version in force in this inventory, else
    the latest.
    """
    if "@" in name:
        try:
            ref = builtin_ref(name)
        except ValueError as exc:
            raise NotFoundError(str(exc)) from None
        from mops import resources

        stages = inv.settings.stages if inv is not None else DEFAULT_STAGES
        entries = {e.pack.name: e for e in available(inv)}
        current = entries.get(ref.name)
        in_force = current.in_force if current is not None else None
        pack = current.pack if current is not None and current.pack.version == ref.version \
            else load_builtin(ref, stages=stages)
        return Entry(pack, tuple(resources.builtin_pack_versions(ref.name)), in_force)
    for entry in available(inv):
        if name in (entry.pack.name, entry.pack.path):
            return entry
    known = ", ".join(e.pack.name for e in available(inv))
    raise NotFoundError(f"unknown pack {name!r} (packs: {known}; `mops packs list` shows them)")


# ----------------------------------------------------------------------------- descriptions


def summary(entry: Entry) -> dict[str, Any]:
    """One row of ``mops packs list --json``."""
    pack = entry.pack
    return {
        "name": pack.name,
        "title": pack.title,
        "builtin": pack.builtin,
        "path": _shown_path(pack),
        "version": pack.version,
        "versions": list(entry.versions),
        "latest": max(entry.versions),
        "in_force": entry.in_force,
        "rules": len(pack.rules),
        "description": pack.description,
    }


def describe(entry: Entry) -> dict[str, Any]:
    """Everything ``mops packs show --json`` prints about one pack."""
    pack = entry.pack
    out = summary(entry)
    out.update({
        "ref": pack.ref,
        "sources": list(pack.sources),
        "changelog": changelog(pack),
        "declares": {"card_fields": dict(pack.card_fields),
                     "evidence_kinds": dict(pack.evidence_kinds)},
        "settings": [{"name": s.name, "default": s.default, "value": s.value, "source": s.source,
                      "note": s.note} for s in pack.settings.values()],
        "rules": [rule_description(r) for r in pack.rules],
    })
    return out


def rule_description(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity,
        "cite": rule.cite,
        "basis": [b.to_json() for b in rule.basis],
        "applies": rule.describe_when(),
        "off": rule.off,
        "requires": rule.describe(),
        "require": _plain(rule.require),
        "note": rule.note,
        "line": rule.line,
    }


def changelog(pack: Pack) -> list[dict[str, Any]]:
    """Each version's changes, newest first (a built-in pack's every shipped version)."""
    if not pack.builtin:
        return [{"version": pack.version, "changes": list(pack.changelog)}] if pack.changelog else []
    from mops import resources

    out = []
    for version in reversed(resources.builtin_pack_versions(pack.name)):
        path = resources.builtin_pack_path(pack.name, version)
        raw = yamlio.load_mapping(str(path), path.read_bytes())
        changes = raw.get("changelog") or []
        if isinstance(changes, str):
            changes = [changes]
        out.append({"version": version, "changes": [" ".join(str(c).split()) for c in changes]})
    return out


def _shown_path(pack: Pack) -> str:
    if pack.builtin:
        return f"built-in: policies/{pack.name}/{pack.version}.yaml"
    return pack.path


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def pack_notices(packs: Sequence[Pack]) -> list[str]:
    """A sentence per built-in pack in force that is not its latest version."""
    out = []
    for pack in packs:
        latest = latest_version(pack)
        if latest is not None and pack.version < latest:
            how = "" if pack.pinned else f" (mops.yaml names it without a version: version {pack.version})"
            out.append(f"pack {pack.name} is at version {pack.version}{how}; version {latest} is "
                       f"available: `mops packs show {pack.name}@{latest}` shows it, `mops packs "
                       f"upgrade {pack.name}` adopts it")
    return out

