"""Everything a report shows, read from one commit of the inventory (the IO half).

:func:`gather` resolves ``--as-of`` to a commit, reads that commit's inventory
from git objects (never a checkout: the working tree is not touched), computes
sign-off and evidence digests, evaluates the policy packs with the clock set to
the end of the day asked for (or the commit's time), and reads the audit trail. The result, a
:class:`ReportInput`, is plain data: :func:`mops.report.context.build_context`
turns it into the template context without any IO.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from mops import __version__, clock
from mops.errors import UsageError
from mops.inventory.layout import MODELS_DIR, model_dir
from mops.inventory.records import Approval, Settings
from mops.inventory.store import Inventory, Model, Version
from mops.policy.results import Result

if TYPE_CHECKING:
    from mops.inventory.digest import DigestCache
    from mops.trust.history import History

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: ``evaluate(snapshot, now, models, is_signed) -> (packs, results)``; packs are
#: ``{"name", "title", "rules"}`` and may list ``review_rules``: ids of rules whose
#: messages say when a review is due. ``models`` is None for all.
IsSigned = Callable[[Version, Approval], bool]
Evaluator = Callable[[Inventory, dt.datetime, Sequence[str] | None, IsSigned],
                     tuple[list[dict[str, Any]], list[Result]]]
#: ``verify(snapshot)``: ``mops verify`` at the snapshot's commit, as its ``to_json()``.
Verifier = Callable[[Inventory], dict[str, Any]]


@dataclass(frozen=True)
class AsOf:
    """What the reader asked for, and how it was resolved."""

    kind: str  # "head" | "date" | "rev"
    requested: str | None = None


@dataclass
class ReportInput:
    """The facts of one report, all from one commit; no IO is needed to lay them out."""

    settings: Settings
    commit: str
    committed_at: str  # the commit's own time, UTC ("YYYY-MM-DDTHH:MM:SSZ")
    as_of: AsOf
    models: list[Model]
    #: The model ids asked for, or None for the whole inventory.
    scope: list[str] | None = None
    mops_version: str = __version__
    packs: list[dict[str, Any]] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    #: Ids of ``review_within`` rules (their results say when the next review is due).
    review_rules: set[str] = field(default_factory=set)
    #: Why there are no policy results, when there are none to show.
    policy_note: str | None = None
    #: "model@version" -> (current subject digest, approval_view rows).
    approvals: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    #: inventory-relative evidence file path -> its sha256 in this commit (or "missing").
    file_digests: dict[str, str] = field(default_factory=dict)
    #: sign-off path -> None when its commit carries a signature git verifies for the
    #: person it names (against the allowed signers of the commit's parent), else why not.
    signoffs: dict[str, str | None] = field(default_factory=dict)
    #: commit -> ("verified", signer) | ("unsigned", "") | ("problem", why), trail commits.
    commit_signatures: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: model id -> audit-trail entries (newest first), each with ``paths``.
    trail: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: commits that touched the inventory but no model (settings, packs, templates).
    inventory_trail: list[dict[str, Any]] = field(default_factory=list)
    #: "model@version" -> (the next stage, every rule's result were it promoted there),
    #: for each version with a next live stage.
    readiness: dict[str, tuple[str, list[Result]]] = field(default_factory=dict)
    #: ``mops verify`` at this commit (its ``to_json()``), or None when it was not run.
    verification: dict[str, Any] | None = None

    @property
    def evaluated_at(self) -> dt.datetime:
        """The clock of policy evaluation, expiry and overdue: the end of the day asked for
        (``--as-of DATE``: an approval that expired after the last commit but by that day
        is shown expired), else the commit's own time. Never the wall clock, so the same
        input always renders the same bytes."""
        day = clock.parse_day(self.as_of.requested) \
            if self.as_of.kind == "date" and self.as_of.requested else None
        if day is not None:
            return clock.end_of_day(day)
        return clock.parse_recorded(self.committed_at)


def open_snapshot(inv: Inventory, as_of: str | None) -> tuple[Inventory, AsOf]:
    """The inventory at the commit ``--as-of`` names (HEAD when None), read from git objects.

    ``YYYY-MM-DD`` is a date (the last commit at or before the end of that day, UTC);
    anything else is a revision (commit, tag, branch, ``HEAD~3``).
    """
    if as_of is None:
        if inv.head is None:
            raise UsageError("the inventory has no commits yet: there is nothing to report")
        return inv.at(inv.head), AsOf("head")
    as_of = as_of.strip()
    if DATE_RE.fullmatch(as_of):
        day = clock.parse_day(as_of)
        if day is None:
            raise UsageError(f"--as-of {as_of!r}: not a valid date (YYYY-MM-DD)")
        return inv.at_date(day), AsOf("date", as_of)
    try:
        return inv.at(as_of), AsOf("rev", as_of)
    except UsageError:
        raise UsageError(f"--as-of {as_of!r}: neither a date nor a revision of this repository; "
                         f"give a date as YYYY-MM-DD (e.g. 2026-11-29: the last commit at or before "
                         f"the end of that day, UTC) or a revision (a commit, tag or branch, e.g. "
                         f"HEAD~3)") from None


def select_models(snapshot: Inventory, wanted: Sequence[str], label: str) -> list[Model]:
    """The models asked for (all when none), sorted by id; unknown ones are an error."""
    if not wanted:
        return snapshot.models()
    ids = sorted(set(wanted))
    unknown = [m for m in ids if not snapshot.has_model(m)]
    if unknown:
        raise snapshot.unknown_models(unknown, label)
    return [snapshot.model(m) for m in ids]


def policy_engine(snapshot: Inventory, now: dt.datetime, models: Sequence[str] | None,
                  is_signed: IsSigned, digests: DigestCache | None = None,
                  ) -> tuple[list[dict[str, Any]], list[Result]]:
    """The packs in force and every rule's result, from the policy engine (``digests``:
    the report's cache of file digests, saved by the caller)."""
    from mops.inventory.digest import DigestCache
    from mops.inventory.names import ModelRef
    from mops.policy import engine

    packs = [{"name": p.name, "title": p.title, "rules": len(p.rules), "version": p.version,
              "note": pack_note(p),
              "review_rules": [r.id for r in p.rules if r.requirement == "review_within"]}
             for p in engine.load_packs(snapshot)]
    refs = None if models is None else [ModelRef(m) for m in models]
    cache = digests or DigestCache(snapshot)  # evaluation fills it; the report saves it
    results = list(engine.evaluate(snapshot, now=now, refs=refs, is_signed=is_signed,
                                   digests=cache))
    if digests is None:
        cache.save()
    return packs, results


