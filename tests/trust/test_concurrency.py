"""Concurrent writers and killed writers, as real ``mops`` processes.

Each interruption test pauses a writer at a chosen point with a *git* extension
point installed in the test repository only — a ``post-index-change`` or
``reference-transaction`` hook, or a ``gpg.ssh.program`` wrapper — so mops itself
carries no test hook. The hook touches ``$MOPS_TEST_PAUSED`` and waits for
``$MOPS_TEST_RELEASE`` (at most 20 s); without those variables it does nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Mops, as_person, git, mops_executable, snapshot
from tests.policy.helpers import CAROL, register
from tests.trust.helpers import VDIR, Keys, make_team

WAIT = """\
[ -n "$MOPS_TEST_PAUSED" ] || exit 0
[ -e "$MOPS_TEST_PAUSED" ] && exit 0   # pause once: the rollback must run freely
touch "$MOPS_TEST_PAUSED"
i=0
while [ ! -e "$MOPS_TEST_RELEASE" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
"""

#: Where a writer is paused, and what has happened by then.
HOOKS = {
    # inside `git commit-tree -S`: the commit is being made, nothing visible has changed
    "signing": None,
    # `git update-ref` is moving HEAD: the new files are in the working tree
    "head-move": ("reference-transaction", '[ "$1" = prepared ] || exit 0\n'),
    # HEAD has moved and the user's index has been written: only the refresh is left
    # (`git status` writes the index too, earlier: the hook waits for HEAD to move)
    "index": ("post-index-change", '[ -z "$GIT_INDEX_FILE" ] || exit 0\n'
                                   '[ "$(git rev-parse HEAD)" != "$MOPS_TEST_HEAD" ] || exit 0\n'),
}


class Writer:
    """One ``mops`` process in its own process group, paused at a hook."""

    def __init__(self, repo: Path, args: list[str], tmp: Path, env: dict[str, str]) -> None:
        self.paused = tmp / "paused"
        self.release = tmp / "release"
        for f in (self.paused, self.release):
            f.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [mops_executable(), "-C", str(repo), *args], start_new_session=True,
            env={**os.environ, **env, "MOPS_TEST_PAUSED": str(self.paused),
                 "MOPS_TEST_RELEASE": str(self.release)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_paused(self) -> None:
        deadline = time.monotonic() + 20
        while not self.paused.exists():
            assert self.proc.poll() is None, f"writer ended before the pause: {self.finish()}"
            assert time.monotonic() < deadline, "writer never reached the pause"
            time.sleep(0.01)

    def finish(self) -> tuple[int, str]:
        self.release.touch()
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err

    def cleanup(self) -> None:
        self.release.touch()
        try:  # the group holds whatever the writer started (git, the hook); we started it
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for w in started:
        w.cleanup()


def install_hook(repo: Path, point: str, tmp: Path, keys: Keys | None) -> dict[str, str]:
    """Install the pause for ``point``; returns extra environment for the writer."""
    if point == "signing":
        assert keys is not None
        wrapper = tmp / "ssh-keygen-paused"
        wrapper.write_text(f"#!/bin/sh\n{WAIT}exec ssh-keygen \"$@\"\n")
        wrapper.chmod(0o755)
        config = {"gpg.format": "ssh",
                  "user.signingkey": str(keys.path("carol").with_suffix(".pub")),
                  "gpg.ssh.program": str(wrapper)}
        env = {"GIT_CONFIG_COUNT": str(len(config))}
        for i, (k, v) in enumerate(config.items()):
            env[f"GIT_CONFIG_KEY_{i}"] = k
            env[f"GIT_CONFIG_VALUE_{i}"] = v
        return env
    name, condition = HOOKS[point]
    hook = repo / ".git" / "hooks" / name
    hook.write_text(f"#!/bin/sh\n{condition}{WAIT}")
    hook.chmod(0o755)
    return {"MOPS_TEST_HEAD": git(repo, "rev-parse", "HEAD").strip()}


def git_locks(repo: Path) -> list[str]:
    """Lock files git left behind (``mops.lock`` is a flock file, always there)."""
    return sorted(p.relative_to(repo).as_posix() for p in (repo / ".git").rglob("*.lock")
                  if p.name != "mops.lock")


# ----------------------------------------------------------------------------- concurrency


def test_eight_mixed_writers_on_one_version_all_commit(inventory: Path, mops: Mops, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    """Findings, evidence and sign-offs on the same version at once: they queue, none is lost."""
    register(mops, tmp_path)
    before = int(git(inventory, "rev-list", "--count", "HEAD"))
    carol = {f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER")
             for k, v in (("NAME", CAROL[0]), ("EMAIL", CAROL[1]))}
    jobs: list[tuple[list[str], dict[str, str]]] = []
    for i in range(4):
        jobs.append((["finding", "add", "credit-pd@1.0.0", "--severity", "low",
                      "--title", f"writer {i}"], {}))
    for i in range(2):
        f = tmp_path / f"report-{i}.txt"
        f.write_text(f"report {i}\n" * 1000)
        jobs.append((["evidence", "add", "credit-pd@1.0.0", str(f), "--kind", "benchmarking"], {}))
    for _ in range(2):
        jobs.append((["approve", "credit-pd@1.0.0", "--role", "validator"], carol))
    procs = [subprocess.Popen([mops_executable(), "-C", str(inventory), *args],
                              env={**os.environ, **env}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args, env in jobs]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert int(git(inventory, "rev-list", "--count", "HEAD")) == before + 8
    actions = git(inventory, "log", f"-{len(jobs)}", "--format=%(trailers:key=Mops-Action,"
                                                     "valueonly)").split()
    assert sorted(actions) == sorted(["finding"] * 4 + ["evidence"] * 2 + ["approve"] * 2)
    folder = inventory / VDIR
    assert len(list((inventory / "models/credit-pd/findings").glob("*.yaml"))) == 4
    assert len(list((folder / "evidence").glob("*.yaml"))) == 2
    assert len(list((folder / "approvals").glob("*.yaml"))) == 2
    assert git(inventory, "status", "--porcelain", "--untracked-files=all") == ""
    git(inventory, "fsck", "--no-dangling", "--no-progress")
    as_person(monkeypatch, *CAROL)
    assert mops.json("verify", "--json")["ok"] is True


# ----------------------------------------------------------------------------- interruption


SIGNALS = {
    "SIGINT-to-group": (signal.SIGINT, True),    # Ctrl-C in a terminal
    "SIGTERM-to-mops": (signal.SIGTERM, False),  # `kill PID`, a cancelled CI job
}


def _cases() -> list:
    return [pytest.param(point, how, id=f"{point}-{how}")
            for point in ("signing", "head-move", "index") for how in SIGNALS]


@pytest.mark.parametrize("point,how", _cases())
def test_interrupted_writer_leaves_the_repository_as_before(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        writers: list[Writer], point: str, how: str):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    args = {"signing": ["approve", team.ref, "--role", "validator"],
            "head-move": ["finding", "add", "credit-pd", "--severity", "low", "--title", "t"],
            "index": ["retire", team.ref, "--reason", "replaced"]}[point]
    env = install_hook(inventory, point, tmp_path, team.keys)
    if point == "signing":
        env.update({f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER")
                    for k, v in (("NAME", CAROL[0]), ("EMAIL", CAROL[1]))})
    before = snapshot(inventory)
    version_before = (inventory / VDIR / "version.yaml").read_bytes()

    writer = Writer(inventory, args, tmp_path, env)
    writers.append(writer)
    writer.wait_paused()
    sig, group = SIGNALS[how]
    (os.killpg if group else os.kill)(writer.proc.pid, sig)
    code, err = writer.finish()

    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(inventory) == before
    assert (inventory / VDIR / "version.yaml").read_bytes() == version_before
    assert git_locks(inventory) == []
    assert list(inventory.rglob("*.mops-*")) == []
    # ... and the next writer works.
    (inventory / ".git" / "hooks" / "post-index-change").unlink(missing_ok=True)
    (inventory / ".git" / "hooks" / "reference-transaction").unlink(missing_ok=True)
    mops("finding", "add", "credit-pd", "--severity", "low", "--title", "after")
    assert mops.json("verify", "--json")["ok"] is True


@pytest.mark.parametrize("point", ["signing", "index"])
def test_killed_writer_releases_the_lock_and_leaves_history_consistent(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        writers: list[Writer], point: str):
    """SIGKILL: no cleanup runs. The flock goes with the process; HEAD and index stay sound."""
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    env = install_hook(inventory, point, tmp_path, team.keys)
    args = ["retire", team.ref, "--reason", "replaced"]
    if point == "signing":
        env.update({f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER")
                    for k, v in (("NAME", CAROL[0]), ("EMAIL", CAROL[1]))})
        args = ["approve", team.ref, "--role", "validator"]
    head = git(inventory, "rev-parse", "HEAD").strip()
    writer = Writer(inventory, args, tmp_path, env)
    writers.append(writer)
    writer.wait_paused()
    # While it lives, it holds the lock, and a second writer says whom it waited for.
    monkeypatch.setenv("MOPS_LOCK_TIMEOUT", "0.5")
    r = mops("finding", "add", "credit-pd", "--severity", "low", "--title", "too soon", code=2)
    assert f"another mops process (pid {writer.proc.pid}) has held" in r.stderr
    os.killpg(writer.proc.pid, signal.SIGKILL)
    writer.proc.wait(timeout=10)

    monkeypatch.setenv("MOPS_LOCK_TIMEOUT", "5")
    started = time.monotonic()
    mops("finding", "add", "credit-pd", "--severity", "low", "--title", "next writer")
    assert time.monotonic() - started < 5, "the next writer waited for a dead process's lock"
    assert git_locks(inventory) == []
    git(inventory, "fsck", "--no-dangling", "--no-progress")
    log = git(inventory, "log", "--format=%(trailers:key=Mops-Action,valueonly)").split()
    if point == "signing":  # killed before anything was visible: that action never happened
        assert git(inventory, "rev-parse", "HEAD~1").strip() == head
    else:  # killed after HEAD moved: the action is complete in HEAD, index and working tree
        assert log[:2] == ["finding", "retire"]
    assert git(inventory, "status", "--porcelain", "--untracked-files=all") == ""
    assert mops.json("verify", "--json")["ok"] is True


def test_verify_warns_about_a_killed_writers_temporary_file(inventory: Path, mops: Mops,
                                                            tmp_path: Path):
    """A writer killed while writing a file leaves ``.<name>.mops-XXXXXXXX``; nothing reads it."""
    register(mops, tmp_path)
    stray = inventory / VDIR / "approvals" / ".A-123456.yaml.mops-k1ll3d0x"
    stray.parent.mkdir()
    stray.write_text("half a sign-off")
    data = mops.json("verify", "--json")
    assert data["ok"] is True
    assert data["warnings"] == [{"path": stray.relative_to(inventory).as_posix(),
                                 "problem": "leftover temporary file of an interrupted mops "
                                            "process; nothing reads it, and it is safe to delete"}]
    r = mops("verify")
    assert "warning: " in r.stderr and "safe to delete" in r.stderr
    assert mops.json("show", "credit-pd", "--json")["approvals"] == []
