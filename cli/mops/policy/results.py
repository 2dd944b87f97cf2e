"""The result of evaluating one rule for one model version."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
        return asdict(self)
