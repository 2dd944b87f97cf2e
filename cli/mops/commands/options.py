"""Options and arguments several commands share, declared once (sqlite-utils' ``output_options``).

Typer and the standard library only, like every command module.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer
from typer.core import TyperCommand


class Command(TyperCommand):
    """Usage lines as the README writes them: a required argument bare (``MODEL@V``), an
    optional one in brackets (``[MODEL]``), a repeatable one followed by ``...``
    (``[MODEL[@V]]...``), instead of Typer's ``{MODEL@V}`` and ``[MODEL[@V]...]``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = []
        for piece in super().collect_usage_pieces(ctx):
            if piece.startswith("{") and piece.endswith("}"):
                piece = piece[1:-1]
            if piece.startswith("[") and piece.endswith("...]"):
                piece = piece[:-4] + "]..."
            pieces.append(piece)
        return pieces


class Format(enum.StrEnum):
    """``--format``: what a command prints."""

    text = "text"
    json = "json"
    github = "github"


def json_option(help: str = "Print one JSON document on stdout.") -> Any:
    """``--json``: one JSON document on stdout, nothing else there."""
    return typer.Option("--json", help=help)


def format_option(help: str) -> Any:
    """``--format text|json|github``."""
    return typer.Option("--format", metavar="text|json|github", case_sensitive=False, help=help)


def changed_since_option(help: str) -> Any:
    """``--changed-since REF``: only the models a branch changed."""
    return typer.Option("--changed-since", metavar="REF", help=help)


def version_ref(help: str = "Model version, e.g. credit-pd@1.2.0 (MODEL alone: its latest "
                            "version).") -> Any:
    """``MODEL@V``: one version (the latest when only ``MODEL`` is given)."""
    return typer.Argument(metavar="MODEL@V", help=help)


def model_ref(help: str) -> Any:
    """``MODEL[@V]``: a model, or one version of it."""
    return typer.Argument(metavar="MODEL[@V]", help=help)


def model_refs(help: str) -> Any:
    """``[MODEL[@V]]...``: models or versions, any number."""
    return typer.Argument(metavar="MODEL[@V]...", help=help)


#: ``--json`` with the usual help.
JSON = Annotated[bool, json_option()]
#: ``MODEL@V``.
REF = Annotated[str, version_ref()]
