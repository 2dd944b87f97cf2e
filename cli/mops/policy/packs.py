"""Policy packs: YAML files of rules with citations, validated when they are loaded.

A pack (a public format, see DESIGN.md)::

    pack: acme
    title: Acme model risk standard
    settings:                       # optional: figures a pack user may change
      review_months:
        default: {1: 12, 2: 24, 3: 36}
        note: Common practice, not the regulation's text.
    rules:
      - id: ACME-4.3
        title: Independent validator sign-off before production
        cite: "Acme MRM Standard §4.3"
        severity: high              # optional: high | medium (default) | low
        when: {stage: production, tier: [1, 2]}
        require:
          approval: {role: validator, independent_of: [owner, developers, registrant]}

A parameter written ``$name`` takes the value of the pack's setting ``name``; an
inventory overrides it in ``mops.yaml`` under ``policy_settings: {PACK: {name: value}}``.
Selectors in ``when``: ``stage`` (the current stage, or a promotion's target) and
card fields by (dotted) name; a value is one value, a list (any of them) or
``{not: value-or-list}``. Every error names ``file:line: rule ID: what is wrong``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mops.errors import RecordError
from mops.inventory import yamlio
from mops.inventory.store import SETTINGS_FILE, Inventory
from mops.policy.requirements import FIELD_RE, REQUIREMENTS, SpecError, join_words, lookup

RULE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
PACK_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
SEVERITY_WEIGHT = {"high": 30, "medium": 20, "low": 10}
RULE_KEYS = ("id", "title", "cite", "when", "require", "severity", "note")
SCALAR = (str, int, float, bool)


@dataclass(frozen=True)
class Selector:
    """One ``when`` condition on a card field."""

    field: str
    values: tuple[Any, ...]
    negate: bool = False

    def matches(self, card: Mapping[str, Any]) -> bool:
        _, value = lookup(card, self.field)
        hit = any(_same(value, v) for v in self.values)
        return hit != self.negate

    def describe(self) -> str:
        shown = " or ".join(_show(v) for v in self.values)
        return f"{self.field} is {'not ' if self.negate else ''}{shown}"


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if expected is None:
        return actual is None
    return actual == expected


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    cite: str
    pack: str
    #: The pack file as shown in messages, and the rule's line in it.
    path: str
    line: int | None
    requirement: str
    params: Any
    #: Stages the rule applies in (None: every stage but retired).
    stages: tuple[str, ...] | None = None
    when: tuple[Selector, ...] = ()
    severity: str = "medium"
    note: str = ""

    @property
    def weight(self) -> int:
        return SEVERITY_WEIGHT[self.severity]

    def selects_card(self, card: Mapping[str, Any]) -> Selector | None:
        """The first card selector that does not match (None: the card is selected)."""
        for sel in self.when:
            if not sel.matches(card):
                return sel
        return None


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    note: str
    value: Any
    #: Where the value comes from: the pack's default, or mops.yaml.
    source: str


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    path: str
    rules: tuple[Rule, ...]
    settings: Mapping[str, Setting] = field(default_factory=dict)
    description: str = ""
    builtin: bool = False


# ----------------------------------------------------------------------------- loading one pack


def load_pack(path: str, data: bytes, *, stages: Sequence[str],
              overrides: Mapping[str, Any] | None = None, builtin: bool = False) -> Pack:
    """Parse and validate a pack. ``overrides`` are this pack's ``policy_settings``."""
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data)

    def fail(keys: list[str | int], message: str) -> RecordError:
        return RecordError(path, message, line=yamlio.key_line(text, keys))

    for key in raw:
        if key not in ("pack", "title", "description", "settings", "rules"):
            raise fail([key], f"unknown key {key!r} (a pack has pack, title, description, "
                              f"settings, rules)")
    name = raw.get("pack")
    if not isinstance(name, str) or not PACK_NAME_RE.fullmatch(name):
        raise fail(["pack"], "'pack' must name the pack (lowercase letters, digits, '.', '_', '-')")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail(["title"], "'title' must be the pack's title")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise fail(["description"], "'description' must be text")

    settings = _load_settings(raw.get("settings"), fail, name, overrides or {})
    rules_raw = raw.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise fail(["rules"], "'rules' must be a non-empty list of rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(rules_raw):
        rule = _load_rule(item, i, path, text, name, settings, stages)
        if rule.id in seen:
            raise RecordError(path, f"rule {rule.id}: the id is used twice in this pack",
                              line=rule.line)
        seen.add(rule.id)
        rules.append(rule)
    return Pack(name=name, title=title.strip(), path=path, rules=tuple(rules), settings=settings,
                description=description.strip(), builtin=builtin)


def _load_settings(raw: Any, fail, pack: str, overrides: Mapping[str, Any]) -> dict[str, Setting]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise fail(["settings"], "'settings' must map setting names to {default, note}")
    out = {}
    for key, spec in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", key):
            raise fail(["settings"], f"setting name {key!r}: use lowercase letters, digits and '_'")
        if not isinstance(spec, Mapping) or "default" not in spec:
            raise fail(["settings", key], f"setting {key}: write {{default: VALUE, note: TEXT}}")
        unknown = [k for k in spec if k not in ("default", "note")]
        if unknown:
            raise fail(["settings", key], f"setting {key}: unknown key {unknown[0]!r}")
        note = spec.get("note") or ""
        if key in overrides:
            out[key] = Setting(key, spec["default"], str(note), overrides[key],
                               f"{SETTINGS_FILE}: policy_settings.{pack}.{key}")
        else:
            out[key] = Setting(key, spec["default"], str(note), spec["default"], "default")
    unknown = [k for k in overrides if k not in out]
    if unknown:
        known = ", ".join(out) or "none"
        raise RecordError(SETTINGS_FILE, f"policy_settings.{pack}.{unknown[0]}: pack {pack!r} has "
                                         f"no such setting (its settings: {known})")
    return out


def _substitute(value: Any, settings: Mapping[str, Setting], used: list[Setting]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in settings:
            raise SpecError(f"unknown setting {value} (this pack's settings: "
                            f"{', '.join(settings) or 'none'})")
        used.append(settings[name])
        return settings[name].value
    if isinstance(value, Mapping):
        return {k: _substitute(v, settings, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, settings, used) for v in value]
    return value


def _load_rule(item: Any, i: int, path: str, text: str, pack: str,
               settings: Mapping[str, Setting], stages: Sequence[str]) -> Rule:
    line = yamlio.key_line(text, ["rules", i])
    if not isinstance(item, Mapping):
        raise RecordError(path, f"rules[{i}]: a rule must be a mapping with id, title, cite, "
                                f"require", line=line)
    rid = item.get("id")
    if not isinstance(rid, str) or not RULE_ID_RE.fullmatch(rid):
        raise RecordError(path, f"rules[{i}]: 'id' must be a rule id such as ACME-4.3, "
                                f"not {rid!r}", line=line)

    def fail(key: str, message: str) -> RecordError:
        at = yamlio.key_line(text, ["rules", i, key]) or line
        return RecordError(path, f"rule {rid}: {message}", line=at)

    for key in item:
        if key not in RULE_KEYS:
            raise fail(key, f"unknown key {key!r} (a rule has {', '.join(RULE_KEYS)})")
    for key in ("title", "cite"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"missing '{key}'" + (
                " (every rule cites the regulation or standard it comes from)"
                if key == "cite" else ""))
    severity = item.get("severity", "medium")
    if severity not in SEVERITY_WEIGHT:
        raise fail("severity", f"'severity' must be high, medium or low, not {severity!r}")
    note = item.get("note") or ""
    if not isinstance(note, str):
        raise fail("note", "'note' must be text")

    rule_stages, selectors = _load_when(item.get("when"), fail, stages, settings)

    require = item.get("require")
    if not isinstance(require, Mapping) or len(require) != 1:
        raise fail("require", "'require' must hold exactly one requirement, one of "
                              f"{', '.join(REQUIREMENTS)}")
    (req_name, raw_params), = require.items()
    if req_name not in REQUIREMENTS:
        raise fail("require", f"unknown requirement {req_name!r} (known: "
                              f"{', '.join(REQUIREMENTS)})")
    used: list[Setting] = []
    try:
        params = REQUIREMENTS[req_name].parse(_substitute(raw_params, settings, used))
    except SpecError as exc:
        overridden = [s for s in used if s.source != "default"]
        if overridden:
            where = overridden[0].source.removeprefix(f"{SETTINGS_FILE}: ")
            raise RecordError(SETTINGS_FILE, f"{where}: {exc} (used by rule {rid} of {path})") from None
        raise fail("require", str(exc)) from None
    return Rule(id=rid, title=item["title"].strip(), cite=item["cite"].strip(), pack=pack,
                path=path, line=line, requirement=req_name, params=params, stages=rule_stages,
                when=selectors, severity=severity, note=note.strip())


def _load_when(when: Any, fail, stages: Sequence[str],
               settings: Mapping[str, Setting]) -> tuple[tuple[str, ...] | None, tuple[Selector, ...]]:
    if when is None:
        return None, ()
    if not isinstance(when, Mapping):
        raise fail("when", "'when' must be a mapping of selectors, e.g. {stage: production, "
                           "tier: [1, 2]}")
    try:
        when = _substitute(dict(when), settings, [])
    except SpecError as exc:
        raise fail("when", str(exc)) from None
    rule_stages = None
    selectors = []
    for key, value in when.items():
        if key == "stage":
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) for v in values):
                raise fail("when", "bad selector: 'stage' must be a stage name or a list of them")
            unknown = [v for v in values if v not in stages]
            if unknown:
                raise fail("when", f"bad selector: unknown stage {unknown[0]!r} (stages of this "
                                   f"inventory: {', '.join(stages)})")
            rule_stages = tuple(values)
            continue
        if not isinstance(key, str) or not FIELD_RE.fullmatch(key):
            raise fail("when", f"bad selector: {key!r} is not a card field name")
        negate = False
        if isinstance(value, Mapping):
            if list(value) != ["not"]:
                raise fail("when", f"bad selector for {key}: a mapping may only be "
                                   f"{{not: VALUE}}")
            negate, value = True, value["not"]
        values = value if isinstance(value, list) else [value]
        if not values or not all(v is None or isinstance(v, SCALAR) for v in values):
            raise fail("when", f"bad selector for {key}: expected a value, a list of values or "
                               f"{{not: ...}}")
        selectors.append(Selector(key, tuple(values), negate))
    return rule_stages, tuple(selectors)


