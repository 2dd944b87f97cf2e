"""`mops check --format github` and `--changed-since` through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Mops, git, write_card


@pytest.fixture
def two(inventory: Path, mops: Mops) -> Path:
    for model in ("alpha", "beta"):
        mops("register", model, "--version", "1.0.0",
             "--card", str(write_card(inventory.parent / f"{model}.md", model)))
    git(inventory, "tag", "base")
    return inventory


def _models(mops: Mops, *args: str, code: int = 0) -> set[str]:
    return {r["model"] for r in mops.json("check", "--format", "json", *args, code=code)["results"]}


def test_changed_since_checks_only_the_edited_model(two: Path, mops: Mops):
    assert _models(mops, "--changed-since", "base") == set()
    card = two / "models/beta/card.md"
    card.write_text(card.read_text().replace("owner: alice@acme.test\n", ""))
    assert _models(mops, "--changed-since", "base", code=1) == {"beta"}
    assert _models(mops, "alpha", "--changed-since", "base") == set()
    settings = two / "mops.yaml"
    settings.write_text(settings.read_text() + "# touched\n")
    assert _models(mops, "--changed-since", "base", code=1) == {"alpha", "beta"}


def test_changed_since_an_unknown_ref_is_a_usage_error(two: Path, mops: Mops):
    result = mops("check", "--changed-since", "nope", code=2)
    assert result.stderr.startswith("error: --changed-since 'nope': not a commit")


def test_format_github_writes_annotations_summary_and_output(two: Path, mops: Mops, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    card = two / "models/alpha/card.md"
    card.write_text(card.read_text().replace("owner: alice@acme.test\n", ""))
    result = mops("check", "--format", "github", "--changed-since", "base", code=1)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::error file=models/alpha/card.md,title=BL-OWNER::alpha@1.0.0: ")
    assert lines[-1].startswith("mops check failed: 1 failing of ")
    assert output.read_text() == "ok=false\nfailed=1\n"
    text = summary.read_text()
    assert "Only the models changed since base: 1." in text and "### alpha" in text


def test_annotations_point_into_a_subfolder_inventory(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    Mops(tmp_path)("init", str(repo / "gov"))
    mops = Mops(repo / "gov")
    mops("register", "m", "--version", "1", "--owner", "a@acme.test", "--tier", "2")
    lines = mops("check", "--format", "github", code=1).stdout.splitlines()
    assert lines[0].startswith("::error file=gov/models/m/card.md,title=")
