"""The allowed signers: who may sign, read from ``.mops/allowed_signers``.

The file is OpenSSH's allowed-signers format (``principals [options] keytype key``).
It is read here well enough to say who is listed (to warn *before* signing) and to
say what git's verdict on a signature proves about a person; verification itself
is git's (:mod:`mops.git.signatures`). The signers that count for a commit are the
file *as it stood in the commit's parent*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mops import git
from mops.git import Signature
from mops.inventory.layout import ALLOWED_SIGNERS
from mops.inventory.store import Inventory

#: A public key in a line: its type and base64 body.
KEY_RE = re.compile(r"(?:^|\s)((?:ssh|ecdsa-sha2|sk-ssh|sk-ecdsa-sha2)-[\w@.+-]+)\s+"
                    r"([A-Za-z0-9+/]+={0,3})(?:\s|$)")


def principal_matches(patterns: str, email: str) -> bool:
    """Whether ``email`` matches an allowed-signers principals field (``a@x,*@y,!z@y``).

    OpenSSH's pattern-list rules: ``*`` and ``?`` wildcards, ``!`` negates, and a
    matching negation wins. Compared case-insensitively (mops lower-cases e-mails).
    """
    email = email.strip().lower()
    matched = False
    for pattern in patterns.strip().strip('"').lower().split(","):
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip()
        if not pattern:
            continue
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, email):
            if negate:
                return False
            matched = True
    return matched


@dataclass(frozen=True)
class AllowedKey:
    principals: str
    key_type: str
    key: str
    cert_authority: bool


def allowed_keys(text: str) -> list[AllowedKey]:
    """The entries of an allowed-signers file, read well enough to say who is listed.

    Used only to warn *before* signing; verification itself is git's.
    """
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = KEY_RE.search(line)
        if not match:
            continue
        principals = line.split(None, 1)[0]
        options = line[len(principals):match.start(1)]
        out.append(AllowedKey(principals, match[1], match[2], "cert-authority" in options))
    return out


def is_listed(text: str, email: str, key: tuple[str, str] | None) -> bool:
    """Whether ``key`` (type, base64) is listed for ``email`` (any key when ``key`` is None)."""
    for entry in allowed_keys(text):
        if not principal_matches(entry.principals, email):
            continue
        if key is None or entry.cert_authority or (entry.key_type, entry.key) == key:
            return True
    return False


def committed_signers(inv: Inventory, rev: str = "HEAD") -> str:
    """``.mops/allowed_signers`` as committed at ``rev`` ("" when there is none)."""
    spec = f"{rev}:{inv.git_path(ALLOWED_SIGNERS)}"
    return git.read_blob(inv.top, spec).decode("utf-8", "replace")


def signature_problem(sig: Signature, email: str | None) -> str | None:
    """Why git's verdict ``sig`` does not prove ``email`` (any listed signer when None)."""
    if sig.status == "G" and sig.signer:
        if email is None or principal_matches(sig.signer, email):
            return None
        return (f"is signed with the key of {sig.signer} (in .mops/allowed_signers), "
                f"not of {email}")
    if sig.status == "N":
        return "is not signed"
    if sig.status in ("G", "U"):
        who = f"for {email}" if email else "for anyone"
        return (f"is signed with a key ({sig.fingerprint or 'unknown'}) that "
                f".mops/allowed_signers, as it stood before that commit, does not list {who}")
    if sig.status == "B":
        return ("has a signature git rejects (the commit was altered after it was signed, "
                "or the key is in gpg.ssh.revocationFile)")
    if sig.status in ("X", "Y"):
        return "has an expired signature or key"
    if sig.status == "R":
        return "is signed with a revoked key"
    return "has a signature that cannot be checked here (not an SSH signature?)"
