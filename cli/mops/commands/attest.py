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
    version's artifact passes check and verify at HEAD, as git's user, who must hold an
    attestations.signed_by role and be independent of the model; refuses (exit 1) otherwise.
    """
    import json

    from mops import api
    from mops.commands import cwd
    from mops.inventory.names import parse_ref
    from mops.output import echo, info, warn

    with api.opened(cwd()) as inv:
        done = api.attest(inv, parse_ref(ref), key=key)
    text = json.dumps(done.envelope, separators=(",", ":")) + "\n"
    subject = f"{done.gate.ref} (sha256 {done.statement['subject'][0]['digest']['sha256']})"
    signer = f"{done.attester} with key {done.keyid}"
    if not done.listed:
        warn(f"{done.keyid} is not listed for {done.attester} in the committed "
             f".mops/allowed_signers: `mops verify-artifact --attestation` will refuse this "
             f"attestation until a governor lists that key for you")
    said = (f"Attested {subject}, stage {done.gate.stage}, commit {done.gate.commit[:12]}; "
            f"signed by {signer}")
    if out is None:
        typer.echo(text, nl=False)
        info(said)
    else:
        try:
            out.write_text(text)
        except OSError as exc:
            from mops.errors import UsageError

            raise UsageError(f"--out {out}: {exc.strerror}") from None
        echo(f"{said}: {out}")


def verify_artifact(
    artifact: Annotated[Path | None, typer.Argument(
        metavar="FILE", help="The artifact: a file, or a folder (its manifest digest).")] = None,
    sha256: Annotated[str | None, typer.Option(
        "--sha256", metavar="HEX", help="The artifact's sha256, instead of FILE.")] = None,
    stage: Annotated[str | None, typer.Option(
        "--stage", metavar="S", help="The stage it must be in (default: production).")] = None,
    attestation: Annotated[Path | None, typer.Option(
        "--attestation", metavar="FILE",
        help="Trust this attestation (`mops attest`) instead of re-checking: signed by an "
             "attestations.signed_by member with a key the committed .mops/allowed_signers "
             "lists, for this artifact and stage, not too old, the version still in that "
             "stage at HEAD.")
    ] = None,
    max_age_days: Annotated[int | None, typer.Option(
        "--max-age-days", metavar="N", min=1,
        help="With --attestation: refuse one older than N days (default: mops.yaml's "
             "attestations.max_age_days, else 90).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document: {\"ok\", \"sha256\", \"stage\", \"via\", "
                       "\"model\", \"version\", \"commit\", \"signer\", \"keyid\", "
                       "\"time_verified\", \"problems\"}.")] = False,
) -> None:
    """The deployment gate: exit 0 only when the artifact is a version in the stage that passes
    check and verify at HEAD (or that a trusted attestation vouches for); else exit 1, naming
    what is missing.
    """
    from mops import api
    from mops.commands import cwd
    from mops.errors import PolicyError, UsageError
    from mops.output import echo, emit_json

    digest = api.artifact_sha256(artifact, sha256)
    data = None
    if attestation is not None:
        try:
            data = attestation.read_bytes()
        except OSError as exc:
            raise UsageError(f"--attestation {attestation}: {exc.strerror}") from None
    elif max_age_days is not None:
        raise UsageError("--max-age-days applies to --attestation FILE: give both, or neither")
    with api.opened(cwd()) as inv:
        verdict = api.verify_artifact(inv, digest, stage=stage, attestation=data,
                                      max_age_days=max_age_days)
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
