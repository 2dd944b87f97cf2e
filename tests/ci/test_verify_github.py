"""`mops verify --format github`: problems as annotations on repository paths, escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.ci.actions import workflow_commands
from tests.conftest import Mops, git


@pytest.fixture
def subfolder(tmp_path: Path) -> Path:
    """An inventory in gov/ of a larger repository, with one evidence file swapped after it
    was recorded (committed, so only its digest gives it away)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    Mops(tmp_path)("init", str(repo / "gov"))
    inv = repo / "gov"
    mops = Mops(inv)
    mops("register", "m", "--version", "1", "--owner", "a@acme.test", "--tier", "2")
    src = tmp_path / "dq.txt"
    src.write_text("all good\n")
    mops("evidence", "add", "m@1", str(src), "--kind", "data-quality")
    (stored,) = (inv / "models/m/versions/1/evidence/files").rglob("dq.txt")
    stored.write_text("all good, and then some\n")
    git(repo, "commit", "-qam", "swap the evidence")
    return inv


def test_problems_are_errors_on_repository_paths(subfolder: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    result = Mops(subfolder)("verify", "--format", "github", code=1)
    (stored,) = (subfolder / "models/m/versions/1/evidence/files").rglob("dq.txt")
    path = stored.relative_to(subfolder.parent).as_posix()
    assert path.startswith("gov/models/m/versions/1/evidence/files/")
    commands = workflow_commands(result.stdout)
    assert commands and all(c.startswith(f"::error file={path},title=mops verify::") for c in commands)
    assert any("its sha256 is" in c for c in commands)
    assert result.stdout.splitlines()[-1].endswith(f"FAILED: {len(commands)} problem(s)")
    assert output.read_text() == f"ok=false\nproblems={len(commands)}\n"
    text = summary.read_text()
    assert text.startswith("## ❌ mops verify failed") and f"| ❌ | {path} |" in text


def test_json_and_text_are_as_they_were(subfolder: Path):
    mops = Mops(subfolder)
    by_flag = json.loads(mops("verify", "--json", code=1).stdout)
    assert json.loads(mops("verify", "--format", "json", code=1).stdout) == by_flag
    assert json.loads(mops("verify", "--json", "--format", "json", code=1).stdout) == by_flag
    # JSON keeps the inventory's own paths; only annotations are from the repository's root.
    assert by_flag["ok"] is False
    assert all(p["path"].startswith("models/m/") for p in by_flag["problems"])
    text = mops("verify", code=1).stdout
    assert "::" not in text and text.startswith(by_flag["problems"][0]["path"] + ": ")


def test_json_and_another_format_is_a_usage_error(subfolder: Path):
    result = Mops(subfolder)("verify", "--json", "--format", "github", code=2)
    assert "--json and --format github" in result.stderr and result.stdout == ""


def test_a_usage_error_is_also_an_annotation(subfolder: Path):
    result = Mops(subfolder)("verify", "--format", "github", "--changed-since", "nope", code=2)
    assert workflow_commands(result.stdout) == [
        "::error title=mops verify::--changed-since 'nope': not a commit in this repository (in "
        "GitHub Actions, check out with `fetch-depth: 0` so the base commit is there)"]
    assert result.stderr.startswith("error: --changed-since 'nope'")


FORGED = "a\n::stop-commands::tok\n::error file=mops.yaml::forged.yaml"


def test_a_file_name_cannot_forge_workflow_commands(inventory: Path, mops: Mops):
    """A sign-off file whose name carries workflow commands: every command line GitHub
    reads is one of verify's own annotations, with the name escaped inside it."""
    mops("register", "m", "--version", "1", "--owner", "a@acme.test", "--tier", "2")
    forged = inventory / "models/m/versions/1/approvals" / FORGED
    forged.parent.mkdir(parents=True)
    forged.write_text("x: 1\n")
    result = mops("verify", "--format", "github", code=1)
    commands = workflow_commands(result.stdout)
    assert len(commands) == 2, commands
    escaped = "a%0A%3A%3Astop-commands%3A%3Atok%0A%3A%3Aerror file=mops.yaml%3A%3Aforged.yaml"
    for command in commands:
        assert command.startswith(f"::error file=models/m/versions/1/approvals/{escaped},"
                                  f"title=mops verify::"), command


def test_the_forged_name_is_a_real_attack_on_plain_text(inventory: Path, mops: Mops):
    """The twin: printed as plain text (what the gate printed before), the same name does
    stop GitHub's command processing and forge an error."""
    mops("register", "m", "--version", "1", "--owner", "a@acme.test", "--tier", "2")
    forged = inventory / "models/m/versions/1/approvals" / FORGED
    forged.parent.mkdir(parents=True)
    forged.write_text("x: 1\n")
    commands = workflow_commands(mops("verify", code=1).stdout)
    assert "::stop-commands::tok" in commands
    assert "::error file=mops.yaml::forged.yaml: a sign-off record that is not committed: " \
           "nothing proves who made it" in commands


INJECTED = "x\n::stop-commands::tok\n::error file=mops.yaml::forged"


def _commands_in(result) -> list[str]:
    """Every line GitHub's runner would read as a workflow command: it reads stdout *and*
    stderr."""
    return workflow_commands(result.stdout) + workflow_commands(result.stderr)


def test_an_evidence_path_or_author_cannot_forge_workflow_commands(inventory: Path, mops: Mops,
                                                                   tmp_path: Path):
    """An evidence record committed by hand whose file path and ``added_by`` carry a newline
    and ``::stop-commands::``: verify's problems name both, and every command line GitHub
    reads (stdout or stderr) is one of verify's own annotations, escaped."""
    import yaml

    mops("register", "m", "--version", "1", "--owner", "a@acme.test", "--tier", "2")
    src = tmp_path / "dq.txt"
    src.write_text("fine\n")
    mops("evidence", "add", "m@1", str(src), "--kind", "data-quality")
    (rec,) = (inventory / "models/m/versions/1/evidence").glob("E-*.yaml")
    data = yaml.safe_load(rec.read_text())
    data["added_by"] = f"bob@acme.test{INJECTED}"
    data["files"].append({"path": f"evidence/files/{INJECTED}", "sha256": "0" * 64})
    rec.write_text(yaml.safe_dump(data))
    git(inventory, "commit", "-qam", "an evidence record with workflow commands in it")
    result = mops("verify", "--format", "github", code=1)
    commands = _commands_in(result)
    assert commands, result.stdout
    assert all(c.startswith("::error file=models/m/versions/1/evidence/") and
               ",title=mops verify::" in c for c in commands), commands
    # Wherever the injected text shows (the path, and added_by if a problem names it), its
    # line breaks are escaped: it stays inside one of verify's own commands.
    for c in commands:
        for found in re.finditer(r"(%3A%3A|::)stop-commands", c):
            assert c[:found.start()].endswith("%0A"), c
    joined = "\n".join(commands)
    assert "evidence/files/x%0A%3A%3Astop-commands%3A%3Atok%0A%3A%3Aerror file=mops.yaml" \
           "%3A%3Aforged,title=mops verify::" in joined
    # The twin: the same record as plain text forges GitHub commands (what escaping prevents).
    plain = workflow_commands(mops("verify", code=1).stdout)
    assert "::stop-commands::tok" in plain
