"""One function per verb: what the commands, the demo and other tools call.

Like gto's ``api.py``, called by the commands, the demo (:mod:`mops.demo`, a client
of this layer like the commands) and anything else: each function takes plain values
(or an inventory opened with :func:`opened`), wires the hooks the core takes as callables once — the clock,
independence of sign-offs, the promotion gate, the rules in force, whether a
sign-off is signed and whether ``approve`` signs — runs the core function, saves
the caches it filled, and returns data. Nothing here prints or exits.

Mutating verbs take the folder to start from (they take the write lock and read the
inventory fresh under it), ``notify`` for progress (waiting for the lock), ``env``
for who acts (see ``Inventory.git_env``; None: git's own configuration) and ``now``
(None: :func:`mops.clock.now`). Reading verbs take an opened inventory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mops import clock
from mops.errors import UsageError
from mops.inventory.layout import SETTINGS_FILE
from mops.inventory.names import ModelRef
from mops.inventory.store import Inventory

if TYPE_CHECKING:  # pragma: no cover
    from mops.deployment import ArtifactVerdict, Attestation
    from mops.drift.run import DriftOutcome
    from mops.inventory.actions.governance import EvidenceAdded, FindingRecorded, Promoted, Retired, SignedOff
    from mops.inventory.actions.importing import Imported, ImportedVersion
    from mops.inventory.actions.register import Initialised, Registered, WorkflowAdded
    from mops.inventory.digest import DigestCache
    from mops.inventory.memo import Memo
    from mops.inventory.store import Model, Version
    from mops.policy.engine import Kept, LineWriter
    from mops.policy.packs import Rule
    from mops.policy.results import Result
    from mops.policy.upgrade import PackUpgrade, Upgraded
    from mops.report import Report
    from mops.trust.replay import Gate, SignatureCheck
    from mops.trust.verify import Verification

Notify = Callable[[str], None] | None
Env = Mapping[str, str] | None


@contextlib.contextmanager
def opened(start: Path) -> Iterator[Inventory]:
    """The inventory at or above ``start``; its caches are saved when the block ends."""
    inv = Inventory.open(start)
    try:
        yield inv
    finally:
        inv.close()


def _today(now: dt.datetime | None) -> dt.date:
    return (now or clock.now()).date()


@dataclass(frozen=True)
class Commit:
    """A commit a mutating verb made: its id and its subject (the first line of its message)."""

    sha: str
    subject: str

    @property
    def line(self) -> str:
        """``[1a2b3c4d5e6f] register: credit-pd@1.0.0``, as ``git commit`` reports one."""
        return f"[{self.sha[:12]}] {self.subject}"

    def to_json(self) -> dict[str, str]:
        return {"commit": self.sha, "subject": self.subject}


def commit_made(start: Path, sha: str) -> Commit:
    """The commit ``sha`` (made by a verb in the repository at ``start``), with its subject."""
    from mops import git

    return Commit(sha, git.commit_subject(start, sha))


# ----------------------------------------------------------------------------- init, register


@dataclass(frozen=True)
class InitOutcome:
    """What ``init`` did: the new inventory (None when only the workflow was added), and
    the GitHub workflow, in its own commit (``workflow``) or in the inventory's
    (``workflow_in_commit``, its path)."""

    inventory: Initialised | None = None
    workflow: WorkflowAdded | None = None
    workflow_in_commit: str | None = None


def init(path: Path, *, name: str | None = None, packs: Sequence[str] = (),
         github: bool = False, roles: Mapping[str, Sequence[str]] | None = None,
         notify: Notify = None, env: Env = None) -> InitOutcome:
    """Create an inventory in ``path`` (built-in packs recorded as ``NAME@VERSION``, ``roles``
    listed in mops.yaml), and with ``github`` its workflow; on an existing inventory,
    ``github`` adds the workflow."""
    from mops.inventory.actions import register as actions
    from mops.resources import workflow

    rel = workflow.GITHUB_WORKFLOW
    if github and (path / SETTINGS_FILE).is_file():
        if name is not None or packs or roles:
            raise UsageError(f"{path / SETTINGS_FILE} exists: --name, --pack and --role apply to "
                             f"a new inventory; with --github alone, mops adds {rel} to this one")
        return InitOutcome(workflow=actions.add_github_workflow(
            path, workflow.github_workflow, rel, notify, env=env))
    pinned = [_pinned(p) for p in packs or ["baseline"]]
    extra = actions.github_workflow_files(path, workflow.github_workflow, rel) if github else {}
    done = actions.init(path, name=name, packs=pinned, known_packs=pinned, extra_files=extra,
                        roles=roles, env=env)
    if github and not extra:  # the inventory is a folder of a larger repository
        return InitOutcome(done, actions.add_github_workflow(path, workflow.github_workflow, rel,
                                                             notify, env=env))
    return InitOutcome(done, workflow_in_commit=rel if github else None)


def _pinned(pack: str) -> str:
    """``NAME`` as ``NAME@LATEST`` (so mops.yaml records the version adopted); paths as given."""
    from mops.policy.packs import builtin_ref, is_pack_path

    if is_pack_path(pack):
        return pack
    try:
        return builtin_ref(pack, default_latest=True).text
    except ValueError as exc:
        raise UsageError(f"--pack {pack!r}: {exc}") from None


def register(start: Path, model: str, version: str, *, card: Path | None = None,
             artifact: str | None = None, sha256: str | None = None, owner: str | None = None,
             tier: int | None = None, message: str | None = None,
             metrics: Mapping[str, Any] | None = None, notify: Notify = None,
             env: Env = None) -> Registered:
    """Register ``model@version`` (creating or updating its card), in one commit."""
    from mops.inventory.actions.register import register as do_register

    return do_register(start, model, version, card=card, artifact=artifact, sha256=sha256,
                       owner=owner, tier=tier, message=message, metrics=metrics, notify=notify,
                       env=env)


@dataclass(frozen=True)
class MlflowImport:
    """What ``import mlflow`` read from MLflow (``item``) and registered (``done``)."""

    item: ImportedVersion
    done: Imported


def import_mlflow(start: Path, model_uri: str, *, tracking_uri: str | None = None,
                  model: str | None = None, version: str | None = None,
                  owner: str | None = None, tier: int | None = None, notify: Notify = None,
                  env: Env = None) -> MlflowImport:
    """Register the version at ``model_uri`` of the MLflow server ``tracking_uri`` (default:
    ``MLFLOW_TRACKING_URI``): its artifact's digest, metrics and evidence, in one commit."""
    from mops.integrations import mlflow
    from mops.inventory.actions.importing import import_version

    item = mlflow.fetch(start, model_uri, tracking=mlflow.tracking_uri(tracking_uri), model=model,
                        version=version, notify=notify)
    return MlflowImport(item, import_version(start, item, owner=owner, tier=tier, notify=notify,
                                             env=env))


