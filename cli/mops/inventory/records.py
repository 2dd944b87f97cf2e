"""The records of an inventory, parsed and validated as they are read.

Each loader takes the path (for messages) and the bytes, and returns a frozen
dataclass or raises ``RecordError`` naming ``file:line``. Loaders never touch the
file system or git: the ``Inventory`` feeds them bytes from the working tree or
from a commit through one interface.

Records also write themselves: a ``new`` (or ``closed``, ``moved``) constructor
builds the document in its fixed key order and reads it back through the loader,
so what mops writes always reads; ``dump()`` gives the file's text. A record keeps
its document (``raw``), so keys a person added by hand survive an update.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mops import clock
from mops.errors import RecordError
from mops.inventory import yamlio
from mops.inventory.names import validate_model, validate_role

#: The stage ``mops retire`` sets; a retired version is held only to rules naming it.
RETIRED = "retired"
DEFAULT_STAGES = ("development", "validation", "production", RETIRED)
SEVERITIES = ("high", "medium", "low")
EMAIL_RE = re.compile(r"[^@\s<>]+@[^@\s<>]+")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
DEFAULT_EXCEPTION_GRANTERS = ("risk-officer",)
DEFAULT_MAX_EXCEPTION_DAYS = 365
DEFAULT_FINDING_CLOSERS = ("validator", "risk-officer")
DEFAULT_GOVERNORS = ("risk-officer",)
#: Who may sign an attestation (``mops attest``): the roles whose sign-offs release a
#: version under the built-in packs, the second line, never the model's own people.
DEFAULT_ATTESTERS = ("validator", "risk-officer")
#: How long ``verify-artifact --attestation`` trusts an attestation (practice: a quarter).
DEFAULT_ATTESTATION_MAX_AGE_DAYS = 90


def _fail(path: str, text: str, keys: list[str | int], message: str, offset: int = 0) -> RecordError:
    line = yamlio.key_line(text, keys)
    return RecordError(path, message, line=None if line is None else line + offset)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _read_back(path: str, raw: dict[str, Any], load: Callable[..., Any], **kw: Any) -> Any:
    """The record ``raw`` becomes once written: dumped as mops writes it, and read back."""
    return load(path, yamlio.dump_yaml(raw).encode("utf-8"), **kw)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# ----------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """``mops.yaml``: the inventory's name, policy packs, stages, roles and signing."""

    inventory: str
    policies: tuple[str, ...] = ("baseline",)
    stages: tuple[str, ...] = DEFAULT_STAGES
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    signing: str = "optional"
    #: Free-form settings read by policy packs (e.g. review intervals per tier).
    policy_settings: dict[str, Any] = field(default_factory=dict)
    #: Conventions for scheduled monitoring (where production logs are found).
    monitoring: dict[str, Any] = field(default_factory=dict)
    #: ``exceptions.granted_by``: the roles whose members may grant exceptions (``mops waive``).
    exception_granters: tuple[str, ...] = DEFAULT_EXCEPTION_GRANTERS
    #: ``exceptions.max_days``: the longest an exception may run (practice, not a regulation).
    max_exception_days: int = DEFAULT_MAX_EXCEPTION_DAYS
    #: ``findings.closed_by``: the roles whose members may close a finding someone else raised.
    finding_closers: tuple[str, ...] = DEFAULT_FINDING_CLOSERS
    #: ``governance.changed_by``: the roles whose members may change the inventory's rules
    #: (mops.yaml, .mops/, policies/, report_templates/; see ``mops.trust.rules``).
    governors: tuple[str, ...] = DEFAULT_GOVERNORS
    #: ``monitoring.recorded_by``: the roles whose members may record monitoring results
    #: (empty: anyone may, with ``mops drift --record``).
    monitoring_recorders: tuple[str, ...] = ()
    #: ``attestations.signed_by``: the roles whose members may sign attestations.
    attesters: tuple[str, ...] = DEFAULT_ATTESTERS
    #: ``attestations.max_age_days``: the oldest attestation ``verify-artifact`` accepts.
    attestation_max_age_days: int = DEFAULT_ATTESTATION_MAX_AGE_DAYS
    raw: dict[str, Any] = field(default_factory=dict)

    def people_for(self, role: str) -> tuple[str, ...]:
        return self.roles.get(role, ())


