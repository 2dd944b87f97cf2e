"""Files mops ships: where the built-in policy packs and report templates are (installed
or editable), and, in :mod:`.workflow`, the files it writes into a user's repository."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # mops/


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
    """Built-in packs: ``policies/<name>/<version>.yaml``, every version shipped."""
    root = data_dir("policies")
    return sorted(d.name for d in root.iterdir() if d.is_dir() and builtin_pack_versions(d.name))


def builtin_pack_versions(name: str) -> list[int]:
    """The versions of a built-in pack, oldest first (empty when there is no such pack)."""
    folder = data_dir("policies") / name
    if not folder.is_dir():
        return []
    return sorted(int(p.stem) for p in folder.glob("*.yaml") if p.stem.isdigit())


def builtin_pack_path(name: str, version: int | None = None) -> Path:
    """The file of one version of a built-in pack (the latest when ``version`` is None)."""
    if version is None:
        version = builtin_pack_versions(name)[-1]
    return data_dir("policies") / name / f"{version}.yaml"


def templates_dir() -> Path:
    return data_dir("report_templates")
