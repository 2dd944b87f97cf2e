"""Names that become paths: models, versions, record ids.

Every name is validated here before it is joined to a path, so a hostile or
mistyped name can never reach outside the inventory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mops.errors import InvalidNameError

MODEL_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,62}")
RECORD_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
ROLE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
#: An evidence kind (``validation-report``); never a path, but read by policy packs.
KIND_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def _check(kind: str, name: str, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"invalid {kind} name: it is empty")
    if len(name) > 63:
        raise InvalidNameError(f"invalid {kind} name {name[:20]!r}...: longer than 63 characters")
    if ".." in name or "/" in name or "\\" in name:
        raise InvalidNameError(f"invalid {kind} name {name!r}: '..' and path separators are not allowed")
    if not pattern.fullmatch(name):
        raise InvalidNameError(f"invalid {kind} name {name!r}: {rule}")
    return name


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``did you mean 'x'?`` naming the known names closest to a mistyped one (difflib), or ''."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


def validate_model(name: str) -> str:
    """Return ``name`` if it is a valid model id, else raise ``InvalidNameError``."""
    return _check("model", name, MODEL_RE,
                  "use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit")


def validate_version(name: str) -> str:
    """Return ``name`` if it is a valid version, else raise ``InvalidNameError``."""
    return _check("version", name, VERSION_RE,
                  "use letters, digits, '.', '+', '_' and '-', starting with a letter or digit")


def validate_record_id(name: str, kind: str = "record") -> str:
    """Return ``name`` if it may name a record file (finding, evidence, approval)."""
    return _check(kind, name, RECORD_ID_RE,
                  "use letters, digits, '.', '_' and '-', starting with a letter or digit")


def validate_role(name: str) -> str:
    """Return ``name`` if it is a valid role name."""
    return _check("role", name, ROLE_RE,
                  "use lowercase letters, digits, '_' and '-', starting with a letter or digit")


@dataclass(frozen=True)
class ModelRef:
    """``MODEL`` or ``MODEL@VERSION`` as typed on the command line."""

    model: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.model}@{self.version}" if self.version else self.model


def parse_ref(text: str, *, require_version: bool = False) -> ModelRef:
    """Parse ``MODEL[@VERSION]``, validating both names."""
    model, sep, version = text.partition("@")
    if sep and not version:
        raise InvalidNameError(f"invalid reference {text!r}: nothing after '@'")
    if require_version and not sep:
        raise InvalidNameError(f"{text!r} needs a version: write {text}@VERSION")
    return ModelRef(validate_model(model), validate_version(version) if sep else None)
