"""Thin command modules: parse options, make one :mod:`mops.api` call, print, return.

Each module exposes ``register(app)`` and imports only Typer, the standard library
and :mod:`.options` (the options several commands share, declared once) at module
level, so ``mops --help`` stays fast. Printing goes through :mod:`mops.output`.
"""

from __future__ import annotations

from pathlib import Path


def cwd() -> Path:
    return Path.cwd()


def committed(sha: str, start: Path | None = None) -> str:
    """What a mutating command prints for the commit it made, as ``git commit`` does:
    ``[1a2b3c4d5e6f] register: credit-pd@1.0.0`` (short id, subject)."""
    from mops import api

    return api.commit_made(start or cwd(), sha).line


def notify(message: str) -> None:
    """Progress messages from the core (e.g. waiting for the lock) go to stderr."""
    from mops.output import info

    info(message)
