"""May this artifact be deployed? The verbs behind ``mops attest`` and ``mops verify-artifact``.

A version *passes* when, at the inventory's HEAD commit, no policy rule fails for it
(``mops check``: its rules for its current stage, signed sign-offs proven by git)
and ``mops verify`` finds no problem in its model's records or in the inventory's
governance (``mops.yaml``, ``.mops/``). Problems of other models do not stop it.

``attest`` signs that verdict as an in-toto statement (:mod:`mops.trust.attest`), for
someone ``attestations.signed_by`` lists who is independent of the model;
``verify_artifact`` answers it for an artifact (a file, a folder, or a sha256): from
the inventory, or, given an attestation, from its signature, its signer's role, its
age and what the inventory at HEAD says of the version since.

``verify`` (``mops verify``, wired by :mod:`mops.api`) is passed in. Returns data or
raises ``MopsError``; never prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops import __version__, clock
from mops.errors import NotFoundError, PolicyError, UsageError
from mops.inventory import layout, records
from mops.inventory.digest import canonical
from mops.inventory.layout import MODELS_DIR, SETTINGS_FILE
from mops.inventory.names import ModelRef
from mops.inventory.store import Inventory, Model, Version
from mops.policy.results import Result
from mops.trust import attest as intoto
from mops.trust.verify import Problem, Verification

DEFAULT_STAGE = "production"
#: ``mops verify`` of an inventory's working tree, promotions replayed (see :func:`mops.api.verify`).
VerifyHook = Callable[[Inventory], Verification]


# ----------------------------------------------------------------------------- the gate


@dataclass(frozen=True)
class Gate:
    """One version's verdict at a commit: its check results and verify's problems for it."""

    model: str
    version: str
    stage: str
    commit: str
    artifact: records.Artifact | None
    results: tuple[Result, ...]
    verification: Verification
    problems: tuple[Problem, ...]

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.problems

    def missing(self) -> list[str]:
        """What stops it, one line each: each failing rule and each verify problem."""
        return ([f"check: {r.rule} {r.title}: {r.message} (fix: {r.file})" for r in self.failures]
                + [f"verify: {p.path}: {p.problem}" for p in self.problems])


def _concerns(path: str, model: str, version: str) -> bool:
    """Whether a verify problem at ``path`` stands in the way of ``model@version``: the
    version's own files, its model's (the card, findings), or anything outside ``models/``
    (the settings, the signers); not another version's records."""
    if not path.startswith(f"{MODELS_DIR}/"):
        return True
    here = layout.model_dir(model)
    if path != here and not path.startswith(f"{here}/"):
        return False
    versions = f"{layout.versions_dir(model)}/"
    own = layout.version_dir(model, version)
    return not path.startswith(versions) or path == own or path.startswith(f"{own}/")


def at_head(inv: Inventory) -> Inventory:
    if inv.head is None:
        raise UsageError("the inventory has no commit yet: there is nothing to check")
    return inv.at("HEAD")


def gate(head: Inventory, model: Model, version: Version, verification: Verification, *,
         now: dt.datetime) -> Gate:
    """``check`` for one version of the inventory ``head`` (read from its commit), and
    ``verification`` (``mops verify`` of the working tree) narrowed to it."""
    from mops.policy.engine import evaluate_version
    from mops.trust.signing import signature_check

    assert head.commit is not None
    results = evaluate_version(head, model, version, now=now, is_signed=signature_check(head))
    problems = tuple(p for p in verification.problems
                     if _concerns(p.path, model.id, version.version))
    return Gate(model.id, version.version, version.stage, head.commit, version.record.artifact,
                tuple(results), verification, problems)


# ----------------------------------------------------------------------------- attest


@dataclass(frozen=True)
class Attestation:
    gate: Gate
    envelope: dict[str, Any]
    statement: dict[str, Any]
    keyid: str
    #: Who attests (git's user.email): the statement names them, the signature must be theirs.
    attester: str
    #: Whether the committed allowed signers list the signing key for :attr:`attester`
    #: (if not, ``verify-artifact --attestation`` will refuse it).
    listed: bool


