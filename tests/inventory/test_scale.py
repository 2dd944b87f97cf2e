"""A large inventory: one model's commands read that model only, with the same answers as a
whole read; the scale benchmark's builders (tests/benchmarks/scale_bench.py) still work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mops import api
from mops.inventory.names import ModelRef
from mops.inventory.store import Inventory
from tests.benchmarks import scale_bench
from tests.conftest import Mops, as_person, git


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    root = tmp_path / "inv"
    assert scale_bench.build_snapshot(root, 6, dict(os.environ)) == 2
    return root


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every folder listed and file opened from now on."""
    seen: list[str] = []
    scandir, listdir, real_open = os.scandir, os.listdir, open

    def spy_scandir(path="."):
        seen.append(os.fspath(path))
        return scandir(path)

    def spy_listdir(path="."):
        seen.append(os.fspath(path))
        return listdir(path)

    def spy_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            seen.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", spy_scandir)
    monkeypatch.setattr(os, "listdir", spy_listdir)
    monkeypatch.setattr("builtins.open", spy_open)
    return seen


def test_show_reads_only_its_model(snapshot: Path, monkeypatch: pytest.MonkeyPatch):
    with api.opened(snapshot) as inv:
        seen = _reads(monkeypatch)
        api.show(inv, ModelRef("model-00002", "1.0.0"))
        monkeypatch.undo()
    models = {p.split("/models/")[1].split("/")[0] for p in seen if "/models/" in p}
    assert models == {"model-00002"}
    assert not any(p.endswith("/models") for p in seen)  # the folder of all models: never listed


def test_one_model_read_equals_the_whole_read(snapshot: Path):
    """Two paths to one answer: ``show`` of an inventory that read every model first."""
    (snapshot / "models" / "model-00003" / "findings").mkdir()
    (snapshot / "models" / "model-00003" / "findings" / "F-000001.yaml").write_text(
        "id: F-000001\nkind: finding\nmodel: model-00003\nversion: 1.0.0\nseverity: low\n"
        "title: t\nstatus: open\nopened_by: b@acme.test\nopened_at: '2026-01-01T00:00:00Z'\n")
    for ref in (ModelRef("model-00003"), ModelRef("model-00003", "1.0.0")):
        with api.opened(snapshot) as one:
            alone = api.show(one, ref)
        whole = Inventory.open(snapshot)
        assert len(whole.models()) == 6
        assert api.show(whole, ref) == alone
        whole.close()


def test_a_symlink_in_another_model_changes_nothing_for_this_one(snapshot: Path, tmp_path: Path):
    outside = tmp_path / "secret.yaml"
    outside.write_text("id: x\n")
    os.symlink(outside, snapshot / "models" / "model-00004" / "findings")
    with api.opened(snapshot) as inv:
        assert api.show(inv, ModelRef("model-00001"))["model"] == "model-00001"
    mops = Mops(snapshot)
    result = mops("show", "model-00004", code=None)
    assert result.exit_code == 2 and "outside the inventory" in result.stderr


def test_snapshot_builder_makes_a_compliant_inventory(snapshot: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    mops = Mops(snapshot)
    rows = mops.json("list", "--json")
    assert len(rows) == 12 and all(r["compliant"] for r in rows if r["version"] == "1.0.0")
    assert mops.json("check", "--format", "json")["ok"] is True
    as_person(monkeypatch, "carol", "carol@acme.test")
    mops("approve", "model-00001@2.0.0", "--role", "validator")
    assert git(snapshot, "status", "--porcelain") == ""


def test_history_builder_makes_one_commit_per_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "hist"
    count = scale_bench.build_history(root, 3, 40, dict(os.environ))
    assert count == int(git(root, "rev-list", "--count", "HEAD"))
    assert 35 <= count <= 45
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    mops = Mops(root)
    log = json.loads(mops("log", "model-00001", "--json").stdout)
    assert {e["action"] for e in log} >= {"register", "evidence", "approve", "promote", "drift"}
    assert mops.json("check", "--format", "json")["ok"] is True