# ----------------------------------------------------------------------------- governance


def add_evidence(start: Path, ref: ModelRef, files: Sequence[Path], *, kind: str,
                 title: str | None = None, metrics: Mapping[str, Any] | None = None,
                 notify: Notify = None, env: Env = None) -> EvidenceAdded:
    """Copy ``files`` into the version's evidence, each with its sha256, in one commit."""
    from mops.inventory.actions.governance import add_evidence as do_add

    return do_add(start, ref, files, kind=kind, title=title, metrics=metrics, notify=notify,
                  env=env)


def approve(start: Path, ref: ModelRef, *, role: str, reject: bool = False,
            comment: str | None = None, expires: dt.date | None = None,
            now: dt.datetime | None = None, notify: Notify = None, env: Env = None) -> SignedOff:
    """Sign off (or reject) a version in ``role``; the rules in force decide who may, and
    the inventory's ``signing`` setting whether the commit is signed."""
    from mops.inventory.actions.governance import approve as do_approve
    from mops.policy.engine import independence_conflicts
    from mops.trust.signing import should_sign

    return do_approve(start, ref, role=role, reject=reject, comment=comment, expires=expires,
                      today=_today(now), independence=independence_conflicts, sign=should_sign,
                      notify=notify, env=env)


def promote(start: Path, ref: ModelRef, *, to: str, now: dt.datetime | None = None,
            notify: Notify = None, env: Env = None) -> Promoted:
    """Move a version to stage ``to`` when every rule for that stage is met (signatures
    verified as ``check`` verifies them)."""
    from mops.inventory.actions.governance import promote as do_promote
    from mops.policy.engine import promotion_gate
    from mops.trust.signing import signature_check

    when = now or clock.now()

    def gate(inv: Inventory, model: Any, version: Any, target: str,
             digests: DigestCache) -> tuple[list[str], list[str]]:
        return promotion_gate(when, is_signed=signature_check(inv),
                              digests=digests)(inv, model, version, target)

    return do_promote(start, ref, to=to, gate=gate, notify=notify, env=env)


