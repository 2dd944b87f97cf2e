"""The repository: where it is, creating one, its git directory and configuration."""

from __future__ import annotations

from pathlib import Path

from mops.git.run import probe, run


def toplevel(path: Path) -> Path | None:
    """The top of the working tree ``path`` is in, or None outside a repository."""
    out = probe(path, "rev-parse", "--show-toplevel")
    return None if out is None else Path(out)


def git_dir(top: Path) -> Path:
    """The repository's git directory (absolute), where mops keeps its lock and caches."""
    return Path(run(top, "rev-parse", "--absolute-git-dir").decode().strip())


def init(path: Path) -> None:
    """Make ``path`` a new git repository."""
    run(path, "init", "-q")


def is_shallow(top: Path) -> bool:
    """Whether this is a shallow clone (history before some commit is missing)."""
    return run(top, "rev-parse", "--is-shallow-repository").decode().strip() == "true"


def config_get(cwd: Path, name: str) -> str:
    """A git configuration value as git would use it in ``cwd``; "" when it is not set."""
    return run(cwd, "config", "--get", name, check=False).decode("utf-8", "replace").strip()
