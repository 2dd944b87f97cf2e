"""``mops packs upgrade``: adopt the latest version of built-in packs, in one commit.

The inventory records the version of each built-in pack it adopted in ``mops.yaml``
(``policies: [baseline@2, us-sr26-2@2]``). Upgrading rewrites only those entries
(comments and layout stay as they were), after checking that the new versions load
with the inventory's ``policy_settings``; the differences (rules added, removed and
changed, settings, changelog) are returned for the command to show, and go into the
commit message. Only a governor (``governance.changed_by`` in ``mops.yaml``, as
``mops verify`` demands of every change to the rules) may change the policy in force;
any refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mops import git
from mops.errors import PolicyError, RecordError, UsageError
from mops.inventory import records
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked
from mops.inventory.layout import SETTINGS_FILE
from mops.inventory.store import Inventory
from mops.policy.catalog import changelog
from mops.policy.packs import Pack, Rule, builtin_ref, is_pack_path, load_builtin, packs_for, settings_overrides

Notify = Callable[[str], None] | None
#: (settings, person) -> why the person may not change the inventory's rules, or None.
GovernanceCheck = Callable[[records.Settings, str], str | None]


@dataclass(frozen=True)
class RuleChange:
    rule: str
    #: (what changed, before, after), e.g. ("cite", "SR 26-2 ...", "SR 26-2 §V ...").
    changes: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class PackUpgrade:
    """The differences between the version of a pack in force and the one adopted."""

    name: str
    old: int
    new: int
    added: tuple[Rule, ...] = ()
    removed: tuple[Rule, ...] = ()
    changed: tuple[RuleChange, ...] = ()
    #: (setting, what changed) for settings added, removed or with a new default.
    settings: tuple[tuple[str, str], ...] = ()
    #: The changelog of each version after ``old`` up to ``new``, newest first.
    changelog: tuple[tuple[int, tuple[str, ...]], ...] = ()

    def lines(self) -> list[str]:
        """The differences in words (the command prints them; the commit message holds them)."""
        out = [f"{self.name}: version {self.old} -> {self.new}"]
        for version, changes in self.changelog:
            out += [f"  changelog of version {version}: {c}" for c in changes]
        out += [f"  rule added: {r.id} ({r.title}) [{r.cite}]" for r in self.added]
        out += [f"  rule removed: {r.id} ({r.title})" for r in self.removed]
        for ch in self.changed:
            out.append(f"  rule changed: {ch.rule}")
            out += [f"    {what}: {before!r} -> {after!r}" for what, before, after in ch.changes]
        out += [f"  setting {name}: {what}" for name, what in self.settings]
        if not (self.added or self.removed or self.changed or self.settings):
            out.append("  no rule or setting changed")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"pack": self.name, "from": self.old, "to": self.new,
                "added": [r.id for r in self.added], "removed": [r.id for r in self.removed],
                "changed": [{"rule": c.rule, "changes": [{"what": w, "before": b, "after": a}
                                                         for w, b, a in c.changes]}
                            for c in self.changed],
                "settings": [{"name": n, "change": w} for n, w in self.settings],
                "changelog": [{"version": v, "changes": list(c)} for v, c in self.changelog]}


def differences(old: Pack, new: Pack) -> PackUpgrade:
    """What adopting ``new`` instead of ``old`` (two versions of one pack) changes."""
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    changed = []
    for rid in [r for r in after if r in before]:
        a, b = before[rid], after[rid]
        aspects = [(what, x, y) for what, x, y in (
            ("title", a.title, b.title),
            ("severity", a.severity, b.severity),
            ("applies", a.describe_when(), b.describe_when()),
            ("requires", a.describe(), b.describe()),
            ("cite", a.cite, b.cite),
            ("basis", "; ".join(x.describe() for x in a.basis),
             "; ".join(x.describe() for x in b.basis)),
            ("note", a.note, b.note),
        ) if x != y]
        if aspects:
            changed.append(RuleChange(rid, tuple(aspects)))
    settings = []
    for name in new.settings:
        if name not in old.settings:
            settings.append((name, f"added (default {new.settings[name].default!r})"))
        elif old.settings[name].default != new.settings[name].default:
            settings.append((name, f"default {old.settings[name].default!r} -> "
                                   f"{new.settings[name].default!r}"))
    settings += [(name, "removed") for name in old.settings if name not in new.settings]
    log = tuple((c["version"], tuple(c["changes"])) for c in changelog(new)
                if old.version < c["version"] <= new.version)
    return PackUpgrade(new.name, old.version, new.version,
                       added=tuple(r for rid, r in after.items() if rid not in before),
                       removed=tuple(r for rid, r in before.items() if rid not in after),
                       changed=tuple(changed), settings=tuple(settings), changelog=log)


# ----------------------------------------------------------------------------- mops.yaml


def rewrite_policies(text: str, entries: Sequence[str]) -> str:
    """``mops.yaml`` with ``policies`` set to ``entries``, everything else byte for byte."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        raise RecordError(SETTINGS_FILE, "expected a YAML mapping")
    flow = f"[{', '.join(entries)}]"
    for key, value in node.value:
        if key.value != "policies":
            continue
        items = value.value if isinstance(value, yaml.SequenceNode) else None
        if items is not None and len(items) == len(entries) \
                and all(isinstance(i, yaml.ScalarNode) for i in items):
            out = text
            for item, entry in reversed(list(zip(items, entries, strict=True))):
                if item.value != entry:
                    out = out[:item.start_mark.index] + entry + out[item.end_mark.index:]
            return out
        if isinstance(value, yaml.ScalarNode) and value.start_mark.index == value.end_mark.index:
            # `policies:` with nothing after it
            return text[:key.end_mark.index] + ": " + flow + text[value.end_mark.index:]
        return text[:value.start_mark.index] + flow + text[value.end_mark.index:]
    return text + ("" if text.endswith("\n") or not text else "\n") + f"policies: {flow}\n"


