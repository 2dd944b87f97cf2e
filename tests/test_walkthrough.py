"""The README's five-minute walkthrough runs as written and reaches production.

The test takes the walkthrough's console block out of README.md and runs it
literally with bash in a fresh folder, with the installed ``mops`` on PATH and
nothing but a git identity set up, so that the README and the product cannot
drift apart. Its twin runs the same block with the validator's sign-off moved
before her evidence, which must not reach production.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import mops_executable

README = Path(__file__).resolve().parent.parent / "README.md"


def walkthrough_block(readme: str) -> str:
    """The first ``console`` block of the "Five-minute walkthrough" section."""
    section = readme.split("\n## Five-minute walkthrough\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```console\n(.*?)```", section, re.S)
    assert match, "the walkthrough has no console block"
    return match.group(1)


def commands(block: str) -> list[str]:
    """The commands of a console block: each ``$ `` line, with the ``> `` lines that
    continue it (a here-document, a line ending in a backslash); prose, comments and
    output lines are left out."""
    out: list[str] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append(line[2:])
        elif line.startswith("> "):
            assert out, f"a continuation line before any command: {line!r}"
            out[-1] += "\n" + line[2:]
    return out


def run(script: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """``bash -e`` on the commands in ``folder``: the installed mops first on PATH, an
    isolated HOME whose git identity is nobody in the walkthrough, no GIT_* identity
    variables (they would win over the walkthrough's ``git config``)."""
    home = folder / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = Someone "
                                     "Else\n\temail = someone@example.test\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "MOPS_", "GITHUB_")) and k not in ("NO_COLOR", "COLUMNS")}
    env |= {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "PATH": f"{Path(mops_executable()).parent}{os.pathsep}{env.get('PATH', '')}"}
    work = folder / "work"
    work.mkdir()
    return subprocess.run(["bash", "-e", "-c", "\n".join(script)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)


def mops_json(inventory: Path, *args: str) -> Any:
    proc = subprocess.run([mops_executable(), *args], cwd=inventory, capture_output=True,
                          text=True, env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def script() -> list[str]:
    return commands(walkthrough_block(README.read_text()))


def test_the_walkthrough_shows_each_person_switching_identity(script: list[str]):
    text = "\n".join(script)
    for who in ("dana", "bob", "carol", "alice"):
        assert f"git config user.email {who}@acme.test" in text, who
    assert "$EDITOR" not in text   # nothing left for the reader to do by hand


def test_the_walkthrough_reaches_production_as_written(script: list[str], tmp_path: Path):
    proc = run(script, tmp_path)
    assert proc.returncode == 0, f"the walkthrough failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    inventory = tmp_path / "work" / "acme-models"
    shown = mops_json(inventory, "show", "credit-pd@1.0.0", "--json")
    assert shown["stage"] == "production"
    assert [(a["by"], a["role"], a["stale"]) for a in shown["approvals"]] == [
        ("carol@acme.test", "validator", False)]
    assert [m["breach"] for m in shown["monitoring"]] == [False]
    assert mops_json(inventory, "check", "--format", "json")["ok"] is True
    assert mops_json(inventory, "verify", "--json")["ok"] is True
    actors = {(e["action"], e["actor"]) for e in mops_json(inventory, "log", "--json")}
    assert {("init", "dana@acme.test"), ("register", "bob@acme.test"),
            ("approve", "carol@acme.test"), ("promote", "alice@acme.test")} <= actors
    assert not any(actor == "someone@example.test" for _, actor in actors)
    assert (tmp_path / "work" / "audit.html").stat().st_size > 10_000


def test_signing_off_before_the_evidence_does_not_reach_production(script: list[str], tmp_path: Path):
    """The twin: the same block with the sign-off moved before the validator's evidence.
    The evidence makes it stale, and the promotion to production is refused."""
    approve = next(i for i, c in enumerate(script) if c.startswith("mops approve "))
    carol = next(i for i, c in enumerate(script) if "user.email carol@" in c)
    reordered = script[:carol + 1] + [script[approve]] + script[carol + 1:approve] + script[approve + 1:]
    proc = run(reordered, tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "cannot promote credit-pd@1.0.0 to production" in proc.stderr
    assert "stale" in proc.stderr
    shown = mops_json(tmp_path / "work" / "acme-models", "show", "credit-pd@1.0.0", "--json")
    assert shown["stage"] == "validation"
    assert [a["stale"] for a in shown["approvals"]] == [True]


def test_commands_reads_continuations_and_skips_the_rest():
    block = ("# a comment\n$ echo one \\\n>   two\nsome output\n$ cat > f <<EOF\n> x: 1\n> EOF\n"
             "> \n")
    assert commands(block) == ["echo one \\\n  two", "cat > f <<EOF\nx: 1\nEOF\n"]
