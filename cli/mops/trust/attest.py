"""Attestations: an in-toto Statement v1 in a DSSE envelope, signed with an SSH key.

The statement's subject is the artifact's sha256; its predicate is a SLSA
verification summary (``https://slsa.dev/verification_summary/v1``): who verified
(mops and its version), when, against which policy (the packs in force and their
versions, with a digest over their content and ``mops.yaml``), and the result
(``PASSED``: ``check`` and ``verify`` both passed). mops adds its own details under
the predicate's ``mops`` key: the inventory, the commit, the model, version and
stage, the check counts, the sign-offs, and who attested (``attested_by``: the
signature must be theirs).

The envelope follows DSSE v1: ``payload`` is the base64 of the statement,
``payloadType`` is ``application/vnd.in-toto+json``, and each signature signs the
pre-authentication encoding ``PAE(payloadType, payload)``; ``sig`` is the base64 of
the SSHSIG blob (``ssh-keygen -Y sign``, namespace ``mops``, see
:mod:`mops.trust.sshsig`) and ``keyid`` the key's SHA256 fingerprint.

:func:`open_envelope` checks a signature against an allowed-signers file, for the
person the statement names as its attester, and returns the statement only then;
:func:`subject_problems` says why a statement does not vouch for a given digest and
stage, :func:`age_problem` why it is too old. Nothing here reads the inventory.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mops.inventory.records import EMAIL_RE
from mops.trust import sshsig

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "https://github.com/mops-dev/mops"
PASSED = "PASSED"
#: verifiedLevels: custom values (the VSA reserves the ``SLSA_`` prefix for its own).
LEVELS = ("MOPS_POLICY_CHECK_PASSED", "MOPS_HISTORY_VERIFIED")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is signed, never the payload alone."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Summary:
    """What an attestation vouches for (the inputs of :func:`statement`)."""

    sha256: str
    subject_name: str
    resource_uri: str
    time_verified: str
    mops_version: str
    #: ``name@version`` of each pack in force, in mops.yaml's order.
    packs: Sequence[str]
    policy_sha256: str
    details: Mapping[str, Any] = field(default_factory=dict)


def statement(summary: Summary) -> dict[str, Any]:
    """The in-toto Statement v1 with a verification-summary predicate."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": summary.subject_name, "digest": {"sha256": summary.sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": VERIFIER_ID, "version": {"mops": summary.mops_version}},
            "timeVerified": summary.time_verified,
            "resourceUri": summary.resource_uri,
            "policy": {"uri": "mops:policies/" + ",".join(summary.packs),
                       "digest": {"sha256": summary.policy_sha256}},
            "inputAttestations": [],
            "verificationResult": PASSED,
            "verifiedLevels": list(LEVELS),
            "mops": dict(summary.details),
        },
    }