def load_settings(path: str, data: bytes, *, cache: yamlio.ParseCache | None = None) -> Settings:
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data, cache=cache)

    def fail(keys: list[str | int], msg: str) -> RecordError:
        return _fail(path, text, keys, msg)

    name = raw.get("inventory")
    if not isinstance(name, str) or not name.strip():
        raise fail(["inventory"], "'inventory' must be the inventory's name (a string)")
    policies = raw.get("policies", ["baseline"])
    if policies is None:
        policies = []
    if not _str_list(policies):
        raise fail(["policies"], "'policies' must be a list of pack names or paths")
    stages = raw.get("stages", list(DEFAULT_STAGES))
    if not _str_list(stages) or not stages:
        raise fail(["stages"], "'stages' must be a non-empty list of stage names")
    for i, stage in enumerate(stages):
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", stage):
            raise fail(["stages", i], f"invalid stage name {stage!r}")
    if len(set(stages)) != len(stages):
        raise fail(["stages"], "'stages' lists a stage twice")
    roles_raw = raw.get("roles") or {}
    if not isinstance(roles_raw, dict):
        raise fail(["roles"], "'roles' must map role names to lists of e-mail addresses")
    roles: dict[str, tuple[str, ...]] = {}
    for role, people in roles_raw.items():
        if not isinstance(role, str):
            raise fail(["roles"], f"role name {role!r} must be a string")
        try:
            validate_role(role)
        except Exception as exc:
            raise fail(["roles", role], str(exc)) from None
        if isinstance(people, str):
            people = [people]
        if not _str_list(people):
            raise fail(["roles", role], f"role {role!r} must list e-mail addresses")
        for person in people:
            if not EMAIL_RE.fullmatch(person):
                raise fail(["roles", role], f"{person!r} in role {role!r} is not an e-mail address")
        roles[role] = tuple(p.lower() for p in people)
    signing = raw.get("signing", "optional")
    if signing not in ("optional", "required"):
        raise fail(["signing"], "'signing' must be 'optional' or 'required'")
    policy_settings = raw.get("policy_settings") or {}
    if not isinstance(policy_settings, dict):
        raise fail(["policy_settings"], "'policy_settings' must be a mapping")
    monitoring = raw.get("monitoring") or {}
    if not isinstance(monitoring, dict):
        raise fail(["monitoring"], "'monitoring' must be a mapping")
    exceptions = _section(raw, "exceptions", ("granted_by", "max_days"), fail)
    granters = _role_list(exceptions, "exceptions", "granted_by", DEFAULT_EXCEPTION_GRANTERS, fail)
    max_days = _days(exceptions, "exceptions", "max_days", DEFAULT_MAX_EXCEPTION_DAYS, fail)
    findings = _section(raw, "findings", ("closed_by",), fail)
    closers = _role_list(findings, "findings", "closed_by", DEFAULT_FINDING_CLOSERS, fail)
    governance = _section(raw, "governance", ("changed_by",), fail)
    governors = _role_list(governance, "governance", "changed_by", DEFAULT_GOVERNORS, fail)
    recorders = _role_list(monitoring, "monitoring", "recorded_by", (), fail)
    attestations = _section(raw, "attestations", ("signed_by", "max_age_days"), fail)
    attesters = _role_list(attestations, "attestations", "signed_by", DEFAULT_ATTESTERS, fail)
    max_age = _days(attestations, "attestations", "max_age_days",
                    DEFAULT_ATTESTATION_MAX_AGE_DAYS, fail)
    return Settings(inventory=name.strip(), policies=tuple(policies), stages=tuple(stages),
                    roles=roles, signing=signing, policy_settings=policy_settings,
                    monitoring=monitoring, exception_granters=granters,
                    max_exception_days=max_days, finding_closers=closers, governors=governors,
                    monitoring_recorders=recorders, attesters=attesters,
                    attestation_max_age_days=max_age, raw=raw)


