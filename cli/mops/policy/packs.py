"""Policy packs: YAML files of rules with citations, validated when they are loaded.

A pack (a public format, see DESIGN.md and the README)::

    pack: acme
    version: 3                      # optional (default 1): which edition of the pack
    title: Acme model risk standard
    sources: ["Acme MRM Standard, 2026 edition"]     # optional: what the citations rest on
    changelog: ["v3: ACME-4.3 needs a signed sign-off"]  # optional
    declares:                       # optional: card fields and evidence kinds of its own
      card_fields: {business_line: Line of business the model serves}
      evidence_kinds: {acme-review: Acme's annual model review memo}
    settings:                       # optional: figures a pack user may change
      review_months:
        default: {1: 12, 2: 24, 3: 36}
        note: Common practice, not the regulation's text.
    rules:
      - id: ACME-4.3
        title: Independent validator sign-off before production
        cite: "Acme MRM Standard §4.3"
        basis:                      # optional: each demand, the text or practice
          - {demand: independent validator sign-off, text: "Acme MRM Standard §4.3(a)"}
          - {demand: before production, practice: "Acme's gate; §4.3 sets no point in time"}
        severity: high              # optional: high | medium (default) | low
        when: {stage: production, tier: [1, 2]}
        require:
          approval: {role: validator, independent_of: [owner, developers, registrant]}

A parameter written ``$name`` takes the value of the pack's setting ``name``; an
inventory overrides it in ``mops.yaml`` under ``policy_settings: {PACK: {name: value}}``.
Selectors in ``when``: ``stage`` (the current stage, or a promotion's target), card
fields by (dotted) name, and ``$setting`` (the rule applies only when the pack's
setting has that value: optional parts of a pack); a value is one value, a list
(any of them) or ``{not: value-or-list}``. A rule without ``basis`` has the basis
*unspecified*. Card fields and evidence kinds must be in the vocabulary
(:mod:`mops.policy.vocabulary`) or declared by the pack. Every error names
``file:line: rule ID: what is wrong``.

Built-in packs are versioned (``policies/<name>/<version>.yaml``, every version
shipped); ``mops.yaml`` names one as ``name@version``, and a name without a
version means version 1, as it did before packs had versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from mops.errors import RecordError
from mops.inventory import yamlio
from mops.inventory.layout import SETTINGS_FILE
from mops.inventory.names import KIND_RE
from mops.inventory.records import Settings
from mops.inventory.store import Inventory
from mops.policy import vocabulary
from mops.policy.requirements import FIELD_RE, REQUIREMENTS, SpecError, join_words, lookup
from mops.policy.results import UNSPECIFIED, Basis, BasisKind

RULE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
PACK_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
BUILTIN_REF_RE = re.compile(r"(?P<name>[a-z0-9][a-z0-9._-]{0,62}?)(?:@(?P<version>[0-9]{1,6}))?")
SEVERITY_WEIGHT = {"high": 30, "medium": 20, "low": 10}
PACK_KEYS = ("pack", "version", "title", "description", "sources", "changelog", "declares",
             "settings", "rules")
RULE_KEYS = ("id", "title", "cite", "basis", "when", "require", "severity", "note")
SCALAR = (str, int, float, bool)
#: The kinds of basis a pack states (``unspecified`` is what mops puts when it states none).
_BASIS_KINDS: tuple[BasisKind, ...] = ("text", "practice")

Fail = Callable[[list[str | int], str], RecordError]


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
        shown = " or ".join(_show(v) for v in self.values) or "nothing"
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
    #: Each demand of the rule and its basis (text or practice); unspecified when the pack
    #: does not say.
    basis: tuple[Basis, ...] = UNSPECIFIED
    pack_version: int = 1
    #: Why the rule is switched off by a pack setting (a ``$setting`` selector), or None.
    off: str | None = None
    #: The ``$setting`` selectors (``field`` is the setting's name).
    settings_when: tuple[Selector, ...] = ()
    #: The requirement as written, settings substituted (for ``mops packs show --json``).
    require: Mapping[str, Any] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        return SEVERITY_WEIGHT[self.severity]

    def selects_card(self, card: Mapping[str, Any]) -> Selector | None:
        """The first card selector that does not match (None: the card is selected)."""
        for sel in self.when:
            if not sel.matches(card):
                return sel
        return None

    def describe(self) -> str:
        """What the rule demands, in words."""
        return REQUIREMENTS[self.requirement].describe(self.params)

    def describe_when(self) -> str:
        parts = [f"stage {' or '.join(self.stages)}" if self.stages is not None
                 else "every stage but retired"]
        parts += [f"setting {sel.describe()}" for sel in self.settings_when]
        parts += [sel.describe() for sel in self.when]
        return "; ".join(parts)


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
    version: int = 1
    #: Whether ``version`` was written in the file (or, for a built-in, in mops.yaml).
    pinned: bool = False
    sources: tuple[str, ...] = ()
    changelog: tuple[str, ...] = ()
    #: Card fields and evidence kinds the pack adds to the vocabulary, with their meaning.
    card_fields: Mapping[str, str] = field(default_factory=dict)
    evidence_kinds: Mapping[str, str] = field(default_factory=dict)
    #: The git blob id of the pack's file (what cached results are keyed by).
    blob: bytes = field(default=b"", compare=False)

    @property
    def ref(self) -> str:
        """``name@version`` (how mops.yaml names a built-in pack)."""
        return f"{self.name}@{self.version}"


# ----------------------------------------------------------------------------- loading one pack


def load_pack(path: str, data: bytes, *, stages: Sequence[str],
              overrides: Mapping[str, Any] | None = None, builtin: bool = False,
              expect: tuple[str, int] | None = None,
              cache: yamlio.ParseCache | None = None) -> Pack:
    """Parse and validate a pack. ``overrides`` are this pack's ``policy_settings``.

    ``expect`` is the (name, version) a built-in pack's file must declare; ``cache``
    is the inventory's record cache (it only saves time).
    """
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data, cache=cache)

    def fail(keys: list[str | int], message: str) -> RecordError:
        return RecordError(path, message, line=yamlio.key_line(text, keys))

    for key in raw:
        if key not in PACK_KEYS:
            raise fail([key], f"unknown key {key!r} (a pack has {', '.join(PACK_KEYS)})")
    name = raw.get("pack")
    if not isinstance(name, str) or not PACK_NAME_RE.fullmatch(name):
        raise fail(["pack"], "'pack' must name the pack (lowercase letters, digits, '.', '_', '-')")
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999_999:
        raise fail(["version"], f"'version' must be a whole number from 1, not {version!r}")
    if expect is not None and (name, version) != expect:
        raise fail(["pack"], f"this file is {name}@{version}, expected {expect[0]}@{expect[1]}")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail(["title"], "'title' must be the pack's title")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise fail(["description"], "'description' must be text")
    sources = _text_list(raw.get("sources"), "sources", fail)
    changelog = _text_list(raw.get("changelog"), "changelog", fail)
    card_fields, evidence_kinds = _load_declares(raw.get("declares"), fail)

    settings = _load_settings(raw.get("settings"), fail, name, overrides or {})
    rules_raw = raw.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise fail(["rules"], "'rules' must be a non-empty list of rules")
    lines = _rule_lines(text)
    context = _PackContext(path, text, name, version, settings, stages, card_fields, evidence_kinds)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(rules_raw):
        rule = _load_rule(item, i, lines[i] if i < len(lines) else None, context)
        if rule.id in seen:
            raise RecordError(path, f"rule {rule.id}: the id is used twice in this pack",
                              line=rule.line)
        seen.add(rule.id)
        rules.append(rule)
    return Pack(name=name, title=title.strip(), path=path, rules=tuple(rules), settings=settings,
                description=description.strip(), builtin=builtin, version=version,
                pinned="version" in raw, sources=sources, changelog=changelog,
                card_fields=card_fields, evidence_kinds=evidence_kinds,
                blob=yamlio.blob_id(data))


@dataclass(frozen=True)
class _PackContext:
    path: str
    text: str
    name: str
    version: int
    settings: Mapping[str, Setting]
    stages: Sequence[str]
    card_fields: Mapping[str, str]
    evidence_kinds: Mapping[str, str]


def _rule_lines(text: str) -> list[int | None]:
    """The line of each rule, from one parse of the file (not one per rule)."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == "rules" and isinstance(v, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in v.value]
    return []


