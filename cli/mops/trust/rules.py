"""Provenance rules: for every governed path, which mops action may create or change it,
who may perform it, and what ``mops verify`` checks. Data, keyed by path.

After gittuf's ``policy.go`` (``FindVerifiersForPath``): a table maps each governed
path to the rule that says how it may come into being; :func:`rule_for` finds the
first rule whose pattern matches, and :mod:`mops.trust.replay` walks history and asks
it, instead of one hand-written check per record kind. The README's security model
shows this table (:func:`markdown`; a test keeps the two equal).

Every rule also implies what holds for all of them:

- a record is added by the commit of the mops action that makes it (its
  ``Mops-Action`` trailer), whose author and committer are the person the record names;
- when ``signing: required`` is in force, that commit is signed by that person's key,
  listed in ``.mops/allowed_signers``; everything is judged by the rules as they stood
  in the commit's parent (and, at a merge, in each parent: see :mod:`mops.trust.replay`);
- a record is never changed afterwards except by the actions named, and never deleted;
- a governance file (``mops.yaml``, ``.mops/``, ``policies/``, packs named in
  ``policies:``, ``report_templates/``) changes only in a commit by a member of a
  ``governance.changed_by`` role, signed when signing is required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mops.inventory.records import Settings

# ----------------------------------------------------------------------------- who may act

#: The person the record names; no role needed.
ACTOR = "actor"
#: The person the record names, listed in mops.yaml for the role the record names.
ROLE_OF_RECORD = "role"
#: A member of an ``exceptions.granted_by`` role, independent of the model.
GRANTER = "granter"
#: Whoever raised the finding, or a member of a ``findings.closed_by`` role independent of
#: the model; an exception is withdrawn by its grantor or anyone who may grant one.
CLOSER = "closer"
#: A member of a ``monitoring.recorded_by`` role (anyone, when that setting is absent).
RECORDER = "recorder"
#: A member of a ``governance.changed_by`` role (see :func:`governors`).
GOVERNOR = "governor"

WHO_TEXT = {
    ACTOR: "the person it names",
    ROLE_OF_RECORD: "the person it names, listed for its `role`",
    GRANTER: "an `exceptions.granted_by` member independent of the model",
    CLOSER: "the raiser, or a `findings.closed_by` member independent of the model "
            "(an exception: its grantor or a granter)",
    RECORDER: "a `monitoring.recorded_by` member (anyone when unset)",
    GOVERNOR: "a `governance.changed_by` member",
}

#: The command behind each ``Mops-Action``.
COMMANDS = {
    "init": "mops init",
    "register": "mops register",
    "import": "mops import",
    "evidence": "mops evidence add",
    "approve": "mops approve",
    "promote": "mops promote",
    "retire": "mops retire",
    "finding": "mops finding add",
    "finding-close": "mops finding close",
    "waive": "mops waive",
    "drift": "mops drift --record",
    "packs-upgrade": "mops packs upgrade",
}

#: What each key of mops.yaml controls (every key is governed; others too).
SETTINGS_KEYS = {
    "inventory": "the inventory's name",
    "policies": "the policy packs in force",
    "policy_settings": "the packs' settings",
    "stages": "the lifecycle stages",
    "roles": "who holds which role",
    "signing": "whether commits must be signed",
    "governance": "who may change these rules",
    "exceptions": "who may grant exceptions, for how long",
    "findings": "who may close findings",
    "monitoring": "where logs are found; who records results",
    "attestations": "who may sign attestations; how long they are trusted",
}

#: Attestations live outside the inventory; the table shows how they are judged.
ATTESTATION_ROW = (
    "| attestation (`mops attest`, outside the inventory) | a signed statement that a version "
    "passes | `mops attest` | never (a change breaks its signature) | an "
    "`attestations.signed_by` member independent of the model, signing with a key that "
    "`.mops/allowed_signers` lists for them | by `mops verify-artifact --attestation`, at "
    "`HEAD`: the signature, the signer's role and independence, the subject, the stage the "
    "version is still in, the commit in `HEAD`'s history, its age (`attestations.max_age_days`) |")


@dataclass(frozen=True)
class Provenance:
    """How one kind of governed path may come into being and change."""

    id: str
    #: Inventory-relative; ``*`` is one path segment, ``**`` any number of them.
    pattern: str
    what: str
    #: ``Mops-Action`` values whose commits may add it (empty: any commit by ``who``).
    created_by: tuple[str, ...]
    #: ``Mops-Action`` values whose commits may change it later (empty: never).
    changed_by: tuple[str, ...]
    who: str
    #: The record's field naming the person who made it ("" : the commit's actor).
    actor_field: str = ""
    #: For records sharing a path pattern: the value of their ``kind`` field.
    kind: str | None = None
    #: Changed by governance (hand commits of a governor) rather than by mops actions.
    governance: bool = False
    #: False for files mops never reads (anything else under ``models/``).
    record: bool = True
    #: What else ``verify`` checks, for the README.
    checks: str = ""
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.pattern))

    @property
    def deletable(self) -> bool:
        """Whether deleting it can be legitimate (a governance change, or not a record)."""
        return self.governance or not self.record


def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for segment in pattern.split("/"):
        if segment == "**":
            parts.append(".+")
        elif segment == "*":
            parts.append("[^/]+")
        else:
            parts.append("[^/]*".join(re.escape(p) for p in segment.split("*")))
    return re.compile("/".join(parts))


GOVERNANCE_ACTIONS = ("packs-upgrade",)

RULES: tuple[Provenance, ...] = (
    Provenance("settings", "mops.yaml", "inventory settings", ("init",), GOVERNANCE_ACTIONS,
               GOVERNOR, governance=True,
               checks="every key (below) is governed; a change that does not parse is one too"),
    Provenance("signers", ".mops/**", "allowed signers (and anything mops keeps in .mops/)",
               (), (), GOVERNOR, governance=True,
               checks="signatures are checked against this file as it stood in each "
                      "commit's parent"),
    Provenance("packs", "policies/**", "the inventory's policy packs", (), (), GOVERNOR,
               governance=True),
    Provenance("named-packs", "<each pack path in policies:>", "a pack named in mops.yaml",
               (), (), GOVERNOR, governance=True,
               checks="wherever it is in the inventory"),
    Provenance("templates", "report_templates/**", "report template overrides", (), (),
               GOVERNOR, governance=True),
    Provenance("card", "models/*/card.md", "model card", ("register", "import"), ("register",),
               ACTOR,
               checks="the commit registers a version of that model (its version record "
                      "names the same person)"),
    Provenance("version", "models/*/versions/*/version.yaml", "version record",
               ("register", "import"), ("promote", "retire"), ACTOR, actor_field="registered_by",
               checks="registered in the first stage; a change moves `stage` and appends one "
                      "`stage_history` entry by the actor, nothing else; each promotion is "
                      "replayed: the gate, under the rules then in force, must have let it "
                      "through"),
    Provenance("evidence", "models/*/versions/*/evidence/*.yaml", "evidence record",
               ("evidence", "import"), (), ACTOR, actor_field="added_by",
               checks="each file it lists still has its sha256"),
    Provenance("evidence-file", "models/*/versions/*/evidence/files/**", "evidence file",
               ("evidence", "import"), (), ACTOR,
               checks="added in the same commit as the record that lists it"),
    Provenance("signoff", "models/*/versions/*/approvals/*.yaml", "sign-off record",
               ("approve",), (), ROLE_OF_RECORD, actor_field="by",
               checks="signed anyway: the signature must be the named person's; independence "
                      "is checked where it counts (promotion replay, `mops check`)"),
    Provenance("finding", "models/*/findings/*.yaml", "finding", ("finding",),
               ("finding-close",), ACTOR, actor_field="opened_by", kind="finding",
               checks="opened `open`; closing sets `status: closed` and `closed_*` by a "
                      "closer, nothing else"),
    Provenance("exception", "models/*/findings/*.yaml", "exception", ("waive",),
               ("finding-close",), GRANTER, actor_field="approved_by", kind="exception",
               checks="granted `open` by its `approved_by`; withdrawing is closing"),
    Provenance("monitoring", "models/*/versions/*/monitoring/*.json", "monitoring result",
               ("drift",), (), RECORDER, actor_field="by",
               checks="`model` and `version` are the folder's; the reference and every "
                      "current log carry their sha256, size and rows (a table or URI: why "
                      "it has none)"),
    Provenance("other", "models/**", "any other file under models/ (mops never reads it)",
               (), (), ACTOR, record=False, checks="nothing: it is not a record"),
)
_BY_ID = {r.id: r for r in RULES}
#: The rules whose pattern starts with a given first segment, in table order.
_BY_TOP: dict[str, tuple[Provenance, ...]] = {}
for _r in RULES:
    if _r.id != "named-packs":
        _top = _r.pattern.split("/", 1)[0]
        _BY_TOP[_top] = (*_BY_TOP.get(_top, ()), _r)


def rule(rule_id: str) -> Provenance:
    return _BY_ID[rule_id]


def rule_for(path: str, *, kind: str | None = None,
             packs: frozenset[str] = frozenset()) -> Provenance | None:
    """The first rule whose pattern matches ``path`` (inventory-relative); None when the
    path is not governed. ``kind`` picks between records sharing a pattern (a finding
    or an exception); ``packs`` are the pack paths ``policies:`` names."""
    if path in packs and not path.startswith("policies/"):
        return _BY_ID["named-packs"]
    for r in _BY_TOP.get(path.split("/", 1)[0], ()):
        if not r.regex.fullmatch(path):
            continue
        if r.kind is not None and r.kind != (kind or "finding"):
            continue
        return r
    return None


def pack_paths(settings: Settings | None) -> frozenset[str]:
    """The inventory pack files ``settings`` names (``policies:`` entries that are paths)."""
    if settings is None:
        return frozenset()
    return frozenset(p.removeprefix("./") for p in settings.policies
                     if p.endswith((".yaml", ".yml")))


# ----------------------------------------------------------------------------- governors


def governors(settings: Settings) -> tuple[str, ...]:
    """Who may change the inventory's rules: the members of the ``governance.changed_by``
    roles (default: risk-officer); when those list nobody, anyone listed for any role;
    when no role lists anyone, nobody yet (the inventory is being set up: see
    :func:`setting_up`)."""
    people = [p for role in settings.governors for p in settings.people_for(role)]
    if not people:
        people = [p for members in settings.roles.values() for p in members]
    return tuple(dict.fromkeys(people))


def setting_up(settings: Settings) -> bool:
    """No role lists anyone yet: changes to the rules are the inventory's trust anchor."""
    return not any(settings.roles.values())