def _days(section: dict[str, Any], key: str, item: str, default: int,
          fail: Callable[[list[str | int], str], RecordError]) -> int:
    value = section.get(item, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail([key, item], f"'{key}.{item}' must be a whole number of days, at least 1")
    return value


def _section(raw: dict[str, Any], key: str, known: tuple[str, ...],
             fail: Callable[[list[str | int], str], RecordError]) -> dict[str, Any]:
    section = raw.get(key) or {}
    if not isinstance(section, dict):
        raise fail([key], f"'{key}' must be a mapping ({', '.join(known)})")
    for item in section:
        if item not in known:
            raise fail([key, item], f"'{key}.{item}' is not a setting (known: {', '.join(known)})")
    return section


def _role_list(section: dict[str, Any], key: str, item: str, default: tuple[str, ...],
               fail: Callable[[list[str | int], str], RecordError]) -> tuple[str, ...]:
    value = section.get(item, list(default))
    if isinstance(value, str):
        value = [value]
    if not _str_list(value):
        raise fail([key, item], f"'{key}.{item}' must be a list of role names")
    for role in value:
        try:
            validate_role(role)
        except Exception as exc:
            raise fail([key, item], f"'{key}.{item}': {exc}") from None
    return tuple(value)


# ----------------------------------------------------------------------------- cards


@dataclass(frozen=True)
class Card:
    """A model card: YAML front matter (governance + Hugging Face keys) and a Markdown body."""

    path: str
    front: dict[str, Any]
    body: str

    @property
    def id(self) -> str:
        return self.front["id"]

    @property
    def owner(self) -> str | None:
        owner = self.front.get("owner")
        return owner if isinstance(owner, str) else None

    @property
    def developers(self) -> tuple[str, ...]:
        devs = self.front.get("developers") or []
        return tuple(devs) if isinstance(devs, list) else ()

    @property
    def tier(self) -> int | None:
        tier = self.front.get("tier")
        return tier if isinstance(tier, int) and not isinstance(tier, bool) else None

    @property
    def name(self) -> str:
        name = self.front.get("name")
        return name if isinstance(name, str) else self.id


def split_front_matter(path: str, text: str) -> tuple[str, str, int]:
    """Split ``---`` fenced front matter from the body; returns (yaml, body, body_line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n").strip() != "---":
        raise RecordError(path, "a model card must start with '---' and YAML front matter, "
                                "closed by another '---' line", line=1)
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n").strip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1:]), i + 2
    raise RecordError(path, "the front matter opened on line 1 is never closed by a '---' line",
                      line=1)


def load_card(path: str, data: bytes, *, expected_id: str | None = None,
              cache: yamlio.ParseCache | None = None) -> Card:
    """Parse and validate a model card (Markdown with YAML front matter)."""
    text = yamlio.decode(path, data)
    front_text, body, _ = split_front_matter(path, text)
    front = yamlio.load_yaml(path, front_text, line_offset=1, cache=cache)
    if front is None:
        raise RecordError(path, "the front matter is empty; it needs at least 'id'", line=2)
    if not isinstance(front, dict):
        raise RecordError(path, "the front matter must be a YAML mapping", line=2)

    def fail(keys: list[str | int], msg: str) -> RecordError:
        return _fail(path, front_text, keys, msg, offset=1)

    card_id = front.get("id")
    if card_id is None:
        raise RecordError(path, "the front matter has no 'id' (the model id)", line=2)
    if not isinstance(card_id, str):
        raise fail(["id"], "'id' must be a string")
    try:
        validate_model(card_id)
    except Exception as exc:
        raise fail(["id"], str(exc)) from None
    if expected_id is not None and card_id != expected_id:
        raise fail(["id"], f"the card's id is {card_id!r} but the model is {expected_id!r}")
    for key in ("name", "owner", "intended_use", "out_of_scope", "outputs"):
        if key in front and front[key] is not None and not isinstance(front[key], str):
            raise fail([key], f"'{key}' must be text")
    if isinstance(front.get("owner"), str) and not EMAIL_RE.fullmatch(front["owner"]):
        raise fail(["owner"], f"'owner' must be an e-mail address, not {front['owner']!r}")
    for key in ("developers",):
        if key in front and front[key] is not None:
            if not _str_list(front[key]) or not all(EMAIL_RE.fullmatch(v) for v in front[key]):
                raise fail([key], f"'{key}' must be a list of e-mail addresses")
    for key in ("limitations", "inputs", "data_sources", "dependencies"):
        value = front.get(key)
        if value is not None and not isinstance(value, (str, list)):
            raise fail([key], f"'{key}' must be a list or text")
    if "tier" in front:
        tier = front["tier"]
        if isinstance(tier, bool) or not isinstance(tier, int) or not 1 <= tier <= 9:
            raise fail(["tier"], "'tier' must be a whole number from 1 (most material) to 9")
    if "vendor" in front and not isinstance(front["vendor"], bool):
        raise fail(["vendor"], "'vendor' must be true or false")
    review = front.get("review")
    if review is not None:
        if not isinstance(review, dict):
            raise fail(["review"], "'review' must be a mapping such as {last: 2026-01-15}")
        for key in ("last", "next"):
            if key in review and clock.as_date(review[key]) is None:
                raise fail(["review", key], f"'review.{key}' must be a date (YYYY-MM-DD)")
    monitoring = front.get("monitoring")
    if monitoring is not None and not isinstance(monitoring, dict):
        raise fail(["monitoring"], "'monitoring' must be a mapping (reference, features, ...)")
    return Card(path=path, front=front, body=body)


# ----------------------------------------------------------------------------- version records


@dataclass(frozen=True)
class Artifact:
    sha256: str
    size: int | None = None
    path: str | None = None
    uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.path is not None:
            out["path"] = self.path
        if self.uri is not None:
            out["uri"] = self.uri
        out["sha256"] = self.sha256
        if self.size is not None:
            out["size"] = self.size
        return out


@dataclass(frozen=True)
class StageEvent:
    """One entry of a version's stage history, kept as written (``raw``)."""

    raw: Any

    def _get(self, key: str) -> str | None:
        return _text(self.raw.get(key)) if isinstance(self.raw, dict) else None

    @property
    def stage(self) -> str | None:
        return self._get("stage")

    @property
    def previous(self) -> str | None:
        """The stage before (``from``); None for the stage a version was registered in."""
        return self._get("from")

    @property
    def at(self) -> str | None:
        return self._get("at")

    @property
    def by(self) -> str | None:
        return self._get("by")

    @classmethod
    def new(cls, stage: str, *, at: str, by: str, previous: str | None = None,
            **extra: Any) -> StageEvent:
        """An entry as mops writes it; ``extra`` items (digest, waived, reason) only when set."""
        raw: dict[str, Any] = {"stage": stage}
        if previous is not None:
            raw["from"] = previous
        raw.update({"at": at, "by": by})
        raw.update({k: v for k, v in extra.items() if v})
        return cls(raw)


@dataclass(frozen=True)
class VersionRecord:
    path: str
    model: str
    version: str
    stage: str
    registered_by: str
    registered_at: str
    artifact: Artifact | None
    metrics: dict[str, Any]
    raw: dict[str, Any]
    #: Optional description of the data the version was trained on (part of what is signed).
    data: Any = None
    stage_history: tuple[StageEvent, ...] = ()
    #: ``{at, by, reason}`` once retired.
    retired: dict[str, Any] | None = None

    def immutable_fields(self) -> dict[str, Any]:
        """What a sign-off covers of the version (not its stage or history)."""
        return {
            "model": self.model,
            "version": self.version,
            "artifact": self.artifact.to_dict() if self.artifact else None,
            "data": self.data,
            "metrics": self.metrics,
        }

    @classmethod
    def new(cls, path: str, *, model: str, version: str, stage: str, by: str, at: str,
            artifact: Artifact | None, metrics: Mapping[str, Any]) -> VersionRecord:
        """A newly registered version, in stage ``stage``."""
        raw = {
            "model": model,
            "version": version,
            "stage": stage,
            "registered_by": by,
            "registered_at": at,
            "artifact": artifact.to_dict() if artifact else None,
            "metrics": dict(metrics),
            "stage_history": [StageEvent.new(stage, at=at, by=by).raw],
        }
        return _read_back(path, raw, load_version, model=model, version=version)

    def moved(self, event: StageEvent, *, retired: Mapping[str, Any] | None = None
              ) -> VersionRecord:
        """This record in the stage ``event`` names, with ``event`` added to its history."""
        raw = dict(self.raw)
        raw["stage"] = event.stage
        if retired is not None:
            raw["retired"] = dict(retired)
        raw["stage_history"] = [*(e.raw for e in self.stage_history), event.raw]
        return _read_back(self.path, raw, load_version, model=self.model, version=self.version)

    def dump(self) -> str:
        return yamlio.dump_yaml(self.raw)


def _require(raw: dict[str, Any], key: str, path: str, text: str, kind: type | tuple = str) -> Any:
    value = raw.get(key)
    if value is None:
        raise RecordError(path, f"missing '{key}'")
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _fail(path, text, [key], f"'{key}' has the wrong type ({type(value).__name__})")
    return value


def _timestamp(raw: dict[str, Any], key: str, path: str, text: str) -> str:
    value = raw.get(key)
    if isinstance(value, dt.datetime):
        try:
            value = clock.format_timestamp(value)
        except (OverflowError, ValueError):
            raise _fail(path, text, [key], f"'{key}' is out of range (years 1 to 9999 in UTC)"
                        ) from None
    if not isinstance(value, str) or not value:
        raise _fail(path, text, [key], f"'{key}' must be a timestamp")
    if not _is_instant(value):
        # An impossible or garbled time would otherwise read as "no time": a record that
        # never ages, and a crash wherever it is finally parsed.
        raise _fail(path, text, [key], f"'{key}' must be a timestamp such as "
                                       f"2026-06-01T12:00:00Z, not {value!r}")
    return value


def _is_instant(value: str) -> bool:
    try:
        return clock.parse_timestamp(value) is not None
    except (OverflowError, ValueError):
        return False


def load_version(path: str, data: bytes, *, model: str, version: str,
                 cache: yamlio.ParseCache | None = None) -> VersionRecord:
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data, cache=cache)
    if raw.get("model") != model:
        raise _fail(path, text, ["model"], f"'model' must be {model!r} (the folder it is in)")
    if str(raw.get("version")) != version:
        raise _fail(path, text, ["version"], f"'version' must be {version!r} (the folder it is in)")
    stage = _require(raw, "stage", path, text)
    art = raw.get("artifact")
    artifact = None
    if art is not None:
        if not isinstance(art, dict) or not isinstance(art.get("sha256"), str) \
                or not SHA256_RE.fullmatch(art["sha256"]):
            raise _fail(path, text, ["artifact"], "'artifact' needs 'sha256': 64 hex digits")
        artifact = Artifact(sha256=art["sha256"], size=art.get("size"), path=art.get("path"),
                            uri=art.get("uri"))
    metrics = raw.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise _fail(path, text, ["metrics"], "'metrics' must be a mapping of name: value")
    history = raw.get("stage_history")
    retired = raw.get("retired")
    return VersionRecord(
        path=path, model=model, version=version, stage=stage,
        registered_by=_require(raw, "registered_by", path, text),
        registered_at=_timestamp(raw, "registered_at", path, text),
        artifact=artifact, metrics=metrics, raw=raw, data=raw.get("data"),
        stage_history=tuple(StageEvent(e) for e in history) if isinstance(history, list) else (),
        retired=retired if isinstance(retired, dict) else None,
    )


