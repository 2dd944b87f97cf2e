"""Run a composite action's shell steps locally, the way the GitHub runner does.

Only the subset of GitHub's expression language our actions use is understood:
``${{ a.b.c }}``, ``${{ x || y }}`` and ``if: a.b != ''``. Anything else fails the
test, which keeps the actions simple enough to be tested this way. Steps that
``uses:`` another action are not run; their resolved ``with:`` is recorded. Steps
in ``skip`` are not run either. ``stubs`` gives the outputs of steps not run, by id
(e.g. the install step's venv ``bin``, pointed at the test environment).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Step:
    id: str | None
    name: str
    ran: bool
    #: False when the step's ``if:`` was false.
    reached: bool = True
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    steps: list[Step]
    outputs: dict[str, str]

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.ran and s.code != 0), None)

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def summary(self) -> str:
        return "".join(s.summary for s in self.steps)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def uses(self, action: str) -> Step:
        """The step that uses ``action`` (``owner/name``, any version)."""
        return next(s for s in self.steps if (s.uses or "").startswith(action + "@"))


def _lookup(context: dict[str, Any], path: str) -> str:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    return "" if value is None else str(value)


def evaluate(expr: str, context: dict[str, Any]) -> str:
    for operand in (o.strip() for o in expr.split("||")):
        if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)*", operand):
            raise AssertionError(f"expression not understood by the local runner: {expr!r}")
        value = _lookup(context, operand)
        if value:
            return value
    return ""


def interpolate(text: Any, context: dict[str, Any]) -> str:
    return EXPR.sub(lambda m: evaluate(m.group(1), context), str(text))


def condition(expr: str, context: dict[str, Any]) -> bool:
    expr = EXPR.sub(lambda m: m.group(1), expr).strip()
    m = re.fullmatch(r"(\S+)\s*(==|!=)\s*'([^']*)'", expr)
    if not m:
        raise AssertionError(f"condition not understood by the local runner: {expr!r}")
    value = evaluate(m.group(1), context)
    return (value == m.group(3)) == (m.group(2) == "==")


def run_action(action: Path, *, workspace: Path, tmp: Path, inputs: dict[str, str] | None = None,
               event_name: str = "push", event: dict[str, Any] | None = None,
               env: dict[str, str] | None = None, skip: set[str] = frozenset({"install"}),
               stubs: dict[str, dict[str, str]] | None = None) -> Run:
    """Run ``action``'s ``run:`` steps in ``workspace`` with the ``GITHUB_*`` variables set."""
    doc = yaml.safe_load(action.read_text())
    given = dict(inputs or {})
    unknown = set(given) - set(doc.get("inputs", {}))
    assert not unknown, f"not inputs of {action}: {unknown}"
    context: dict[str, Any] = {
        "inputs": {k: given.get(k, str(v.get("default", ""))) for k, v in doc["inputs"].items()},
        "github": {"action_path": str(action.parent), "event_name": event_name,
                   "event": event or {}, "workspace": str(workspace)},
        "runner": {"temp": str(tmp), "os": "Linux", "arch": "X64"},
        "steps": {},
    }
    base_env = dict(os.environ)
    base_env.update({
        "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_NAME": event_name, "GITHUB_ACTION_PATH": str(action.parent),
        "RUNNER_TEMP": str(tmp), "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
    })
    base_env.update(env or {})
    steps: list[Step] = []
    for n, spec in enumerate(doc["runs"]["steps"]):
        step = Step(id=spec.get("id"), name=spec.get("name", f"step {n}"), ran=False,
                    uses=spec.get("uses"))
        steps.append(step)
        if "if" in spec and not condition(str(spec["if"]), context):
            step.reached = False
            continue
        if step.uses or step.id in skip:
            if step.uses:
                step.with_ = {k: interpolate(v, context) for k, v in (spec.get("with") or {}).items()}
            step.outputs = dict((stubs or {}).get(step.id or "", {}))
            if step.id:
                context["steps"][step.id] = {"outputs": step.outputs}
            continue
        assert spec.get("shell") == "bash", f"{step.name}: give every run step `shell: bash`"
        assert "${{" not in spec["run"], f"{step.name}: an expression inside run:"
        output, summary = tmp / f"output-{n}", tmp / f"summary-{n}"
        output.write_text("")
        summary.write_text("")
        step_env = dict(base_env, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
        step_env.update({k: interpolate(v, context) for k, v in (spec.get("env") or {}).items()})
        cwd = workspace / interpolate(spec.get("working-directory", "."), context)
        script = tmp / f"step-{n}.sh"
        script.write_text(spec["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=cwd, env=step_env, capture_output=True, text=True, timeout=300)
        step.ran, step.code, step.stdout, step.stderr = True, proc.returncode, proc.stdout, proc.stderr
        step.summary = summary.read_text()
        for line in output.read_text().splitlines():
            key, sep, value = line.partition("=")
            assert sep, f"{step.name}: GITHUB_OUTPUT line without '=': {line!r}"
            step.outputs[key] = value
        if step.id:
            context["steps"][step.id] = {"outputs": step.outputs}
        if proc.returncode != 0:
            break   # the runner stops at a failing step (no step here asks for always())
    outputs = {k: interpolate(v["value"], context) for k, v in doc.get("outputs", {}).items()}
    return Run(steps, outputs)


def installed() -> dict[str, dict[str, str]]:
    """Stub outputs of the actions' install step: the venv is the test interpreter's."""
    import sys

    return {"install": {"bin": str(Path(sys.executable).parent)}}


DECOYS = ("mops", "python", "python3", "pip", "pip3")


def decoy_path(tmp: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH starts with a ``mops``, ``python`` and ``pip`` that must never
    run (each leaves a marker and fails): the actions call mops through their own venv only.
    Returns the environment and the marker file."""
    bin_dir, marker = tmp / "decoys", tmp / "a-decoy-ran"
    bin_dir.mkdir(exist_ok=True)
    for name in DECOYS:
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\necho {name} \"$@\" >> '{marker}'\nexit 99\n")
        script.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, marker


COMMAND = re.compile(r"\s*::([\w-]+)[ :]")


def workflow_commands(stdout: str) -> list[str]:
    """The lines the runner reads as workflow commands: it splits on CR, LF or CRLF and
    takes a line that starts (after blanks) with ``::name``."""
    return [line.lstrip() for line in re.split(r"\r\n|\r|\n", stdout) if COMMAND.match(line)]
