"""The requirement vocabulary: what a rule may demand, how it is written, how it is checked.

Each requirement has a parser (pack YAML -> normalised parameters, raising
``SpecError`` with a sentence for the pack author) and a checker (one version
in context -> pass or fail with a message and the file a person must change).
Checkers only read: the inventory snapshot, and the clock through ``Subject``'s methods
(``today``, ``age_days``, ``in_future``), which note how long the answer holds
(``Subject.window``) so that results can be kept until the clock moves past it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mops import clock
from mops.inventory import authority
from mops.inventory.digest import DigestCache, combine, subject_parts, what_changed
from mops.inventory.names import KIND_RE, ROLE_RE
from mops.inventory.records import SEVERITIES, Approval, Finding, effective_signoffs
from mops.inventory.store import Inventory, Model, Version

FIELD_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*")
INDEPENDENCE = ("owner", "developers", "registrant")
#: How far in the future a record's date may be and still count: the clocks of the machine
#: that recorded it and of the one checking differ a little. A record dated later would
#: never age (``max_age_days``); ``mops verify`` holds each record to its commit's date.
FUTURE_SKEW = dt.timedelta(days=1)


class SpecError(ValueError):
    """A requirement's parameters are malformed (the message is for the pack's author)."""


# ----------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class ByTier:
    """A figure that depends on the model's tier, e.g. ``{1: 12, 2: 24, 3: 36}``."""

    values: Mapping[int, int]
    default: int | None = None

    def for_tier(self, tier: int | None) -> int:
        # No tier on the card: the strictest figure (the card should say; until then, be safe).
        if tier is None:
            return self.default if self.default is not None else min(self.values.values())
        if tier in self.values:
            return self.values[tier]
        if self.default is not None:
            return self.default
        # Beyond the listed tiers (less material): the figure of the least material tier listed.
        lower = [t for t in self.values if t < tier]
        return self.values[max(lower)] if lower else min(self.values.values())

    def describe(self) -> str:
        text = ", ".join(f"tier {t}: {v}" for t, v in sorted(self.values.items()))
        return text + (f", otherwise {self.default}" if self.default is not None else "")


Figure = int | ByTier


def figure_for(value: Figure | None, tier: int | None) -> int | None:
    if value is None:
        return None
    return value.for_tier(tier) if isinstance(value, ByTier) else value


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"'{name}' must be a whole number of at least 0, not {value!r}")
    return value


def _figure(value: Any, name: str) -> Figure:
    if isinstance(value, Mapping):
        by_tier: dict[int, int] = {}
        default = None
        for key, item in value.items():
            if key == "default":
                default = _positive_int(item, f"{name}.default")
                continue
            try:
                tier = int(key)
            except (TypeError, ValueError):
                raise SpecError(f"'{name}' maps tiers (1, 2, ...) or 'default' to numbers; "
                                f"{key!r} is not a tier") from None
            by_tier[tier] = _positive_int(item, f"{name}.{key}")
        if by_tier:
            return ByTier(by_tier, default)
        if default is None:
            raise SpecError(f"'{name}' is an empty mapping")
        return default
    return _positive_int(value, name)


def _only_keys(params: Mapping[str, Any], allowed: tuple[str, ...], requirement: str) -> None:
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise SpecError(f"{requirement}: unknown parameter {unknown[0]!r} (known: "
                        f"{', '.join(allowed)})")