def pack_note(pack: Any) -> str:
    """Where a pack's rules come from, in words: which version, and what is newer."""
    from mops.policy.packs import latest_version

    if not pack.builtin:
        return f"the inventory's own pack {pack.path}, as committed"
    how = "as mops.yaml names it at this commit" if pack.pinned else \
        "mops.yaml names it without a version, which means version 1"
    note = f"built-in version {pack.version}, {how}"
    latest = latest_version(pack)
    if latest is not None and latest > pack.version:
        note += f"; version {latest} is available (`mops packs upgrade {pack.name}`)"
    return note


class Signatures:
    """Sign-off and commit signatures of a snapshot, as ``mops verify`` and ``check`` see
    them (mops.trust): history is read once, on first use."""

    def __init__(self, snapshot: Inventory, models: Sequence[str] | None = None) -> None:
        self.snapshot = snapshot
        #: The folders whose history is read: the models asked for (None: all of them).
        self.paths = [MODELS_DIR] if models is None else [model_dir(m) for m in models]
        self._hist: History | None = None
        self.verdicts: dict[str, str | None] = {}

    def history(self) -> History:
        from mops.trust.history import History

        if self._hist is None:
            self._hist = History.scan(self.snapshot, self.paths, keep=self.paths != [MODELS_DIR])
        return self._hist

    def prime(self, approvals: Sequence[Approval]) -> None:
        """Check the signatures of the commits that added ``approvals`` in one batch
        (instead of a git process or two per sign-off)."""
        if not approvals:
            return
        hist = self.history()
        firsts = [evs[0].commit for a in approvals
                  if (evs := hist.events.get(self.snapshot.git_path(a.path)))]
        try:
            hist.signatures(firsts)
        except UsageError:
            pass  # verdict() reports it per sign-off

    def verdict(self, approval: Approval) -> str | None:
        from mops.trust.signing import signoff_verdict

        if approval.path not in self.verdicts:
            self.verdicts[approval.path] = signoff_verdict(self.history(), approval, {})
        return self.verdicts[approval.path]

    def __call__(self, version: Version, approval: Approval) -> bool:
        return self.verdict(approval) is None

    def commits(self, commits: Sequence[str]) -> dict[str, tuple[str, str]]:
        """commit -> ("verified", signer) | ("unsigned", "") | ("problem", what is wrong);
        {} when signatures cannot be checked here."""
        from mops.trust.signers import signature_problem

        if not commits:
            return {}
        try:
            sigs = self.history().signatures(commits)
        except UsageError:  # ssh-keygen missing: the trail falls back to git's own words
            return {}
        out = {}
        for c, sig in sigs.items():
            problem = signature_problem(sig, None)
            out[c] = (("verified", sig.signer) if problem is None else
                      ("unsigned", "") if not sig.signed else ("problem", problem))
        return out


