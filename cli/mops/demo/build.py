"""Building the demo: a new inventory, the story played in it, then its audit report."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mops import api
from mops.demo.story import Story
from mops.errors import UsageError


@dataclass
class DemoResult:
    path: Path
    steps: list[str] = field(default_factory=list)
    report: Path | None = None


def build(path: Path, notify: Callable[[str], None] = lambda _m: None) -> DemoResult:
    """Build the demo inventory in ``path`` (which must not exist, or be empty)."""
    path = path.resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"{path}: exists and is not an empty folder; give a new folder for the demo")
    result = DemoResult(path)

    def step(text: str) -> None:
        result.steps.append(text)
        notify(text)

    with tempfile.TemporaryDirectory(prefix="mops-demo-") as scratch:
        Story(path, Path(scratch), step).run()
    with api.opened(path) as inv:
        audited = api.audit(inv, out=path / "reports" / "audit-report.html")
    step(f"rendered the audit report of commit {audited.report.commit[:12]}")
    result.report = audited.files[0]
    return result
