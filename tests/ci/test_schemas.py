"""Every workflow, action and hooks file we ship or generate validates, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mops.templates import HERE, github_workflow
from tests.ci.schemas import assert_valid, validate_manifest

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = sorted((ROOT / ".github/actions").glob("*/action.yml"))
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def test_the_shipped_files_are_there():
    assert {p.parent.name for p in ACTIONS} >= {"mops-gate", "mops-drift"}
    assert ROOT / ".github/workflows/ci.yml" in WORKFLOWS


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_actions_validate(path: Path):
    assert_valid("vendor.github-actions", path)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_validate(path: Path):
    assert_valid("vendor.github-workflows", path)


def test_the_init_template_and_what_it_renders_validate(tmp_path: Path):
    rendered = tmp_path / "mops.yml"
    rendered.write_text(github_workflow("main", "governance/inventory"))
    assert_valid("vendor.github-workflows", HERE / "github-workflow.yml", rendered)


def test_the_schema_check_really_checks(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: [{uses: 1, run: 2}]\n")
    with pytest.raises(AssertionError):
        assert_valid("vendor.github-workflows", bad)


def test_pre_commit_hooks_manifest_validates():
    proc = validate_manifest(ROOT / ".pre-commit-hooks.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"mops-check", "mops-verify"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert hook["files"] == r"^(models/|policies/|mops\.yaml$)"


def test_no_expression_inside_a_run_script():
    """Inputs reach the shell through `env:` only, so no input can inject shell code."""
    for path in ACTIONS + WORKFLOWS + [HERE / "github-workflow.yml"]:
        doc = yaml.safe_load(path.read_text())
        steps = list((doc.get("runs") or {}).get("steps") or [])
        for job in (doc.get("jobs") or {}).values():
            steps += job.get("steps") or []
        for step in steps:
            assert "${{" not in step.get("run", ""), f"{path}: {step.get('name')}"


def test_actions_used_are_current_majors():
    """checkout and upload-artifact v5 or later, as the issue requires."""
    import re

    for path in ACTIONS + WORKFLOWS + [HERE / "github-workflow.yml"]:
        for name, major in re.findall(r"uses:\s*actions/([a-z-]+)@v(\d+)", path.read_text()):
            assert int(major) >= 5, f"{path}: actions/{name}@v{major}"


def test_the_docs_and_the_template_name_the_same_gate():
    uses = set()
    for path in [ROOT / "README.md", HERE / "github-workflow.yml", ROOT / ".pre-commit-hooks.yaml"]:
        import re

        uses |= set(re.findall(r"([\w.-]+)/mops(?:/\.github/actions/mops-\w+@v1|\n|\s)",
                               path.read_text()))
    assert uses == {"mops-dev"}, uses