def next_stage(stages: Sequence[str], stage: str) -> str | None:
    """The stage a version in ``stage`` would be promoted to next (None: none, or only
    retirement, which is not a promotion)."""
    from mops.inventory.records import RETIRED

    if stage not in stages:
        return None
    i = list(stages).index(stage)
    following = [s for s in stages[i + 1:] if s != RETIRED]
    return following[0] if following else None


def readiness(snapshot: Inventory, now: dt.datetime, models: Sequence[Model],
              is_signed: IsSigned, digests: DigestCache | None = None,
              ) -> dict[str, tuple[str, list[Result]]]:
    """For each version with a next live stage: the rules as ``promote --to`` that stage
    would evaluate them now (so "compliant in validation" never hides "not ready for
    production")."""
    from mops.inventory.digest import DigestCache
    from mops.policy import engine
    from mops.policy.packs import all_rules

    rules = all_rules(engine.load_packs(snapshot))
    if not rules:
        return {}
    cache = digests or DigestCache(snapshot)
    out: dict[str, tuple[str, list[Result]]] = {}
    for model in models:
        for version in model.versions:
            target = next_stage(snapshot.settings.stages, version.stage)
            if target is not None:
                out[version.ref] = (target, engine.evaluate_version(
                    snapshot, model, version, now=now, target=target, is_signed=is_signed,
                    rules=rules, digests=cache))
    if digests is None:
        cache.save()
    return out


def gather(inv: Inventory, models: Sequence[str] = (), *, as_of: str | None = None,
           evaluate: Evaluator | None = None, verify: Verifier | None = None) -> ReportInput:
    """Read everything the report shows from the commit ``as_of`` names (HEAD by default)."""
    snapshot, resolved = open_snapshot(inv, as_of)
    try:
        return read_snapshot(snapshot, resolved, models, evaluate=evaluate, verify=verify)
    finally:
        snapshot.close()


def read_snapshot(snapshot: Inventory, as_of: AsOf, models: Sequence[str] = (), *,
                  evaluate: Evaluator | None = None,
                  verify: Verifier | None = None) -> ReportInput:
    """:func:`gather` for an inventory already opened at a commit; ``verify`` runs
    ``mops verify`` at it (the api passes its own, which re-gates promotions)."""
    from mops.inventory.digest import DigestCache
    from mops.inventory.views import (
        approval_view,
        commit_info,
        index_history,
        prefetch_records,
        trail_by_model,
    )

    prefetch_records(snapshot, sorted(set(models)) or None)
    info = commit_info(snapshot)
    label = "in this inventory" if as_of.kind == "head" else f"at commit {info['commit'][:12]}"
    chosen = select_models(snapshot, models, label)
    data = ReportInput(settings=snapshot.settings, commit=info["commit"], committed_at=info["at"],
                       as_of=as_of, models=chosen, scope=sorted(set(models)) if models else None)
    cache = DigestCache(snapshot)
    for model in chosen:
        for version in model.versions:
            data.approvals[version.ref] = approval_view(snapshot, version, cache)
            for ev in version.evidence:
                for f in ev.files:
                    rel = f"{version.dir}/{f.path}"
                    data.file_digests[rel] = cache.file_sha256(rel)
    wanted = {m.id for m in chosen}
    scoped = sorted(wanted) if wanted and models else None
    if scoped is not None:
        index_history(snapshot)  # one model's history costs what that history costs
    signatures = Signatures(snapshot, scoped)
    signatures.prime([a for m in chosen for v in m.versions for a in v.approvals])
    for model in chosen:
        for version in model.versions:
            for a in version.approvals:
                data.signoffs[a.path] = signatures.verdict(a)
    packs, results = (evaluate or partial(policy_engine, digests=cache))(
        snapshot, data.evaluated_at, sorted(set(models)) or None, signatures)
    data.packs = sorted(packs, key=lambda p: str(p["name"]))
    data.review_rules = {r for p in packs for r in p.get("review_rules", ())}
    data.results = [r for r in results if r.model in wanted]
    if evaluate is None:
        data.readiness = readiness(snapshot, data.evaluated_at, chosen, signatures, cache)
    cache.save()
    if verify is not None:
        data.verification = verify(snapshot)
    if not data.packs and not data.results:
        data.policy_note = "No policy packs are in force in this inventory."
    by_model, other = trail_by_model(snapshot, scoped)
    data.trail = {m: by_model.get(m, []) for m in sorted(wanted)}
    data.inventory_trail = other
    shown = sorted({e["commit"] for entries in [*data.trail.values(), other] for e in entries})
    data.commit_signatures = signatures.commits(shown)
    return data