def _policy_digest(head: Inventory) -> tuple[list[str], str, list[dict[str, Any]]]:
    """The packs in force (``name@version``), a sha256 over their content and mops.yaml, and
    their description for the predicate."""
    from mops.policy.packs import load_packs

    packs = load_packs(head)
    parts: list[list[str]] = [[SETTINGS_FILE, hashlib.sha256(head.read(SETTINGS_FILE)).hexdigest()]]
    described = []
    for pack in packs:
        data = Path(pack.path).read_bytes() if pack.builtin else head.read(pack.path)
        parts.append([pack.ref, hashlib.sha256(data).hexdigest()])
        described.append({"name": pack.name, "version": pack.version, "builtin": pack.builtin,
                          "sha256": parts[-1][1]})
    return [p.ref for p in packs], hashlib.sha256(canonical(parts)).hexdigest(), described


def _signing_key(inv: Inventory, key: str | None) -> str:
    from mops.trust import sshsig
    from mops.trust.signing import signing_setup

    if key is not None:
        return sshsig.signing_key(key, Path.cwd())
    configured = signing_setup(inv.top).key
    if not configured:
        raise UsageError("no signing key: give --key FILE (an SSH key), or set git's "
                         "user.signingkey (`git config user.signingkey ~/.ssh/id_ed25519.pub`)")
    return sshsig.signing_key(configured, inv.top)


def _listed_for(signers: str, keyid: str, person: str) -> bool:
    """Whether ``signers`` lists the key ``keyid`` (a SHA256 fingerprint) for ``person``."""
    import base64

    from mops.trust.signers import allowed_keys, principal_matches

    for entry in allowed_keys(signers):
        try:
            blob = base64.b64decode(entry.key)
        except ValueError:
            continue
        fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        if fingerprint == keyid and principal_matches(entry.principals, person):
            return True
    return False


def attest(inv: Inventory, ref: ModelRef, *, verify: VerifyHook, key: str | None = None,
           now: dt.datetime | None = None) -> Attestation:
    """Sign an attestation that ``ref`` passes check and verify at HEAD, as the acting person
    (git's identity), who must hold an ``attestations.signed_by`` role and be independent of
    the model; refuses (exit 1, naming what is missing) otherwise, when the version does not
    pass, or when it has no artifact digest."""
    from mops.inventory.authority import attest_problem
    from mops.trust.signers import committed_signers

    now = now or clock.now()
    head = at_head(inv)
    try:
        model, version = head.resolve(ref)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc.message} (at HEAD, {head.commit and head.commit[:12]}: only "
                            f"committed versions can be attested)") from None
    attester = inv.identity().email.lower()
    refused = attest_problem(head.settings, model, version, attester)
    if refused:
        raise PolicyError(f"{refused}; nothing was signed")
    signing_key = _signing_key(inv, key)
    verdict = gate(head, model, version, verify(inv), now=now)
    missing = verdict.missing()
    if verdict.artifact is None:
        missing.insert(0, f"artifact: {version.record.path} records no artifact digest "
                          f"(register the version with --artifact or --sha256)")
    if missing:
        raise PolicyError(f"{verdict.ref} cannot be attested: at commit {verdict.commit[:12]} it "
                          f"does not pass check and verify; nothing was written",
                          details=missing)
    assert verdict.artifact is not None
    packs, policy_sha256, described = _policy_digest(head)
    counts = {s: sum(1 for r in verdict.results if r.status == s)
              for s in ("pass", "waived", "n/a", "fail")}
    signoffs = [{"role": a.role, "by": a.by, "decision": a.decision, "at": a.at,
                 "digest": a.digest} for a in records.effective_signoffs(version.approvals)]
    details = {
        "inventory": head.settings.inventory,
        "commit": verdict.commit,
        "model": verdict.model,
        "version": verdict.version,
        "stage": verdict.stage,
        "attested_by": attester,
        "artifact": verdict.artifact.to_dict(),
        "packs": described,
        "check": {"result": intoto.PASSED, "counts": counts,
                  "waived": sorted(r.rule for r in verdict.results if r.status == "waived")},
        "verify": {"result": intoto.PASSED, "checked": dict(verdict.verification.checked)},
        "signoffs": signoffs,
    }
    summary = intoto.Summary(
        sha256=verdict.artifact.sha256, subject_name=verdict.ref,
        resource_uri=verdict.artifact.uri or f"mops:{verdict.ref}",
        time_verified=clock.format_timestamp(now), mops_version=__version__, packs=packs,
        policy_sha256=policy_sha256, details=details)
    stmt = intoto.statement(summary)
    env = intoto.envelope(stmt, signing_key)
    keyid = env["signatures"][0]["keyid"]
    listed = _listed_for(committed_signers(inv, "HEAD"), keyid, attester)
    return Attestation(verdict, env, stmt, keyid, attester, listed)