# ----------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceFile:
    path: str  # relative to the version folder
    sha256: str
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Evidence:
    path: str
    id: str
    kind: str
    title: str
    files: tuple[EvidenceFile, ...]
    metrics: dict[str, Any]
    added_by: str
    added_at: str
    raw: dict[str, Any]

    @classmethod
    def new(cls, path: str, *, id: str, kind: str, title: str, files: Sequence[EvidenceFile],
            metrics: Mapping[str, Any], by: str, at: str) -> Evidence:
        raw = {
            "id": id,
            "kind": kind,
            "title": title,
            "files": [f.to_dict() for f in files],
            "metrics": dict(metrics),
            "added_by": by,
            "added_at": at,
        }
        return _read_back(path, raw, load_evidence, record_id=id)

    def dump(self) -> str:
        return yamlio.dump_yaml(self.raw)


def load_evidence(path: str, data: bytes, *, record_id: str, cache: yamlio.ParseCache | None = None) -> Evidence:
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data, cache=cache)
    if raw.get("id") != record_id:
        raise _fail(path, text, ["id"], f"'id' must be {record_id!r} (the file's name)")
    files_raw = raw.get("files") or []
    if not isinstance(files_raw, list):
        raise _fail(path, text, ["files"], "'files' must be a list of {path, sha256}")
    files = []
    for i, item in enumerate(files_raw):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) \
                or not SHA256_RE.fullmatch(str(item.get("sha256", ""))):
            raise _fail(path, text, ["files", i], "each file needs 'path' and 'sha256'")
        rel = item["path"]
        if rel.startswith("/") or ".." in rel.split("/"):
            raise _fail(path, text, ["files", i], f"file path {rel!r} leaves the version folder")
        files.append(EvidenceFile(path=rel, sha256=item["sha256"], size=item.get("size")))
    metrics = raw.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise _fail(path, text, ["metrics"], "'metrics' must be a mapping")
    return Evidence(path=path, id=record_id, kind=_require(raw, "kind", path, text),
                    title=str(raw.get("title") or ""), files=tuple(files), metrics=metrics,
                    added_by=_require(raw, "added_by", path, text),
                    added_at=_timestamp(raw, "added_at", path, text), raw=raw)


