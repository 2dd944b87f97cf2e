"""Meta-tests: every command and option has help; the README documents every command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import typer

from mops.main import app

ROOT = Path(__file__).resolve().parent.parent


def _commands(typer_app: typer.Typer, prefix: str = ""):
    cmd = typer.main.get_command(typer_app)
    stack = [(prefix, cmd)]
    while stack:
        path, c = stack.pop()
        subs = getattr(c, "commands", None)
        if subs:
            for name, sub in subs.items():
                stack.append((f"{path} {name}".strip(), sub))
        else:
            yield path, c


def test_every_command_and_option_has_help():
    missing = []
    for path, cmd in _commands(app):
        if not (cmd.help or "").strip():
            missing.append(f"mops {path}: no help")
        for param in cmd.params:
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"mops {path} {param.name}: no help")
    assert not missing, "\n".join(missing)


def test_readme_documents_every_command():
    readme = (ROOT / "README.md").read_text()
    undocumented = [p for p, _ in _commands(app) if f"mops {p}" not in readme]
    assert not undocumented, f"README lacks: {undocumented}"


def _reference_sections(readme: str) -> dict[str, str]:
    """README's command reference: ``### `mops CMD ...` `` heading and its text, by command."""
    return {m.group(1): m.group(0) for m in re.finditer(
        r"^### `mops ([a-z-]+(?: [a-z-]+)?)[^`]*`\n[\s\S]*?(?=^##)", readme, re.M)}


def test_readme_reference_names_every_option_of_each_command():
    """The command reference stays in step with --help: each option in its command's section."""
    sections = _reference_sections((ROOT / "README.md").read_text())
    assert len(sections) >= 15, sorted(sections)
    missing = []
    for path, cmd in _commands(app):
        section = sections.get(path)
        if section is None:
            missing.append(f"mops {path}: no '### `mops {path} ...`' section")
            continue
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and opt not in section:
                    missing.append(f"mops {path} {opt}")
    assert not missing, "\n".join(missing)


def test_readme_commands_are_real_commands():
    """Every `mops WORD` in the README's code blocks names a command that exists."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:console|bash|sh|shell)?\n(.*?)```", readme, re.S)
    known = {p.split()[0] for p, _ in _commands(app)}
    used = set()
    for block in blocks:
        for m in re.finditer(r"(?:^|\$ |&& |\| )mops (?:-C \S+ )?([a-z][a-z-]*)", block, re.M):
            used.add(m.group(1))
    assert used, "the README shows no mops commands"
    assert used <= known, f"README uses unknown commands: {sorted(used - known)}"


def test_help_does_not_import_heavy_modules():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom mops.main import app\n"
            "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0, r.output\n"
            "heavy = [m for m in ('pandas', 'scipy', 'pyarrow', 'git', 'jinja2', 'numpy', 'yaml',"
            " 'markdown_it') if m in sys.modules]\nprint(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"mops --help imported: {out.stdout.strip()}"
