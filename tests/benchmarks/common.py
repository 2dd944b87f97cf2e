"""What the benchmark scripts share: the mops to run, its environment, a timer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def bench_env(**extra: str) -> tuple[str, dict[str, str]]:
    """The installed ``mops`` and an environment with a pinned git identity.

    Also measures what users get: mops's bytecode cached (some shells set
    PYTHONDONTWRITEBYTECODE, which makes every run compile mops again).
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    mops = shutil.which("mops") or str(Path(sys.executable).parent / "mops")
    env = dict(os.environ, GIT_AUTHOR_NAME="B", GIT_AUTHOR_EMAIL="b@acme.test",
               GIT_COMMITTER_NAME="B", GIT_COMMITTER_EMAIL="b@acme.test", GIT_CONFIG_NOSYSTEM="1",
               **extra)
    return mops, env


def best_of(cmd: list[str], runs: int, cwd: Path | None = None, env: dict | None = None) -> float:
    """The fastest of ``runs`` runs of ``cmd``, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)
