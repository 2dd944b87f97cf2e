"""The package type-checks: mypy, configured in pyproject.toml ([tool.mypy]), finds nothing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing_tool

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(missing_tool(importlib.util.find_spec("mypy") is not None),
                    reason="mypy is not installed (pip install -e '.[test]'); "
                           "set MOPS_REQUIRE_TOOLS=1 to fail instead")
def test_mypy_finds_no_errors() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"mypy exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
