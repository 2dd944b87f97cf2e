"""``mops import mlflow``: what an MLflow registry and tracking server know about a model.

:func:`fetch` resolves a model URI (``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or
``runs:/RUN_ID/PATH``) with MLflow's own client, hashes the artifact MLflow stores
(through MLflow's artifact repository, one file at a time, in chunks: nothing is
kept), and gathers the run's metrics, params, tags, data inputs and metric history.
It returns an :class:`~mops.inventory.actions.importing.ImportedVersion`; the import
action then registers it in one commit. Nothing here writes to the inventory.

The digest of a folder artifact (an MLflow model is a folder) is defined in
:mod:`mops.inventory.artifacts`; the folder's manifest is kept as an evidence file.

MLflow is an optional extra (``pip install 'mops[mlflow]'``), imported only here.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops.errors import NotFoundError, UsageError
from mops.inventory import records
from mops.inventory.actions.importing import ImportedVersion, NewEvidence
from mops.inventory.artifacts import LEFT_OUT, MANIFEST_NAME, ArtifactDigest, folder_digest
from mops.inventory.digest import sha256_file

EXTRA = "pip install 'mops[mlflow]'"
ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
EVIDENCE_KIND = "performance-metrics"
RUN_FILE = "mlflow-run.json"
#: Tags of the registered model that fill in a generated card's owner and tier.
OWNER_TAG = "owner"
TIER_TAG = "tier"

_VERSION_URI = re.compile(r"models:/(?P<name>[^/@]+)/(?P<version>[^/]+)")
_ALIAS_URI = re.compile(r"models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)")
_RUN_URI = re.compile(r"runs:/(?P<run>[0-9A-Za-z_-]+)/(?P<path>.+)")


@dataclass(frozen=True)
class ModelUri:
    """A parsed model URI: a registered version, an alias, or a path in a run."""

    text: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None
    path: str | None = None


def parse_model_uri(text: str) -> ModelUri:
    """``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/RUN_ID/PATH``."""
    text = text.strip()
    if m := _ALIAS_URI.fullmatch(text):
        return ModelUri(text, name=m["name"], alias=m["alias"])
    if m := _VERSION_URI.fullmatch(text):
        if m["version"].lower() == "latest" or not m["version"].isdigit():
            raise UsageError(f"{text}: name the version by its number (models:/NAME/3) or an "
                             f"alias (models:/NAME@champion)")
        return ModelUri(text, name=m["name"], version=m["version"])
    if m := _RUN_URI.fullmatch(text):
        path = m["path"].strip("/")
        if not path or ".." in path.split("/"):
            raise UsageError(f"{text}: give the model's path in the run, e.g. runs:/RUN_ID/model")
        return ModelUri(text, run_id=m["run"], path=path)
    raise UsageError(f"{text!r} is not an MLflow model URI: give models:/NAME/VERSION, "
                     f"models:/NAME@ALIAS or runs:/RUN_ID/PATH")


def tracking_uri(option: str | None) -> str:
    """``--tracking-uri``, else ``MLFLOW_TRACKING_URI``; never MLflow's default (a database
    file in the current folder, which would land in the inventory)."""
    uri = option or os.environ.get(ENV_TRACKING_URI, "")
    if not uri.strip():
        raise UsageError(f"which MLflow? give --tracking-uri URI or set {ENV_TRACKING_URI}")
    return uri.strip()


def redacted(uri: str) -> str:
    """``uri`` without a password or token in it (it is written into the inventory)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None and not parts.username:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


#: What mops asks of MLflow's client, which reads these only from the environment: no usage
#: telemetry (mops works offline), and a failing request retried for a minute, not for
#: many. The user's own settings win.
CLIENT_SETTINGS = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
                   "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}


@contextlib.contextmanager
def _client_environment() -> Iterator[None]:
    """:data:`CLIENT_SETTINGS` for the length of one import, then the environment exactly as it
    was: what mops set, and anything MLflow set meanwhile, is undone. The tracking URI is
    never put there; it is given to MLflow's client objects."""
    before = dict(os.environ)
    for key, value in CLIENT_SETTINGS.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k not in before]:
            del os.environ[key]
        for key, value in before.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


