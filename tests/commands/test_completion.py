"""Shell completion: Typer's --show-completion/--install-completion and the _MOPS_COMPLETE protocol.

Run through the installed ``mops`` script, as a shell runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import missing_tool, mops_executable

#: Typer detects the user's shell from the process tree; this makes it take the shell
#: as the option's value instead (``--show-completion bash``).
NO_DETECTION = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}


def run_mops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([mops_executable(), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def complete_bash(line: str) -> list[str]:
    """What ``mops`` offers for the last word of ``line`` (bash's protocol)."""
    words = line.split(" ")
    proc = run_mops(env={"_MOPS_COMPLETE": "complete_bash", "COMP_WORDS": line,
                         "COMP_CWORD": str(len(words) - 1)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_show_completion_prints_the_bash_script():
    proc = run_mops("--show-completion", "bash", env=NO_DETECTION)
    assert proc.returncode == 0, proc.stderr
    assert "complete -o default -F _mops_completion mops" in proc.stdout
    assert "_MOPS_COMPLETE=complete_bash" in proc.stdout


def test_help_lists_the_completion_options():
    proc = run_mops("--help")
    assert proc.returncode == 0, proc.stderr
    assert "--install-completion" in proc.stdout and "--show-completion" in proc.stdout


def test_install_completion_writes_the_script_under_home(tmp_path: Path):
    proc = run_mops("--install-completion", "bash", env={**NO_DETECTION, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    script = tmp_path / ".bash_completions" / "mops.sh"
    assert "_MOPS_COMPLETE=complete_bash" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


def test_command_names_complete():
    assert complete_bash("mops dri") == ["drift"]
    assert {"init", "check", "drift", "audit", "evidence", "finding"} <= set(complete_bash("mops "))


def test_subcommands_and_option_values_complete():
    assert complete_bash("mops evidence ") == ["add"]
    assert complete_bash("mops check --format ") == ["text", "json", "github"]


@pytest.mark.skipif(missing_tool(shutil.which("bash") is not None), reason="bash is not installed")
def test_the_printed_script_completes_in_bash():
    """bash itself sources the script and calls its function, as on a <TAB>."""
    script = run_mops("--show-completion", "bash", env=NO_DETECTION).stdout
    program = script + '\nCOMP_WORDS=(mops che); COMP_CWORD=1; _mops_completion mops; echo "${COMPREPLY[@]}"\n'
    path = f"{Path(mops_executable()).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PATH": path})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["check"]
