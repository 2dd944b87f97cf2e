"""git's verdict on commit signatures; nothing here checks a signature by hand."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mops.git.run import run


@dataclass(frozen=True)
class Signature:
    """git's verdict on a commit's signature (``%G?``) and the principal it names (``%GS``)."""

    status: str
    signer: str = ""
    fingerprint: str = ""

    @property
    def signed(self) -> bool:
        return self.status != "N"


def verify_commits(top: Path, commits: list[str], signers: bytes) -> dict[str, Signature]:
    """git's ``%G?``/``%GS``/``%GF`` for ``commits``, with ``signers`` as the allowed signers.

    ``ssh-keygen`` is named explicitly so that a user's ``gpg.ssh.program`` (a signing
    helper that may not verify) cannot change the verdict.
    """
    with tempfile.NamedTemporaryFile(prefix="mops-allowed-signers-") as fh:
        fh.write(signers)
        fh.flush()
        out = run(top, "-c", f"gpg.ssh.allowedSignersFile={fh.name}",
                  "-c", "gpg.ssh.program=ssh-keygen", "-c", "log.showSignature=false",
                  "log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%G?%x1f%GS%x1f%GF%x1e",
                  input="".join(f"{c}\n" for c in commits).encode())
    result = {}
    for chunk in out.decode("utf-8", "replace").split("\x1e"):
        chunk = chunk.strip("\n")
        if not chunk:
            continue
        sha, status, signer, fingerprint = (chunk.split("\x1f") + [""] * 4)[:4]
        result[sha] = Signature(status or "N", signer.strip(), fingerprint.strip())
    return result