def load_mlflow() -> Any:
    """The ``mlflow`` package, or exit 2 naming the extra to install. Import it inside
    :func:`_client_environment`: MLflow decides about telemetry when it is first imported."""
    try:
        mlflow = importlib.import_module("mlflow")
        importlib.import_module("mlflow.tracking")
        importlib.import_module("mlflow.exceptions")
        importlib.import_module("mlflow.store.artifact.artifact_repository_registry")
    except ImportError as exc:
        raise UsageError(f"`mops import mlflow` needs MLflow, an optional extra: {EXTRA} "
                         f"({exc})") from None
    return mlflow


def _finite(value: Any) -> Any:
    """A metric value for JSON: NaN and infinities as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class _Client:
    """MLflow's client, with its exceptions turned into mops errors naming the URI."""

    def __init__(self, mlflow: Any, uri: str) -> None:
        self.mlflow = mlflow
        self.uri = uri
        self.client = mlflow.tracking.MlflowClient(tracking_uri=uri)
        self.registry = importlib.import_module(
            "mlflow.store.artifact.artifact_repository_registry")

    def call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        exception = self.mlflow.exceptions.MlflowException
        try:
            return func(*args, **kwargs)
        except exception as exc:
            code = str(getattr(exc, "error_code", ""))
            text = " ".join(str(getattr(exc, "message", exc)).split())
            if code == "RESOURCE_DOES_NOT_EXIST":
                raise NotFoundError(f"MLflow at {redacted(self.uri)}: {what}: {text}") from None
            raise UsageError(f"MLflow at {redacted(self.uri)}: {what}: {text}") from None
        except OSError as exc:  # requests' connection errors are OSErrors
            raise UsageError(f"cannot reach MLflow at {redacted(self.uri)} ({what}): "
                             f"{' '.join(str(exc).split())[:300]}") from None

    def repository(self, artifact_uri: str) -> Any:
        return self.call(f"artifacts at {artifact_uri}", self.registry.get_artifact_repository,
                         artifact_uri, tracking_uri=self.uri)


# ----------------------------------------------------------------------------- hashing


def _walk(client: _Client, repo: Any, path: str | None = None) -> Iterator[Any]:
    for info in client.call("listing artifacts", repo.list_artifacts, path):
        if info.is_dir:
            yield from _walk(client, repo, info.path)
        else:
            yield info


def _download_hash(client: _Client, repo: Any, path: str, scratch: Path) -> tuple[str, int]:
    """Download one file into ``scratch``, hash it, delete it."""
    local = Path(client.call(f"downloading {path}", repo.download_artifacts, path,
                             dst_path=str(scratch)))
    try:
        return sha256_file(local)
    finally:
        local.unlink(missing_ok=True)


def hash_artifact(client: _Client, artifact_uri: str,
                  notify: Callable[[str], None] | None = None) -> ArtifactDigest:
    """The digest of what MLflow stores at ``artifact_uri``: a folder's manifest digest, or a
    single file's sha256 (see :mod:`mops.inventory.artifacts`)."""
    repo = client.repository(artifact_uri)
    with tempfile.TemporaryDirectory(prefix="mops-mlflow-") as tmp:
        scratch = Path(tmp)
        files = list(_walk(client, repo))
        if files:
            if notify is not None:
                notify(f"hashing {len(files)} file(s) of {artifact_uri}")
            entries = []
            total = 0
            for info in files:
                if info.path in LEFT_OUT:
                    continue
                sha, size = _download_hash(client, repo, info.path, scratch)
                entries.append((info.path, sha))
                total += size
            return folder_digest(entries, total)
        # Not a folder: a single file, listed by its parent.
        parent, _, name = artifact_uri.rstrip("/").rpartition("/")
        if parent:
            parent_repo = client.repository(parent)
            listed = client.call("listing artifacts", parent_repo.list_artifacts, None)
            if any(not f.is_dir and f.path.rsplit("/", 1)[-1] == name for f in listed):
                sha, size = _download_hash(client, parent_repo, name, scratch)
                return ArtifactDigest(sha, size)
    raise NotFoundError(f"MLflow stores no artifact at {artifact_uri}: nothing to hash")


