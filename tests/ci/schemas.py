"""Validate GitHub workflow and action files offline with check-jsonschema's vendored schemas."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def find_tool(name: str) -> str | None:
    """A command-line tool of the test environment (beside the interpreter), else on PATH."""
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name)


def _tool(name: str) -> str:
    return find_tool(name) or name


def offline_env() -> dict[str, str]:
    """Any network access fails fast: proxies that lead nowhere, pip and caches off."""
    env = dict(os.environ)
    dead = "http://127.0.0.1:9"
    env.update({"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead,
                "ALL_PROXY": dead, "NO_PROXY": "", "no_proxy": ""})
    return env


def assert_valid(schema: str, *files: Path) -> None:
    """``schema``: ``vendor.github-workflows`` or ``vendor.github-actions`` (vendored, no download)."""
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", schema, "--no-cache",
                           *map(str, files)], capture_output=True, text=True, env=offline_env(),
                          timeout=120)
    assert proc.returncode == 0, f"{schema}: {proc.stdout}{proc.stderr}"


def validate_manifest(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("pre-commit"), "validate-manifest", str(path)], capture_output=True,
                          text=True, env=offline_env(), timeout=120)