# ----------------------------------------------------------------------------- approvals


@dataclass(frozen=True)
class Approval:
    path: str
    id: str
    role: str
    decision: str  # "approve" | "reject"
    by: str
    at: str
    digest: str
    comment: str | None
    expires: dt.date | None
    parts: dict[str, str]
    raw: dict[str, Any]
    #: The id of this person's earlier sign-off in this role, which this one replaces.
    supersedes: str | None = None
    model: str | None = None
    version: str | None = None

    @classmethod
    def new(cls, path: str, *, id: str, model: str, version: str, role: str, decision: str,
            by: str, name: str, at: str, comment: str | None, expires: dt.date | None,
            digest: str, parts: Mapping[str, str], supersedes: str | None = None,
            extra: Mapping[str, str] | None = None) -> Approval:
        """A sign-off; ``extra`` adds context such as the GitHub actor."""
        raw: dict[str, Any] = {
            "id": id,
            "model": model,
            "version": version,
            "role": role,
            "decision": decision,
            "by": by,
            "name": name,
            "at": at,
            "comment": comment,
            "expires": expires,
            "digest": digest,
            "digest_parts": dict(parts),
        }
        if supersedes:
            raw["supersedes"] = supersedes
        raw.update(extra or {})
        return _read_back(path, raw, load_approval, record_id=id)

    def dump(self) -> str:
        return yamlio.dump_yaml(self.raw)