# ----------------------------------------------------------------------------- fetching


def _run_artifact_uri(client: _Client, run: Any, path: str) -> str:
    """Where a run's ``path`` is stored: a model logged by the run under that name (MLflow 3
    keeps logged models apart from the run's artifacts), else the run's own artifacts."""
    head, _, rest = path.partition("/")
    outputs = getattr(run, "outputs", None)
    for output in getattr(outputs, "model_outputs", None) or []:
        model = client.call("reading a logged model", client.client.get_logged_model,
                            output.model_id)
        if model.name == head:
            return f"{model.artifact_location.rstrip('/')}/{rest}".rstrip("/")
    return f"{run.info.artifact_uri.rstrip('/')}/{path}"


def _datasets(run: Any) -> list[dict[str, Any]]:
    out = []
    inputs = getattr(run, "inputs", None)
    for item in getattr(inputs, "dataset_inputs", None) or []:
        ds = item.dataset
        tags = {t.key: t.value for t in item.tags or []}
        entry: dict[str, Any] = {"name": ds.name, "digest": ds.digest,
                                 "source_type": ds.source_type}
        if tags.get("mlflow.data.context"):
            entry["context"] = tags["mlflow.data.context"]
        with contextlib.suppress(ValueError, TypeError):
            source = json.loads(ds.source or "")
            for key in ("uri", "url", "path", "table_name"):
                if isinstance(source, dict) and isinstance(source.get(key), str):
                    entry["uri"] = source[key]
                    break
        out.append({"record": entry, "full": {**entry, "source": ds.source, "schema": ds.schema,
                                              "profile": ds.profile, "tags": tags}})
    return out


def _timestamp(ms: Any) -> str | None:
    if not isinstance(ms, int) or ms <= 0:
        return None
    import datetime as dt

    from mops import clock

    return clock.format_timestamp(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))