# ----------------------------------------------------------------------------- the packs in force


def load_packs(inv: Inventory) -> list[Pack]:
    """The packs named in ``mops.yaml`` (built-in names, or paths inside the inventory)."""
    from mops import resources

    settings = inv.settings
    overrides = settings.policy_settings
    packs: list[Pack] = []
    for entry in settings.policies:
        if entry.endswith((".yaml", ".yml")):
            rel = entry.removeprefix("./")
            if rel.startswith("/") or ".." in rel.split("/"):
                raise RecordError(SETTINGS_FILE, f"policies: {entry!r} must be a path inside the "
                                                 f"inventory, e.g. policies/acme.yaml")
            if not inv.source.isfile(rel):
                raise RecordError(SETTINGS_FILE, f"policies: {entry!r}: no such file in the "
                                                 f"inventory")
            path, data, builtin = rel, inv.read(rel), False
        else:
            known = resources.builtin_pack_names()
            if entry not in known:
                raise RecordError(SETTINGS_FILE, f"policies: unknown built-in pack {entry!r} "
                                                 f"(built-in: {', '.join(known)}; your own packs "
                                                 f"are paths ending in .yaml)")
            file = resources.builtin_pack_path(entry)
            path, data, builtin = str(file), file.read_bytes(), True
        pack_overrides = _overrides_for(overrides, data, path)
        pack = load_pack(path, data, stages=settings.stages, overrides=pack_overrides,
                         builtin=builtin)
        if any(p.name == pack.name for p in packs):
            raise RecordError(SETTINGS_FILE, f"policies: two packs are named {pack.name!r}")
        packs.append(pack)
    seen: dict[str, Pack] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in seen:
                raise RecordError(pack.path, f"rule {rule.id}: the id is also used by pack "
                                             f"{seen[rule.id].name!r} ({seen[rule.id].path}); "
                                             f"rule ids must be unique", line=rule.line)
            seen[rule.id] = pack
    names = {p.name for p in packs}
    for key in overrides:
        if key not in names:
            raise RecordError(SETTINGS_FILE, f"policy_settings.{key}: no pack named {key!r} is "
                                             f"in force (packs: {join_words(sorted(names))})")
    return packs


def _overrides_for(overrides: Mapping[str, Any], data: bytes, path: str) -> dict[str, Any]:
    # The pack's name is inside the file; peek at it to find its overrides.
    raw = yamlio.load_mapping(path, data)
    name = raw.get("pack")
    value = overrides.get(name) if isinstance(name, str) else None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError(SETTINGS_FILE, f"policy_settings.{name}: must map setting names to "
                                         f"values")
    return dict(value)


def all_rules(packs: Sequence[Pack]) -> list[Rule]:
    return [rule for pack in packs for rule in pack.rules]
