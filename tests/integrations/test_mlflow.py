"""``mops import mlflow`` against a real MLflow tracking server on 127.0.0.1.

The server (SQLite backend, a local artifact store served by the server) is started
once for the module on a free port, with a bounded wait, and killed at teardown. A
tiny scikit-learn model is logged and registered through MLflow's own client; the
digest mops records is compared with the bytes MLflow serves, downloaded through
the client and hashed here independently (and by coreutils).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import Mops, git, missing_tool, snapshot

HAVE_MLFLOW = all(importlib.util.find_spec(m) is not None
                  for m in ("mlflow", "sklearn", "flask", "sqlalchemy", "alembic"))
needs_mlflow = pytest.mark.skipif(missing_tool(HAVE_MLFLOW),
                                  reason="MLflow (mops[mlflow]) with its server is not installed")
#: Nothing leaves the machine: MLflow's telemetry off, in the server and in this process.
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
         "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    uri: str
    run_id: str
    metrics: dict
    folder: Path


def _wait_until_up(proc: subprocess.Popen, uri: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"mlflow server did not answer in {START_TIMEOUT:.0f} s:\n"
                f"{log.read_text()[-3000:]}")


def _log_and_register(uri: str) -> tuple[str, dict]:
    """credit-pd version 1 (alias champion): a logistic regression, its run's params, a metric
    with history, tags and a training data input."""
    import mlflow
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("credit")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.2], [0.1, 0.9]])
    y = np.array([0, 1, 1, 0, 1, 0])
    with mlflow.start_run(experiment_id=experiment, run_name="pd-fit") as run:
        model = LogisticRegression().fit(x, y)
        mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
        for step, auc in enumerate((0.70, 0.75, 0.81)):
            mlflow.log_metric("auc", auc, step=step)
        mlflow.log_metric("ks", 0.42)
        mlflow.set_tag("team", "retail-risk")
        frame = pd.DataFrame(x, columns=["income", "utilisation"]).assign(defaulted=y)
        mlflow.log_input(mlflow.data.from_pandas(frame, name="loans-2024", targets="defaulted"),
                         context="training")
        mlflow.sklearn.log_model(model, name="model", registered_model_name="credit-pd",
                                 pip_requirements=["scikit-learn"])
    client.update_registered_model("credit-pd", description="Retail credit PD scorecard.\n\n"
                                                            "Probability of default in 12 months.")
    client.set_registered_model_tag("credit-pd", "owner", "alice@acme.test")
    client.set_registered_model_tag("credit-pd", "tier", "1")
    client.set_registered_model_alias("credit-pd", "champion", "1")
    return run.info.run_id, {"auc": 0.81, "ks": 0.42}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not HAVE_MLFLOW:
        pytest.skip("MLflow is not installed")
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    env = {**os.environ, **QUIET}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in QUIET.items():
            mp.setenv(key, value)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server",
                 "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
                 "--artifacts-destination", str(folder / "artifacts"),
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            # Import the client's heavy modules while the server starts (each takes seconds).
            import mlflow.sklearn  # noqa: F401
            import sklearn.linear_model  # noqa: F401

            _wait_until_up(proc, uri, log)
            run_id, metrics = _log_and_register(uri)
            yield Server(uri, run_id, metrics, folder)
        finally:
            import mlflow

            mlflow.set_tracking_uri(None)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def served_digest(server: Server, uri: str, into: Path) -> tuple[str, dict[str, str]]:
    """The model as MLflow's client downloads it, hashed here: the manifest digest."""
    import mlflow

    into.mkdir()
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(into),
                                                     tracking_uri=server.uri))
    files = {p.relative_to(local).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in local.rglob("*") if p.is_file()}
    files.pop("registered_model_meta", None)  # written by the client, not stored by MLflow
    lines = "".join(f"{files[k]}  {k}\n" for k in sorted(files, key=lambda k: k.encode()))
    return hashlib.sha256(lines.encode()).hexdigest(), files


def coreutils(folder: Path) -> str | None:
    if not all(shutil.which(t) for t in ("find", "sort", "xargs", "sha256sum")):
        return None
    return subprocess.run(
        "find . -type f ! -path ./registered_model_meta -printf '%P\\0' | LC_ALL=C sort -z "
        "| xargs -0 sha256sum | sha256sum", shell=True, cwd=folder, check=True,
        capture_output=True, text=True).stdout.split()[0]


def version_record(repo: Path, version: str) -> dict:
    return yaml.safe_load((repo / f"models/credit-pd/versions/{version}/version.yaml").read_text())


# ----------------------------------------------------------------------------- the import


@needs_mlflow
def test_import_registers_the_version_mlflow_serves(server: Server, quiet: None, mops: Mops,
                                                    inventory: Path, tmp_path: Path):
    before = git(inventory, "rev-parse", "HEAD").strip()
    r = mops("import", "mlflow", "models:/credit-pd/1", "--tracking-uri", server.uri)
    assert "Imported credit-pd@1 from models:/credit-pd/1 (new model" in r.stdout

    # One commit, with the card, the version record and the evidence record and its files.
    assert git(inventory, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    message = git(inventory, "log", "-1", "--format=%B")
    assert "Mops-Action: import" in message and "Mops-Source: mlflow" in message
    changed = set(git(inventory, "show", "--name-only", "--format=", "HEAD").split())
    [record_path] = [p for p in changed if p.endswith(".yaml") and "/evidence/E-" in p]
    eid = Path(record_path).stem
    vdir = "models/credit-pd/versions/1"
    assert changed == {"models/credit-pd/card.md", f"{vdir}/version.yaml", record_path,
                       f"{vdir}/evidence/files/{eid}/mlflow-run.json",
                       f"{vdir}/evidence/files/{eid}/artifact.sha256sum"}

    # The digest is that of the bytes MLflow serves, hashed here and by coreutils.
    digest, files = served_digest(server, "models:/credit-pd/1", tmp_path / "served")
    record = version_record(inventory, "1")
    assert record["artifact"]["sha256"] == digest
    assert record["artifact"]["uri"] == "models:/credit-pd/1"
    assert record["artifact"]["size"] == sum(
        (tmp_path / "served" / name).stat().st_size for name in files)
    assert coreutils(tmp_path / "served") in (None, digest)
    assert "MLmodel" in files and "model.skops" in files or "model.pkl" in files

    # The run's metrics are the version's; its data input is the version's data.
    assert record["metrics"] == pytest.approx(server.metrics)
    [dataset] = record["data"]["datasets"]
    assert dataset["name"] == "loans-2024" and dataset["context"] == "training"
    assert record["stage"] == "development" and record["registered_by"] == "bob@acme.test"

    # The evidence: params, tags, data inputs and metric history, and the manifest.
    evidence = yaml.safe_load((inventory / record_path).read_text())
    assert evidence["kind"] == "performance-metrics"
    assert evidence["metrics"] == pytest.approx(server.metrics)
    run = json.loads((inventory / vdir / f"evidence/files/{eid}/mlflow-run.json").read_text())
    assert run["params"] == {"C": "1.0", "solver": "lbfgs"}
    assert run["tags"]["team"] == "retail-risk"
    assert [p["value"] for p in run["metric_history"]["auc"]] == pytest.approx([0.70, 0.75, 0.81])
    assert run["run"]["run_id"] == server.run_id and run["run"]["run_name"] == "pd-fit"
    assert run["datasets"][0]["name"] == "loans-2024" and run["datasets"][0]["schema"]
    assert run["mlflow"]["tracking_uri"] == server.uri
    assert run["artifact"]["sha256"] == digest
    manifest = (inventory / vdir / f"evidence/files/{eid}/artifact.sha256sum").read_bytes()
    assert hashlib.sha256(manifest).hexdigest() == digest
    assert {line.split("  ", 1)[1] for line in manifest.decode().splitlines()} == set(files)

    # The card: generated from the registered model's description, owner and tier from its tags.
    card = (inventory / "models/credit-pd/card.md").read_text()
    assert "Retail credit PD scorecard." in card and "Probability of default in 12 months." in card
    front = yaml.safe_load(card.split("---")[1])
    assert front["owner"] == "alice@acme.test" and front["tier"] == 1

    # Re-importing the same version is refused like any registered version; nothing changes.
    state = snapshot(inventory)
    r = mops("import", "mlflow", "models:/credit-pd/1", "--tracking-uri", server.uri, code=2)
    assert "already registered" in r.stderr
    assert snapshot(inventory) == state

    # The gate knows the downloaded folder: not in production, and its card is incomplete.
    data = mops.json("verify-artifact", str(tmp_path / "served"), "--json", code=1)
    assert any("credit-pd@1 (development)" in p for p in data["problems"]), data
    data = mops.json("verify-artifact", str(tmp_path / "served"), "--stage", "development",
                     "--json", code=1)
    assert any(p.startswith("credit-pd@1: check: ") for p in data["problems"]), data

    # Its ML-BOM names the MLflow data input as a dataset, and validates.
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = mops("export", "cyclonedx", "credit-pd@1").stdout
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["metadata"]["component"]["hashes"][0]["content"] == digest
    assert "loans-2024" in {c["name"] for c in bom["components"]}


@needs_mlflow
def test_import_by_alias_and_by_run(server: Server, quiet: None, mops: Mops, inventory: Path,
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)  # instead of --tracking-uri
    mops("import", "mlflow", "models:/credit-pd@champion", "--model", "pd-scorecard",
         "--version", "1.0.0", "--owner", "carol@acme.test", "--tier", "2")
    alias = yaml.safe_load((inventory / "models/pd-scorecard/versions/1.0.0/version.yaml")
                           .read_text())
    # The run's model is the same stored model: the same digest.
    r = mops("import", "mlflow", f"runs:/{server.run_id}/model", "--model", "pd-scorecard")
    assert f"pd-scorecard@{server.run_id}" in r.stdout
    run = yaml.safe_load((inventory / f"models/pd-scorecard/versions/{server.run_id}/version.yaml")
                         .read_text())
    assert run["artifact"]["sha256"] == alias["artifact"]["sha256"]
    assert run["artifact"]["uri"] == f"runs:/{server.run_id}/model"
    digest, _ = served_digest(server, f"runs:/{server.run_id}/model", tmp_path / "run")
    assert run["artifact"]["sha256"] == digest
    front = yaml.safe_load((inventory / "models/pd-scorecard/card.md").read_text().split("---")[1])
    assert (front["owner"], front["tier"]) == ("carol@acme.test", 2)


@needs_mlflow
def test_unknown_model_and_run_uri_without_model(server: Server, quiet: None, mops: Mops,
                                                 inventory: Path):
    state = snapshot(inventory)
    r = mops("import", "mlflow", "models:/no-such-model/1", "--tracking-uri", server.uri, code=2)
    assert "no-such-model" in r.stderr
    r = mops("import", "mlflow", f"runs:/{server.run_id}/model", "--tracking-uri", server.uri,
             code=2)
    assert "--model" in r.stderr
    r = mops("import", "mlflow", f"runs:/{server.run_id}/model", "--tracking-uri", server.uri,
             "--model", "new-model", code=2)  # no registered model's tags to fill in the card
    assert "needs --owner EMAIL and --tier N" in r.stderr
    assert snapshot(inventory) == state


@needs_mlflow
def test_an_imported_version_passes_verify(server: Server, quiet: None, mops: Mops):
    mops("import", "mlflow", "models:/credit-pd/1", "--tracking-uri", server.uri)
    mops("verify")


@needs_mlflow
def test_an_import_leaves_the_environment_as_it_was(server: Server, quiet: None, mops: Mops,
                                                     monkeypatch: pytest.MonkeyPatch):
    """The tracking URI goes to MLflow's client objects, and the settings mops gives MLflow for
    the import (no telemetry, bounded retries) are gone afterwards: nothing leaks into the
    process of a caller of the api, a successful import or a refused one."""
    for key in ("MLFLOW_DISABLE_TELEMETRY", "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(key, raising=False)
    before = dict(os.environ)
    mops("import", "mlflow", "models:/credit-pd/1", "--tracking-uri", server.uri)
    assert dict(os.environ) == before
    mops("import", "mlflow", "models:/credit-pd/1", "--tracking-uri", server.uri, code=2)
    mops("import", "mlflow", "models:/no-such-model/1", "--tracking-uri", server.uri, code=2)
    assert dict(os.environ) == before


# ----------------------------------------------------------------------------- the README, run


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(name: str) -> str:
    """The shell block between the README's ``<!-- NAME: begin -->`` and ``end`` markers."""
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- {name}: begin -->", 1)[1].split(f"<!-- {name}: end -->", 1)[0]
    body = block.strip()
    assert body.startswith("```sh\n") and body.endswith("\n```"), body[:40]
    return body[len("```sh\n"):-len("\n```")]


def github_gate_steps() -> dict[str, str]:
    """The README's GitHub deployment gate: each step's ``run`` by name, and under
    ``attestation`` the command the README gives for gating on an attestation instead."""
    import re

    text = README.read_text(encoding="utf-8")
    section = text.split("### A deployment gate in GitHub Actions", 1)[1].split("\n### ", 1)[0]
    workflow = yaml.safe_load(section.split("```yaml\n", 1)[1].split("\n```", 1)[0])
    steps = {s.get("name", ""): s["run"] for s in workflow["jobs"]["deploy"]["steps"] if "run" in s}
    [inline] = re.findall(r"`(mops -C inventory verify-artifact [^`]*--attestation[^`]*)`",
                          section)
    steps["attestation"] = " ".join(inline.split())
    return steps


def _mlflow_version_3(server: Server) -> None:
    """credit-pd versions 2 and 3 in MLflow: the same stored model, registered again."""
    from mlflow import MlflowClient

    client = MlflowClient(server.uri)
    first = client.get_model_version("credit-pd", "1")
    while max(int(v.version) for v in client.search_model_versions("name='credit-pd'")) < 3:
        logged = first.source.removeprefix("models:/")  # MLflow 3: a logged model's id
        client.create_model_version("credit-pd", first.source, run_id=first.run_id,
                                    model_id=logged if logged != first.source else None)


@needs_mlflow
@pytest.mark.skipif(missing_tool(shutil.which("ssh-keygen") is not None),
                    reason="ssh-keygen is not installed")
def test_the_readme_goes_from_mlflow_to_a_checked_attestation(
        server: Server, quiet: None, mops: Mops, inventory: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch):
    """From an MLflow-registered model to a signed attestation a deploy step checks: the
    README's block, run as it stands by the installed mops (and MLflow's own CLI) in the
    inventory, as the validator with her SSH key; then as the developer, whom attest
    refuses; and the deploy step refuses a model that is not the one attested."""
    from tests.conftest import mops_executable, write_card
    from tests.policy.helpers import BOB, CAROL, DANA, act, evidence
    from tests.trust.helpers import Keys, commit, write_signers

    _mlflow_version_3(server)
    keys = Keys(tmp_path / "keys")
    act(monkeypatch, DANA)
    write_signers(inventory, keys.line(CAROL[1], "carol"), keys.line(DANA[1], "dana"),
                  keys.line(BOB[1], "bob"))
    commit(inventory, "allowed signers")
    act(monkeypatch, BOB)  # the card first (complete), then the version from MLflow
    mops("register", "credit-pd", "--version", "0.9", "--card",
         str(write_card(tmp_path / "card.md")))
    mops("import", "mlflow", "models:/credit-pd/3", "--tracking-uri", server.uri)
    ref = "credit-pd@3"
    evidence(mops, tmp_path, ref, "validation-report")
    mops("promote", ref, "--to", "validation")
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    act(monkeypatch, DANA)
    mops("approve", ref, "--role", "risk-officer")
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "production")

    script = readme_block("registry to serving")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    monkeypatch.setenv("PATH", f"{Path(mops_executable()).parent}{os.pathsep}"
                               f"{os.environ.get('PATH', '')}")

    def run(text: str, who: tuple[str, str], key: str) -> subprocess.CompletedProcess:
        act(monkeypatch, who)
        keys.use(monkeypatch, key)
        return subprocess.run(["bash", "-ec", text], cwd=inventory, capture_output=True,
                              text=True, timeout=600)

    attestation = inventory / "credit-pd-3.intoto.json"
    # The developer first: attest refuses him, naming the roles that may; nothing is written.
    r = run(script, BOB, "bob")
    assert r.returncode == 1, r.stderr
    assert "attestations.signed_by" in r.stderr and "validator and risk-officer" in r.stderr
    assert not attestation.exists()
    # The validator: every line succeeds; both gates say ok.
    r = run(script, CAROL, "carol")
    assert r.returncode == 0, r.stdout + r.stderr
    oks = [line for line in r.stdout.splitlines() if line.startswith("ok: ")]
    assert len(oks) == 2 and "attested for production by carol@acme.test" in oks[0], r.stdout
    stmt = json.loads(__import__("base64").b64decode(json.loads(attestation.read_text())
                                                     ["payload"]))
    assert stmt["subject"][0]["name"] == ref
    assert stmt["subject"][0]["digest"]["sha256"] == version_record(inventory, "3")[
        "artifact"]["sha256"]
    # The GitHub deployment gate: its steps' commands as the README shows them, in a workspace
    # with the inventory checked out at ./inventory, and the attestation beside the model.
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "inventory").symlink_to(inventory)
    shutil.copy(attestation, workspace / "credit-pd-3.intoto.json")
    monkeypatch.setenv("MODEL_URI", "models:/credit-pd/3")
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path / "runner"))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    steps = github_gate_steps()
    for command in (steps["Fetch the model"], steps["Deployment gate"], steps["attestation"]):
        r = subprocess.run(["bash", "-ec", command], cwd=workspace, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, (command, r.stdout, r.stderr)
        assert "verify-artifact" not in command or r.stdout.startswith("ok: "), r.stdout
    # Another model in the folder: the deploy step's lines refuse it, naming the subject.
    gate = [line for line in script.splitlines() if line.startswith("mops verify-artifact")]
    (inventory / "model" / "MLmodel").write_text("not the model that was attested\n")
    r = run(gate[0], CAROL, "carol")
    assert r.returncode == 1 and "not this artifact" in r.stderr, r.stderr
    r = run(gate[1], CAROL, "carol")
    assert r.returncode == 1 and "never registered" in r.stderr, r.stderr


# ----------------------------------------------------------------------------- no server needed


def test_missing_mlflow_names_the_extra(mops: Mops, monkeypatch: pytest.MonkeyPatch):
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")] or ["mlflow"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    r = mops("import", "mlflow", "models:/credit-pd/1", "--tracking-uri", "http://127.0.0.1:9",
             code=2)
    assert "mops[mlflow]" in r.stderr


def test_usage_errors_before_mlflow_is_asked(mops: Mops, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    r = mops("import", "mlflow", "models:/credit-pd/1", code=2)
    assert "--tracking-uri" in r.stderr and "MLFLOW_TRACKING_URI" in r.stderr
    for uri in ("credit-pd", "models:/credit-pd/latest", "runs:/abc", "s3://bucket/model"):
        mops("import", "mlflow", uri, "--tracking-uri", "http://127.0.0.1:9", code=2)


@pytest.mark.parametrize("text, expected", [
    ("models:/credit-pd/3", {"name": "credit-pd", "version": "3"}),
    ("models:/Credit PD@champion", {"name": "Credit PD", "alias": "champion"}),
    ("runs:/0a1b2c/model", {"run_id": "0a1b2c", "path": "model"}),
    ("runs:/0a1b2c/sub/model/", {"run_id": "0a1b2c", "path": "sub/model"}),
])
def test_model_uris(text: str, expected: dict):
    from mops.integrations.mlflow import parse_model_uri

    parsed = parse_model_uri(text)
    assert {k: getattr(parsed, k) for k in expected} == expected


def test_credentials_never_reach_the_inventory():
    from mops.integrations.mlflow import redacted

    assert redacted("https://user:secret@mlflow.acme.test:8443/x") == "https://mlflow.acme.test:8443/x"
    assert redacted("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
