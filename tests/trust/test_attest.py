"""``mops attest`` → ``mops verify-artifact``: real SSH keys, and every forgery refused.

A released version (credit-pd@1.0.0 in production, validated and signed off) is
attested by Carol; the envelope must verify against the committed allowed signers,
and a forged, tampered, wrongly signed or wrongly addressed one must not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Mops, git, missing_tool, write_card
from tests.policy.helpers import BOB, CAROL, DANA, act, evidence
from tests.trust.helpers import MALLORY, Keys, commit, write_signers

pytestmark = pytest.mark.skipif(missing_tool(shutil.which("ssh-keygen") is not None),
                                reason="ssh-keygen is not installed")

REF = "credit-pd@1.0.0"


@dataclass
class Release:
    repo: Path
    mops: Mops
    keys: Keys
    monkeypatch: pytest.MonkeyPatch
    artifact: Path
    sha256: str
    tmp: Path

    def attest(self, who: tuple[str, str] = CAROL, key: str | None = "carol", ref: str = REF,
               code: int = 0, *args: str):
        act(self.monkeypatch, who)
        self.keys.use(self.monkeypatch, key)
        out = self.tmp / f"{ref}.intoto.json"
        return self.mops("attest", ref, "--out", str(out), *args, code=code), out

    def gate(self, *args: str, code: int | None = None) -> dict:
        return self.mops.json("verify-artifact", *args, "--json", code=code)


@pytest.fixture
def release(inventory: Path, mops: Mops, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Release:
    """credit-pd@1.0.0 registered from a real file, validated, signed off by the validator
    and the risk officer, and promoted to production; Carol and Dana are allowed signers."""
    keys = Keys(tmp_path / "keys")
    act(monkeypatch, DANA)
    write_signers(inventory, keys.line(CAROL[1], "carol"), keys.line(DANA[1], "dana"))
    commit(inventory, "allowed signers")
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"weights " * 1000)
    act(monkeypatch, BOB)
    card = write_card(tmp_path / "card.md")
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(card), "--artifact",
         str(artifact))
    evidence(mops, tmp_path, REF, "validation-report")
    mops("promote", REF, "--to", "validation")
    act(monkeypatch, CAROL)
    mops("approve", REF, "--role", "validator")
    act(monkeypatch, DANA)
    mops("approve", REF, "--role", "risk-officer")
    act(monkeypatch, BOB)
    mops("promote", REF, "--to", "production")
    return Release(inventory, mops, keys, monkeypatch, artifact,
                   hashlib.sha256(artifact.read_bytes()).hexdigest(), tmp_path)


def envelope(path: Path) -> dict:
    return json.loads(path.read_text())


def statement(env: dict) -> dict:
    return json.loads(base64.b64decode(env["payload"]))


def rewrite(path: Path, env: dict) -> Path:
    path.write_text(json.dumps(env))
    return path


# ----------------------------------------------------------------------------- the round trip


def test_attestation_round_trip(release: Release):
    result, out = release.attest()
    assert "credit-pd@1.0.0" in result.stdout and "carol@acme.test" in result.stdout
    env = envelope(out)
    assert env["payloadType"] == "application/vnd.in-toto+json"
    [sig] = env["signatures"]
    assert sig["keyid"].startswith("SHA256:")
    stmt = statement(env)
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["subject"] == [{"name": REF, "digest": {"sha256": release.sha256}}]
    assert stmt["predicateType"] == "https://slsa.dev/verification_summary/v1"
    pred = stmt["predicate"]
    assert pred["verifier"]["id"] == "https://github.com/mops-dev/mops"
    assert pred["verificationResult"] == "PASSED"
    assert pred["policy"]["uri"].startswith("mops:policies/")
    assert len(pred["policy"]["digest"]["sha256"]) == 64
    head = git(release.repo, "rev-parse", "HEAD").strip()
    details = pred["mops"]
    assert details["commit"] == head and details["stage"] == "production"
    assert details["model"] == "credit-pd" and details["version"] == "1.0.0"
    assert details["check"]["result"] == "PASSED" and details["check"]["counts"]["fail"] == 0
    assert details["verify"]["result"] == "PASSED"
    assert {p["name"] for p in details["packs"]} and all("version" in p for p in details["packs"])
    assert {(s["role"], s["by"]) for s in details["signoffs"]} == {
        ("validator", CAROL[1]), ("risk-officer", DANA[1])}

    # The signature is an ordinary SSH signature over DSSE's PAE: ssh-keygen itself agrees.
    payload = base64.b64decode(env["payload"])
    kind = env["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    _ssh_verify(release, pae, base64.b64decode(sig["sig"]), CAROL[1])

    data = release.gate(str(release.artifact), "--attestation", str(out), code=0)
    assert data["ok"] and data["signer"] == CAROL[1] and data["via"] == "attestation"
    assert (data["model"], data["version"], data["commit"]) == ("credit-pd", "1.0.0", head)
    # Without the attestation: the inventory itself, at HEAD.
    data = release.gate(str(release.artifact), code=0)
    assert data["ok"] and data["via"] == "inventory" and data["version"] == "1.0.0"
    r = release.mops("verify-artifact", "--sha256", release.sha256.upper())
    assert r.stdout.startswith("ok: ") and "credit-pd@1.0.0 in production" in r.stdout


def _ssh_verify(release: Release, message: bytes, blob: bytes, principal: str) -> None:
    import subprocess

    sig = release.tmp / "check.sig"
    sig.write_text("-----BEGIN SSH SIGNATURE-----\n" + base64.b64encode(blob).decode()
                   + "\n-----END SSH SIGNATURE-----\n")
    signers = release.repo / ".mops" / "allowed_signers"
    proc = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", principal,
                           "-n", "mops", "-s", str(sig)], input=message, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_attest_to_stdout_and_with_an_explicit_key(release: Release):
    act(release.monkeypatch, DANA)
    release.keys.use(release.monkeypatch, None)
    key = release.keys.path("dana")
    r = release.mops("attest", REF, "--key", str(key))
    env = json.loads(r.stdout)
    assert statement(env)["subject"][0]["digest"]["sha256"] == release.sha256
    assert "Attested credit-pd@1.0.0" in r.stderr
    out = rewrite(release.tmp / "dana.json", env)
    assert release.gate("--sha256", release.sha256, "--attestation", str(out),
                        code=0)["signer"] == DANA[1]
    release.mops("attest", REF, "--key", str(key), "--out",
                 str(release.tmp / "missing" / "x.json"), code=2)


def test_attest_without_a_key_is_a_usage_error(release: Release):
    act(release.monkeypatch, CAROL)
    release.keys.use(release.monkeypatch, None)
    r = release.mops("attest", REF, code=2)
    assert "--key" in r.stderr and "user.signingkey" in r.stderr


def test_a_key_nobody_listed_signs_but_is_warned_about_and_refused(release: Release):
    r, out = release.attest(CAROL, "mallory")
    assert "is not listed for carol@acme.test" in r.stderr
    data = release.gate("--sha256", release.sha256, "--attestation", str(out), code=1)
    assert not data["ok"]
    assert any("does not list" in p for p in data["problems"]), data["problems"]


# ----------------------------------------------------------------------------- refusals


def test_a_failing_version_is_not_attested_and_its_artifact_is_refused(release: Release):
    """A card edit after the sign-offs makes them stale: check fails, and both the attestation
    and the deployment gate say which rule."""
    card = release.repo / "models" / "credit-pd" / "card.md"
    card.write_text(card.read_text().replace("Commercial lending.", "Commercial lending, SME."))
    act(release.monkeypatch, BOB)
    git(release.repo, "commit", "-qam", "card edit after the sign-offs")
    r, out = release.attest(code=1)
    assert "cannot be attested" in r.stderr and "check: " in r.stderr
    assert not out.exists()
    data = release.gate(str(release.artifact), code=1)
    assert not data["ok"] and data["model"] is None
    assert any(p.startswith("credit-pd@1.0.0: check: ") for p in data["problems"]), data
    r = release.mops("verify-artifact", str(release.artifact), code=1)
    assert "may not be deployed to production" in r.stderr and "check: " in r.stderr


def test_a_verify_problem_stops_the_gate(release: Release):
    """A sign-off edited by hand after it was committed: verify names it, the gate refuses."""
    approval = sorted((release.repo / "models/credit-pd/versions/1.0.0/approvals").glob("*.yaml"))[0]
    approval.write_text(approval.read_text().replace("decision: approve", "decision: approve\n"
                                                     "comment: edited"))
    git(release.repo, "commit", "-qam", "hand edit")
    r, _ = release.attest(code=1)
    assert "verify: models/credit-pd/versions/1.0.0/approvals/" in r.stderr
    data = release.gate("--sha256", release.sha256, code=1)
    assert any(p.startswith("verify: ") for p in data["problems"]), data["problems"]


def test_an_unknown_artifact_or_wrong_stage_is_refused(release: Release):
    other = release.tmp / "other.bin"
    other.write_bytes(b"not the model")
    data = release.gate(str(other), code=1)
    assert any("never registered" in p for p in data["problems"])
    data = release.gate(str(release.artifact), "--stage", "validation", code=1)
    assert any("none is in stage validation" in p and "credit-pd@1.0.0 (production)" in p
               for p in data["problems"])
    release.mops("verify-artifact", str(release.artifact), "--stage", "staging", code=2)
    release.mops("verify-artifact", code=2)
    release.mops("verify-artifact", str(release.artifact), "--sha256", release.sha256, code=2)


def test_forged_tampered_wrong_signer_and_wrong_subject_envelopes_are_refused(release: Release):
    _, out = release.attest()
    good = envelope(out)
    sha = release.sha256

    def refused(env: dict, needle: str, *args: str) -> None:
        path = rewrite(release.tmp / "bad.json", env)
        data = release.gate("--sha256", sha, "--attestation", str(path), *args, code=1)
        assert not data["ok"] and any(needle in p for p in data["problems"]), data["problems"]

    # Tampered: the statement changed after signing (a failing result made to pass, here the
    # stage), signature kept.
    stmt = statement(good)
    stmt["predicate"]["mops"]["stage"] = "production-eu"
    tampered = dict(good, payload=base64.b64encode(json.dumps(stmt).encode()).decode())
    refused(tampered, "does not verify")
    # Forged: a statement written by hand, with a signature that is not one.
    forged = dict(good, signatures=[{"keyid": "SHA256:x", "sig": base64.b64encode(
        b"SSHSIG" + b"\0" * 40).decode()}])
    refused(forged, "signature 1")
    refused(dict(good, signatures=[]), "has no signatures")
    refused(dict(good, payloadType="text/plain"), "payloadType")
    # Wrong signer: Mallory signs the very same statement with her own key.
    mallory = _resign(release, good, "mallory")
    refused(mallory, "does not list")
    # Dana (listed, and allowed to attest) signs the statement that names Carol as attester.
    refused(_resign(release, good, "dana"), "does not verify for carol@acme.test")
    # Wrong subject: a genuine attestation, presented for another artifact.
    path = rewrite(release.tmp / "genuine.json", good)
    data = release.gate("--sha256", "cd" * 32, "--attestation", str(path), code=1)
    assert any("not this artifact" in p for p in data["problems"]), data["problems"]
    # Right artifact, another stage than the one attested.
    data = release.gate("--sha256", sha, "--attestation", str(path), "--stage", "validation",
                        code=1)
    assert any("attests stage 'production'" in p for p in data["problems"]), data["problems"]
    # A genuine envelope signed by a listed key over a statement that is not a pass.
    stmt = statement(good)
    stmt["predicate"]["verificationResult"] = "FAILED"
    refused(_resign(release, dict(good, payload=base64.b64encode(
        json.dumps(stmt).encode()).decode()), "carol"), "verificationResult")
    (release.tmp / "garbage.json").write_text("not json")
    data = release.gate("--sha256", sha, "--attestation", str(release.tmp / "garbage.json"),
                        code=1)
    assert any("not a JSON DSSE envelope" in p for p in data["problems"])


def _resign(release: Release, env: dict, key: str) -> dict:
    """``env``'s payload signed with ``key`` (as anyone holding that key could)."""
    from mops.trust import attest, sshsig

    payload = base64.b64decode(env["payload"])
    blob = sshsig.sign(attest.pae(env["payloadType"], payload), str(release.keys.path(key)))
    return dict(env, signatures=[{"keyid": sshsig.key_fingerprint(blob),
                                  "sig": base64.b64encode(blob).decode()}])


