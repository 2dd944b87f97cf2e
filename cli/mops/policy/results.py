"""The result of evaluating one rule for one model version."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

Status = Literal["pass", "fail", "waived", "n/a"]


@dataclass(frozen=True)
class Result:
    model: str
    version: str
    rule: str
    title: str
    status: Status
    message: str
    cite: str
    #: The file a person must change to fix a failure (relative to the inventory root).
    file: str
    pack: str = ""
    #: Larger is more important (GitHub shows only the first 10 annotations).
    weight: int = 0
    waiver: str | None = None

    def to_json(self) -> dict[str, Any]:
        # Every field is a plain value: no deep copy needed (asdict is ~10x slower here).
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(Result))