def retire(start: Path, ref: ModelRef, *, reason: str, notify: Notify = None,
           env: Env = None) -> Retired:
    """Mark a version, or every version of a model, retired; nothing is deleted."""
    from mops.inventory.actions.governance import retire as do_retire

    return do_retire(start, ref, reason=reason, notify=notify, env=env)


def add_finding(start: Path, ref: ModelRef, *, severity: str, title: str,
                due: dt.date | None = None, notify: Notify = None,
                env: Env = None) -> FindingRecorded:
    """Open a finding on a model or one of its versions."""
    from mops.inventory.actions.governance import add_finding as do_add

    return do_add(start, ref, severity=severity, title=title, due=due, notify=notify, env=env)


def close_finding(start: Path, model: str, finding_id: str, *, comment: str | None = None,
                  notify: Notify = None, env: Env = None) -> FindingRecorded:
    """Close a finding, or withdraw an exception; the record is kept."""
    from mops.inventory.actions.governance import close_finding as do_close

    return do_close(start, model, finding_id, comment=comment, notify=notify, env=env)


def waive(start: Path, ref: ModelRef, *, rule: str, expires: dt.date | None, reason: str,
          controls: str | None = None, now: dt.datetime | None = None, notify: Notify = None,
          env: Env = None) -> FindingRecorded:
    """Grant a time-limited exception to one rule in force."""
    from mops.inventory.actions.governance import waive as do_waive
    from mops.policy.engine import rule_ids

    return do_waive(start, ref, rule=rule, expires=expires, reason=reason, controls=controls,
                    today=_today(now), rule_ids=rule_ids, notify=notify, env=env)


def upgrade_packs(start: Path, name: str | None = None, *, dry_run: bool = False,
                  notify: Notify = None) -> tuple[list[PackUpgrade], Upgraded | None]:
    """Adopt the latest version of built-in packs in force, in one commit, when the actor
    may change the rules (``governance.changed_by``, as ``verify`` holds the commit to)."""
    from mops.policy.upgrade import upgrade
    from mops.trust.rules import governance_problem

    return upgrade(start, name, governance=governance_problem, dry_run=dry_run, notify=notify)


# ----------------------------------------------------------------------------- reading


def evaluate(inv: Inventory, refs: Sequence[ModelRef] | None = None, *,
             now: dt.datetime | None = None) -> list[Result]:
    """Every rule in force for every version in scope, sign-offs' signatures verified,
    file digests cached in the repository."""
    return evaluate_kept(inv, refs, now=now).decoded()


def evaluate_kept(inv: Inventory, refs: Sequence[ModelRef] | None = None, *,
                  now: dt.datetime | None = None, lines: LineWriter | None = None) -> Kept:
    """:func:`evaluate`'s results as kept by content, not yet decoded
    (:class:`mops.policy.engine.Kept`; with ``lines``, a whole run's are written by it)."""
    from mops.policy import engine
    from mops.trust.signing import signature_check

    with _caches(inv) as (digests, memo):
        return engine.evaluate_kept(inv, now=now or clock.now(), refs=refs,
                                    is_signed=signature_check(inv), digests=digests, memo=memo,
                                    lines=lines)


@contextlib.contextmanager
def _caches(inv: Inventory) -> Iterator[tuple[DigestCache, Memo]]:
    """The file-digest cache and the memo of an evaluation, saved when it ends."""
    from mops.inventory.digest import DigestCache

    digests = DigestCache(inv)
    memo = _memo(inv)
    try:
        yield digests, memo
    finally:
        digests.save(whole=memo.pruning)  # every model asked for: prune
        memo.save()