def governance_problem(settings: Settings, person: str) -> str | None:
    """Why ``person`` may not change the inventory's rules under ``settings`` (None: they may),
    as ``mops verify`` judges it: a member of a ``governance.changed_by`` role (see
    :func:`governors`), or anyone while the inventory is being set up. (Verify also needs
    the commit signed by that person when ``signing: required``; mops signs it then.)"""
    if setting_up(settings):
        return None
    people = governors(settings)
    if person.lower() in people:
        return None
    roles = ", ".join(settings.governors)
    return (f"{person} may not change the inventory's rules: only members of {roles} "
            f"(governance.changed_by in mops.yaml; listed: {', '.join(people) or 'no one'}) may, "
            f"and `mops verify` reports a change by anyone else")


def recorders(settings: Settings) -> tuple[str, ...] | None:
    """Who may record monitoring results (None: anyone)."""
    if not settings.monitoring_recorders:
        return None
    return tuple(dict.fromkeys(p for role in settings.monitoring_recorders
                               for p in settings.people_for(role)))


def changed_keys(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The top-level keys of mops.yaml whose values differ (comments and layout do not count)."""
    old, new = old or {}, new or {}
    missing = object()
    return sorted(k for k in set(old) | set(new) if old.get(k, missing) != new.get(k, missing))


# ----------------------------------------------------------------------------- the README


def _actions(actions: tuple[str, ...], none: str) -> str:
    return ", ".join(f"`{COMMANDS[a]}`" for a in actions) if actions else none


def markdown() -> str:
    """The provenance table as the README's security model shows it."""
    lines = ["| Path | What | Created by | Changed by | Who | Also checked |",
             "|---|---|---|---|---|---|"]
    for r in RULES:
        if r.governance:
            created = ("`mops init`; then " if r.created_by else "") + "a governance change"
            changed = "a governance change" + (
                f" (or {_actions(r.changed_by, '')})" if r.changed_by else "")
        elif not r.record:
            created = changed = "any commit"
        else:
            created = _actions(r.created_by, "-")
            changed = _actions(r.changed_by, "never")
        who = "anyone" if not r.record else WHO_TEXT[r.who]
        what = r.what + (f" (`kind: {r.kind}`)" if r.kind else "")
        lines.append(f"| `{r.pattern}` | {what} | {created} | {changed} | {who} | "
                     f"{r.checks or '-'} |")
        if r.id == "settings":
            for key, text in SETTINGS_KEYS.items():
                lines.append(f"| `mops.yaml` `{key}:` | {text} | `mops init` | a governance "
                             f"change | {WHO_TEXT[GOVERNOR]} | - |")
    lines.append(ATTESTATION_ROW)
    return "\n".join(lines) + "\n"
