"""``mops import mlflow``: register a version from an MLflow model registry, in one commit."""

from __future__ import annotations

from typing import Annotated

import typer

import_app = typer.Typer(help="Register a model version from another registry (MLflow).",
                         no_args_is_help=True)


@import_app.command("mlflow")
def import_mlflow(
    model_uri: Annotated[str, typer.Argument(
        metavar="MODEL_URI",
        help="models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH.")],
    tracking_uri: Annotated[str | None, typer.Option(
        "--tracking-uri", metavar="URI",
        help="The MLflow tracking server (default: MLFLOW_TRACKING_URI).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", metavar="ID",
        help="The mops model id (default: the registered model's name; required for runs:/).")
    ] = None,
    version: Annotated[str | None, typer.Option(
        "--version", "-v", metavar="V",
        help="The mops version (default: the MLflow version number; for runs:/, the run id).")
    ] = None,
    owner: Annotated[str | None, typer.Option(
        "--owner", metavar="EMAIL",
        help="Owner for the card of a new model (default: the registered model's tag 'owner').")
    ] = None,
    tier: Annotated[int | None, typer.Option(
        "--tier", metavar="N",
        help="Materiality tier for the card of a new model (default: its tag 'tier').")] = None,
) -> None:
    """Register an MLflow model version: the digest of the artifact MLflow stores, the run's
    metrics, and its params, tags, data inputs and metric history as evidence, in one commit.
    """
    from mops import api
    from mops.commands import committed, cwd, notify
    from mops.output import echo

    imported = api.import_mlflow(cwd(), model_uri, tracking_uri=tracking_uri, model=model,
                                 version=version, owner=owner, tier=tier, notify=notify)
    item, done = imported.item, imported.done
    what = "new model" if done.new_model else "new version"
    echo(f"Imported {item.model}@{item.version} from {item.origin} ({what}, stage "
         f"{done.record.stage}, artifact sha256 {item.artifact.sha256}, evidence "
         f"{done.evidence.id})")
    echo(committed(done.commit))


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