def lookup(data: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """The value at ``a.b.c`` in nested mappings, and whether the key exists."""
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------- context


@dataclass
class Subject:
    """One model version under evaluation, for one stage (its own, or a promotion's target)."""

    inv: Inventory
    model: Model
    version: Version
    stage: str
    at: dt.datetime
    cache: DigestCache
    is_signed: Callable[[Version, Approval], bool] = field(default=lambda v, a: False)
    _parts: dict[str, str] | None = None
    _digest: str | None = None
    #: The instants [from, until) over which every answer the clock gave stays the same
    #: (None: unbounded); narrowed by each question asked of the clock.
    window: list[dt.datetime | None] = field(default_factory=lambda: [None, None])

    def _holds(self, since: dt.datetime | None, until: dt.datetime | None) -> None:
        lo, hi = self.window
        if since is not None and (lo is None or since > lo):
            self.window[0] = since
        if until is not None and (hi is None or until < hi):
            self.window[1] = until

    @property
    def now(self) -> dt.datetime:
        """The exact time; a checker that reads it makes its answer hold for this instant
        only (prefer :attr:`today`, :meth:`age_days` and :meth:`in_future`)."""
        self._holds(self.at, self.at + dt.timedelta(microseconds=1))
        return self.at

    @property
    def today(self) -> dt.date:
        day = self.at.date()
        midnight = dt.datetime.combine(day, dt.time(), self.at.tzinfo or dt.UTC)
        self._holds(midnight, midnight + dt.timedelta(days=1))
        return day

    def age_days(self, since: dt.datetime) -> int:
        """Whole days from ``since`` to now (as ``(now - since).days``)."""
        days = (self.at - since).days
        start = since + dt.timedelta(days=days)
        self._holds(start, start + dt.timedelta(days=1))
        return days

    def in_future(self, when: dt.datetime) -> bool:
        """Whether ``when`` is later than now by more than the clocks' skew (FUTURE_SKEW)."""
        edge = when - FUTURE_SKEW
        if self.at < edge:
            self._holds(None, edge)
            return True
        self._holds(edge, None)
        return False

    @property
    def tier(self) -> int | None:
        return self.model.card.tier

    @property
    def card_path(self) -> str:
        return self.model.card.path

    @property
    def version_path(self) -> str:
        return self.version.record.path

    @property
    def parts(self) -> dict[str, str]:
        """The subject digest's parts, computed once and only when a rule needs them."""
        if self._parts is None:
            self._parts = subject_parts(self.inv, self.version, self.cache)
        return self._parts

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = combine(self.parts)
        return self._digest

    def file_ok(self, rel_to_version: str, sha256: str) -> bool:
        return self.cache.file_sha256(f"{self.version.dir}/{rel_to_version}") == sha256


@dataclass(frozen=True)
class Outcome:
    status: Literal["pass", "fail"]
    message: str
    file: str
    #: Other files the failure is about (see ``Result.related``).
    related: tuple[str, ...] = ()


def _passed(message: str, file: str) -> Outcome:
    return Outcome("pass", message, file)


def _failed(message: str, file: str, related: tuple[str, ...] = ()) -> Outcome:
    return Outcome("fail", message, file, related)


# ----------------------------------------------------------------------------- card_fields / version_fields


@dataclass(frozen=True)
class FieldSpec:
    path: str
    allow_empty: bool = False


def _parse_fields(value: Any, name: str) -> tuple[FieldSpec, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise SpecError(f"{name}: expected a non-empty list of field names")
    out = []
    for item in value:
        if isinstance(item, Mapping):
            _only_keys(item, ("field", "allow_empty"), name)
            path, allow = item.get("field"), item.get("allow_empty", False)
            if not isinstance(allow, bool):
                raise SpecError(f"{name}: 'allow_empty' must be true or false")
        else:
            path, allow = item, False
        if not isinstance(path, str) or not FIELD_RE.fullmatch(path):
            raise SpecError(f"{name}: {path!r} is not a field name (dotted names such as "
                            f"review.last are allowed)")
        out.append(FieldSpec(path, allow))
    return tuple(out)


def _missing_fields(data: Mapping[str, Any], fields: tuple[FieldSpec, ...]) -> list[str]:
    missing = []
    for spec in fields:
        found, value = lookup(data, spec.path)
        if not found or value is None:
            missing.append(f"{spec.path} (missing)")
        elif not spec.allow_empty and (
                (isinstance(value, str) and not value.strip())
                or (isinstance(value, (list, dict)) and not value)):
            missing.append(f"{spec.path} (empty)")
    return missing


def check_card_fields(s: Subject, fields: tuple[FieldSpec, ...]) -> Outcome:
    missing = _missing_fields(s.model.card.front, fields)
    if missing:
        return _failed(f"the model card does not document {join_words(missing)}", s.card_path)
    return _passed(f"the model card documents {join_words([f.path for f in fields])}", s.card_path)


def check_version_fields(s: Subject, fields: tuple[FieldSpec, ...]) -> Outcome:
    missing = _missing_fields(s.version.record.raw, fields)
    if missing:
        return _failed(f"the version record does not have {join_words(missing)}", s.version_path)
    return _passed(f"the version record has {join_words([f.path for f in fields])}",
                   s.version_path)


# ----------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceSpec:
    kinds: tuple[str, ...]
    max_age_days: Figure | None = None


def parse_evidence(params: Any) -> EvidenceSpec:
    if isinstance(params, str):
        params = {"kind": params}
    if not isinstance(params, Mapping):
        raise SpecError("evidence: expected {kind: KIND, max_age_days: N}")
    _only_keys(params, ("kind", "max_age_days"), "evidence")
    kinds = params.get("kind")
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, list) or not kinds:
        raise SpecError("evidence: 'kind' must name an evidence kind (or a list: all required)")
    for kind in kinds:
        if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
            raise SpecError(f"evidence: {kind!r} is not an evidence kind (lowercase letters, "
                            f"digits and '-')")
    age = params.get("max_age_days")
    return EvidenceSpec(tuple(kinds), None if age is None else _figure(age, "max_age_days"))


def check_evidence(s: Subject, spec: EvidenceSpec) -> Outcome:
    max_age = figure_for(spec.max_age_days, s.tier)
    found: list[str] = []
    problems: list[str] = []
    file = s.version_path
    for kind in spec.kinds:
        records = sorted((e for e in s.version.evidence if e.kind == kind),
                         key=lambda e: (e.added_at, e.id), reverse=True)
        if not records:
            problems.append(f"no {kind} evidence")
            continue
        reasons = []
        for ev in records:
            changed = [f.path.rsplit("/", 1)[-1] for f in ev.files if not s.file_ok(f.path, f.sha256)]
            if changed:
                reasons.append(f"{ev.id}'s file {join_words(changed)} is missing or was changed "
                               f"after it was added")
                continue
            added = clock.parse_timestamp(ev.added_at)
            if added is not None and s.in_future(added):
                reasons.append(f"{ev.id} is dated {ev.added_at}, in the future")
                continue
            if max_age is not None and added is not None and (age := s.age_days(added)) > max_age:
                reasons.append(f"{ev.id} is {age} days old (at most {max_age})")
                continue
            found.append(f"{kind} {ev.id} ({ev.added_at[:10]})")
            break
        else:
            problems.append(f"no valid {kind} evidence: {'; '.join(reasons)}")
            if file == s.version_path:
                file = records[0].path
    if problems:
        return _failed("; ".join(problems), file)
    return _passed("evidence " + ", ".join(found), s.version_path)


# ----------------------------------------------------------------------------- approval


@dataclass(frozen=True)
class ApprovalSpec:
    role: str
    count: int = 1
    independent_of: tuple[str, ...] = ()
    max_age_days: Figure | None = None
    signed: bool = False

    def describe(self) -> str:
        who = f"{plural(self.count, 'approval')} by a {self.role}" if self.count == 1 else \
            f"{self.count} approvals by different people in role {self.role}"
        if self.independent_of:
            who += f" independent of the {join_words(list(self.independent_of))}"
        if self.signed:
            who += ", signed"
        return who


def parse_approval(params: Any) -> ApprovalSpec:
    if not isinstance(params, Mapping):
        raise SpecError("approval: expected {role: ROLE, count: N, independent_of: [...], "
                        "max_age_days: N, signed: BOOL}")
    _only_keys(params, ("role", "count", "independent_of", "max_age_days", "signed"), "approval")
    role = params.get("role")
    if not isinstance(role, str) or not ROLE_RE.fullmatch(role):
        raise SpecError(f"approval: 'role' must be a role name such as validator, not {role!r}")
    count = params.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise SpecError(f"approval: 'count' must be a whole number of at least 1, not {count!r}")
    indep = params.get("independent_of") or []
    if isinstance(indep, str):
        indep = [indep]
    if not isinstance(indep, list) or any(i not in INDEPENDENCE for i in indep):
        raise SpecError(f"approval: 'independent_of' lists any of {', '.join(INDEPENDENCE)}, "
                        f"not {indep!r}")
    signed = params.get("signed", False)
    if not isinstance(signed, bool):
        raise SpecError("approval: 'signed' must be true or false")
    age = params.get("max_age_days")
    return ApprovalSpec(role, count, tuple(indep),
                        None if age is None else _figure(age, "max_age_days"), signed)


def conflicts(model: Model, version: Version, person: str, independent_of: tuple[str, ...]) -> list[str]:
    """How ``person`` is not independent of the model version (empty if independent)."""
    person = person.lower()
    out = []
    card = model.card
    if "owner" in independent_of and card.owner and card.owner.lower() == person:
        out.append("the model's owner")
    if "developers" in independent_of and person in (d.lower() for d in card.developers):
        out.append("a developer of the model")
    if "registrant" in independent_of and version.record.registered_by.lower() == person:
        out.append("the person who registered this version")
    return out


def signoff_problem(s: Subject, spec: ApprovalSpec, a: Approval, listed: tuple[str, ...]) -> str | None:
    """Why the sign-off does not count for ``spec`` (None if it counts)."""
    who = f"{a.id} by {a.by}"
    if a.by not in listed:
        return f"{who} does not count: {a.by} is no longer listed for role {a.role} in mops.yaml"
    conflict = conflicts(s.model, s.version, a.by, spec.independent_of)
    if conflict:
        return f"{who} does not count: {a.by} is {join_words(conflict)}"
    if a.digest != s.digest:
        changed = what_changed(a.parts, s.parts)
        return f"{who} is stale: {join_words(changed)} changed after it was given"
    if a.decision == "approve":
        if a.expires is not None and a.expires < s.today:
            return f"{who} expired on {a.expires.isoformat()}"
        max_age = figure_for(spec.max_age_days, s.tier)
        at = clock.parse_timestamp(a.at)
        if at is not None and s.in_future(at):
            return f"{who} does not count: it is dated {a.at}, in the future"
        if max_age is not None and at is not None and (age := s.age_days(at)) > max_age:
            return f"{who} is {age} days old (at most {max_age})"
        if spec.signed and not s.is_signed(s.version, a):
            return f"{who} is not signed (this rule needs SSH-signed sign-offs)"
    return None


def stale_files(s: Subject, a: Approval) -> list[str]:
    """The files of the parts of the content that changed after ``a`` was given (none if valid)."""
    if a.digest == s.digest:
        return []
    changed = [k for k in ("card", "version", "evidence")
               if not a.parts or a.parts.get(k) != s.parts.get(k)]
    files = [s.card_path] if "card" in changed else []
    if "version" in changed:
        files.append(s.version_path)
    if "evidence" in changed:
        for ev in s.version.evidence:
            files += [ev.path, *(f"{s.version.dir}/{f.path}" for f in ev.files)]
    return files


def check_approval(s: Subject, spec: ApprovalSpec) -> Outcome:
    listed = s.inv.settings.people_for(spec.role)
    valid: list[Approval] = []
    problems: list[str] = []
    rejected: list[str] = []
    stale: dict[str, None] = {}   # the files that made sign-offs stale, in order, once each
    for a in effective_signoffs([a for a in s.version.approvals if a.role == spec.role]):
        problem = signoff_problem(s, spec, a, listed)
        if problem:
            problems.append(problem)
            stale.update(dict.fromkeys(stale_files(s, a)))
        elif a.decision == "reject":
            # A standing rejection by someone whose sign-off would count blocks the rule
            # until that person approves, or the content changes (which makes it stale).
            note = f": {a.comment}" if a.comment else ""
            rejected.append(f"rejected by {a.by} on {a.at[:10]} ({a.id}){note}")
        else:
            valid.append(a)
    if rejected:
        return _failed("; ".join(rejected + problems), s.version_path, tuple(stale))
    if len({a.by for a in valid}) >= spec.count:
        return _passed("approved by " + ", ".join(f"{a.by} ({a.role}, {a.at[:10]})" for a in valid),
                       s.version_path)
    if not listed:
        problems.append(f"no one is listed for role {spec.role} in mops.yaml")
    have = f"{len(valid)} valid" if valid else "none valid"
    detail = "; ".join(problems) if problems else "no sign-off recorded"
    return _failed(f"needs {spec.describe()} ({have}): {detail}", s.version_path, tuple(stale))


# ----------------------------------------------------------------------------- review_within


@dataclass(frozen=True)
class ReviewSpec:
    days: Figure | None = None
    months: Figure | None = None
    field: str = "review.last"


def parse_review(params: Any) -> ReviewSpec:
    if not isinstance(params, Mapping):
        raise SpecError("review_within: expected {days: N} or {months: N} (N may map tiers "
                        "to numbers)")
    _only_keys(params, ("days", "months", "field"), "review_within")
    if ("days" in params) == ("months" in params):
        raise SpecError("review_within: give exactly one of 'days' or 'months'")
    fld = params.get("field", "review.last")
    if not isinstance(fld, str) or not FIELD_RE.fullmatch(fld):
        raise SpecError(f"review_within: 'field' must be a card field name, not {fld!r}")
    days = params.get("days")
    months = params.get("months")
    return ReviewSpec(None if days is None else _figure(days, "days"),
                      None if months is None else _figure(months, "months"), fld)


def check_review(s: Subject, spec: ReviewSpec) -> Outcome:
    _, raw = lookup(s.model.card.front, spec.field)
    last = clock.as_date(raw)
    if last is None:
        return _failed(f"the model card has no {spec.field} date (the last review)", s.card_path)
    if spec.months is not None:
        n = figure_for(spec.months, s.tier)
        assert n is not None
        due = add_months(last, n)
        period = plural(n, "month")
    else:
        n = figure_for(spec.days, s.tier)
        assert n is not None
        due = last + dt.timedelta(days=n)
        period = plural(n, "day")
    tier = f"tier {s.tier}" if s.tier is not None else "a model without a tier"
    if s.today > due:
        return _failed(f"review overdue: last review {last.isoformat()}, due by {due.isoformat()} "
                       f"({tier}: every {period})", s.card_path)
    return _passed(f"last review {last.isoformat()}, next due by {due.isoformat()} ({tier}: "
                   f"every {period})", s.card_path)


# ----------------------------------------------------------------------------- next_review


@dataclass(frozen=True)
class NextReviewSpec:
    field: str = "review.next"


def parse_next_review(params: Any) -> NextReviewSpec:
    if params is None or params == {}:
        return NextReviewSpec()
    if not isinstance(params, Mapping):
        raise SpecError("next_review: expected {field: CARD-FIELD} (default review.next)")
    _only_keys(params, ("field",), "next_review")
    fld = params.get("field", "review.next")
    if not isinstance(fld, str) or not FIELD_RE.fullmatch(fld):
        raise SpecError(f"next_review: 'field' must be a card field name, not {fld!r}")
    return NextReviewSpec(fld)


def check_next_review(s: Subject, spec: NextReviewSpec) -> Outcome:
    _, raw = lookup(s.model.card.front, spec.field)
    due = clock.as_date(raw)
    if due is None:
        return _failed(f"the model card has no {spec.field} date (the next scheduled review)",
                       s.card_path)
    if s.today > due:
        return _failed(f"review overdue: the next review ({spec.field}) was due by "
                       f"{due.isoformat()}", s.card_path)
    return _passed(f"next review due by {due.isoformat()} ({spec.field})", s.card_path)


# ----------------------------------------------------------------------------- monitoring


@dataclass(frozen=True)
class MonitoringSpec:
    within_days: Figure
    kind: str = "drift"


def parse_monitoring(params: Any) -> MonitoringSpec:
    if not isinstance(params, Mapping):
        raise SpecError("monitoring: expected {within_days: N}")
    _only_keys(params, ("within_days", "kind"), "monitoring")
    if "within_days" not in params:
        raise SpecError("monitoring: 'within_days' is required")
    kind = params.get("kind", "drift")
    if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
        raise SpecError(f"monitoring: 'kind' must be a record kind such as drift, not {kind!r}")
    return MonitoringSpec(_figure(params["within_days"], "within_days"), kind)


def _latest_result(s: Subject, kind: str, within_days: Figure | None) -> Outcome | tuple[Any, dt.datetime]:
    """The latest monitoring record of *kind* and its time, or why there is none fresh enough."""
    days = figure_for(within_days, s.tier)
    records = [(t, m) for m in s.version.monitoring
               if m.kind == kind and (t := clock.parse_timestamp(m.at)) is not None]
    if not records:
        return _failed(f"no {kind} result recorded for this version (record one with "
                       f"`mops drift {s.version.ref} --current LOG --record`)", s.version_path)
    at, latest = max(records, key=lambda r: (r[0], r[1].id))
    age = s.age_days(at)
    if days is not None and age > days:
        return _failed(f"the latest {kind} result ({latest.id}, {at.date().isoformat()}) is "
                       f"{age} days old; one is needed every {plural(days, 'day')}", latest.path)
    return latest, at


def check_monitoring(s: Subject, spec: MonitoringSpec) -> Outcome:
    found = _latest_result(s, spec.kind, spec.within_days)
    if isinstance(found, Outcome):
        return found
    latest, at = found
    if latest.breach:
        verdict = latest.data.get("verdict") or {}
        breaches = verdict.get("breaches") or []
        what = ", ".join(str(b.get("column", b) if isinstance(b, Mapping) else b)
                         for b in breaches[:5]) if isinstance(breaches, list) else ""
        return _failed(f"the latest {spec.kind} result ({latest.id}, {at.date().isoformat()}) "
                       f"shows a breach" + (f": {what}" if what else " (dataset drift)"),
                       latest.path)
    return _passed(f"{spec.kind} checked on {at.date().isoformat()} ({latest.id}), no breach",
                   latest.path)


# ----------------------------------------------------------------------------- calibration, auc_change, fairness
#
# Read the latest drift record's result (``mops drift --record``): its ``calibration``,
# ``discrimination`` and ``fairness`` parts, on the current window.


@dataclass(frozen=True)
class ResultSpec:
    """Limits on a part of the latest drift result; ``within_days`` as for ``monitoring``."""

    requirement: str
    limits: Mapping[str, float]
    within_days: Figure | None = None


#: Each requirement's limits: (what it says, the result's figure it bounds) - see the checkers.
RESULT_LIMITS: dict[str, tuple[str, ...]] = {
    "calibration": ("min_pvalue", "min_grade_pvalue"),
    "auc_change": ("alpha", "max_drop"),
    "fairness": ("min_ratio", "max_difference", "max_equalized_odds"),
}


def _result_parser(name: str) -> Callable[[Any], ResultSpec]:
    def parse(params: Any) -> ResultSpec:
        keys = RESULT_LIMITS[name]
        if not isinstance(params, Mapping):
            raise SpecError(f"{name}: expected a mapping with {', '.join(keys)}")
        _only_keys(params, ("within_days", *keys), name)
        limits = {}
        for key in keys:
            if key in params:
                value = params[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise SpecError(f"{name}: '{key}' must be a number from 0 to 1, not {value!r}")
                limits[key] = float(value)
        if not limits:
            raise SpecError(f"{name}: give at least one of {', '.join(keys)}")
        days = _figure(params["within_days"], "within_days") if "within_days" in params else None
        return ResultSpec(name, limits, days)
    return parse


def _result_part(s: Subject, spec: ResultSpec, key: str, what: str) -> Outcome | tuple[Any, Any, str]:
    found = _latest_result(s, "drift", spec.within_days)
    if isinstance(found, Outcome):
        return found
    latest, at = found
    result = latest.data.get("result") if isinstance(latest.data, Mapping) else None
    part = result.get(key) if isinstance(result, Mapping) else None
    label = f"the latest drift result ({latest.id}, {at.date().isoformat()})"
    if not part:
        return _failed(f"{label} has no {what}: the card's monitoring plan needs {_NEEDS[key]}", latest.path)
    return latest, part, label


_NEEDS = {"calibration": "a label (task binary)", "discrimination": "a label (task binary)",
          "fairness": "a label and protected columns (task binary)"}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def check_calibration(s: Subject, spec: ResultSpec) -> Outcome:
    found = _result_part(s, spec, "calibration", "calibration")
    if isinstance(found, Outcome):
        return found
    latest, part, label = found
    current = part.get("current") or {}
    problems = []
    pvalue = _number(current.get("hosmer_lemeshow_pvalue"))
    limit = spec.limits.get("min_pvalue")
    if limit is not None and (pvalue is None or pvalue < limit):
        problems.append(f"Hosmer-Lemeshow p {'is not computable' if pvalue is None else f'= {pvalue:.4g}'} "
                        f"(at least {limit:g} required)")
    limit = spec.limits.get("min_grade_pvalue")
    if limit is not None:
        for g in current.get("grades") or []:
            jeffreys = _number(g.get("jeffreys_pvalue"))
            if jeffreys is not None and jeffreys < limit:
                problems.append(f"grade {g.get('grade')}: Jeffreys p = {jeffreys:.4g} (the predicted rate "
                                f"underestimates the observed one; at least {limit:g} required)")
    if problems:
        return _failed(f"{label}: calibration fails: {'; '.join(problems[:5])}", latest.path)
    return _passed(f"{label}: calibration within the limits (Hosmer-Lemeshow p = "
                   f"{'-' if pvalue is None else f'{pvalue:.4g}'})", latest.path)


def check_auc_change(s: Subject, spec: ResultSpec) -> Outcome:
    found = _result_part(s, spec, "discrimination", "AUC with its DeLong test")
    if isinstance(found, Outcome):
        return found
    latest, part, label = found
    change, pvalue = _number(part.get("change")), _number(part.get("pvalue"))
    if change is None:
        return _failed(f"{label}: the AUC change is not computable (a window without both classes)", latest.path)
    problems = []
    alpha = spec.limits.get("alpha")
    if alpha is not None and pvalue is None:
        problems.append("DeLong's test is not computable (a class with fewer than two rows)")
    elif alpha is not None and change < 0 and pvalue is not None and pvalue < alpha:
        problems.append(f"the AUC fell by {-change:.4g}, significant by DeLong's test (p = {pvalue:.4g} < {alpha:g})")
    most = spec.limits.get("max_drop")
    if most is not None and -change >= most:
        problems.append(f"the AUC fell by {-change:.4g} (at most {most:g} allowed)")
    if problems:
        return _failed(f"{label}: {'; '.join(problems)}", latest.path)
    return _passed(f"{label}: AUC change {change:+.4g}" + (f", DeLong p = {pvalue:.4g}" if pvalue is not None else ""),
                   latest.path)


def check_fairness(s: Subject, spec: ResultSpec) -> Outcome:
    found = _result_part(s, spec, "fairness", "fairness figures")
    if isinstance(found, Outcome):
        return found
    latest, part, label = found
    problems = []
    for entry in part:
        current = entry.get("current") or {}
        column = entry.get("column")
        listed = current.get("groups")
        groups: list[Any] = listed if isinstance(listed, list) else []
        if len(groups) < 2:
            problems.append(f"{column}: {len(groups)} group{'' if len(groups) == 1 else 's'} with labelled rows "
                            f"in the current window, so parity cannot be judged")
            continue
        for key, figure, lower in (("min_ratio", "demographic_parity_ratio", True),
                                   ("max_difference", "demographic_parity_difference", False),
                                   ("max_equalized_odds", "equalized_odds_difference", False)):
            limit = spec.limits.get(key)
            value = _number(current.get(figure))
            if limit is None:
                continue
            if value is None or (value < limit if lower else value > limit):
                shown = "not computable" if value is None else f"{value:.4g}"
                problems.append(f"{column}: {figure} {shown} ({'at least' if lower else 'at most'} {limit:g})")
    if problems:
        return _failed(f"{label}: fairness outside the limits: {'; '.join(problems[:5])}", latest.path)
    return _passed(f"{label}: fairness within the limits for {join_words([str(e.get('column')) for e in part])}",
                   latest.path)


def _describe_result(spec: ResultSpec) -> str:
    limits = ", ".join(f"{k} {v:g}" for k, v in spec.limits.items())
    age = f", recorded within {_figure_text(spec.within_days, 'days')}" if spec.within_days is not None else ""
    return f"the latest drift result's {spec.requirement.replace('_', ' ')}: {limits}{age}"


# ----------------------------------------------------------------------------- no_open_findings


@dataclass(frozen=True)
class FindingsSpec:
    severities: tuple[str, ...]


def parse_findings(params: Any) -> FindingsSpec:
    if params is None or params == {}:
        return FindingsSpec(SEVERITIES)
    if isinstance(params, str):
        params = {"severity": params}
    if not isinstance(params, Mapping):
        raise SpecError("no_open_findings: expected {severity: high|medium|low}")
    _only_keys(params, ("severity",), "no_open_findings")
    sev = params.get("severity")
    if isinstance(sev, str):
        if sev not in SEVERITIES:
            raise SpecError(f"no_open_findings: 'severity' must be high, medium or low, not {sev!r}")
        # A threshold: 'medium' means medium or higher.
        return FindingsSpec(SEVERITIES[: SEVERITIES.index(sev) + 1])
    if isinstance(sev, list) and sev and all(x in SEVERITIES for x in sev):
        return FindingsSpec(tuple(sev))
    raise SpecError(f"no_open_findings: 'severity' must be high, medium or low (or a list), "
                    f"not {sev!r}")


def _closure_problem(s: Subject, f: Finding) -> str | None:
    """Why a closed finding still counts as open: closed by someone who may not close it
    (a record edited by hand; see :mod:`mops.inventory.authority`)."""
    if f.is_open:
        return None
    if not f.closed_by:
        return "closed without saying by whom"
    return authority.close_problem(s.inv.settings, s.model, f, f.closed_by)


def check_findings(s: Subject, spec: FindingsSpec) -> Outcome:
    open_: list[tuple[Finding, str | None]] = []
    for f in s.model.findings:
        if f.kind != "finding" or f.severity not in spec.severities \
                or f.version not in (None, s.version.version):
            continue
        problem = _closure_problem(s, f)
        if f.is_open or problem is not None:
            open_.append((f, problem))
    levels = join_words(list(spec.severities))
    if open_:
        shown = "; ".join(f"{f.id} ({f.severity}): {f.title}"
                          + (f" (its closure does not count: {why})" if why else "")
                          for f, why in open_[:5])
        more = f" and {len(open_) - 5} more" if len(open_) > 5 else ""
        return _failed(f"{plural(len(open_), 'open finding')} ({levels}): {shown}{more}",
                       open_[0][0].path)
    return _passed(f"no open {levels} findings", s.card_path)


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Names:
    """The card fields and evidence kinds a requirement reads (checked against the vocabulary)."""

    card_fields: tuple[str, ...] = ()
    evidence_kinds: tuple[str, ...] = ()


def _figure_text(value: Figure | None, unit: str) -> str:
    if value is None:
        return ""
    if isinstance(value, ByTier):
        return f"{unit} by tier ({value.describe()})"
    return plural(value, unit.rstrip("s"))


def _describe_fields(what: str, fields: tuple[FieldSpec, ...]) -> str:
    shown = [f.path + (" (may be empty)" if f.allow_empty else "") for f in fields]
    return f"{what}: {', '.join(shown)}"


def _describe_evidence(spec: EvidenceSpec) -> str:
    age = f", at most {_figure_text(spec.max_age_days, 'days')} old" if spec.max_age_days is not None else ""
    return f"evidence of kind {join_words(list(spec.kinds))}{age}"


def _describe_approval(spec: ApprovalSpec) -> str:
    age = f", at most {_figure_text(spec.max_age_days, 'days')} old" if spec.max_age_days is not None else ""
    return f"{spec.describe()}{age}, bound to the current content"


def _describe_review(spec: ReviewSpec) -> str:
    period = _figure_text(spec.months, "months") if spec.months is not None \
        else _figure_text(spec.days, "days")
    return f"last review ({spec.field}) within {period}"


def _describe_monitoring(spec: MonitoringSpec) -> str:
    return f"a {spec.kind} result recorded within {_figure_text(spec.within_days, 'days')}, without breach"


@dataclass(frozen=True)
class Requirement:
    name: str
    parse: Callable[[Any], Any]
    check: Callable[[Subject, Any], Outcome]
    #: What the parsed parameters demand, in words (``mops packs show``).
    describe: Callable[[Any], str] = field(default=lambda params: "")
    #: The card fields and evidence kinds the parsed parameters name.
    names: Callable[[Any], Names] = field(default=lambda params: Names())


def _fields(name: str) -> Callable[[Any], Any]:
    return lambda params: _parse_fields(params, name)


REQUIREMENTS: dict[str, Requirement] = {r.name: r for r in (
    Requirement("card_fields", _fields("card_fields"), check_card_fields,
                lambda p: _describe_fields("card fields", p),
                lambda p: Names(card_fields=tuple(f.path for f in p))),
    Requirement("version_fields", _fields("version_fields"), check_version_fields,
                lambda p: _describe_fields("version record fields", p)),
    Requirement("evidence", parse_evidence, check_evidence, _describe_evidence,
                lambda p: Names(evidence_kinds=p.kinds)),
    Requirement("approval", parse_approval, check_approval, _describe_approval),
    Requirement("review_within", parse_review, check_review, _describe_review,
                lambda p: Names(card_fields=(p.field,))),
    Requirement("next_review", parse_next_review, check_next_review,
                lambda p: f"the next review date ({p.field}) is recorded and has not passed",
                lambda p: Names(card_fields=(p.field,))),
    Requirement("monitoring", parse_monitoring, check_monitoring, _describe_monitoring),
    Requirement("calibration", _result_parser("calibration"), check_calibration, _describe_result),
    Requirement("auc_change", _result_parser("auc_change"), check_auc_change, _describe_result),
    Requirement("fairness", _result_parser("fairness"), check_fairness, _describe_result),
    Requirement("no_open_findings", parse_findings, check_findings,
                lambda p: f"no open {join_words(list(p.severities))} findings (an exception "
                          f"waives it)"),
)}
