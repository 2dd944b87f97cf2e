"""Fixtures of the inventory tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.benchmarks import scale_bench


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three models of the scale benchmark's inventory, on 2026-06-01, caches on."""
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    monkeypatch.delenv("MOPS_NO_CACHE", raising=False)
    root = tmp_path / "inv"
    scale_bench.build_snapshot(root, 3, dict(os.environ))
    return root