def _memo(inv: Inventory) -> Memo:
    """Each model's results and ``list`` rows kept by content (``.git/mops/``, sealed), so
    that ``list`` and ``check`` evaluate only the models that changed since the last run."""
    from mops.inventory.memo import Memo
    from mops.policy.engine import encode_results

    evaluated = bool(inv.settings.policies)

    def rows(model: Model, results: Sequence[Result]) -> list[tuple[str, str]]:
        """(stage, the row's JSON as an element of ``list --json``'s indented array)."""
        import json

        from mops.inventory.views import model_rows
        from mops.report.table import inventory_row  # only for a model evaluated: the
        # report package (Jinja, Markdown) stays out of a warm run

        out = []
        for r in model_rows(model):
            mine = [res for res in results if res.version == r["version"]]
            words = inventory_row(r["model"], r["version"], r["stage"], r["tier"], r["owner"],
                                  mine, evaluated=evaluated)
            r["compliant"] = words["failing_rules"] == []
            r.update((k, words[k]) for k in ("compliance", "failing_rules", "waived_rules"))
            text = json.dumps(r, indent=2, ensure_ascii=False, default=str)
            out.append((r["stage"], "  " + text.replace("\n", "\n  ")))
        return out

    return Memo(inv, {"results": encode_results, "rows": rows})


@dataclass(frozen=True)
class Checked:
    """What ``check`` found: :attr:`results`, made from ``deleted`` and ``kept``."""

    #: Every rule's result for every version in scope, as the memo keeps them.
    kept: Kept
    #: One sentence on what was checked, when ``--changed-since`` narrowed it.
    scope: str | None = None
    #: Why no rule was evaluated although something was in scope (else None).
    nothing_checked: str | None = None
    #: The failures of the models deleted or renamed since ``--changed-since``'s REF.
    deleted: list[Result] = field(default_factory=list)

    @functools.cached_property
    def results(self) -> list[Result]:
        """Every result: the deleted models' failures, then the kept results decoded."""
        return self.deleted + self.kept.decoded()

    @property
    def failed(self) -> bool:
        """Whether any rule fails (no kept result decoded to say so)."""
        return self.kept.counts["fail"] > 0 or any(r.status == "fail" for r in self.deleted)


def check(inv: Inventory, refs: Sequence[ModelRef] | None = None, *,
          changed_since: str | None = None, now: dt.datetime | None = None,
          lines: LineWriter | None = None) -> Checked:
    """Every rule in force for the versions ``refs`` names (all when None), or for the
    models changed since ``changed_since``; a model deleted or renamed since then fails.
    ``lines``: how an output writes each model's results, for a run over every model to
    keep them written (:func:`mops.policy.engine.evaluate_kept`)."""
    scope = None
    deleted: list[Result] = []
    if changed_since is not None:
        from mops.inventory.changes import changed_models, deleted_models
        from mops.policy.engine import deletion_results

        changed = changed_models(inv, changed_since)
        gone = deleted_models(inv, changed_since)
        if refs is not None:
            gone = [g for g in gone if g.model in {r.model for r in refs}]
        deleted = deletion_results(gone, changed_since)
        if changed is not None:
            scope = f"Only the models changed since {changed_since}: {len(changed)}" + (
                f", and {len(gone)} deleted or renamed." if gone else ".")
            refs = [r for r in refs if r.model in changed] if refs is not None \
                else [ModelRef(m) for m in sorted(changed)]
    kept = evaluate_kept(inv, refs, now=now, lines=lines)
    nothing = None
    if not deleted and not len(kept) and (refs is None or refs):
        nothing = ("no policy pack is in force (mops.yaml: policies is empty)"
                   if not inv.settings.policies
                   else "no model version is in scope" if not any(m.versions for m in inv.models())
                   else "the packs in force have no rules")
    return Checked(kept, scope, nothing, deleted)


