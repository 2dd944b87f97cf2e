"""``mops attest`` and ``mops verify-artifact``: what passed, signed; and the deployment gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def attest(
    ref: Annotated[str, typer.Argument(
        metavar="MODEL@V", help="The version to attest (MODEL alone: its latest version).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="FILE",
        help="Write the DSSE envelope to FILE (default: stdout).")] = None,
    key: Annotated[str | None, typer.Option(
        "--key", metavar="FILE",
        help="The SSH key to sign with (default: git's user.signingkey).")] = None,
) -> None:
    """Sign an in-toto attestation (a SLSA verification summary in a DSSE envelope) that a
    version's artifact passes check and verify at HEAD; refuses (exit 1) when it does not.
    """
    import json

    from mops.commands import cwd
    from mops.deployment import attest as do_attest
    from mops.inventory.names import parse_ref
    from mops.output import echo, info, warn

    done = do_attest(cwd(), parse_ref(ref), key=key)
    text = json.dumps(done.envelope, separators=(",", ":")) + "\n"
    subject = f"{done.gate.ref} (sha256 {done.statement['subject'][0]['digest']['sha256']})"
    if done.listed_for:
        signer = f"key {done.keyid} ({', '.join(done.listed_for)})"
    else:
        signer = f"key {done.keyid}"
        warn(f"{done.keyid} is not in the committed .mops/allowed_signers: `mops verify-artifact "
             f"--attestation` will refuse this attestation until that key is listed there")
    if out is None:
        typer.echo(text, nl=False)
        info(f"Attested {subject}, stage {done.gate.stage}, commit {done.gate.commit[:12]}; "
             f"signed with {signer}")
    else:
        try:
            out.write_text(text)
        except OSError as exc:
            from mops.errors import UsageError

            raise UsageError(f"--out {out}: {exc.strerror}") from None
        echo(f"Attested {subject}, stage {done.gate.stage}, commit {done.gate.commit[:12]}; "
             f"signed with {signer}: {out}")


def verify_artifact(
    artifact: Annotated[Path | None, typer.Argument(
        metavar="FILE", help="The artifact: a file, or a folder (its manifest digest).")] = None,
    sha256: Annotated[str | None, typer.Option(
        "--sha256", metavar="HEX", help="The artifact's sha256, instead of FILE.")] = None,
    stage: Annotated[str | None, typer.Option(
        "--stage", metavar="S", help="The stage it must be in (default: production).")] = None,
    attestation: Annotated[Path | None, typer.Option(
        "--attestation", metavar="FILE",
        help="Trust this attestation (`mops attest`) instead of re-checking: its signature must "
             "verify against the committed .mops/allowed_signers and its subject must match.")
    ] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document: {\"ok\", \"sha256\", \"stage\", \"model\", "
                       "\"version\", \"commit\", \"signer\", \"problems\"}.")] = False,
) -> None:
    """The deployment gate: exit 0 only when the artifact is a version in the stage that passes
    check and verify at HEAD (or that a trusted attestation vouches for); else exit 1, naming
    what is missing.
    """
    from mops.commands import cwd
    from mops.deployment import artifact_sha256
    from mops.deployment import verify_artifact as run
    from mops.errors import PolicyError, UsageError
    from mops.output import echo, emit_json

    digest = artifact_sha256(artifact, sha256)
    data = None
    if attestation is not None:
        try:
            data = attestation.read_bytes()
        except OSError as exc:
            raise UsageError(f"--attestation {attestation}: {exc.strerror}") from None
    verdict = run(cwd(), digest, stage=stage, attestation=data)
    if as_json:
        emit_json(verdict.to_json())
        if not verdict.ok:
            raise typer.Exit(1)
        return
    if not verdict.ok:
        raise PolicyError(f"sha256 {digest} may not be deployed to {verdict.stage}",
                          details=verdict.problems)
    if verdict.via == "attestation":
        echo(f"ok: sha256 {digest} is {verdict.model}@{verdict.version}, attested for "
             f"{verdict.stage} by {verdict.signer} (key {verdict.keyid}) on "
             f"{verdict.time_verified}, at commit {(verdict.commit or '?')[:12]}")
    else:
        echo(f"ok: sha256 {digest} is {verdict.model}@{verdict.version} in {verdict.stage}, and "
             f"passes check and verify at commit {(verdict.commit or '')[:12]}")


def register(app: typer.Typer) -> None:
    app.command("attest")(attest)
    app.command("verify-artifact")(verify_artifact)