# ----------------------------------------------------------------------------- verify-artifact


@dataclass
class ArtifactVerdict:
    sha256: str
    stage: str
    #: "inventory" (check and verify at HEAD) or "attestation" (a signed statement).
    via: str
    commit: str | None = None
    model: str | None = None
    version: str | None = None
    #: With an attestation: who signed it, with which key, and when it was made.
    signer: str | None = None
    keyid: str | None = None
    time_verified: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.model is not None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "sha256": self.sha256, "stage": self.stage, "via": self.via,
                "model": self.model, "version": self.version, "commit": self.commit,
                "signer": self.signer, "keyid": self.keyid, "time_verified": self.time_verified,
                "problems": list(self.problems)}


def artifact_sha256(artifact: Path | None, sha256: str | None) -> str:
    """The digest to look for: of the file or folder ``artifact``, or ``sha256`` as given."""
    from mops.inventory.artifacts import digest_path
    from mops.inventory.records import SHA256_RE

    if (artifact is None) == (sha256 is None):
        raise UsageError("give the artifact FILE (a file or a folder) or --sha256 HEX, one of them")
    if sha256 is not None:
        if not SHA256_RE.fullmatch(sha256.lower()):
            raise UsageError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
        return sha256.lower()
    assert artifact is not None
    if not artifact.exists():
        raise UsageError(f"{artifact}: no such file or folder")
    return digest_path(artifact).sha256


def _stage(inv: Inventory, stage: str | None) -> str:
    stage = stage or DEFAULT_STAGE
    if stage not in inv.settings.stages:
        raise UsageError(f"--stage {stage}: not a stage of this inventory (mops.yaml: "
                         f"{', '.join(inv.settings.stages)})")
    return stage


def verify_artifact(inv: Inventory, sha256: str, *, verify: VerifyHook, stage: str | None = None,
                    attestation: bytes | None = None, max_age_days: int | None = None,
                    now: dt.datetime | None = None) -> ArtifactVerdict:
    """Whether the artifact ``sha256`` is a version in ``stage`` (default production) that
    passes check and verify at HEAD; or, with ``attestation`` (a DSSE envelope), whether that
    envelope vouches for this artifact in this stage and may still be trusted (see
    :func:`_from_attestation`). Every refusal is a line of ``problems``."""
    stage = _stage(inv, stage)
    now = now or clock.now()
    if attestation is not None:
        return _from_attestation(inv, sha256, stage, attestation, max_age_days, now)
    head = at_head(inv)
    verdict = ArtifactVerdict(sha256, stage, "inventory", commit=head.commit)
    short = (head.commit or "")[:12]
    matches = [(m, v) for m in head.models() for v in m.versions
               if v.record.artifact is not None and v.record.artifact.sha256 == sha256]
    if not matches:
        verdict.problems.append(f"no version at HEAD ({short}) has an artifact with sha256 "
                                f"{sha256}: it was never registered (mops register --sha256, "
                                f"mops import mlflow), or not committed")
        return verdict
    staged = [(m, v) for m, v in matches if v.stage == stage]
    if not staged:
        found = ", ".join(f"{v.ref} ({v.stage})" for _, v in matches)
        verdict.problems.append(f"sha256 {sha256} is {found} at HEAD ({short}); none is in stage "
                                f"{stage}: promote it first (mops promote MODEL@V --to {stage})")
        return verdict
    verification = verify(inv)
    gates = [gate(head, m, v, verification, now=now) for m, v in staged]
    passing = next((g for g in gates if g.ok), None)
    if passing is not None:
        verdict.model, verdict.version = passing.model, passing.version
        return verdict
    for g in gates:
        verdict.problems.extend(f"{g.ref}: check: {r.rule} {r.title}: {r.message} (fix: {r.file})"
                                for r in g.failures)
    # verify's problems are the inventory's: each once, however many versions they stop.
    seen = dict.fromkeys(p for g in gates for p in g.problems)
    verdict.problems.extend(f"verify: {p.path}: {p.problem}" for p in seen)
    return verdict


