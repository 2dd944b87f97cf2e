"""The one runner: every git process mops starts goes through :func:`run` or :func:`probe`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from mops.errors import GitError

#: The null object id: "no such ref" to ``update-ref``, "remove" to ``update-index``.
ZERO = "0" * 40


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment for git, plus ``extra`` (e.g. an identity or an index file)."""
    env = dict(os.environ)
    # Messages we parse must not be translated; pagers and prompts must never start.
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"})
    if extra:
        env.update(extra)
    return env


def _spawn(cwd: Path | str, args: tuple[str, ...], input: bytes | None,
           env: Mapping[str, str] | None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                              env=environment(env))
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; mops needs git") from None


def run(cwd: Path | str, *args: str, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> bytes:
    """Run git and return stdout; a failure raises ``GitError`` with git's own words."""
    proc = _spawn(cwd, args, input, env)
    if check and proc.returncode != 0:
        err = [line for line in proc.stderr.decode("utf-8", "replace").strip().splitlines()
               if not line.startswith("hint:")]
        # git's own verdict is the "fatal:"/"error:" line; hints and context come around it.
        msg = next((line for line in err if line.startswith(("fatal:", "error:"))),
                   err[0] if err else f"exit status {proc.returncode}")
        raise GitError(f"git {args[0]} failed: {msg.removeprefix('fatal: ').removeprefix('error: ')}")
    return proc.stdout


def probe(cwd: Path | str, *args: str, env: Mapping[str, str] | None = None) -> str | None:
    """Run a git query whose failure is an answer: its stdout (stripped), or None."""
    proc = _spawn(cwd, args, None, env)
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else None


def popen(cwd: Path | str, *args: str) -> subprocess.Popen[bytes]:
    """A long-lived git process talking through pipes (``cat-file --batch``)."""
    return subprocess.Popen(["git", *args], cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=environment())