def list_versions(inv: Inventory, stage: str | None = None, *,
                  now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One row per version (in ``stage``): model, version, stage, tier, owner, compliant,
    and compliance in the report's words with the rules failing and waived."""
    import json

    return [json.loads(text) for text in _row_texts(inv, stage, now)]


def list_json(inv: Inventory, stage: str | None = None, *, now: dt.datetime | None = None) -> str:
    """``list --json``: the rows of :func:`list_versions` as ``json.dumps(rows, indent=2,
    ensure_ascii=False)`` writes them, put together from each row's text as it was kept
    (no row is encoded again)."""
    texts = _row_texts(inv, stage, now)
    return "[\n" + ",\n".join(texts) + "\n]" if texts else "[]"


def _row_texts(inv: Inventory, stage: str | None, now: dt.datetime | None) -> list[str]:
    from mops.inventory.views import check_stage
    from mops.policy.engine import model_values
    from mops.trust.signing import signature_check

    check_stage(inv, stage)
    with _caches(inv) as (digests, memo):
        memo.whole = True
        per_model = model_values(inv, inv.model_ids(), "rows", now=now or clock.now(),
                                 is_signed=signature_check(inv), digests=digests, memo=memo)
    return [text for rows in per_model for row_stage, text in rows
            if stage is None or row_stage == stage]


def show(inv: Inventory, ref: ModelRef) -> dict[str, Any]:
    """A version: card, artifact, evidence, sign-offs (stale or valid), findings, monitoring."""
    from mops.inventory.views import show_data

    return show_data(inv, ref)


def log(inv: Inventory, model: str | None = None) -> list[dict[str, Any]]:
    """The audit trail from git history (of one model, or the whole inventory)."""
    from mops.inventory.views import log_entries

    return log_entries(inv, model)


@dataclass(frozen=True)
class Audited:
    report: Report
    #: The files written: the HTML report and/or the PDF.
    files: list[Path]


def audit(inv: Inventory, models: Sequence[str] = (), *, out: Path | None = None,
          as_of: str | None = None, pdf: Path | None = None,
          warn: Callable[[str], None] | None = None, verify_all: bool = False) -> Audited:
    """Render the audit report (HTML at ``out``, default ``mops-audit.html``; with ``pdf``
    also a PDF, and no HTML kept unless ``out`` is given).

    The cover's ``mops verify`` covers the models reported and the rules (the whole
    inventory when no model is named, or with ``verify_all``); see :func:`verify_at`.
    ``warn`` hears about uncommitted changes the report (of a commit) does not show.
    """
    import tempfile

    from mops.inventory.names import validate_model
    from mops.report import write_report
    from mops.report.pdf import print_pdf

    scope = sorted({validate_model(m) for m in models}) if models and not verify_all else None
    if as_of is None and warn is not None:
        dirty = _uncommitted(inv, scope)
        if dirty:
            warn(f"{len(dirty)} uncommitted change(s) in the inventory (e.g. {dirty[0]}) are not "
                 f"in the report: it shows the last commit")

    def verified(snapshot: Inventory) -> dict[str, Any]:
        return verify_at(snapshot, models=scope)

    if pdf is not None and out is None:
        with tempfile.TemporaryDirectory(prefix="mops-audit-") as tmp:
            report = write_report(inv, Path(tmp) / DEFAULT_AUDIT, models, as_of=as_of,
                                  verify=verified)
            return Audited(report, [print_pdf(_written(report), pdf)])
    report = write_report(inv, out or Path(DEFAULT_AUDIT), models, as_of=as_of,
                          verify=verified)
    written = [_written(report)]
    if pdf is not None:
        written.append(print_pdf(written[0], pdf))
    return Audited(report, written)


DEFAULT_AUDIT = "mops-audit.html"


def _uncommitted(inv: Inventory, models: Sequence[str] | None) -> list[str]:
    """Inventory files with uncommitted changes: of the rules and ``models`` (all models
    when None), so that one model's report never scans the others' folders."""
    from mops import git
    from mops.inventory import layout
    from mops.inventory.views import uncommitted_paths

    if models is None:
        return uncommitted_paths(inv)
    paths = [p for p in layout.INVENTORY_PATHS if p != layout.MODELS_DIR]
    paths += [layout.model_dir(m) for m in models]
    return git.dirty_paths(inv.top, [inv.git_path(p) for p in paths])


def _written(report: Report) -> Path:
    assert report.path is not None  # write_report always sets it
    return report.path


def verify(inv: Inventory, *, changed_since: str | None = None, artifacts: bool = False,
           strict: bool = False, full: bool = False,
           models: Sequence[str] | None = None) -> Verification:
    """Replay history against the provenance rules (``mops verify``); promotions are
    re-gated by the policy engine with the rules then in force. Only the commits after
    the last clean run's checkpoint are replayed, unless ``full``; ``models`` limits it to
    those models and the rules (all of their history)."""
    from mops.trust.verify import verify as run

    kept: list[DigestCache] = []  # read when a promotion is first re-gated, if ever

    def digests() -> DigestCache:
        if not kept:
            from mops.inventory.digest import DigestCache

            kept.append(DigestCache(inv))
        return kept[0]

    try:
        return run(inv, changed_since=changed_since, artifacts=artifacts, strict=strict,
                   gate=replay_gate(digests), full=full, models=models)
    finally:
        for cache in kept:
            cache.save()


def verify_at(snapshot: Inventory, models: Sequence[str] | None = None) -> dict[str, Any]:
    """``mops verify`` at the commit ``snapshot`` is opened at (for an audit report's
    cover), as its JSON; ``{"ok": None, "error": why}`` when it cannot run there.

    The whole history is replayed (``full``): a report must not depend on the
    checkpoints a machine happens to hold, or the same commit would not always render
    the same bytes. ``models`` limits it to those models and the rules (``scope`` in
    the JSON; the cover says so): one model's report then costs what that model's
    history costs, not what the inventory's does."""
    try:
        return verify(snapshot, full=True, models=models).to_json()
    except UsageError as exc:  # e.g. a shallow clone: history is not all there
        return {"ok": None, "error": exc.message, "problems": [], "warnings": [],
                "scope": None if models is None else sorted(set(models))}


def replay_gate(digests: Callable[[], DigestCache] | None = None) -> Gate:
    """``promote``'s gate for replaying promotions: the policy engine, rules loaded once per
    set of rules in force; the digests of history's files (by blob id) kept in
    ``digests()`` across promotions, when given. Neither the engine nor that cache is
    loaded before the first promotion (a replay from a checkpoint seldom meets one)."""
    rules: dict[Hashable, list[Rule]] = {}

    def gate(inv: Inventory, model: Model, version: Version, target: str, now: dt.datetime,
             is_signed: SignatureCheck, key: Hashable) -> list[str]:
        from mops.inventory.digest import DigestCache
        from mops.policy.engine import evaluate_version
        from mops.policy.packs import all_rules, load_packs

        if key not in rules:
            rules[key] = all_rules(load_packs(inv))
        cache = DigestCache.in_memory(inv)
        kept = digests() if digests is not None else None
        if kept is not None:
            cache.entries = kept.entries  # blob ids name the same content in any commit
        results = evaluate_version(inv, model, version, now=now, target=target,
                                   is_signed=is_signed, rules=rules[key], digests=cache)
        if kept is not None and cache.dirty:
            kept.dirty = True
        return [f"{r.rule}: {r.message} [{r.cite}]" for r in results if r.status == "fail"]

    return gate


# ----------------------------------------------------------------------------- registry to serving


def attest(inv: Inventory, ref: ModelRef, *, key: str | None = None,
           now: dt.datetime | None = None) -> Attestation:
    """Sign an in-toto attestation that ``ref`` passes check and verify (promotions replayed)
    at HEAD, as git's user, who must hold an ``attestations.signed_by`` role."""
    from mops.deployment import attest as do_attest

    return do_attest(inv, ref, verify=verify, key=key, now=now)


def artifact_sha256(artifact: Path | None, sha256: str | None) -> str:
    """The digest ``verify-artifact`` looks for: of the file or folder ``artifact`` (a folder by
    its manifest), or ``sha256`` as given (checked); exactly one of them."""
    from mops.deployment import artifact_sha256 as digest

    return digest(artifact, sha256)


def verify_artifact(inv: Inventory, sha256: str, *, stage: str | None = None,
                    attestation: bytes | None = None, max_age_days: int | None = None,
                    now: dt.datetime | None = None) -> ArtifactVerdict:
    """The deployment gate for the artifact ``sha256``: from the inventory at HEAD (check, and
    verify with promotions replayed), or from a signed ``attestation`` still trusted there."""
    from mops.deployment import verify_artifact as run

    return run(inv, sha256, verify=verify, stage=stage, attestation=attestation,
               max_age_days=max_age_days, now=now)


@dataclass(frozen=True)
class Exported:
    #: ``MODEL@VERSION`` exported (a bare MODEL resolved to its latest version).
    ref: str
    text: str


def export_cyclonedx(inv: Inventory, ref: ModelRef, *,
                     now: dt.datetime | None = None) -> Exported:
    """A version as a CycloneDX 1.6 ML-BOM (JSON text), validated against the schema."""
    from mops.export.cyclonedx import ml_bom

    model, version = inv.resolve(ref)
    return Exported(version.ref, ml_bom(inv, model, version, now=now or clock.now()))


# ----------------------------------------------------------------------------- drift


def drift(start: Path, ref: ModelRef, current: Sequence[Path | str], *,
          window: str | None = None, record: bool = False, notify: Notify = None,
          env: Env = None, **options: Any) -> DriftOutcome:
    """Check one version's current logs against its reference (``options``: see
    :func:`mops.drift.run.run_drift`), recording the result if asked."""
    from mops.drift.run import run_drift

    return run_drift(start, ref, current, window=window, record=record, notify=notify, env=env,
                     **options)
