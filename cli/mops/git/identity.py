"""The acting person: git's committer identity."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mops import clock
from mops.errors import UsageError
from mops.git.run import probe


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    when: dt.datetime

    @property
    def timestamp(self) -> str:
        return clock.format_timestamp(self.when)


_IDENT_RE = re.compile(r"^(?P<name>.*) <(?P<email>[^>]*)> (?P<ts>\d+) (?P<tz>[+-]\d{4})$")


def identity(top: Path, env: Mapping[str, str] | None = None) -> Identity:
    """The acting person: git's committer identity (``git var GIT_COMMITTER_IDENT``)."""
    text = probe(top, "var", "GIT_COMMITTER_IDENT", env=env)
    match = _IDENT_RE.match(text) if text is not None else None
    if not match or not match["email"]:
        raise UsageError("git does not know who you are: run `git config user.name \"Your Name\"` "
                         "and `git config user.email you@example.com` (mops records git's "
                         "committer identity as the acting person)")
    when = dt.datetime.fromtimestamp(int(match["ts"]), dt.UTC)
    return Identity(name=match["name"], email=match["email"].lower(), when=when)
