"""Evaluation: an inventory snapshot and a clock in, one ``Result`` per rule and version out.

Pure: evaluation writes nothing (the caller's digest cache is filled, and saved by
the caller: :mod:`mops.api`).

Which rules apply to a version (issue 3, item 8): a rule with a ``stage``
selector applies in those stages only; a rule without one applies in every stage
but ``retired`` (a retired version is held only to rules that name that stage).
``check`` evaluates each version against its current stage; ``promote``
evaluates it against the target stage. A rule whose card selectors do not match,
or whose stage is not the one evaluated, reports ``n/a``.

A failing rule with a valid exception (an open ``kind: exception`` finding for
the rule, unexpired, granted by someone who may for no longer than allowed: see
:mod:`mops.inventory.authority`) reports ``waived``: never ``pass``, and not a
failure. Expired exceptions, and those granted by someone who may not, count for
nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mops.inventory import authority
from mops.inventory.changes import DeletedModel
from mops.inventory.digest import DigestCache
from mops.inventory.layout import SETTINGS_FILE
from mops.inventory.memo import MISSING, Memo, plain
from mops.inventory.names import ModelRef
from mops.inventory.records import RETIRED, Approval, Finding, Settings
from mops.inventory.store import Inventory, Model, Version
from mops.inventory.yamlio import blob_id
from mops.policy.packs import Pack, Rule, all_rules, load_packs
from mops.policy.requirements import REQUIREMENTS, Subject, conflicts, join_words
from mops.policy.results import Basis, Result, Status

PRODUCTION = "production"

SignatureCheck = Callable[[Version, Approval], bool]

__all__ = ["Kept", "Pack", "Result", "compliance", "evaluate", "evaluate_kept", "evaluate_version",
           "independence_conflicts", "load_packs", "promotion_gate", "rule_ids"]


def evaluate(inv: Inventory, *, now: dt.datetime, refs: Sequence[ModelRef] | None = None,
             is_signed: SignatureCheck | None = None,
             digests: DigestCache | None = None, memo: Memo | None = None) -> list[Result]:
    """Every rule in force for every version in scope (all versions when ``refs`` is None).

    A ``ModelRef`` without a version stands for all of that model's versions.
    ``is_signed`` says whether a sign-off carries a verified signature (for rules
    with ``signed: true``); without it, no sign-off counts as signed. ``digests`` is
    the caller's file-digest cache (it fills it; the caller saves it); without one, an
    in-memory cache is used. ``memo`` keeps each model's results by content (it needs a
    ``results`` kind made by :func:`encode_results`; the caller saves it): with one, the
    results are :func:`evaluate_kept`'s, decoded. Evaluation writes nothing.
    """
    if memo is not None:
        return evaluate_kept(inv, now=now, refs=refs, is_signed=is_signed, digests=digests,
                             memo=memo).decoded()
    rules = all_rules(load_packs(inv))
    cache = digests if digests is not None else DigestCache.in_memory(inv)
    results: list[Result] = []
    for model, version in versions_in_scope(inv, refs):
        results.extend(_evaluate(inv, model, version, rules, now=now, target=None,
                                 cache=cache, is_signed=is_signed))
    return results


def evaluate_kept(inv: Inventory, *, now: dt.datetime, memo: Memo,
                  refs: Sequence[ModelRef] | None = None,
                  is_signed: SignatureCheck | None = None,
                  digests: DigestCache | None = None,
                  lines: LineWriter | None = None) -> Kept:
    """:func:`evaluate`'s results with ``memo``, as the memo keeps them (not yet decoded:
    an output that only writes their fields needs no :class:`Result`).

    ``lines``: for a run over every model, what writes each model's results as the one
    output wants them (given the rules, it gives a function of the model and its items):
    the results are then :attr:`Kept.chunks`, each model's written text, kept with the
    last whole run's answers (:mod:`mops.inventory.lastrun`) so that a warm run writes
    none again."""
    packs = load_packs(inv)
    cache = digests if digests is not None else DigestCache.in_memory(inv)
    scope: list[tuple[str, str | None]] = [(r.model, r.version) for r in refs] \
        if refs is not None else [(m, None) for m in inv.model_ids()]
    memo.whole = refs is None
    ids = list(dict.fromkeys(m for m, _ in scope))
    rules = {rule.id: rule for rule in all_rules(packs)}
    if lines is not None and refs is None:
        write = lines(rules)

        def chunk(model_id: str, value: Any) -> list[Any]:
            """[the count of each status, in Status's order; the model's text]."""
            items = [item for v in dict.fromkeys(value["versions"]) for item in value["results"]
                     if item[0] == v]
            return [list(_counts([items]).values()), write(model_id, items).encode()]

        chunks = model_values(inv, ids, "results", now=now, is_signed=is_signed, digests=cache,
                              memo=memo, packs=packs, then=("text", chunk))
        return Kept(rules, [], chunks)
    kept = dict(zip(ids, model_values(inv, ids, "results", now=now, is_signed=is_signed,
                                      digests=cache, memo=memo, packs=packs), strict=True))
    out: list[tuple[str, list[list[Any]]]] = []
    seen: set[tuple[str, str]] = set()
    for model_id, name in scope:
        value = kept[model_id]
        names = value["versions"] if name is None else [name]
        if name is not None and name not in value["versions"]:
            inv.model(model_id).version(name)  # raises: no such version
        for v in names:
            if (model_id, v) not in seen:
                seen.add((model_id, v))
                out.append((model_id, [item for item in value["results"] if item[0] == v]))
    return Kept(rules, out)


def model_values(inv: Inventory, model_ids: Sequence[str], kind: str, *, now: dt.datetime,
                 is_signed: SignatureCheck | None, digests: DigestCache, memo: Memo,
                 packs: Sequence[Pack] | None = None,
                 then: tuple[str, Callable[[str, Any], Any]] | None = None) -> list[Any]:
    """``memo.derive[kind](model, results)`` for each model: every version against its own
    stage. Kept in ``memo`` by content, and taken from it when the content, the settings,
    the packs, the files read and the clock's answers are the same (see
    :mod:`mops.inventory.memo`); never when a rule needs signed sign-offs (checked against
    git history, which the key does not cover).

    ``then``: (a name, ``f``): ``f(model, value)`` of each value instead (of the value as
    the memo gives it back; what marshal keeps); kept only with the last whole run's
    answers, under ``kind`` and the name."""
    if not model_ids:
        return []
    if packs is None:
        packs = load_packs(inv)
    rules = all_rules(packs)
    memo.use(None if any(_reads_history(rule) for rule in rules) else _context(inv, packs))
    # A run over every model: each is first looked for in what the last such run gave,
    # believed while every path it was derived from keeps its stamp.
    last = memo.last_run(kind if then is None else f"{kind}-{then[0]}")
    derive = then[1] if then is not None else None
    if last is not None:
        last.begin(list(model_ids))
    at = memo.micros(now)
    out = []
    for model_id in model_ids:
        if last is not None:
            value = last.get(model_id, at)
            if value is not MISSING:
                out.append(value)
                continue
        if not inv.has_model(model_id):
            raise inv.unknown_models([model_id])
        key = memo.model_key(model_id)
        if key is not None:
            value = memo.get(kind, key, now, digests)
            if value is not MISSING:
                if derive is not None:
                    value = derive(model_id, value)
                out.append(value)
                if last is not None:
                    last.note(model_id, key, memo.entry(value, None, None, digests))
                continue
        window: list[dt.datetime | None] = [None, None]
        reads: dict[str, str] = {}
        digests.reads = reads
        try:
            with inv.pinned(memo.files, memo.data) if key is not None and memo.files \
                    else contextlib.nullcontext(inv.model(model_id)) as model:
                results = [r for version in model.versions
                           for r in _evaluate(inv, model, version, rules, now=now, target=None,
                                              cache=digests, is_signed=is_signed, window=window)]
                values = {k: derive(model, results) for k, derive in memo.derive.items()}
        finally:
            digests.reads = None
        if key is not None:
            for k, value in values.items():
                memo.put(k, key, value, window, reads)
        value = values[kind]
        if derive is not None or last is not None:
            kept = plain(value)  # as it is kept, and as a warm run gives it back
            if derive is not None:
                value = kept = derive(model_id, kept)
            if last is not None:
                last.note(model_id, key, memo.entry(kept, window, reads, digests)
                          if key is not None else None)
        out.append(value)
    memo.done = True
    return out


def _reads_history(rule: Rule) -> bool:
    return rule.requirement == "approval" and bool(getattr(rule.params, "signed", False))


def _context(inv: Inventory, packs: Sequence[Pack]) -> bytes:
    """What every model's results depend on besides its own records: ``mops.yaml`` and the
    packs in force (the code is added by the memo)."""
    parts = [blob_id(inv.read(SETTINGS_FILE))]
    parts += [f"{p.path}\0{p.name}@{p.version}\0".encode() + p.blob for p in packs]
    return b"\0".join(parts)


def encode_results(model: Model, results: Sequence[Result]) -> dict[str, Any]:
    """A model's results as kept in the memo (a rule's own fields are taken from the rule)."""
    return {"versions": [v.version for v in model.versions],
            "results": [[r.version, r.rule, r.status.value, r.message, r.file, r.weight, r.waiver,
                         list(r.related)] for r in results]}


_STATUSES = {s.value: s for s in Status}


def decode_result(model: str, item: list[Any], rules: dict[str, Rule]) -> Result:
    version, rule_id, status, message, file, weight, waiver, related = item
    rule = rules[rule_id]
    return Result.decoded(model=model, version=version, rule=rule_id, title=rule.title,
                          status=_STATUSES[status], message=message, cite=rule.cite, file=file,
                          pack=rule.pack, weight=weight, waiver=waiver, related=tuple(related),
                          pack_version=rule.pack_version, basis=rule.basis)


@dataclass(frozen=True)
class Kept:
    """Results as the memo keeps them (:func:`encode_results`' items), not yet decoded:
    each model's in the order :func:`evaluate` returns them, and the rules they are of."""

    rules: dict[str, Rule]
    #: (model id, its results in scope), one entry per version in scope.
    models: list[tuple[str, list[list[Any]]]]
    #: Instead, for a run over every model asked to write them (:func:`evaluate_kept`'s
    #: ``lines``), each model's [count of each status in :class:`Status`'s order, text
    #: (UTF-8)].
    chunks: list[list[Any]] | None = None

    def __len__(self) -> int:
        if self.chunks is not None:
            return sum(sum(counts) for counts, _ in self.chunks)
        return sum(len(items) for _, items in self.models)

    def decoded(self) -> list[Result]:
        if self.chunks is not None:
            raise ValueError("these results were kept as written text only")
        return [decode_result(model, item, self.rules) for model, items in self.models
                for item in items]

    @functools.cached_property
    def counts(self) -> dict[str, int]:
        """How many results there are of each status (every status, worst first)."""
        if self.chunks is None:
            return _counts(items for _, items in self.models)
        counts = {s.value: 0 for s in Status}
        for seen, _ in self.chunks:
            for status, n in zip(counts, seen, strict=True):
                counts[status] += n
        return counts


def _counts(groups: Iterable[list[list[Any]]]) -> dict[str, int]:
    """How many kept results (items) of ``groups`` there are of each status (every status,
    in :class:`Status`'s order)."""
    counts = {s.value: 0 for s in Status}
    for items in groups:
        for item in items:
            counts[item[2]] += 1
    return counts


#: Given the rules, what writes a model's kept results (its id, its items) as one text.
LineWriter = Callable[[dict[str, Rule]], Callable[[str, list[list[Any]]], str]]


def evaluate_version(inv: Inventory, model: Model, version: Version, *, now: dt.datetime,
                     target: str | None = None, is_signed: SignatureCheck | None = None,
                     rules: Sequence[Rule] | None = None,
                     digests: DigestCache | None = None) -> list[Result]:
    """One version against its current stage, or against ``target`` (a promotion)."""
    if rules is None:
        rules = all_rules(load_packs(inv))
    cache = digests if digests is not None else DigestCache.in_memory(inv)
    return _evaluate(inv, model, version, rules, now=now, target=target, cache=cache,
                     is_signed=is_signed)


def compliance(inv: Inventory, *, now: dt.datetime, refs: Sequence[ModelRef] | None = None,
               is_signed: SignatureCheck | None = None,
               digests: DigestCache | None = None) -> dict[tuple[str, str], bool]:
    """(model, version) -> True when no rule fails for it (``list``'s COMPLIANT column)."""
    # Every version in scope is named, so a caller never has to guess a default.
    status = {(m.id, v.version): True for m, v in versions_in_scope(inv, refs)}
    for r in evaluate(inv, now=now, refs=refs, is_signed=is_signed, digests=digests):
        if r.status == "fail":
            status[(r.model, r.version)] = False
    return status


def versions_in_scope(inv: Inventory,
                      refs: Sequence[ModelRef] | None) -> list[tuple[Model, Version]]:
    if refs is None:
        return [(m, v) for m in inv.models() for v in m.versions]
    out: list[tuple[Model, Version]] = []
    seen: set[tuple[str, str]] = set()
    for ref in refs:
        model = inv.model(ref.model)
        versions = [model.version(ref.version)] if ref.version else model.versions
        for v in versions:
            if (model.id, v.version) not in seen:
                seen.add((model.id, v.version))
                out.append((model, v))
    return out


def _not_applicable(rule: Rule, model: Model, stage: str, target: bool) -> str | None:
    """Why ``rule`` does not apply (None when it does)."""
    being = f"the promotion is to {stage}" if target else f"this version is in {stage}"
    if rule.stages is None:
        if stage == RETIRED:
            return "retired versions are held only to rules for the retired stage"
    elif stage not in rule.stages:
        return f"applies in stage {' or '.join(rule.stages)}; {being}"
    if rule.off is not None:
        return rule.off
    miss = rule.selects_card(model.card.front)
    if miss is not None:
        return f"applies when {miss.describe()} (model card)"
    return None


def _weight(rule: Rule, model: Model, stage: str) -> int:
    weight = rule.weight
    if stage == PRODUCTION or (rule.stages and PRODUCTION in rule.stages):
        weight += 10
    tier = model.card.tier
    weight += max(0, 4 - tier) if tier is not None else 3
    return weight


def _waiver(settings: Settings, model: Model, version: Version, rule: Rule,
            today: dt.date) -> tuple[Finding | None, Finding | None, list[str]]:
    """The valid exception for ``rule`` (if any), else the last expired one, and why any
    other open exception does not count (granted by someone who may not, or for too long:
    :mod:`mops.inventory.authority`), for the message."""
    valid: tuple[dt.date, Finding] | None = None
    expired: tuple[dt.date, Finding] | None = None
    refused: list[str] = []
    for f in model.findings:
        if f.kind != "exception" or not f.is_open or f.rule != rule.id \
                or f.version not in (None, version.version) or f.expires is None:
            continue
        if f.expires >= today:
            problem = authority.exception_problem(settings, model, version, f, today)
            if problem is not None:
                refused.append(f"exception {f.id} does not count: {problem}")
            elif valid is None or f.expires > valid[0]:
                valid = (f.expires, f)
        elif expired is None or f.expires > expired[0]:
            expired = (f.expires, f)
    return (valid[1] if valid else None), (expired[1] if expired else None), refused


def _evaluate(inv: Inventory, model: Model, version: Version, rules: Sequence[Rule], *,
              now: dt.datetime, target: str | None, cache: DigestCache,
              is_signed: SignatureCheck | None,
              window: list[dt.datetime | None] | None = None) -> list[Result]:
    """The version's results; ``window`` is narrowed to the instants they hold for."""
    stage = target or version.stage
    subject = Subject(inv=inv, model=model, version=version, stage=stage, at=now, cache=cache)
    if window is not None:
        subject.window = window  # shared: each answer of the clock narrows the model's
    if is_signed is not None:
        subject.is_signed = is_signed
    out = []
    for rule in rules:
        result = functools.partial(Result, model=model.id, version=version.version, rule=rule.id,
                                   title=rule.title, cite=rule.cite, pack=rule.pack,
                                   weight=_weight(rule, model, stage),
                                   pack_version=rule.pack_version, basis=rule.basis)
        why = _not_applicable(rule, model, stage, target is not None)
        if why is not None:
            out.append(result(status=Status.NA, message=why, file=version.record.path))
            continue
        outcome = REQUIREMENTS[rule.requirement].check(subject, rule.params)
        status = Status(outcome.status)
        message, waiver = outcome.message, None
        if status == "fail":
            valid, expired, refused = _waiver(inv.settings, model, version, rule, subject.today)
            if valid is not None:
                status, waiver = Status.WAIVED, valid.id
                reason = valid.reason or valid.title
                message = (f"waived by exception {valid.id} until {valid.expires} ({reason}); "
                           f"unmet: {message}")
            elif expired is not None:
                message += f" (exception {expired.id} expired on {expired.expires})"
            if valid is None and refused:
                message += f" ({'; '.join(refused)})"
        out.append(result(status=status, message=message, file=outcome.file, waiver=waiver,
                          related=outcome.related))
    return out


# ----------------------------------------------------------------------------- hooks for actions


def promotion_gate(now: dt.datetime, is_signed: SignatureCheck | None = None,
                   digests: DigestCache | None = None
                   ) -> Callable[[Inventory, Model, Version, str], tuple[list[str], list[str]]]:
    """For ``promote``: (unmet rules as 'ID: message [cite]', waived rule ids) for a target."""

    def gate(inv: Inventory, model: Model, version: Version, target: str) -> tuple[list[str], list[str]]:
        results = evaluate_version(inv, model, version, now=now, target=target, is_signed=is_signed,
                                   digests=digests)
        unmet = [f"{r.rule}: {r.message} [{r.cite}]" for r in results if r.status == "fail"]
        waived = [r.rule for r in results if r.status == "waived"]
        return unmet, waived

    return gate


def independence_conflicts(inv: Inventory, model: Model, version: Version, role: str,
                           person: str) -> list[str]:
    """For ``approve``: each rule in force that needs ``role`` independent of ``person``.

    Stage selectors are ignored (a sign-off given in validation is what counts in
    production); card selectors are not (a tier-1-only rule binds tier-1 models).
    """
    out = []
    for rule in all_rules(load_packs(inv)):
        if rule.requirement != "approval" or rule.params.role != role or rule.off is not None \
                or not rule.params.independent_of or rule.selects_card(model.card.front):
            continue
        found = conflicts(model, version, person, rule.params.independent_of)
        if found:
            out.append(f"rule {rule.id} needs {role} sign-offs independent of the "
                       f"{join_words(list(rule.params.independent_of))}, and {person} is "
                       f"{join_words(found)} [{rule.cite}]")
    return out


def rule_ids(inv: Inventory) -> list[str]:
    """The ids of every rule in force (for ``waive --rule``)."""
    return [rule.id for rule in all_rules(load_packs(inv))]


# ----------------------------------------------------------------------------- deleted models

#: The check a deleted model fails: it is mops's own, not a pack's.
DELETED_RULE = "MOPS-NO-DELETION"


def deletion_results(deleted: Sequence[DeletedModel], since: str) -> list[Result]:
    """A failure for each version of each model deleted or renamed since ``since``.

    ``check --changed-since REF`` would otherwise find no model to check, and pass.
    """
    out = []
    for gone in deleted:
        message = (f"{gone.model} was deleted or renamed since {since}: {gone.card} and its "
                   f"records are gone from the inventory. A model leaves the inventory with "
                   f"`mops retire`, which keeps every record; restore models/{gone.model}/")
        for version in gone.versions or ("",):
            out.append(Result(model=gone.model, version=version, rule=DELETED_RULE,
                              title="A model is retired, never deleted", status=Status.FAIL,
                              message=message, cite=_DELETED_CITE, file=gone.card, pack="mops",
                              weight=100, basis=_DELETED_BASIS))
    return out


_DELETED_CITE = ("NIST AI RMF 1.0 GOVERN 1.7 (safe decommissioning); OSFI E-23 Principle 3.6 "
                 "(retain the retired model and its documentation)")
_DELETED_BASIS = (Basis("a model and its records stay in the inventory", "text",
                        "NIST AI RMF 1.0 GOVERN 1.7; OSFI E-23 Principle 3.6"),
                  Basis("a pull request may not delete a model's folder or card", "practice",
                        "mops: git is the audit trail, and `mops retire` keeps every record"))
