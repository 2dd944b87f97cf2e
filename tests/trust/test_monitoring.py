"""Monitoring results come only from `mops drift --record`, and carry the sha256, size and
rows of the files they were computed from; `mops verify` holds every record to that."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mops.demo.data import write_credit_logs
from tests.conftest import Mops, git
from tests.trust.helpers import commit

CARD = Path(__file__).resolve().parents[2] / "cli/mops/demo/cards/credit-pd.md"
VDIR = "models/credit-pd/versions/1.0.0"
CI = ("CI Bot", "ci@acme.test")


@pytest.fixture
def logs(inventory: Path, mops: Mops) -> dict[str, Path]:
    paths = write_credit_logs(inventory / "data/credit-pd", reference_rows=400, month_rows=500)
    git(inventory, "add", "data/credit-pd/reference.parquet")
    git(inventory, "commit", "-qm", "reference data")
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(CARD), "--sha256", "a" * 64)
    return paths


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded(inventory: Path) -> tuple[str, dict]:
    [path] = (inventory / VDIR / "monitoring").glob("*.json")
    return path.relative_to(inventory).as_posix(), json.loads(path.read_text())


def problems(mops: Mops) -> dict[str, list[str]]:
    data = mops.json("verify", "--json", code=None)
    assert data["ok"] is (not data["problems"])
    out: dict[str, list[str]] = {}
    for p in data["problems"]:
        out.setdefault(p["path"], []).append(p["problem"])
    return out


def hand_commit(inventory: Path, monkeypatch: pytest.MonkeyPatch, rel: str, record: dict) -> None:
    """The record committed by hand by the person it names, dressed as `mops drift --record`."""
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", record["by"])
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", record["by"])
    (inventory / rel).write_text(json.dumps(record, indent=2))
    commit(inventory, "drift: credit-pd@1.0.0\n\nMops-Action: drift\nMops-Model: credit-pd\n"
                      f"Mops-Version: 1.0.0\nMops-Actor: {record['by']}\n")


def test_a_recorded_result_carries_the_digests_of_its_inputs_and_verifies(inventory: Path,
                                                                          mops: Mops, logs):
    current = logs["2026-09"]
    mops("drift", "credit-pd", "--current", str(current), "--record", code=None)
    _, record = recorded(inventory)
    reference = inventory / "data/credit-pd/reference.parquet"
    assert record["reference"]["sha256"] == sha256(reference)
    assert record["reference"]["size"] == reference.stat().st_size
    assert record["reference"]["rows"] == 400
    [entry] = record["inputs"]
    assert entry["sha256"] == sha256(current) and entry["size"] == current.stat().st_size
    assert entry["rows"] == 500
    assert problems(mops) == {}


@pytest.mark.parametrize("strip", ["reference", "inputs", "input-digest", "bad-hex", "unhashed"])
def test_a_record_without_its_digests_is_reported(inventory: Path, mops: Mops, logs,
                                                  monkeypatch: pytest.MonkeyPatch, strip: str):
    """The forging twin: the same record, from the right person with the right trailers,
    but without what binds it to data."""
    mops("drift", "credit-pd", "--current", str(logs["2026-09"]), "--record", code=None)
    rel, record = recorded(inventory)
    record["id"] = "D-0f0f0f"
    if strip == "reference":
        del record["reference"]["sha256"]
    elif strip == "inputs":
        del record["inputs"]
    elif strip == "input-digest":
        record["inputs"][0]["sha256"] = None
    elif strip == "bad-hex":
        record["inputs"][0]["sha256"] = "Z" * 64
    else:  # "not one file" needs a reason
        record["inputs"][0].update(sha256=None, unhashed="")
    forged = f"{VDIR}/monitoring/D-0f0f0f.json"
    hand_commit(inventory, monkeypatch, forged, record)
    found = problems(mops)
    assert list(found) == [forged], found
    assert any("sha256" in p for p in found[forged])


def test_a_table_read_where_the_data_is_says_why_it_has_no_digest(inventory: Path, mops: Mops,
                                                                  logs,
                                                                  monkeypatch: pytest.MonkeyPatch):
    """A Spark table or URI cannot be hashed by mops: the record says so, and verifies."""
    mops("drift", "credit-pd", "--current", str(logs["2026-09"]), "--record", code=None)
    _, record = recorded(inventory)
    record["id"] = "D-0a0a0a"
    record["inputs"] = [{"path": "table:lake.scores_2026_09", "sha256": None, "size": None,
                         "unhashed": "a table or URI read by the engine where the data is",
                         "rows": 500}]
    hand_commit(inventory, monkeypatch, f"{VDIR}/monitoring/D-0a0a0a.json", record)
    assert problems(mops) == {}


def test_spark_inputs_are_recorded_with_what_is_knowable(tmp_path: Path):
    from mops.drift.run import _file_facts

    data = tmp_path / "ref.csv"
    data.write_bytes(b"a,b\n1,2\n")
    (tmp_path / "parts").mkdir()
    facts = _file_facts([str(data), "table:lake.scores", "s3a://bucket/logs/*.parquet",
                         str(tmp_path / "parts")])
    assert facts[str(data)] == {"sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest(), "size": 8}
    for other in ("table:lake.scores", "s3a://bucket/logs/*.parquet", str(tmp_path / "parts")):
        assert facts[other]["sha256"] is None and facts[other]["unhashed"]


def test_a_record_by_someone_outside_monitoring_recorded_by_is_reported(
        inventory: Path, mops: Mops, logs, monkeypatch: pytest.MonkeyPatch):
    """Honest: the CI bot, in the recording role, records; its twin: Bob records by hand,
    with every digest right and the drift trailer, but he is not in the role."""
    settings = inventory / "mops.yaml"
    text = settings.read_text().replace("  risk-officer: [dana@acme.test]",
                                        "  risk-officer: [dana@acme.test]\n"
                                        "  monitoring-bot: [ci@acme.test]")
    settings.write_text(text + "monitoring:\n  recorded_by: [monitoring-bot]\n")
    commit(inventory, "only CI records monitoring")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", CI[1])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", CI[1])
    mops("drift", "credit-pd", "--current", str(logs["2026-09"]), "--record", code=None)
    assert problems(mops) == {}
    _, record = recorded(inventory)
    record.update(id="D-0b0b0b", by="bob@acme.test")
    forged = f"{VDIR}/monitoring/D-0b0b0b.json"
    hand_commit(inventory, monkeypatch, forged, record)
    found = problems(mops)
    assert list(found) == [forged], found
    assert any("monitoring.recorded_by" in p for p in found[forged])
