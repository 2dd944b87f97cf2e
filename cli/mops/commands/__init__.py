"""Thin command modules: parse options, make one :mod:`mops.api` call, print, return.

Each module exposes ``register(app)`` and imports only Typer, the standard library
and :mod:`.options` (the options several commands share, declared once) at module
level, so ``mops --help`` stays fast. Printing goes through :mod:`mops.output`.
"""

from __future__ import annotations

from pathlib import Path


def cwd() -> Path:
    return Path.cwd()


def notify(message: str) -> None:
    """Progress messages from the core (e.g. waiting for the lock) go to stderr."""
    from mops.output import info

    info(message)