def _from_attestation(inv: Inventory, sha256: str, stage: str, data: bytes,
                      max_age_days: int | None, now: dt.datetime) -> ArtifactVerdict:
    """An attestation is trusted when, at HEAD: its signature verifies for the attester it
    names, by a key ``.mops/allowed_signers`` lists for them; it vouches for this sha256 in
    this stage; the attester holds an ``attestations.signed_by`` role and is independent of
    the model; it is at most ``max_age_days`` old (default ``attestations.max_age_days``);
    the version still has this artifact and is still in that stage; and the commit it
    attests is in HEAD's history."""
    from mops.trust.signers import committed_signers

    verdict = ArtifactVerdict(sha256, stage, "attestation")
    signers = committed_signers(inv, "HEAD") if inv.head else ""
    try:
        opened = intoto.open_envelope(data, signers)
    except intoto.EnvelopeError as exc:
        verdict.problems.append(f"the attestation {exc}")
        return verdict
    verdict.signer, verdict.keyid = opened.signer, opened.keyid
    predicate = opened.statement.get("predicate")
    details = predicate.get("mops") if isinstance(predicate, dict) else None
    if isinstance(details, dict):
        verdict.commit = _text(details.get("commit"))
        verdict.model = _text(details.get("model"))
        verdict.version = _text(details.get("version"))
    if isinstance(predicate, dict):
        verdict.time_verified = _text(predicate.get("timeVerified"))
    said = f"the attestation (signed by {opened.signer})"
    problems = intoto.subject_problems(opened.statement, sha256, stage)
    head = at_head(inv)
    max_age = max_age_days or head.settings.attestation_max_age_days
    too_old = intoto.age_problem(opened.statement, now, max_age)
    if too_old:
        problems.append(too_old)
    if verdict.model is None or verdict.version is None:
        problems.append("it names no model and version (predicate.mops)")
    else:
        attested = details.get("stage") if isinstance(details, dict) else None
        problems.extend(_since(head, verdict, _text(attested), opened.signer, sha256))
    verdict.problems.extend(f"{said}: {p}" for p in problems)
    return verdict


def _since(head: Inventory, verdict: ArtifactVerdict, attested: str | None, signer: str,
           sha256: str) -> list[str]:
    """What the inventory at HEAD says against an attestation of ``verdict.model@version``
    in stage ``attested``, at ``verdict.commit``, signed by ``signer``."""
    from mops import git
    from mops.inventory.authority import attest_problem
    from mops.inventory.names import validate_model, validate_version

    assert verdict.model is not None and verdict.version is not None
    short = (head.commit or "")[:12]
    ref = f"{verdict.model}@{verdict.version}"
    try:
        validate_model(verdict.model)
        validate_version(verdict.version)
        model, version = head.resolve(ModelRef(verdict.model, verdict.version))
    except UsageError:
        return [f"the inventory at HEAD ({short}) has no version {ref}"]
    problems = []
    refused = attest_problem(head.settings, model, version, signer)
    if refused:
        problems.append(f"at HEAD ({short}), {refused}")
    artifact = version.record.artifact
    if artifact is None or artifact.sha256 != sha256:
        problems.append(f"at HEAD ({short}), {ref} has artifact sha256 "
                        f"{artifact.sha256 if artifact else 'none'}, not {sha256}")
    if attested is not None and version.stage != attested:
        moved = version.record.stage_history[-1] if version.record.stage_history else None
        how = f" (moved by {moved.by or '?'} on {moved.at or '?'})" if moved else ""
        problems.append(f"{ref} has left {attested} since it was attested: at HEAD "
                        f"({short}) it is {version.stage}{how}")
    commit = verdict.commit or ""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        problems.append(f"its commit {commit!r} is not a commit id")
    elif git.merge_base(head.top, commit, "HEAD") != commit:
        problems.append(f"its commit {commit[:12]} is not in the history of HEAD ({short}): the "
                        f"inventory it was made from is another one, or a rewritten history, "
                        f"or this clone lacks it (fetch the whole history)")
    elif attested is not None:
        then = _stage_at(head, commit, model.id, version.version)
        if then != attested:
            problems.append(f"at its commit {commit[:12]}, {ref} was "
                            f"{'not registered' if then is None else 'in ' + then}, not in "
                            f"{attested}")
    return problems


def _stage_at(head: Inventory, commit: str, model: str, version: str) -> str | None:
    """The stage of ``model@version`` in the inventory at ``commit`` (None: not there)."""
    try:
        return head.at(commit).resolve(ModelRef(model, version))[1].stage
    except UsageError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