def fetch(start: Path, uri_text: str, *, tracking: str, model: str | None = None,
          version: str | None = None, notify: Callable[[str], None] | None = None
          ) -> ImportedVersion:
    """Everything mops records about the model at ``uri_text`` (see the module doc), for the
    inventory at ``start``: a version registered there already is refused before any
    download."""
    uri = parse_model_uri(uri_text)
    with _client_environment():
        mlflow = load_mlflow()
        client = _Client(mlflow, tracking)
        c = client.client
        registered = mv = None
        if uri.name is not None:
            if uri.alias is not None:
                mv = client.call(f"alias {uri.alias!r} of {uri.name!r}",
                                 c.get_model_version_by_alias, uri.name, uri.alias)
            else:
                mv = client.call(f"version {uri.version} of {uri.name!r}", c.get_model_version,
                                 uri.name, uri.version)
            registered = client.call(f"registered model {uri.name!r}", c.get_registered_model,
                                     uri.name)
            run_id = mv.run_id or None
            artifact_uri = client.call(f"where version {mv.version} is stored",
                                       c.get_model_version_download_uri, uri.name, mv.version)
            model = model or uri.name
            version = version or str(mv.version)
        else:
            if model is None:
                raise UsageError(f"{uri.text} is a run, not a registered model: name the model "
                                 f"with --model ID")
            run_id = uri.run_id
            artifact_uri = None
        run = client.call(f"run {run_id}", c.get_run, run_id) if run_id else None
        if artifact_uri is None:
            assert run is not None and uri.path is not None
            artifact_uri = _run_artifact_uri(client, run, uri.path)
            version = version or run.info.run_id
        assert model is not None and version is not None

        from mops.inventory.names import validate_model, validate_version

        try:
            validate_model(model)
        except UsageError as exc:
            raise UsageError(f"{exc} (the MLflow name): give the mops model id with --model ID"
                             ) from None
        try:
            validate_version(version)
        except UsageError as exc:
            raise UsageError(f"{exc}: give the mops version with --version V") from None
        # Refuse before downloading anything when the version is already registered.
        from mops.inventory.actions.importing import existing_version_problem

        problem = existing_version_problem(start, model, version)
        if problem:
            raise UsageError(problem)

        digest = hash_artifact(client, artifact_uri, notify)
        metrics: dict[str, Any] = {}
        history: dict[str, list[dict[str, Any]]] = {}
        params: dict[str, Any] = {}
        tags: dict[str, Any] = {}
        datasets: list[dict[str, Any]] = []
        if run is not None:
            metrics = dict(sorted(run.data.metrics.items()))
            params = dict(sorted(run.data.params.items()))
            tags = dict(sorted(run.data.tags.items()))
            datasets = _datasets(run)
            for key in metrics:
                points = client.call(f"history of metric {key!r}", c.get_metric_history,
                                     run.info.run_id, key)
                history[key] = [{"step": p.step, "timestamp": p.timestamp,
                                 "value": _finite(p.value)} for p in points]

    run_name = tags.get("mlflow.runName") if run is not None else None
    document = {
        "mlflow": {"tracking_uri": redacted(tracking), "model_uri": uri.text,
                   "artifact_uri": artifact_uri, "client_version": mlflow.__version__},
        "registered_model": None if registered is None else {
            "name": registered.name, "description": registered.description or None,
            "tags": dict(sorted((registered.tags or {}).items()))},
        "model_version": None if mv is None else {
            "version": str(mv.version), "description": mv.description or None,
            "tags": dict(sorted((mv.tags or {}).items())), "aliases": sorted(mv.aliases or []),
            "source": mv.source, "status": mv.status, "run_id": mv.run_id or None,
            "model_id": getattr(mv, "model_id", None),
            "created": _timestamp(mv.creation_timestamp)},
        "run": None if run is None else {
            "run_id": run.info.run_id, "run_name": run_name,
            "experiment_id": run.info.experiment_id, "status": run.info.status,
            "user_id": run.info.user_id or None, "start": _timestamp(run.info.start_time),
            "end": _timestamp(run.info.end_time), "artifact_uri": run.info.artifact_uri},
        "params": params,
        "tags": tags,
        "metrics": {k: _finite(v) for k, v in metrics.items()},
        "metric_history": history,
        "datasets": [d["full"] for d in datasets],
        "artifact": {"sha256": digest.sha256, "size": digest.size, "files": digest.files,
                     "kind": "file" if digest.manifest is None else "folder",
                     "manifest": None if digest.manifest is None else MANIFEST_NAME},
    }
    files = {RUN_FILE: (json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False,
                                   allow_nan=False) + "\n").encode()}
    if digest.manifest is not None:
        files[MANIFEST_NAME] = digest.manifest
    finite = {k: v for k, v in metrics.items() if not isinstance(v, float) or math.isfinite(v)}
    what = f"run {run_name or run_id}" if run is not None else f"version {version}"
    registered_tags = (registered.tags or {}) if registered is not None else {}
    return ImportedVersion(
        model=model, version=version,
        artifact=records.Artifact(sha256=digest.sha256, size=digest.size, uri=uri.text),
        metrics=finite,
        data={"datasets": [d["record"] for d in datasets]} if datasets else None,
        evidence=NewEvidence(kind=EVIDENCE_KIND,
                             title=f"MLflow {what}: params, metrics, data inputs and metric "
                                   f"history",
                             files=files, metrics=finite),
        source="mlflow", origin=uri.text,
        name=registered.name if registered is not None else None,
        description=(registered.description if registered is not None else None)
        or tags.get("mlflow.note.content"),
        owner=_tag_text(registered_tags.get(OWNER_TAG)),
        tier=_tag_tier(registered_tags.get(TIER_TAG)))


def _tag_text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _tag_tier(value: Any) -> int | None:
    text = _tag_text(value)
    return int(text) if text is not None and text.isdigit() else None
