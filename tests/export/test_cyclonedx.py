"""``mops export cyclonedx``: an ML-BOM that cyclonedx-python-lib's own validator accepts."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import Mops, missing_tool, write_card
from tests.policy.helpers import CAROL, act

HAVE_CYCLONEDX = importlib.util.find_spec("cyclonedx") is not None
pytestmark = pytest.mark.skipif(missing_tool(HAVE_CYCLONEDX),
                                reason="cyclonedx-python-lib (mops[cyclonedx]) is not installed")

EXTRA = "datasets: [retail-loans-2019-2024]\n"


def validate(text: str) -> None:
    """The library's JSON-schema validator for CycloneDX 1.6, run here independently."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)


@pytest.fixture
def exported(mops: Mops, inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"\x00weights" * 100)
    card = write_card(tmp_path / "card.md", extra=EXTRA)
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(card), "--artifact",
         str(artifact), "--metric", "auc=0.81", "--metric", "gini=0.62")
    act(monkeypatch, CAROL)
    path = tmp_path / "evidence-src" / "validation-report.txt"
    path.parent.mkdir()
    path.write_text("report\n")
    mops("evidence", "add", "credit-pd@1.0.0", str(path), "--kind", "validation-report",
         "--metric", "auc=0.79")
    mops("approve", "credit-pd@1.0.0", "--role", "validator")
    return mops("export", "cyclonedx", "credit-pd@1.0.0").stdout, artifact


def test_ml_bom_is_valid_cyclonedx_1_6(exported):
    text, artifact = exported
    validate(text)
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    assert (model["name"], model["version"]) == ("credit-pd", "1.0.0")
    import hashlib

    assert model["hashes"] == [{"alg": "SHA-256",
                                "content": hashlib.sha256(artifact.read_bytes()).hexdigest()}]
    assert {a["email"] for a in model["authors"]} == {"alice@acme.test", "bob@acme.test"}
    assert model["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    props = {(p["name"], p["value"]) for p in model["properties"]}
    assert ("mops:stage", "development") in props and ("mops:tier", "1") in props
    assert any(n == "mops:signoff" and v.startswith("validator approve by carol@acme.test")
               for n, v in props)
    card = model["modelCard"]
    metrics = card["quantitativeAnalysis"]["performanceMetrics"]
    assert {"type": "auc", "value": "0.81"} in metrics
    assert any(m["type"] == "auc" and m["value"] == "0.79" and "validation-report" in m["slice"]
               for m in metrics)
    considerations = card["considerations"]
    assert considerations["useCases"] == ["Probability of default for retail credit decisions."]
    assert "Trained on 2019-2024 data only" in considerations["technicalLimitations"]
    # Datasets: the card's `datasets` and `data_sources`, as data components the model card
    # references and the model depends on.
    refs = [d["ref"] for d in card["modelParameters"]["datasets"]]
    data = {c["bom-ref"]: c for c in bom["components"]}
    assert {data[r]["name"] for r in refs} == {"retail-loans-2019-2024", "core banking"}
    assert all(data[r]["type"] == "data" for r in refs)
    [deps] = [d for d in bom["dependencies"] if d["ref"] == model["bom-ref"]]
    assert set(deps["dependsOn"]) == set(refs)
    assert bom["metadata"]["tools"]["components"][0]["name"] == "mops"


def test_export_to_a_file_and_latest_version(mops: Mops, tmp_path: Path):
    card = write_card(tmp_path / "card.md")
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(card))  # no artifact
    out = tmp_path / "bom.json"
    r = mops("export", "cyclonedx", "credit-pd", "--out", str(out))
    assert str(out) in r.stdout
    validate(out.read_text())
    model = json.loads(out.read_text())["metadata"]["component"]
    assert "hashes" not in model and model["version"] == "1.0.0"
    mops("export", "cyclonedx", "credit-pd", "--out", str(tmp_path / "missing" / "bom.json"),
         code=2)


def test_unknown_version_is_a_usage_error(mops: Mops):
    mops("export", "cyclonedx", "nope@1", code=2)


def test_missing_library_names_the_extra(mops: Mops, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch):
    card = write_card(tmp_path / "card.md")
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(card))
    for name in [m for m in sys.modules if m == "cyclonedx" or m.startswith("cyclonedx.")] or \
            ["cyclonedx"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    r = mops("export", "cyclonedx", "credit-pd@1.0.0", code=2)
    assert "mops[cyclonedx]" in r.stderr
