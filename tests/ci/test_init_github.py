"""`mops init --github`: the workflow, in one commit, on a new or an existing inventory."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mops import ACTIONS_REF
from mops.resources.workflow import GITHUB_WORKFLOW, github_workflow
from tests.ci.schemas import assert_valid
from tests.conftest import Mops, git, snapshot


def _commit_files(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "show", "--name-only", "--format=", rev).split()


def _workflow(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_new_inventory_gets_the_workflow_in_its_one_commit(tmp_path: Path):
    mops = Mops(tmp_path)
    out = mops("init", "inv", "--github").stdout
    repo = tmp_path / "inv"
    assert "push it to GitHub" in out
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert sorted(_commit_files(repo)) == [GITHUB_WORKFLOW, "models/.gitkeep", "mops.yaml"]
    flow = _workflow(repo / GITHUB_WORKFLOW)
    assert flow[True]["push"]["branches"] == ["main"]   # YAML 1.1 reads `on` as True
    gate = flow["jobs"]["gate"]["steps"]
    assert gate[0]["uses"].startswith("actions/checkout@") and gate[0]["with"]["fetch-depth"] == 0
    assert gate[0]["with"]["persist-credentials"] is False
    assert gate[1]["uses"].endswith(f"/mops/.github/actions/mops-gate@{ACTIONS_REF}")
    assert gate[1]["with"]["working-directory"] == "."
    assert flow["permissions"] == {"contents": "read"}
    assert_valid("vendor.github-workflows", repo / GITHUB_WORKFLOW)
    assert git(repo, "status", "--porcelain") == ""


def test_existing_inventory_gets_only_the_workflow_in_its_own_commit(tmp_path: Path):
    mops = Mops(tmp_path)
    mops("init", "inv")
    repo = tmp_path / "inv"
    git(repo, "checkout", "-q", "-b", "trunk")
    (repo / "notes.txt").write_text("uncommitted, not ours\n")
    Mops(repo)("init", "--github")
    assert _commit_files(repo) == [GITHUB_WORKFLOW]
    message = git(repo, "log", "-1", "--format=%B")
    assert "Mops-Action: init-github" in message
    assert _workflow(repo / GITHUB_WORKFLOW)[True]["push"]["branches"] == ["trunk"]
    assert git(repo, "status", "--porcelain") == "?? notes.txt\n"

    before = snapshot(repo)
    result = Mops(repo)("init", "--github", code=2)
    assert "already exists" in result.stderr
    assert snapshot(repo) == before
    result = Mops(repo)("init", "--github", "--name", "x", code=2)
    assert "--name, --pack and --role apply to a new inventory" in result.stderr
    assert snapshot(repo) == before


def test_default_branch_is_the_remotes(tmp_path: Path):
    Mops(tmp_path)("init", "inv")
    repo = tmp_path / "inv"
    git(repo, "update-ref", "refs/remotes/origin/develop", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
    Mops(repo)("init", "--github")
    assert _workflow(repo / GITHUB_WORKFLOW)[True]["push"]["branches"] == ["develop"]


def test_inventory_in_a_folder_of_a_larger_repository(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("app\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "app")
    Mops(tmp_path)("init", str(repo / "governance"), "--github")
    # init's commit, then the workflow at the repository's top in a commit of its own
    assert _commit_files(repo) == [GITHUB_WORKFLOW]
    assert sorted(_commit_files(repo, "HEAD~1")) == ["governance/models/.gitkeep",
                                                      "governance/mops.yaml"]
    flow = _workflow(repo / GITHUB_WORKFLOW)
    assert flow["jobs"]["gate"]["steps"][1]["with"]["working-directory"] == "governance"
    assert flow["jobs"]["drift"]["steps"][1]["with"]["working-directory"] == "governance"
    assert not (repo / "governance/.github").exists()
    assert_valid("vendor.github-workflows", repo / GITHUB_WORKFLOW)


def test_a_workflow_that_is_there_is_never_overwritten(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / ".github/workflows").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / GITHUB_WORKFLOW).write_text("name: mine\n")
    result = Mops(tmp_path)("init", str(repo / "gov"), "--github", code=2)
    assert "already exists" in result.stderr
    assert not (repo / "gov").exists()
    assert (repo / GITHUB_WORKFLOW).read_text() == "name: mine\n"


def test_rendering_quotes_what_it_fills_in():
    text = github_workflow('we"ird: branch', "models dir/x")
    flow = yaml.safe_load(text)
    assert flow[True]["push"]["branches"] == ['we"ird: branch']
    assert flow["jobs"]["gate"]["steps"][1]["with"]["working-directory"] == "models dir/x"
    assert "__MOPS_" not in text


def test_the_gate_runs_in_the_merge_queue_and_the_drift_check_does_not(tmp_path: Path):
    """Merge queues (`merge_group`) get the gate, on the queue's base; the schedule only drift."""
    flow = yaml.safe_load(github_workflow("main"))
    on = flow[True]
    assert "merge_group" in on and "pull_request" in on and "schedule" in on
    jobs = flow["jobs"]

    def runs(job: str, event: str) -> bool:
        # The two `if:` forms the template uses, evaluated for one event.
        condition = jobs[job]["if"]
        ors = [c.strip() for c in condition.split("||")]
        for c in ors:
            m = re.fullmatch(r"github\.event_name (==|!=) '(\w+)'", c)
            assert m, condition
            if (event == m[2]) == (m[1] == "=="):
                return True
        return False

    assert runs("gate", "merge_group") and runs("gate", "pull_request") and runs("gate", "push")
    assert not runs("drift", "merge_group") and not runs("gate", "schedule")
    assert runs("drift", "schedule") and runs("drift", "workflow_dispatch")
