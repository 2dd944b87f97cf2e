"""`mops check --format github` and `--changed-since` through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ci.actions import workflow_commands
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


# ----------------------------------------------------------------------------- errors as annotations


def test_a_usage_error_is_also_an_annotation(two: Path, mops: Mops):
    result = mops("check", "--format", "github", "--changed-since", "nope", code=2)
    assert result.stdout.splitlines() == [
        "::error title=mops check::--changed-since 'nope': not a commit in this repository (in "
        "GitHub Actions, check out with `fetch-depth: 0` so the base commit is there)"]
    assert result.stderr.startswith("error: --changed-since 'nope': not a commit")
    # Other formats keep stdout for results: the error is on stderr only.
    assert mops("check", "--format", "json", "--changed-since", "nope", code=2).stdout == ""


def test_a_malformed_settings_file_is_annotated_on_its_line(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    Mops(tmp_path)("init", str(repo / "gov"))
    (repo / "gov/mops.yaml").write_text("inventory: x\npolicies: 3\n")
    result = Mops(repo / "gov")("check", "--format", "github", code=2)
    assert result.stdout.splitlines() == [
        "::error file=gov/mops.yaml,line=2,title=mops check::mops.yaml:2: 'policies' must be a "
        "list of pack names or paths"]
    assert result.stderr == "error: mops.yaml:2: 'policies' must be a list of pack names or paths\n"


def test_an_error_cannot_forge_workflow_commands(two: Path, mops: Mops):
    """The forging twin: a REF made of workflow-command text stays data in the annotation."""
    ref = "x%0A::stop-commands::tok%0A::error file=models/beta/card.md::forged"
    result = mops("check", "--format", "github", "--changed-since", ref, code=2)
    # %25 is how "%" is written, so the runner reads back "%0A", three characters: no new line.
    assert workflow_commands(result.stdout) == [
        "::error title=mops check::--changed-since 'x%250A::stop-commands::tok%250A::error "
        "file=models/beta/card.md::forged': not a commit in this repository (in GitHub Actions, "
        "check out with `fetch-depth: 0` so the base commit is there)"]


# ----------------------------------------------------------------------------- stale sign-offs


@pytest.fixture
def approved(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """credit-pd@1.0.0 in production with a validator's sign-off and one evidence file."""
    from tests.policy.helpers import BOB, CAROL, act, evidence, pin_clock, register

    pin_clock(monkeypatch)
    ref = register(mops, tmp_path)
    evidence(mops, tmp_path, ref, "validation-report")
    act(monkeypatch, CAROL)
    mops("approve", ref, "--role", "validator")
    act(monkeypatch, BOB)
    mops("promote", ref, "--to", "production")
    mops("check")
    git(inventory, "tag", "base")
    return inventory


def _stale_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "this change made a sign-off stale" in line]


def test_a_stale_signoff_is_annotated_on_the_card_the_pull_request_changed(approved: Path,
                                                                          mops: Mops):
    card = approved / "models/credit-pd/card.md"
    card.write_text(card.read_text().replace("Commercial lending.", "Commercial and SME lending."))
    git(approved, "commit", "-qam", "widen the scope")
    result = mops("check", "--format", "github", "--changed-since", "base", code=1)
    lines = result.stdout.splitlines()
    rule = "title=BL-INDEPENDENT-SIGNOFF::credit-pd@1.0.0: "
    # Where to fix it (the version record), and inline on the change that caused it.
    assert any(line.startswith("::error file=models/credit-pd/versions/1.0.0/version.yaml,"
                               + rule) for line in lines), lines
    (stale,) = [line for line in _stale_lines(result.stdout) if rule in line]
    assert stale.startswith("::error file=models/credit-pd/card.md," + rule +
                            "this change made a sign-off stale: ")
    assert "the model card changed after it was given" in stale
    # JSON names the files too (relative to the inventory), whatever changed them.
    (failed,) = [r for r in mops.json("check", "--format", "json", code=1)["results"]
                 if r["rule"] == "BL-INDEPENDENT-SIGNOFF"]
    assert failed["related"] == ["models/credit-pd/card.md"]


def test_a_stale_signoff_is_annotated_on_the_evidence_file_changed(approved: Path, mops: Mops):
    (stored,) = (approved / "models/credit-pd/versions/1.0.0/evidence/files").rglob("*.txt")
    stored.write_text("a better report\n")   # uncommitted: --changed-since sees the working tree
    result = mops("check", "--format", "github", "--changed-since", "base", code=1)
    rel = stored.relative_to(approved).as_posix()
    files = {line.split(",title=")[0] for line in _stale_lines(result.stdout)}
    assert files == {f"::error file={rel}"}   # the record beside it did not change: no annotation


def test_no_stale_annotation_on_files_that_did_not_make_it_stale(approved: Path, mops: Mops):
    """The forging twin: the card was edited before the base; the pull request only adds a
    monitoring result (outside the sign-off's content). The failure is annotated where to
    fix it, never on a file of the pull request that did not cause it."""
    from tests.policy.helpers import record_drift

    git(approved, "tag", "-d", "base")
    card = approved / "models/credit-pd/card.md"
    card.write_text(card.read_text().replace("Commercial lending.", "Commercial and SME lending."))
    git(approved, "commit", "-qam", "widen the scope")
    git(approved, "tag", "base")
    record_drift(approved, "credit-pd@1.0.0", "2026-05-31T00:00:00Z")
    result = mops("check", "--format", "github", "--changed-since", "base", code=1)
    assert "title=BL-INDEPENDENT-SIGNOFF::" in result.stdout
    assert _stale_lines(result.stdout) == []
    # Without --changed-since nothing is known about a pull request: no inline annotation.
    assert _stale_lines(mops("check", "--format", "github", code=1).stdout) == []