def test_signers_count_as_committed_at_head(release: Release):
    """Listing Mallory's key in the working tree (uncommitted) does not make her trusted."""
    _, out = release.attest(CAROL, "mallory")
    signers = release.repo / ".mops" / "allowed_signers"
    signers.write_text(signers.read_text() + release.keys.line(CAROL[1], "mallory") + "\n")
    data = release.gate("--sha256", release.sha256, "--attestation", str(out), code=1)
    assert any("does not list" in p for p in data["problems"])


def test_a_version_without_an_artifact_digest_is_not_attested(release: Release):
    act(release.monkeypatch, BOB)
    release.mops("register", "credit-pd", "--version", "2.0.0")
    r, _ = release.attest(ref="credit-pd@2.0.0", code=1)
    assert "records no artifact digest" in r.stderr


@pytest.mark.parametrize("path, stops", [
    ("models/credit-pd/versions/1.0.0/approvals/A-1.yaml", True),
    ("models/credit-pd/card.md", True),
    ("models/credit-pd/findings/F-1.yaml", True),
    (".mops/allowed_signers", True),
    ("mops.yaml", True),
    ("models/credit-pd/versions/2.0.0/approvals/A-2.yaml", False),
    ("models/credit-pd-v2/card.md", False),
    ("models/other/versions/1.0.0/version.yaml", False),
])
def test_which_verify_problems_stop_a_version(path: str, stops: bool):
    from mops.deployment import _concerns

    assert _concerns(path, "credit-pd", "1.0.0") is stops


# ----------------------------------------------------------------------------- who may attest


def _edit_settings(release: Release, old: str, new: str, message: str) -> None:
    """A governance change to mops.yaml, committed by Dana (the risk officer, who governs)."""
    act(release.monkeypatch, DANA)
    settings = release.repo / "mops.yaml"
    text = settings.read_text()
    assert old in text
    settings.write_text(text.replace(old, new))
    commit(release.repo, message)


def _restate(release: Release, env: dict, key: str, **changes: object) -> dict:
    """``env``'s statement with ``predicate.mops`` changed, signed with ``key``."""
    stmt = statement(env)
    stmt["predicate"]["mops"].update(changes)
    payload = base64.b64encode(json.dumps(stmt).encode()).decode()
    return _resign(release, dict(env, payload=payload), key)


def _refused(release: Release, env: dict | Path, needle: str, *args: str) -> list[str]:
    path = env if isinstance(env, Path) else rewrite(release.tmp / "bad.json", env)
    data = release.gate("--sha256", release.sha256, "--attestation", str(path), *args, code=1)
    assert not data["ok"] and any(needle in p for p in data["problems"]), data["problems"]
    return data["problems"]


def test_the_developer_may_not_attest_even_with_a_listed_key(release: Release):
    """Bob registered the version and develops the model; his key is listed, he is even made a
    validator: attest refuses him, naming the setting and why, and writes nothing."""
    signers = release.repo / ".mops" / "allowed_signers"
    _edit_settings(release, "validator: [carol@acme.test]",
                   "validator: [carol@acme.test, bob@acme.test]", "bob a validator")
    signers.write_text(signers.read_text() + release.keys.line(BOB[1], "bob") + "\n")
    commit(release.repo, "bob's key")
    r, out = release.attest(BOB, "bob", code=1)
    assert "may not attest credit-pd@1.0.0" in r.stderr and "independent" in r.stderr
    assert "a developer of the model" in r.stderr and not out.exists()
    # Someone in no attesting role: refused with the roles that may.
    r, out = release.attest(MALLORY, "mallory", code=1)
    assert "attestations.signed_by" in r.stderr and "validator and risk-officer" in r.stderr
    assert not out.exists()