# ----------------------------------------------------------------------------- the action


@dataclass(frozen=True)
class Upgraded(Done):
    """The packs adopted, as mops.yaml now names them (``baseline@2``)."""

    packs: tuple[str, ...]


@dataclass
class Plan:
    upgrades: list[PackUpgrade] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    text: str = ""


def plan(inv: Inventory, name: str | None = None) -> Plan:
    """What ``packs upgrade [NAME]`` would change (refusing an unknown or absent NAME)."""
    from mops import resources

    settings = inv.settings
    if name is not None:
        if "@" in name:
            raise UsageError(f"{name!r}: give the pack's name alone (`mops packs upgrade "
                             f"{name.split('@', 1)[0]}`): upgrade adopts its latest version")
        if name not in resources.builtin_pack_names():
            raise UsageError(f"unknown built-in pack {name!r} (built-in: "
                             f"{', '.join(resources.builtin_pack_names())}); only built-in packs "
                             f"have versions to upgrade to: your own packs change with the file")
    entries = list(settings.policies)
    upgrades: list[PackUpgrade] = []
    found = False
    for i, entry in enumerate(entries):
        if is_pack_path(entry):
            continue
        try:
            ref = builtin_ref(entry)
        except ValueError as exc:
            raise RecordError(SETTINGS_FILE, f"policies: {exc}") from None
        if name is not None and ref.name != name:
            continue
        found = True
        latest = resources.builtin_pack_versions(ref.name)[-1]
        if ref.version >= latest:
            continue
        overrides = settings_overrides(settings.policy_settings, ref.name)
        old = load_builtin(ref, stages=settings.stages, overrides=overrides)
        new_ref = builtin_ref(f"{ref.name}@{latest}")
        try:
            new = load_builtin(new_ref, stages=settings.stages, overrides=overrides)
        except RecordError as exc:
            raise UsageError(f"cannot upgrade {ref.name} to version {latest}: {exc}; change "
                             f"mops.yaml's policy_settings.{ref.name} first; nothing was "
                             f"changed") from None
        upgrades.append(differences(old, new))
        entries[i] = new_ref.text
    if name is not None and not found:
        raise UsageError(f"pack {name!r} is not in force in this inventory (mops.yaml policies: "
                         f"{', '.join(settings.policies) or 'none'}); add it to policies first")
    out = Plan(upgrades, entries)
    if upgrades:
        out.text = rewrite_policies(inv.read(SETTINGS_FILE).decode("utf-8"), entries)
        new_settings = records.load_settings(SETTINGS_FILE, out.text.encode("utf-8"))
        if list(new_settings.policies) != entries:  # pragma: no cover - rewrite_policies is exact
            raise RuntimeError("mops.yaml rewrite did not give the expected policies")
        try:
            packs_for(new_settings, inv)  # e.g. a rule id of an inventory pack now taken
        except RecordError as exc:
            raise UsageError(f"cannot upgrade: with the new versions, {exc}; nothing was "
                             f"changed") from None
    return out


def upgrade(start: Path, name: str | None = None, *, governance: GovernanceCheck,
            dry_run: bool = False, notify: Notify = None) -> tuple[list[PackUpgrade], Upgraded | None]:
    """Adopt the latest version of one built-in pack in force (or all), in one commit.

    ``governance(settings, person)`` says why the actor may not change the rules (None:
    they may); it is the test ``mops verify`` applies to the commit. Returns the
    differences and the commit (None when nothing needed upgrading, or for a dry run).
    """
    if dry_run:
        inv = Inventory.open(start)
        return plan(inv, name).upgrades, None
    with locked(start, notify) as inv:
        p = plan(inv, name)
        if not p.upgrades:
            return [], None
        actor = git.identity(inv.top)
        problem = governance(inv.settings, actor.email)
        if problem is not None:
            raise PolicyError(f"{problem}; the policy packs in force were not changed")
        refs = [f"{u.name}@{u.new}" for u in p.upgrades]
        change = Change(inv, "packs-upgrade", actor=actor.email,
                        summary=", ".join(f"{u.name} {u.old} -> {u.new}" for u in p.upgrades),
                        body="\n".join(line for u in p.upgrades for line in u.lines()),
                        trailers={"Mops-Packs": " ".join(refs)})
        change.write(SETTINGS_FILE, p.text)
        commit = change.commit()
        return p.upgrades, Upgraded(commit, (SETTINGS_FILE,), tuple(refs))
