"""What the benchmark scripts share: the mops to run, its environment, a timer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: The people of the benchmark inventories, and their settings (roles by e-mail).
PEOPLE = {"alice": "alice@acme.test", "bob": "bob@acme.test", "carol": "carol@acme.test",
          "dana": "dana@acme.test", "bot": "monitoring-bot@acme.test"}
SETTINGS = ("inventory: Benchmark\npolicies: [baseline@2]\n"
            "stages: [development, validation, production, retired]\n"
            "roles:\n  validator: [carol@acme.test]\n  risk-officer: [dana@acme.test]\n"
            "  monitoring: [monitoring-bot@acme.test]\nsigning: optional\n")


def fast_import_commit(who: str, when: int, subject: str, files: dict[str, bytes], *,
                       action: str, model: str | None = None, version: str | None = None,
                       extra: dict[str, str] | None = None) -> bytes:
    """One commit on ``refs/heads/main`` for ``git fast-import``, by ``who`` (of PEOPLE) at
    ``when`` (epoch seconds), with the ``Mops-*`` trailers mops would have written."""
    email = PEOPLE[who]
    trailers = {"Mops-Action": action, **({"Mops-Model": model} if model else {}),
                **({"Mops-Version": version} if version else {}), "Mops-Actor": email,
                **(extra or {})}
    message = (subject + "\n\n" + "".join(f"{k}: {v}\n" for k, v in trailers.items())).encode()
    out = [f"commit refs/heads/main\nauthor {who} <{email}> {when} +0000\n"
           f"committer {who} <{email}> {when} +0000\ndata {len(message)}\n".encode(), message,
           b"\n"]
    for path, data in files.items():
        out += [f"M 100644 inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
    return b"".join(out) + b"\n"


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