def test_a_developer_signed_envelope_is_refused(release: Release):
    """The forging twin: Bob, listed in allowed_signers with his own key, edits Carol's genuine
    statement to name himself and signs it; or keeps Carol's name and signs it himself."""
    signers = release.repo / ".mops" / "allowed_signers"
    act(release.monkeypatch, DANA)
    signers.write_text(signers.read_text() + release.keys.line(BOB[1], "bob") + "\n")
    commit(release.repo, "bob's key")
    _, out = release.attest()
    good = envelope(out)
    problems = _refused(release, _restate(release, good, "bob", attested_by=BOB[1]),
                        "bob@acme.test may not sign attestations")
    assert all("attestations.signed_by" in p for p in problems if "may not sign" in p)
    _refused(release, _resign(release, good, "bob"), "does not verify for carol@acme.test")
    # A statement that names no attester at all, signed by a listed key.
    stmt = statement(good)
    del stmt["predicate"]["mops"]["attested_by"]
    bare = _resign(release, dict(good, payload=base64.b64encode(json.dumps(stmt).encode())
                                 .decode()), "carol")
    _refused(release, bare, "names no attester")
    # The genuine one still passes.
    assert release.gate("--sha256", release.sha256, "--attestation", str(out), code=0)["ok"]


def test_the_attesting_roles_are_a_setting(release: Release):
    """attestations.signed_by names who may attest; Carol, a validator, no longer may once it
    names the risk officer alone, and her earlier attestation is refused at HEAD."""
    _, out = release.attest()
    _edit_settings(release, "signing: optional",
                   "signing: optional\nattestations:\n  signed_by: [risk-officer]\n",
                   "only the risk officer attests")
    problems = _refused(release, out, "carol@acme.test may not sign attestations")
    assert any("risk-officer" in p and "at HEAD" in p for p in problems), problems
    r, _ = release.attest(code=1)
    assert "risk-officer" in r.stderr
    release.attest(DANA, "dana")


def test_an_attester_who_lost_the_role_or_the_key_is_refused(release: Release):
    _, out = release.attest()
    _edit_settings(release, "validator: [carol@acme.test]", "validator: [erin@acme.test]",
                   "carol leaves the validation team")
    _refused(release, out, "carol@acme.test may not sign attestations")
    _edit_settings(release, "validator: [erin@acme.test]", "validator: [carol@acme.test]",
                   "carol is back")
    assert release.gate("--sha256", release.sha256, "--attestation", str(out), code=0)["ok"]
    # Her key removed from the committed allowed signers (e.g. it was compromised).
    act(release.monkeypatch, DANA)
    write_signers(release.repo, release.keys.line(DANA[1], "dana"))
    commit(release.repo, "remove carol's key")
    _refused(release, out, "does not list")


def test_an_attestation_too_old_or_dated_ahead_is_refused(release: Release):
    import datetime as dt

    _, out = release.attest()
    made = dt.datetime.fromisoformat(statement(envelope(out))["predicate"]["timeVerified"]
                                     .replace("Z", "+00:00"))

    def at(days: float) -> None:
        release.monkeypatch.setenv("MOPS_NOW", (made + dt.timedelta(days=days))
                                   .strftime("%Y-%m-%dT%H:%M:%SZ"))

    at(89)
    assert release.gate("--sha256", release.sha256, "--attestation", str(out), code=0)["ok"]
    at(91)  # the default: 90 days
    _refused(release, out, "is 91 days old")
    assert release.gate("--sha256", release.sha256, "--attestation", str(out),
                        "--max-age-days", "120", code=0)["ok"]
    at(11)
    _refused(release, out, "trusted for 10 days", "--max-age-days", "10")
    release.monkeypatch.delenv("MOPS_NOW")
    _edit_settings(release, "signing: optional",
                   "signing: optional\nattestations: {max_age_days: 5}\n", "attest weekly")
    at(6)
    _refused(release, out, "is 6 days old")
    at(-3)  # the gate's clock is three days behind the attester's
    _refused(release, out, "in the future")
    r = release.mops("verify-artifact", "--sha256", release.sha256, "--max-age-days", "3", code=2)
    assert "--attestation" in r.stderr
    release.mops("verify-artifact", "--sha256", release.sha256, "--attestation", str(out),
                 "--max-age-days", "0", code=2)


def test_a_version_that_left_the_stage_since_is_refused(release: Release):
    _, out = release.attest()
    act(release.monkeypatch, BOB)
    release.mops("retire", REF, "--reason", "replaced")
    problems = _refused(release, out, "has left production since it was attested")
    assert any("it is retired (moved by bob@acme.test on " in p for p in problems), problems


def test_an_attestation_from_another_history_or_for_another_version_is_refused(release: Release):
    _, out = release.attest()
    good = envelope(out)
    _refused(release, _restate(release, good, "carol", commit="ab" * 20),
             "is not in the history of HEAD")
    _refused(release, _restate(release, good, "carol", commit="--all"), "is not a commit id")
    _refused(release, _restate(release, good, "carol", version="9.9.9"),
             "has no version credit-pd@9.9.9")
    _refused(release, _restate(release, good, "carol", model="../../etc"),
             "has no version ../../etc@1.0.0")
    # Another version of the model, registered with another artifact: the statement claims
    # it, with this artifact's digest as its subject.
    act(release.monkeypatch, BOB)
    other = release.tmp / "other.bin"
    other.write_bytes(b"other weights")
    release.mops("register", "credit-pd", "--version", "2.0.0", "--artifact", str(other))
    _refused(release, _restate(release, good, "carol", version="2.0.0"),
             f"credit-pd@2.0.0 has artifact sha256 {hashlib.sha256(b'other weights').hexdigest()}")


