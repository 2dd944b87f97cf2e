"""Shared fixtures: real git repositories in tmp dirs, isolated from the user's config."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mops.main import app

AUTHOR = {"name": "Bob Developer", "email": "bob@acme.test"}


def missing_tool(present: bool) -> bool:
    """Skip a test for a missing system tool, except in CI (MOPS_REQUIRE_TOOLS=1, set by
    .ci/run), where the tool must be there and its absence fails the test instead."""
    return not present and os.environ.get("MOPS_REQUIRE_TOOLS") != "1"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own HOME and a pinned git identity; no system git config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITHUB_ACTOR",
                "GITHUB_TRIGGERING_ACTOR", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT",
                "GITHUB_ACTIONS", "NO_COLOR", "MOPS_NOW"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", AUTHOR["name"])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AUTHOR["email"])
    monkeypatch.setenv("GIT_COMMITTER_NAME", AUTHOR["name"])
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", AUTHOR["email"])
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")


def as_person(monkeypatch: pytest.MonkeyPatch, name: str, email: str) -> None:
    """Act as someone else (git's committer identity is the acting person)."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", name)
        monkeypatch.setenv(f"GIT_{role}_EMAIL", email)


class Mops:
    """Runs mops commands through Typer's CliRunner in a given folder."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0, input: str | None = None):
        result = self.runner.invoke(app, ["-C", str(self.cwd), *args], input=input)
        if code is not None and result.exit_code != code:
            raise AssertionError(
                f"mops {' '.join(args)} exited {result.exit_code}, expected {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n"
                f"exception: {result.exception!r}")
        return result

    def json(self, *args: str, code: int | None = 0):
        return json.loads(self(*args, code=code).stdout)


def mops_executable() -> str:
    """The installed ``mops`` console script of the interpreter running the tests."""
    import sys

    path = Path(sys.executable).parent / "mops"
    assert path.exists(), f"mops is not installed beside {sys.executable}"
    return str(path)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def snapshot(repo: Path) -> tuple[str, str, str]:
    """HEAD, index and working-tree state: equal snapshots mean nothing changed."""
    head = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=repo,
                          capture_output=True, text=True).stdout
    index = git(repo, "ls-files", "-s")
    status = git(repo, "status", "--porcelain=v1", "--untracked-files=all", "--ignored")
    return head, index, status


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[Path]:
    """A fresh inventory (git repo with mops.yaml) with a validator and a risk officer."""
    repo = tmp_path / "inv"
    Mops(tmp_path)("init", str(repo), "--name", "Test inventory")
    settings = repo / "mops.yaml"
    text = settings.read_text().replace(
        "  validator: []", "  validator: [carol@acme.test]").replace(
        "  risk-officer: []", "  risk-officer: [dana@acme.test]")
    settings.write_text(text)
    git(repo, "commit", "-qam", "roles")
    yield repo


@pytest.fixture
def mops(inventory: Path) -> Mops:
    return Mops(inventory)


CARD = """---
id: {id}
name: Retail credit PD scorecard
owner: alice@acme.test
developers: [bob@acme.test]
tier: {tier}
intended_use: Probability of default for retail credit decisions.
out_of_scope: Commercial lending.
limitations: [Trained on 2019-2024 data only]
inputs: [income, utilisation, region]
outputs: Probability of default in 12 months
data_sources: [core banking]
dependencies: []
vendor: false
review: {{last: 2026-01-15}}
license: apache-2.0
---

# Retail credit PD scorecard

## Intended use
Retail credit decisions.
"""


def write_card(path: Path, model: str = "credit-pd", tier: int = 1, extra: str = "") -> Path:
    text = CARD.format(id=model, tier=tier)
    if extra:
        text = text.replace("license: apache-2.0\n", f"license: apache-2.0\n{extra}")
    path.write_text(text)
    return path


def use_pack(root: Path, text: str, name: str = "custom.yaml", *, keep: bool = False) -> Path:
    """Write ``policies/<name>`` and put it in force in mops.yaml, by hand (nothing committed):
    alone, or with ``keep`` before the packs already there. Returns the pack's path."""
    pack = root / "policies" / name
    pack.parent.mkdir(exist_ok=True)
    pack.write_text(text)
    settings = root / "mops.yaml"
    lines = settings.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("policies: ["))
    rest = lines[at][len("policies: ["):]
    lines[at] = f"policies: [policies/{name}" + (f", {rest}" if keep else rest[rest.index("]"):])
    settings.write_text("".join(lines))
    return pack
