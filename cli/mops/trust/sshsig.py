"""SSH signatures of arbitrary bytes (``ssh-keygen -Y``), for attestations.

Commits are signed and verified by git (:mod:`mops.git.signatures`); an attestation
is not a commit, so its bytes are signed with ``ssh-keygen -Y sign`` and checked with
``ssh-keygen -Y find-principals`` / ``-Y verify`` against an allowed-signers file, in
the namespace ``mops``. This module is the only one that starts ``ssh-keygen``.

A signature travels as the binary SSHSIG blob (the base64 inside OpenSSH's
``-----BEGIN SSH SIGNATURE-----`` armour); :func:`armour` puts the armour back.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mops.errors import UsageError

NAMESPACE = "mops"
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"


@dataclass(frozen=True)
class Checked:
    """The verdict on one signature: the principal it proves, or why it proves nobody."""

    principal: str | None
    problem: str | None = None


def _run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["ssh-keygen", *args], input=stdin, capture_output=True,
                              timeout=120)
    except FileNotFoundError:
        raise UsageError("ssh-keygen is not installed or not on PATH; attestations are signed "
                         "and checked with it (install OpenSSH's client)") from None


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = " ".join(proc.stderr.decode("utf-8", "replace").split())
    return text or f"exit status {proc.returncode}"


def armour(blob: bytes) -> bytes:
    """The SSHSIG ``blob`` in OpenSSH's armour (what ``ssh-keygen -Y verify`` reads)."""
    body = base64.b64encode(blob).decode()
    lines = [body[i:i + 70] for i in range(0, len(body), 70)]
    return "\n".join([_BEGIN, *lines, _END, ""]).encode()


def unarmour(text: bytes) -> bytes:
    """The binary SSHSIG blob of an armoured signature."""
    lines = text.decode("ascii", "replace").strip().splitlines()
    if not lines or lines[0].strip() != _BEGIN or lines[-1].strip() != _END:
        raise ValueError("not an armoured SSH signature")
    return base64.b64decode("".join(line.strip() for line in lines[1:-1]), validate=True)


def _string(blob: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(blob):
        raise ValueError("truncated SSH signature")
    size = int.from_bytes(blob[at:at + 4], "big")
    end = at + 4 + size
    if end > len(blob):
        raise ValueError("truncated SSH signature")
    return blob[at + 4:end], end


def key_fingerprint(blob: bytes) -> str:
    """``SHA256:...`` of the public key inside an SSHSIG blob (as ``ssh-keygen -l`` shows it)."""
    if not blob.startswith(b"SSHSIG") or len(blob) < 10:
        raise ValueError("not an SSH signature (no SSHSIG magic)")
    key, _ = _string(blob, 10)  # after the magic and a uint32 version
    return "SHA256:" + base64.b64encode(hashlib.sha256(key).digest()).decode().rstrip("=")


def signing_key(value: str, top: Path) -> str:
    """A key as git's ``user.signingkey`` names it (a path, or ``key::`` and a public key)
    made into what ``ssh-keygen -f`` takes; relative paths are from the repository's top."""
    value = value.strip()
    if value.startswith("key::") or value.startswith(("ssh-", "ecdsa-", "sk-")):
        return value  # a literal public key: its private half must be in ssh-agent
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = top / path
    if not path.is_file():
        raise UsageError(f"signing key {value}: no such file")
    return str(path)


def sign(message: bytes, key: str, namespace: str = NAMESPACE) -> bytes:
    """Sign ``message`` with ``key`` (a private key file, a ``.pub`` whose private half is beside
    it or in ssh-agent, or a literal public key in ssh-agent); the SSHSIG blob."""
    with tempfile.TemporaryDirectory(prefix="mops-sign-") as tmp:
        data = Path(tmp) / "message"
        data.write_bytes(message)
        key_file = key
        if key.startswith("key::") or key.startswith(("ssh-", "ecdsa-", "sk-")):
            key_file = str(Path(tmp) / "key.pub")
            Path(key_file).write_text(key.removeprefix("key::").strip() + "\n")
        proc = _run(["-Y", "sign", "-q", "-f", key_file, "-n", namespace, str(data)])
        sig = Path(f"{data}.sig")
        if proc.returncode != 0 or not sig.is_file():
            raise UsageError(f"ssh-keygen could not sign with {key}: {_said(proc)}")
        return unarmour(sig.read_bytes())


def check(message: bytes, blob: bytes, allowed_signers: str,
          namespace: str = NAMESPACE, *, identity: str | None = None) -> Checked:
    """Whether ``blob`` is a good signature of ``message`` by a key ``allowed_signers`` lists:
    the principal it names, found by ``-Y find-principals`` and proven by ``-Y verify``.

    With ``identity`` (an e-mail the signed message claims), only that identity counts: the
    key must be listed for it (a line whose principals match it, wildcards included), and
    the principal returned is ``identity``."""
    with tempfile.TemporaryDirectory(prefix="mops-verify-") as tmp:
        signers = Path(tmp) / "allowed_signers"
        signers.write_text(allowed_signers)
        sig = Path(tmp) / "message.sig"
        sig.write_bytes(armour(blob))
        found = _run(["-Y", "find-principals", "-s", str(sig), "-f", str(signers)])
        principals = [p.strip() for line in found.stdout.decode("utf-8", "replace").splitlines()
                      for p in line.split(",") if p.strip()]
        if found.returncode != 0 or not principals:
            return Checked(None, "is signed with a key that .mops/allowed_signers does not list")
        if identity is not None:
            proc = _run(["-Y", "verify", "-f", str(signers), "-I", identity, "-n", namespace,
                         "-s", str(sig)], stdin=message)
            if proc.returncode == 0:
                return Checked(identity)
            return Checked(None, f"does not verify for {identity}, who the statement says signed "
                                 f"it: .mops/allowed_signers lists its key for "
                                 f"{', '.join(principals)} ({_said(proc)})")
        said = ""
        for principal in principals:
            proc = _run(["-Y", "verify", "-f", str(signers), "-I", principal, "-n", namespace,
                         "-s", str(sig)], stdin=message)
            if proc.returncode == 0:
                return Checked(principal)
            said = _said(proc)
        return Checked(None, f"has a signature that does not verify for "
                             f"{', '.join(principals)} in namespace {namespace!r} ({said})")
