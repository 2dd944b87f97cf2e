"""NO_COLOR and TERM=dumb: no escape code from any command, on a real terminal.

Every command runs as the installed ``mops`` script with its stdout and stderr on a
pseudo-terminal, so that mops really detects a terminal. With ``NO_COLOR`` (any
non-empty value) or ``TERM=dumb`` nothing may contain ``ESC [``; on the same terminal
with ``TERM=xterm`` and neither set, the styled commands do colour their output.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mops.demo.data import write_credit_logs
from mops.main import app
from tests.conftest import git, mops_executable
from tests.test_meta import _commands

CARD = Path(__file__).resolve().parents[2] / "cli/mops/demo/cards/credit-pd.md"
REGISTER = ["register", "credit-pd", "--version", "1.0.0", "--card", str(CARD), "--sha256", "a" * 64]
CSI = b"\x1b["
#: Variables that would change colour decisions, removed before each run.
COLOUR_VARS = ("NO_COLOR", "TERM", "FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "COLUMNS")
CAROL = {"GIT_COMMITTER_NAME": "Carol Validator", "GIT_COMMITTER_EMAIL": "carol@acme.test",
         "GIT_AUTHOR_NAME": "Carol Validator", "GIT_AUTHOR_EMAIL": "carol@acme.test"}


def in_terminal(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> tuple[int, bytes]:
    """Run ``mops ARGS`` with stdin, stdout and stderr on a 120x40 pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in COLOUR_VARS} | env
    proc = subprocess.Popen([mops_executable(), *args], cwd=cwd, env=full_env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                break
            if not chunk:
                break
            out += chunk
        else:
            proc.kill()
            raise AssertionError(f"mops {' '.join(args)} did not finish in {timeout} s")
    finally:
        os.close(master)
    return proc.wait(timeout=30), bytes(out)


def prepare(inventory: Path) -> dict[str, str]:
    """Reference data and logs for credit-pd, a report to attach; the scenario's file names."""
    logs = write_credit_logs(inventory / "data/credit-pd", reference_rows=300, month_rows=500)
    git(inventory, "add", "data/credit-pd/reference.parquet")
    git(inventory, "commit", "-qm", "reference data")
    (inventory / "validation.md").write_text("# Validation report\n")
    return {"log": str(logs["2026-10"])}


Step = tuple[list[str], dict[str, str], bool]
Run = tuple[str, int, bytes]
ENVS = {"NO_COLOR=1": {"NO_COLOR": "1", "TERM": "xterm-256color"}, "TERM=dumb": {"TERM": "dumb"}}


def scenario(inventory: Path, files: dict[str, str]) -> list[Step]:
    """Every command: its arguments, the environment it runs in (beyond the colour
    variables), and whether it leaves the inventory as it was. Those that do run with
    each of ENVS, two at a time; the others, in order, with NO_COLOR (a command that
    writes prints plain confirmations, or refusals like the ones that run with both)."""
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    home = {"HOME": str(inventory.parent / "home"), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    v = "credit-pd@1.0.0"
    return [
        (["init", str(inventory.parent / "second"), "--role", "validator=carol@acme.test"], {}, False),
        (REGISTER, {}, False),
        (["evidence", "add", v, "validation.md", "--kind", "validation-report"], {}, False),
        (["approve", v, "--role", "validator"], {}, True),     # refused: the developer is no validator
        (["promote", v, "--to", "production"], {}, True),      # refused: the rules unmet, listed
        (["approve", v, "--role", "validator"], CAROL, False),
        (["finding", "add", "credit-pd", "--severity", "low", "--title", "Tidy the card"], {}, False),
        (["finding", "close", "credit-pd", "{finding}", "--comment", "done"], {}, False),
        (["waive", "credit-pd", "--rule", "BL-OWNER", "--expires", expires, "--reason", "r"], {}, False),
        (["packs", "upgrade"], {}, False),
        (["--install-completion", "bash"], home, False),
        (["packs", "list"], {}, True),
        (["packs", "show", "baseline"], {}, True),
        (["list"], {}, True),
        (["show", "credit-pd"], {}, True),
        (["log", "credit-pd"], {}, True),
        (["check"], {}, True),
        (["verify"], {}, True),
        (["drift", "credit-pd", "--current", files["log"]], {}, True),
        (["export", "cyclonedx", v], {}, True),
        (["attest", v], {}, True),                             # refused: the developer may not attest
        (["verify-artifact", "--sha256", "0" * 64], {}, True),  # refused: no such artifact
        (["attest", v], CAROL, True),                          # refused: not production-ready
        (["verify-artifact", "--sha256", "0" * 64, "--attestation", "none.json",
          "--max-age-days", "30"], {}, True),                  # refused: no such file
        (["import", "mlflow", "models:/credit-pd/1"], {}, True),  # refused: no tracking URI
        (["show", "no-such-model"], {}, True),
        (["--no-such-option"], {}, True),
        (["audit", "--out", "report.html"], {}, False),
        (["retire", "credit-pd", "--reason", "replaced"], {}, False),
        (["demo", str(inventory.parent / "demo")], {}, False),
    ]


def run_scenario(inventory: Path, steps: list[Step]) -> dict[str, list[Run]]:
    """The runs, by environment. The last step, ``demo`` (by far the slowest), runs
    beside all the others."""
    *steps, (demo_args, demo_env, _) = steps
    runs: dict[str, list[Run]] = {label: [] for label in ENVS}
    finding = ""
    with ThreadPoolExecutor(max_workers=1) as background, ThreadPoolExecutor(max_workers=2) as pool:
        demo = background.submit(in_terminal, demo_args, inventory, ENVS["NO_COLOR=1"] | demo_env, 300)
        i = 0
        while i < len(steps):
            args, env, unchanged = steps[i]
            if not unchanged:
                args = [finding if a == "{finding}" else a for a in args]
                code, out = in_terminal(args, inventory, ENVS["NO_COLOR=1"] | env)
                if args[:2] == ["finding", "add"]:
                    finding = out.decode().strip().splitlines()[-1].strip()
                runs["NO_COLOR=1"].append((" ".join(args), code, out))
                i += 1
                continue
            batch = []
            while i < len(steps) and steps[i][2]:
                batch += [(label, steps[i][0], pool.submit(in_terminal, steps[i][0], inventory,
                                                           ENVS[label] | steps[i][1]))
                          for label in ENVS]
                i += 1
            for label, args, job in batch:
                runs[label].append((" ".join(args), *job.result()))
        runs["NO_COLOR=1"].append((" ".join(demo_args), *demo.result()))
    return runs


def commands_run(runs: list[Run]) -> set[str]:
    """The commands (``list``, ``finding add``, ...) that the runs started."""
    paths = {path for path, _ in _commands(app)}
    found = set()
    for args, _, _ in runs:
        words = [w for w in args.split() if not w.startswith("-")]
        found |= {" ".join(words[:n]) for n in (1, 2)} & paths
    return found


def test_no_escape_code_with_no_color_or_term_dumb(inventory: Path):
    runs = run_scenario(inventory, scenario(inventory, prepare(inventory)))
    for label, label_runs in runs.items():
        for args, code, out in label_runs:
            text = out.decode(errors="replace")
            assert code in (0, 1, 2), f"[{label}] mops {args} exited {code}:\n{text}"
            assert "Traceback" not in text, f"[{label}] mops {args}:\n{text}"
            assert CSI not in out, f"[{label}] mops {args} wrote escape codes:\n{out!r}"
    assert len(runs["TERM=dumb"]) >= 10
    missing = [path for path, _ in _commands(app) if path not in commands_run(runs["NO_COLOR=1"])]
    assert not missing, (f"add a run of each to scenario() in {Path(__file__).name}, so that it "
                         f"is checked too: {missing}")


def test_a_terminal_gets_colour_without_them(inventory: Path, tmp_path: Path):
    """The twin: the same terminal, TERM=xterm, NO_COLOR unset or empty, gets styled output."""
    prepare(inventory)
    assert in_terminal(REGISTER, inventory, {"TERM": "xterm"})[0] == 0
    for env in ({"TERM": "xterm"}, {"TERM": "xterm", "NO_COLOR": ""}):
        for args in (["list"], ["check"], ["show", "no-such-model"]):
            code, out = in_terminal(args, inventory, env)
            assert CSI in out, f"mops {' '.join(args)} with {env}: no colour on a terminal:\n{out!r}"
        code, out = in_terminal(["--install-completion", "bash"], inventory,
                                env | {"HOME": str(tmp_path / "home"),
                                       "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
        assert code == 0 and CSI in out, out


def test_piped_output_has_no_escape_codes(inventory: Path):
    """Not a terminal: plain text whatever TERM says."""
    prepare(inventory)
    env = {k: v for k, v in os.environ.items() if k not in COLOUR_VARS} | {"TERM": "xterm"}
    for args in (["list"], ["check"], ["show", "no-such-model"]):
        proc = subprocess.run([mops_executable(), *args], cwd=inventory, env=env, capture_output=True)
        assert CSI not in proc.stdout + proc.stderr, args


class _Tty:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "terminal"), [
    ({"TERM": "xterm"}, True), ({"TERM": "xterm", "NO_COLOR": ""}, True),
    ({"TERM": "xterm", "NO_COLOR": "1"}, False), ({"TERM": "xterm", "NO_COLOR": "false"}, False),
    ({"TERM": "dumb"}, False), ({}, True),
])
def test_terminal_output_follows_the_variables(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                               terminal: bool):
    """The one switch for rich tables, styles and the drift progress bar."""
    from mops.output import is_terminal

    for var in COLOUR_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert is_terminal(_Tty()) is terminal