def envelope(stmt: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``stmt`` in a DSSE envelope signed with ``key`` (see :func:`mops.trust.sshsig.sign`)."""
    payload = json.dumps(stmt, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    blob = sshsig.sign(pae(PAYLOAD_TYPE, payload), key)
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": sshsig.key_fingerprint(blob),
                        "sig": base64.b64encode(blob).decode()}],
    }


@dataclass(frozen=True)
class Opened:
    """An envelope whose signature verified: who signed it, and the statement it carries."""

    signer: str
    keyid: str
    statement: dict[str, Any]


class EnvelopeError(Exception):
    """Why an envelope proves nothing (the message names what is missing)."""


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            raise EnvelopeError(f"{what} is not base64") from None


def attester(stmt: Mapping[str, Any]) -> str | None:
    """Who the statement says signed it (``predicate.mops.attested_by``), or None."""
    predicate = stmt.get("predicate")
    details = predicate.get("mops") if isinstance(predicate, dict) else None
    who = details.get("attested_by") if isinstance(details, dict) else None
    return who.strip().lower() if isinstance(who, str) and EMAIL_RE.fullmatch(who.strip()) \
        else None


def open_envelope(data: bytes, allowed_signers: str) -> Opened:
    """The statement in the DSSE envelope ``data``, once one of its signatures verifies for the
    person the statement names as its attester (``predicate.mops.attested_by``), by a key
    ``allowed_signers`` lists for them; :class:`EnvelopeError` otherwise."""
    try:
        env = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"is not a JSON DSSE envelope ({exc})") from None
    if not isinstance(env, dict):
        raise EnvelopeError("is not a DSSE envelope (a JSON object)")
    if env.get("payloadType") != PAYLOAD_TYPE:
        raise EnvelopeError(f"has payloadType {env.get('payloadType')!r}, not {PAYLOAD_TYPE!r}")
    payload = _b64(env.get("payload"), "the payload")
    signatures = env.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeError("has no signatures")
    if not allowed_signers.strip():
        raise EnvelopeError("cannot be checked: the inventory has no committed "
                            ".mops/allowed_signers, so no signer is trusted")
    # Read (not yet trusted) to learn whom the signature must prove; a change to the payload
    # breaks the signature below.
    try:
        stmt = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EnvelopeError("carries a payload that is not JSON") from None
    if not isinstance(stmt, dict):
        raise EnvelopeError("carries a payload that is not an in-toto statement")
    claimed = attester(stmt)
    if claimed is None:
        raise EnvelopeError("names no attester (predicate.mops.attested_by, an e-mail address): "
                            "it was not made by `mops attest`")
    message = pae(PAYLOAD_TYPE, payload)
    problems = []
    for i, entry in enumerate(signatures, 1):
        if not isinstance(entry, dict):
            problems.append(f"signature {i} is not an object")
            continue
        try:
            blob = _b64(entry.get("sig"), f"signature {i}")
            keyid = sshsig.key_fingerprint(blob)
        except (EnvelopeError, ValueError) as exc:
            problems.append(str(exc) if isinstance(exc, EnvelopeError) else
                            f"signature {i} is not an SSH signature ({exc})")
            continue
        verdict = sshsig.check(message, blob, allowed_signers, identity=claimed)
        if verdict.principal is None:
            problems.append(f"signature {i} (key {keyid}) {verdict.problem}")
            continue
        return Opened(verdict.principal, keyid, stmt)
    raise EnvelopeError("; ".join(problems))


def age_problem(stmt: Mapping[str, Any], now: dt.datetime, max_age_days: int) -> str | None:
    """Why the statement is too old (or dated ahead of ``now``) to be trusted; None if not."""
    from mops import clock

    predicate = stmt.get("predicate")
    text = predicate.get("timeVerified") if isinstance(predicate, dict) else None
    made = clock.parse_timestamp(text) if isinstance(text, str) else None
    if made is None:
        return f"its timeVerified {text!r} is not a time (YYYY-MM-DDTHH:MM:SSZ)"
    age = now - made
    if age < -dt.timedelta(days=1):  # a day for clocks that differ
        return f"it is dated {text}, in the future"
    if age > dt.timedelta(days=max_age_days):
        return (f"it is {age.days} days old (made {text}); attestations are trusted for "
                f"{max_age_days} days: attest the version again (mops attest)")
    return None


def subject_problems(stmt: Mapping[str, Any], sha256: str, stage: str | None) -> list[str]:
    """Why the (verified) statement does not vouch that the artifact ``sha256`` passed, in
    ``stage``; empty when it does."""
    problems = []
    if stmt.get("_type") != STATEMENT_TYPE:
        problems.append(f"the statement's _type is {stmt.get('_type')!r}, not {STATEMENT_TYPE!r}")
    if stmt.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"the predicateType is {stmt.get('predicateType')!r}, not "
                        f"{PREDICATE_TYPE!r}")
    subjects = stmt.get("subject")
    digests = [s.get("digest", {}).get("sha256") for s in subjects or []
               if isinstance(s, dict) and isinstance(s.get("digest"), dict)]
    if sha256 not in digests:
        named = ", ".join(str(d) for d in digests) or "none"
        problems.append(f"its subject is not this artifact: it names sha256 {named}, not "
                        f"{sha256}")
    predicate = stmt.get("predicate")
    predicate = predicate if isinstance(predicate, dict) else {}
    if predicate.get("verificationResult") != PASSED:
        problems.append(f"its verificationResult is {predicate.get('verificationResult')!r}, "
                        f"not {PASSED!r}")
    details = predicate.get("mops")
    attested_stage = details.get("stage") if isinstance(details, dict) else None
    if stage is not None and attested_stage != stage:
        problems.append(f"it attests stage {attested_stage!r}, not {stage!r}")
    return problems
