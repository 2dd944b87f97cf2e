"""Fixtures and helpers of the inventory tests."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from mops.inventory import sealed
from tests.benchmarks import scale_bench


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three models of the scale benchmark's inventory, on 2026-06-01, caches on."""
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    monkeypatch.delenv("MOPS_NO_CACHE", raising=False)
    root = tmp_path / "inv"
    scale_bench.build_snapshot(root, 3, dict(os.environ))
    return root


def damage(files: Iterable[Path], garbage: bytes = b"garbage") -> None:
    """Damage cache files: every other one cut in half, the rest replaced by ``garbage``."""
    for i, f in enumerate(files):
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2] if i % 2 else garbage)


def all_sealed(files: Iterable[Path]) -> bool:
    """Whether every file is sealed with this user's key (written whole again by mops)."""
    secret = sealed.key()
    return all(sealed.read(f, secret) is not None for f in files)
