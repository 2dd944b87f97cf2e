"""Where the built-in policy packs and report templates are, installed or editable."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """``policies`` or ``report_templates``: inside the wheel, or at the source tree's root."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    source = _PACKAGE.parent.parent / name  # editable install: <repo>/cli/mops -> <repo>/<name>
    if source.is_dir():
        return source
    raise RuntimeError(f"mops is installed without its {name!r} folder (looked in {installed} "
                       f"and {source}); reinstall mops")


def builtin_pack_names() -> list[str]:
    return sorted(p.stem for p in data_dir("policies").glob("*.yaml"))


def builtin_pack_path(name: str) -> Path:
    return data_dir("policies") / f"{name}.yaml"


def templates_dir() -> Path:
    return data_dir("report_templates")
