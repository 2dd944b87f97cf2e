"""Thin command modules: parse options, call one core function, print, return.

Each module exposes ``register(app)`` and imports only Typer and the standard
library at module level, so ``mops --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path


def cwd() -> Path:
    return Path.cwd()


def notify(message: str) -> None:
    """Progress messages from the core (e.g. waiting for the lock) go to stderr."""
    from mops.output import info

    info(message)