@pytest.mark.parametrize("extra, line, needle", [
    ("attestations:\n  max_age_days: 0\n", 7, "'attestations.max_age_days' must be a whole number"),
    ("attestations:\n  max_age_days: true\n", 7, "'attestations.max_age_days'"),
    ("attestations:\n  signed_by: [Not A Role]\n", 7, "'attestations.signed_by'"),
    ("attestations:\n  signed_by: {validator: 1}\n", 7, "must be a list of role names"),
    ("attestations:\n  by: [validator]\n", 7, "'attestations.by' is not a setting"),
    ("attestations: [validator]\n", 6, "'attestations' must be a mapping"),
])
def test_the_attestation_settings_are_checked(extra: str, line: int, needle: str):
    from mops.errors import RecordError
    from mops.inventory.records import load_settings

    base = "inventory: T\nroles:\n  validator: [carol@acme.test]\n  risk-officer: []\nsigning: optional\n"
    with pytest.raises(RecordError) as caught:
        load_settings("mops.yaml", (base + extra).encode())
    assert caught.value.line == line and needle in caught.value.message, caught.value.message
    settings = load_settings("mops.yaml", (base + "attestations: {signed_by: release, "
                                           "max_age_days: 7}\n").encode())
    assert (settings.attesters, settings.attestation_max_age_days) == (("release",), 7)
    default = load_settings("mops.yaml", base.encode())
    assert default.attesters == ("validator", "risk-officer")
    assert default.attestation_max_age_days == 90


def test_a_statement_naming_a_commit_where_the_version_was_elsewhere_is_refused(release: Release):
    """Carol signs by hand a statement naming the commit before the promotion to production:
    the version was in validation there, whatever the statement says."""
    _, out = release.attest()
    before = git(release.repo, "rev-parse", "HEAD~1").strip()
    _refused(release, _restate(release, envelope(out), "carol", commit=before),
             "was in validation, not in production")
    first = git(release.repo, "rev-list", "--max-parents=0", "HEAD").strip()
    _refused(release, _restate(release, envelope(out), "carol", commit=first),
             "credit-pd@1.0.0 was not registered")


def test_a_promotion_the_gate_would_have_refused_stops_attest_and_the_gate(release: Release):
    """Bob promotes 2.0.0 to production with a patched mops whose gate lets anything through (a
    well-formed promotion commit), and the sign-offs come afterwards: check passes at HEAD, but
    the promotion replay of `mops verify` (which attest and verify-artifact run, as verify
    does) names it, and neither attests nor deploys it."""
    from mops.inventory.actions.governance import promote
    from mops.inventory.names import parse_ref

    act(release.monkeypatch, BOB)
    other = release.tmp / "v2.bin"
    other.write_bytes(b"weights v2")
    release.mops("register", "credit-pd", "--version", "2.0.0", "--artifact", str(other))
    evidence(release.mops, release.tmp, "credit-pd@2.0.0", "validation-report")
    promote(release.repo, parse_ref("credit-pd@2.0.0"), to="production",
            gate=lambda *_: ([], []))
    act(release.monkeypatch, CAROL)
    release.mops("approve", "credit-pd@2.0.0", "--role", "validator")
    act(release.monkeypatch, DANA)
    release.mops("approve", "credit-pd@2.0.0", "--role", "risk-officer")
    release.mops("check", "credit-pd@2.0.0")  # passes: it reads no history
    r, out = release.attest(ref="credit-pd@2.0.0", code=1)
    assert "verify: models/credit-pd/versions/2.0.0/version.yaml" in r.stderr, r.stderr
    assert not out.exists()
    sha = hashlib.sha256(b"weights v2").hexdigest()
    data = release.gate("--sha256", sha, code=1)
    assert any(p.startswith("verify: models/credit-pd/versions/2.0.0/version.yaml")
               for p in data["problems"]), data["problems"]