def load_approval(path: str, data: bytes, *, record_id: str, cache: yamlio.ParseCache | None = None) -> Approval:
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data, cache=cache)
    if raw.get("id") != record_id:
        raise _fail(path, text, ["id"], f"'id' must be {record_id!r} (the file's name)")
    decision = raw.get("decision")
    if decision not in ("approve", "reject"):
        raise _fail(path, text, ["decision"], "'decision' must be 'approve' or 'reject'")
    digest = _require(raw, "digest", path, text)
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise _fail(path, text, ["digest"], "'digest' must be 'sha256:' and 64 hex digits")
    expires = raw.get("expires")
    if expires is not None and clock.as_date(expires) is None:
        raise _fail(path, text, ["expires"], "'expires' must be a date (YYYY-MM-DD)")
    parts = raw.get("digest_parts") or {}
    return Approval(path=path, id=record_id, role=_require(raw, "role", path, text),
                    decision=decision, by=str(_require(raw, "by", path, text)).lower(),
                    at=_timestamp(raw, "at", path, text), digest=digest,
                    comment=raw.get("comment"), expires=clock.as_date(expires),
                    parts=parts if isinstance(parts, dict) else {}, raw=raw,
                    supersedes=_text(raw.get("supersedes")), model=_text(raw.get("model")),
                    version=None if raw.get("version") is None else str(raw["version"]))


