"""mops.git is the only code that starts git or composes a git command line."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cli" / "mops"
#: Starting a process, or a git sub-command spelled out as an argument.
STARTS = re.compile(r"\bsubprocess\b|\bPopen\b|\bos\.system\b|\bos\.exec|[\"'](rev-parse|cat-file|"
                    r"update-ref|update-index|ls-tree|ls-files|merge-base|symbolic-ref|"
                    r"commit-tree|hash-object|rev-list)[\"']")
#: Modules that start something other than git.
OTHER_TOOLS = {"report/pdf.py",  # headless Chromium
               "trust/sshsig.py"}  # ssh-keygen -Y (attestations are not commits)


def test_nothing_outside_mops_git_starts_git():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("git/") or rel in OTHER_TOOLS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if STARTS.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []
