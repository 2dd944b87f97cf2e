"""The result of evaluating one rule for one model version, and the basis of a rule's demands."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal

BasisKind = Literal["text", "practice", "unspecified"]


class Status(enum.StrEnum):
    """A rule's result for one version. Members are listed worst first, the order every
    output sorts by; each carries its label, the same in text output, GitHub and reports.

    A member is its string (``Status.NA == "n/a"``), so JSON gives the same values.
    """

    FAIL = "fail"
    WAIVED = "waived"
    PASS = "pass"
    NA = "n/a"

    @property
    def order(self) -> int:
        """0 for the worst (fail), upwards."""
        return _ORDER[self]

    @property
    def label(self) -> str:
        """How text output shows it: failures and waivers shout (``FAIL``, ``WAIVED``)."""
        return self.value.upper() if self in (Status.FAIL, Status.WAIVED) else self.value

    @property
    def headline(self) -> str:
        """How a report's badge shows it: ``PASS``, ``FAIL``, ``WAIVED``, ``N/A``."""
        return self.value.upper()

    @property
    def icon(self) -> str:
        """An emoji for Markdown (GitHub's job summary); none for n/a."""
        return _ICONS[self]

    @property
    def tone(self) -> str:
        """``bad``, ``warn``, ``ok`` or ``muted``: a colour's meaning, for any output."""
        return _TONES[self]


_ORDER = {status: i for i, status in enumerate(Status)}
_ICONS = {Status.FAIL: "❌", Status.WAIVED: "⚠️", Status.PASS: "✅", Status.NA: ""}
_TONES = {Status.FAIL: "bad", Status.WAIVED: "warn", Status.PASS: "ok", Status.NA: "muted"}


@dataclass(frozen=True)
class Basis:
    """Why a rule makes one of its demands: the regulation's ``text`` or ``practice``.

    ``detail`` is the exact section, article or paragraph for ``text``, and why the
    demand is made for ``practice`` (a common industry figure, or a mops design choice).
    A rule of a pack that states no basis has one ``unspecified`` item.
    """

    demand: str
    kind: BasisKind
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"demand": self.demand, "kind": self.kind, "detail": self.detail}

    def describe(self) -> str:
        if self.kind == "unspecified":
            return f"unspecified: {self.detail}"
        return f"{self.kind}: {self.demand} ({self.detail})"


UNSPECIFIED = (Basis("the whole rule", "unspecified",
                     "the pack does not say which demands are the regulation's text and which "
                     "are practice"),)


def basis_summary(basis: Iterable[Basis]) -> str:
    """One line: which demands are the text and which are practice (no details)."""
    items = list(basis)
    if not items or all(b.kind == "unspecified" for b in items):
        return "unspecified"
    parts = []
    for kind in ("text", "practice"):
        demands = [b.demand for b in items if b.kind == kind]
        if demands:
            parts.append(f"{kind}: {'; '.join(demands)}")
    return " | ".join(parts)


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
    #: Other files a failure is about, besides ``file`` (e.g. the card or evidence files
    #: whose change made a sign-off stale), relative to the inventory root.
    related: tuple[str, ...] = ()
    #: The version of the pack the rule comes from (built-in packs are versioned).
    pack_version: int | None = None
    #: Each demand of the rule: the regulation's text or practice.
    basis: tuple[Basis, ...] = ()

    def __post_init__(self) -> None:
        if type(self.status) is not Status:  # a plain string, e.g. from a test or a caller
            object.__setattr__(self, "status", Status(self.status))

    @classmethod
    def decoded(cls, **values: Any) -> Result:
        """A result from values already checked and typed (the results kept by content:
        120,000 at 10,000 models), every field given in its order: made without the
        frozen ``__init__``'s write per field, which cost four times as much."""
        if tuple(values) != _NAMES:
            raise TypeError(f"Result.decoded takes exactly {', '.join(_NAMES)}, in order")
        result = object.__new__(cls)
        result.__dict__.update(values)
        return result

    def to_json(self, *, basis: bool = True) -> dict[str, Any]:
        """The result as JSON data; without its basis (always the last key) if not ``basis``."""
        # Every field but basis is a plain value: no deep copy needed (asdict is ~10x slower).
        # The instance's own dict holds the fields in their order (basis last).
        out = self.__dict__.copy()
        del out["basis"]
        if basis:
            out["basis"] = [b.to_json() for b in self.basis]
        return out


_NAMES = tuple(f.name for f in fields(Result))