def effective_signoffs(approvals: Sequence[Approval]) -> list[Approval]:
    """The latest sign-off of each (person, role): a later one supersedes the earlier.

    Timestamps have one-second resolution, so at equal times the ``supersedes`` link
    each sign-off records decides which came later.
    """
    superseded = {a.supersedes for a in approvals}
    latest: dict[tuple[str, str], Approval] = {}

    def rank(a: Approval) -> tuple[str, bool, str]:
        return a.at, a.id not in superseded, a.id

    for a in approvals:
        key = (a.by, a.role)
        if key not in latest or rank(a) > rank(latest[key]):
            latest[key] = a
    return sorted(latest.values(), key=lambda a: (a.at, a.id))


# ----------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    """A finding, or (``kind: exception``) a policy exception that waives one rule."""

    path: str
    id: str
    kind: str  # "finding" | "exception"
    model: str
    version: str | None
    title: str
    severity: str | None
    status: str  # "open" | "closed"
    opened_by: str
    opened_at: str
    due: dt.date | None
    rule: str | None
    expires: dt.date | None
    raw: dict[str, Any]
    #: Why an exception was granted, the compensating controls, and who granted it.
    reason: str | None = None
    controls: str | None = None
    approved_by: str | None = None
    closed_by: str | None = None
    closed_at: str | None = None
    close_comment: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def new_finding(cls, path: str, *, id: str, model: str, version: str | None, severity: str,
                    title: str, by: str, at: str, due: dt.date | None) -> Finding:
        raw = {
            "id": id,
            "kind": "finding",
            "model": model,
            "version": version,
            "severity": severity,
            "title": title,
            "status": "open",
            "opened_by": by,
            "opened_at": at,
            "due": due,
        }
        return _read_back(path, raw, load_finding, record_id=id, model=model)

    @classmethod
    def new_exception(cls, path: str, *, id: str, model: str, version: str | None, rule: str,
                      reason: str, controls: str | None, by: str, at: str, expires: dt.date,
                      extra: Mapping[str, str] | None = None) -> Finding:
        """A policy exception waiving ``rule`` until ``expires``, granted by ``by``."""
        raw: dict[str, Any] = {
            "id": id,
            "kind": "exception",
            "model": model,
            "version": version,
            "rule": rule,
            "title": f"Exception to {rule}",
            "reason": reason,
            "controls": controls,
            "approved_by": by,
            "status": "open",
            "opened_by": by,
            "opened_at": at,
            "expires": expires,
        }
        raw.update(extra or {})
        return _read_back(path, raw, load_finding, record_id=id, model=model)

    def closed(self, *, by: str, at: str, comment: str | None) -> Finding:
        """This finding closed (an exception: withdrawn); the record stays."""
        raw = dict(self.raw)
        raw.update({"status": "closed", "closed_by": by, "closed_at": at})
        if comment:
            raw["close_comment"] = comment
        return _read_back(self.path, raw, load_finding, record_id=self.id, model=self.model)

    def dump(self) -> str:
        return yamlio.dump_yaml(self.raw)