def _text_list(value: Any, key: str, fail: Fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail([key], f"'{key}' must be text or a list of texts")
    return tuple(" ".join(v.split()) for v in value)


def _load_declares(raw: Any, fail: Fail) -> tuple[dict[str, str], dict[str, str]]:
    if raw is None:
        return {}, {}
    if not isinstance(raw, Mapping):
        raise fail(["declares"], "'declares' maps card_fields and evidence_kinds to "
                                 "{name: what it is}")
    unknown = [k for k in raw if k not in ("card_fields", "evidence_kinds")]
    if unknown:
        raise fail(["declares", unknown[0]], f"declares: unknown key {unknown[0]!r} (it has "
                                             f"card_fields, evidence_kinds)")
    out: list[dict[str, str]] = []
    for key, pattern, what in (("card_fields", FIELD_RE, "a card field name such as "
                                                         "business_line or eu_ai_act.role"),
                               ("evidence_kinds", KIND_RE, "an evidence kind such as acme-review")):
        items = raw.get(key) or {}
        if not isinstance(items, Mapping):
            raise fail(["declares", key], f"declares.{key} must map each name to what it is")
        for item, meaning in items.items():
            if not isinstance(item, str) or not pattern.fullmatch(item):
                raise fail(["declares", key], f"declares.{key}: {item!r} is not {what}")
            if not isinstance(meaning, str) or not meaning.strip():
                raise fail(["declares", key, item], f"declares.{key}.{item}: say what it is")
        out.append({str(k): " ".join(str(v).split()) for k, v in items.items()})
    return out[0], out[1]


def _load_settings(raw: Any, fail: Fail, pack: str, overrides: Mapping[str, Any]) -> dict[str, Setting]:
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
        note = " ".join(str(spec.get("note") or "").split())
        if key in overrides:
            out[key] = Setting(key, spec["default"], note, overrides[key],
                               f"{SETTINGS_FILE}: policy_settings.{pack}.{key}")
        else:
            out[key] = Setting(key, spec["default"], note, spec["default"], "default")
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


def _load_rule(item: Any, i: int, line: int | None, ctx: _PackContext) -> Rule:
    path, text = ctx.path, ctx.text
    if not isinstance(item, Mapping):
        raise RecordError(path, f"rules[{i}]: a rule must be a mapping with id, title, cite, "
                                f"require", line=line)
    rid = item.get("id")
    if not isinstance(rid, str) or not RULE_ID_RE.fullmatch(rid):
        raise RecordError(path, f"rules[{i}]: 'id' must be a rule id such as ACME-4.3, "
                                f"not {rid!r}", line=line)

    def fail(key: str, message: str, *more: str | int) -> RecordError:
        at = yamlio.key_line(text, ["rules", i, key, *more]) or line
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
    basis = _load_basis(item.get("basis"), fail)

    rule_stages, selectors, off, settings_when = _load_when(item.get("when"), fail, ctx)
    for sel in selectors:
        _known_field(sel.field, ctx, lambda m: fail("when", m))

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
        substituted = _substitute(raw_params, ctx.settings, used)
        params = REQUIREMENTS[req_name].parse(substituted)
    except SpecError as exc:
        overridden = [s for s in used if s.source != "default"]
        if overridden:
            where = overridden[0].source.removeprefix(f"{SETTINGS_FILE}: ")
            raise RecordError(SETTINGS_FILE, f"{where}: {exc} (used by rule {rid} of {path})") from None
        raise fail("require", str(exc)) from None
    names = REQUIREMENTS[req_name].names(params)
    for name in names.card_fields:
        _known_field(name, ctx, lambda m: fail("require", f"{req_name}: {m}"))
    for kind in names.evidence_kinds:
        if not vocabulary.is_known_kind(kind, ctx.evidence_kinds):
            raise fail("require", f"{req_name}: unknown evidence kind {kind!r} (standard kinds: "
                                  f"{', '.join(vocabulary.EVIDENCE_KINDS)}; a pack declares its "
                                  f"own under declares: evidence_kinds)")
    return Rule(id=rid, title=" ".join(item["title"].split()), cite=" ".join(item["cite"].split()),
                pack=ctx.name, path=path, line=line, requirement=req_name, params=params,
                stages=rule_stages, when=selectors, severity=severity, note=" ".join(note.split()),
                basis=basis, pack_version=ctx.version, off=off, settings_when=settings_when,
                require={req_name: substituted})


def _known_field(name: str, ctx: _PackContext, fail: Callable[[str], RecordError]) -> None:
    if not vocabulary.is_known_field(name, ctx.card_fields):
        raise fail(f"unknown card field {name!r} (not a standard card field or Hugging Face key; "
                   f"a pack declares its own under declares: card_fields)")


def _load_basis(raw: Any, fail: Callable[..., RecordError]) -> tuple[Basis, ...]:
    if raw is None:
        return UNSPECIFIED
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise fail("basis", "'basis' lists each demand of the rule: {demand: TEXT, text: "
                            "CITATION} or {demand: TEXT, practice: WHY}")
    out = []
    for j, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise fail("basis", f"basis[{j}]: write {{demand: TEXT, text: CITATION}} or "
                                f"{{demand: TEXT, practice: WHY}}", j)
        unknown = [k for k in entry if k not in ("demand", "text", "practice")]
        if unknown:
            raise fail("basis", f"basis[{j}]: unknown key {unknown[0]!r} (demand, and text or "
                                f"practice)", j)
        demand = entry.get("demand")
        if not isinstance(demand, str) or not demand.strip():
            raise fail("basis", f"basis[{j}]: 'demand' must say which demand of the rule this is", j)
        kinds = [k for k in _BASIS_KINDS if k in entry]
        if len(kinds) != 1:
            raise fail("basis", f"basis[{j}]: give exactly one of 'text' (the section, article or "
                                f"paragraph) or 'practice' (why)", j)
        detail = entry[kinds[0]]
        if not isinstance(detail, str) or not detail.strip():
            raise fail("basis", f"basis[{j}]: '{kinds[0]}' must not be empty", j)
        out.append(Basis(" ".join(demand.split()), kinds[0], " ".join(detail.split())))
    return tuple(out)


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _load_when(when: Any, fail: Callable[..., RecordError], ctx: _PackContext
               ) -> tuple[tuple[str, ...] | None, tuple[Selector, ...], str | None, tuple[Selector, ...]]:
    if when is None:
        return None, (), None, ()
    if not isinstance(when, Mapping):
        raise fail("when", "'when' must be a mapping of selectors, e.g. {stage: production, "
                           "tier: [1, 2]}")
    try:
        resolved = _substitute({k: v for k, v in when.items()}, ctx.settings, [])
    except SpecError as exc:
        raise fail("when", str(exc)) from None
    rule_stages = None
    selectors = []
    off = None
    settings_when = []
    for key, value in resolved.items():
        if key == "stage":
            values = _values(value)
            if not values or not all(isinstance(v, str) for v in values):
                raise fail("when", "bad selector: 'stage' must be a stage name or a list of them")
            unknown = [v for v in values if v not in ctx.stages]
            if unknown:
                raise fail("when", f"bad selector: unknown stage {unknown[0]!r} (stages of this "
                                   f"inventory: {', '.join(ctx.stages)})")
            rule_stages = tuple(values)
            continue
        if not isinstance(key, str):
            raise fail("when", f"bad selector: {key!r} is not a card field name")
        negate = False
        if isinstance(value, Mapping):
            if list(value) != ["not"]:
                raise fail("when", f"bad selector for {key}: a mapping may only be "
                                   f"{{not: VALUE}}")
            negate, value = True, value["not"]
        values = _values(value)
        # An empty list is allowed after `not` (a setting that excludes nothing).
        if (not values and not negate) or not all(v is None or isinstance(v, SCALAR) for v in values):
            raise fail("when", f"bad selector for {key}: expected a value, a list of values or "
                               f"{{not: ...}}")
        if key.startswith("$"):
            name = key[1:]
            if name not in ctx.settings:
                raise fail("when", f"bad selector: unknown setting {key} (this pack's settings: "
                                   f"{', '.join(ctx.settings) or 'none'})")
            setting = ctx.settings[name]
            sel = Selector(name, tuple(values), negate)
            settings_when.append(sel)
            if (any(_same(setting.value, v) for v in values) == negate) and off is None:
                where = "the pack's default" if setting.source == "default" else setting.source
                off = (f"applies when setting {sel.describe()} (policy_settings.{ctx.name}.{name}; "
                       f"now {_show(setting.value)}, {where})")
            continue
        if not FIELD_RE.fullmatch(key):
            raise fail("when", f"bad selector: {key!r} is not a card field name")
        selectors.append(Selector(key, tuple(values), negate))
    return rule_stages, tuple(selectors), off, tuple(settings_when)


# ----------------------------------------------------------------------------- built-in packs


@dataclass(frozen=True)
class BuiltinRef:
    """A built-in pack as ``mops.yaml`` names it: ``name`` (version 1) or ``name@N``."""

    name: str
    version: int
    pinned: bool

    @property
    def text(self) -> str:
        return f"{self.name}@{self.version}"


def is_pack_path(entry: str) -> bool:
    return entry.endswith((".yaml", ".yml"))


def builtin_ref(entry: str, *, default_latest: bool = False) -> BuiltinRef:
    """Resolve ``name`` or ``name@N`` to a shipped version; ``ValueError`` says what is wrong.

    A name without a version means version 1 in ``mops.yaml`` (what it meant before packs
    had versions), and the latest version where ``default_latest`` (``init``, ``packs show``).
    """
    from mops import resources

    m = BUILTIN_REF_RE.fullmatch(entry.strip())
    known = resources.builtin_pack_names()
    if m is None or m.group("name") not in known:
        raise ValueError(f"unknown built-in pack {entry!r} (built-in: {', '.join(known)}; your "
                         f"own packs are paths ending in .yaml)")
    name = m.group("name")
    versions = resources.builtin_pack_versions(name)
    if m.group("version") is None:
        return BuiltinRef(name, versions[-1] if default_latest else versions[0], False)
    version = int(m.group("version"))
    if version not in versions:
        raise ValueError(f"{name} has no version {version} (versions shipped with this mops: "
                         f"{', '.join(map(str, versions))}; a newer mops may have more)")
    return BuiltinRef(name, version, True)


def load_builtin(ref: BuiltinRef, *, stages: Sequence[str],
                 overrides: Mapping[str, Any] | None = None,
                 cache: yamlio.ParseCache | None = None) -> Pack:
    from mops import resources

    file = resources.builtin_pack_path(ref.name, ref.version)
    pack = load_pack(str(file), file.read_bytes(), stages=stages, overrides=overrides,
                     builtin=True, expect=(ref.name, ref.version), cache=cache)
    return replace(pack, pinned=ref.pinned)


def latest_version(pack: Pack) -> int | None:
    """The latest shipped version of a built-in pack (None for the inventory's own packs)."""
    from mops import resources

    if not pack.builtin:
        return None
    versions = resources.builtin_pack_versions(pack.name)
    return versions[-1] if versions else None


# ----------------------------------------------------------------------------- the packs in force


def load_packs(inv: Inventory) -> list[Pack]:
    """The packs named in ``mops.yaml`` (built-in names, or paths inside the inventory)."""
    return packs_for(inv.settings, inv)


def packs_for(settings: Settings, inv: Inventory) -> list[Pack]:
    """The packs ``settings`` name, inventory packs read from ``inv`` (working tree or commit)."""
    overrides = settings.policy_settings
    packs: list[Pack] = []
    for entry in settings.policies:
        if is_pack_path(entry):
            rel = entry.removeprefix("./")
            if rel.startswith("/") or ".." in rel.split("/"):
                raise RecordError(SETTINGS_FILE, f"policies: {entry!r} must be a path inside the "
                                                 f"inventory, e.g. policies/acme.yaml")
            if not inv.source.isfile(rel):
                raise RecordError(SETTINGS_FILE, f"policies: {entry!r}: no such file in the "
                                                 f"inventory")
            data = inv.read(rel)
            pack = load_pack(rel, data, stages=settings.stages,
                             overrides=_overrides_for(overrides, data, rel, inv.record_cache),
                             cache=inv.record_cache)
        else:
            try:
                ref = builtin_ref(entry)
            except ValueError as exc:
                raise RecordError(SETTINGS_FILE, f"policies: {exc}") from None
            pack = load_builtin(ref, stages=settings.stages,
                                overrides=settings_overrides(overrides, ref.name),
                                cache=inv.record_cache)
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


def _overrides_for(overrides: Mapping[str, Any], data: bytes, path: str,
                   cache: yamlio.ParseCache | None) -> dict[str, Any]:
    # The pack's name is inside the file; peek at it to find its overrides.
    raw = yamlio.load_mapping(path, data, cache=cache)
    name = raw.get("pack")
    return settings_overrides(overrides, name) if isinstance(name, str) else {}


def settings_overrides(overrides: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``policy_settings`` of pack ``name`` in ``mops.yaml`` (checked to be a mapping)."""
    value = overrides.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError(SETTINGS_FILE, f"policy_settings.{name}: must map setting names to "
                                         f"values")
    return dict(value)


def all_rules(packs: Sequence[Pack]) -> list[Rule]:
    return [rule for pack in packs for rule in pack.rules]
