"""Every workflow, action and hooks file we ship or generate validates, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mops import ACTIONS_REF
from mops.resources.workflow import HERE, github_workflow
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


# What each hook must see staged to run (pre-commit matches `files:` with re.search on
# paths from the repository's top), and what must not start it.
GOVERNED = ["models/credit-pd/card.md", "models/m/versions/1/approvals/a1b2c3.yaml",
            "policies/acme.yaml", "mops.yaml", ".mops/allowed_signers",
            "report_templates/base.html", "report_templates/_card.html"]
NOT_GOVERNED = ["README.md", "src/models/x.py", "docs/mops.yaml", "mops.yaml.bak", ".mopsrc",
                "my_policies/x.yaml", "report_templates.md", "x/.mops/allowed_signers"]


@pytest.mark.parametrize("hook", ["mops-check", "mops-verify"])
def test_hooks_run_when_anything_governed_is_staged(hook: str):
    import re

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    files = re.compile(hooks[hook]["files"])
    assert [p for p in GOVERNED if not files.search(p)] == []
    # ... and only then: the forging twins, paths that merely look like the inventory's.
    assert [p for p in NOT_GOVERNED if files.search(p)] == []


def test_no_expression_inside_a_run_script():
    """Inputs reach the shell through `env:` only, so no input can inject shell code."""
    for path in ACTIONS + WORKFLOWS + [HERE / "github-workflow.yml"]:
        doc = yaml.safe_load(path.read_text())
        steps = list((doc.get("runs") or {}).get("steps") or [])
        for job in (doc.get("jobs") or {}).values():
            steps += job.get("steps") or []
        for step in steps:
            assert "${{" not in step.get("run", ""), f"{path}: {step.get('name')}"


USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<ref>\S+)(?:\s*#\s*(?P<comment>.*))?$", re.M)
PINNED = re.compile(r"(?P<action>[\w.-]+/[\w.-]+)(?:/[\w./-]+)?@(?P<sha>[0-9a-f]{40})")
#: Ours, by major tag: `mops init --github` cannot know the commit of a release yet.
OWN = re.compile(rf"mops-dev/mops/\.github/actions/mops-(gate|drift)@({ACTIONS_REF}|__MOPS_ACTIONS_REF__)")


def _uses(path: Path) -> list[tuple[str, str]]:
    return [(m["ref"], m["comment"] or "") for m in USES.finditer(path.read_text())]


def test_third_party_actions_are_pinned_to_a_commit_with_the_release_in_a_comment():
    seen: dict[str, set[tuple[str, str]]] = {}
    files = ACTIONS + WORKFLOWS + [HERE / "github-workflow.yml"]
    for path in files:
        for ref, comment in _uses(path):
            if OWN.fullmatch(ref):
                assert path == HERE / "github-workflow.yml", f"{path}: {ref}"
                assert comment.startswith("zizmor: ignore[unpinned-uses]"), f"{path}: {ref}"
                continue
            pin = PINNED.fullmatch(ref)
            assert pin, f"{path}: {ref} is not pinned to a full commit SHA"
            release = re.fullmatch(r"(v\d+)\.\d+\.\d+", comment)
            assert release, f"{path}: {ref} needs its release as a comment (# vX.Y.Z), not {comment!r}"
            assert int(release[1][1:]) >= 5, f"{path}: {pin['action']} {comment} (v5 or later)"
            seen.setdefault(pin["action"], set()).add((pin["sha"], comment))
    assert {"actions/checkout", "actions/setup-python", "actions/upload-artifact",
            "actions/cache"} <= set(seen)
    # One commit per action everywhere, so that an upgrade is one search and replace.
    assert {a: pins for a, pins in seen.items() if len(pins) != 1} == {}


def test_the_pin_check_really_checks(tmp_path: Path):
    """The forging twins: a tag, a short SHA, a SHA without its release comment."""
    for line in ("uses: actions/checkout@v7", "uses: actions/checkout@3d3c42e",
                 "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
                 "uses: evil/mops/.github/actions/mops-gate@v1"):
        ref, comment = _uses_line(line)
        assert not (PINNED.fullmatch(ref) and re.fullmatch(r"v\d+\.\d+\.\d+", comment)), line


def _uses_line(line: str) -> tuple[str, str]:
    m = USES.search(line)
    assert m, line
    return m["ref"], m["comment"] or ""


def test_every_checkout_leaves_no_credentials_behind():
    """Nothing we ship or generate pushes: no token stays in .git/config for later steps."""
    for path in WORKFLOWS + [HERE / "github-workflow.yml"]:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{path}: {step}"


def test_the_docs_and_the_template_name_the_same_gate():
    uses = set()
    for path in [ROOT / "README.md", HERE / "github-workflow.yml", ROOT / ".pre-commit-hooks.yaml"]:
        # The repository (github.com/OWNER/mops) and its actions (OWNER/mops/.github/actions/...),
        # not a path such as cli/mops.
        for repo, action in re.findall(r"github\.com/([\w.-]+)/mops\b|([\w.-]+)/mops/\.github/actions/",
                                       path.read_text()):
            uses.add(repo or action)
    assert uses == {"mops-dev"}, uses