def load_finding(path: str, data: bytes, *, record_id: str, model: str,
                 cache: yamlio.ParseCache | None = None) -> Finding:
    text = yamlio.decode(path, data)
    raw = yamlio.load_mapping(path, data, cache=cache)
    if raw.get("id") != record_id:
        raise _fail(path, text, ["id"], f"'id' must be {record_id!r} (the file's name)")
    kind = raw.get("kind", "finding")
    if kind not in ("finding", "exception"):
        raise _fail(path, text, ["kind"], "'kind' must be 'finding' or 'exception'")
    status = raw.get("status", "open")
    if status not in ("open", "closed"):
        raise _fail(path, text, ["status"], "'status' must be 'open' or 'closed'")
    severity = raw.get("severity")
    if kind == "finding" and severity not in SEVERITIES:
        raise _fail(path, text, ["severity"], "'severity' must be high, medium or low")
    for key in ("due", "expires"):
        if raw.get(key) is not None and clock.as_date(raw[key]) is None:
            raise _fail(path, text, [key], f"'{key}' must be a date (YYYY-MM-DD)")
    if kind == "exception":
        if not isinstance(raw.get("rule"), str):
            raise _fail(path, text, ["rule"], "an exception must name the 'rule' it waives")
        if clock.as_date(raw.get("expires")) is None:
            raise _fail(path, text, ["expires"], "an exception needs an 'expires' date")
    version = raw.get("version")
    return Finding(path=path, id=record_id, kind=kind, model=model,
                   version=None if version is None else str(version),
                   title=str(raw.get("title") or ""), severity=severity, status=status,
                   opened_by=str(raw.get("opened_by") or ""),
                   opened_at=_timestamp(raw, "opened_at", path, text),
                   due=clock.as_date(raw.get("due")), rule=raw.get("rule"),
                   expires=clock.as_date(raw.get("expires")), raw=raw,
                   reason=_text(raw.get("reason")), controls=_text(raw.get("controls")),
                   approved_by=_text(raw.get("approved_by")), closed_by=_text(raw.get("closed_by")),
                   closed_at=_text(raw.get("closed_at")),
                   close_comment=_text(raw.get("close_comment")))


# ----------------------------------------------------------------------------- monitoring

#: Monitoring results carry whole drift reports; still, a record is read whole into memory.
MAX_MONITORING_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Monitoring:
    """A recorded monitoring result (drift or performance), stored as JSON."""

    path: str
    id: str
    at: str
    kind: str
    data: dict[str, Any]

    @property
    def breach(self) -> bool:
        verdict = self.data.get("verdict") or {}
        return bool(verdict.get("dataset_drift") or verdict.get("breaches"))

    @classmethod
    def new(cls, path: str, *, id: str, kind: str, by: str, at: str, model: str, version: str,
            document: Mapping[str, Any]) -> Monitoring:
        """A result as recorded: ``id``, ``kind``, ``at`` and ``by`` first, then ``document``."""
        data = {"id": id, "kind": kind, "at": at, "by": by, "model": model, "version": version,
                **document}
        return load_monitoring(path, _json(data).encode("utf-8"), id)

    def dump(self) -> str:
        return _json(self.data)


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def load_monitoring(path: str, data: bytes, record_id: str) -> Monitoring:
    if len(data) > MAX_MONITORING_BYTES:
        raise RecordError(path, f"file is {len(data):,} bytes; monitoring records may be at most "
                                f"16 MiB")
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise RecordError(path, f"invalid JSON: {exc}", line=line) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("at"), str):
        raise RecordError(path, "a monitoring record must be a JSON object with 'at'")
    if not _is_instant(raw["at"]):
        found = re.search(rb'"at"\s*:', data)
        line = data[: found.start()].count(b"\n") + 1 if found else None
        raise RecordError(path, f"'at' must be a timestamp such as 2026-06-01T12:00:00Z, not "
                                f"{raw['at']!r}", line=line)
    return Monitoring(path=path, id=record_id, at=raw["at"], kind=str(raw.get("kind", "drift")),
                      data=raw)
