"""Helpers for governance and policy tests: people, a registered model, packs, records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Mops, as_person, git, write_card

BOB = ("Bob Developer", "bob@acme.test")      # developer of the test card; registers versions
ALICE = ("Alice Owner", "alice@acme.test")    # the test card's owner
CAROL = ("Carol Validator", "carol@acme.test")  # validator
DANA = ("Dana Risk", "dana@acme.test")        # risk officer
ERIN = ("Erin Validator", "erin@acme.test")   # a second validator (added by some tests)

NOW = "2026-06-01T12:00:00Z"


def act(monkeypatch: pytest.MonkeyPatch, who: tuple[str, str]) -> None:
    as_person(monkeypatch, *who)


def pin_clock(monkeypatch: pytest.MonkeyPatch, now: str = NOW, records: str | None = None) -> None:
    """Policy clock (MOPS_NOW) and, by default one day earlier, the time records are stamped."""
    monkeypatch.setenv("MOPS_NOW", now)
    stamp = records or f"{_day_before(now[:10])}{now[10:]}"
    monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
    monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)


def _day_before(day: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()


def register(mops: Mops, tmp_path: Path, model: str = "credit-pd", version: str = "1.0.0",
             tier: int = 1, extra: str = "") -> str:
    card = write_card(tmp_path / f"{model}-card.md", model=model, tier=tier, extra=extra)
    mops("register", model, "--version", version, "--card", str(card), "--sha256", "ab" * 32)
    return f"{model}@{version}"


def evidence(mops: Mops, tmp_path: Path, ref: str, kind: str, content: str | None = None) -> str:
    """Add one evidence file of ``kind``; returns the evidence id."""
    path = tmp_path / "evidence-src" / f"{kind}.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(content or f"{kind} for {ref}\n")
    out = mops("evidence", "add", ref, str(path), "--kind", kind).stdout
    return out.split()[2]


def set_settings(repo: Path, *, packs: list[str] | None = None, extra: str = "",
                 roles: dict[str, list[str]] | None = None) -> None:
    """Edit mops.yaml (packs, extra YAML, roles) and commit it, as a maintainer would."""
    path = repo / "mops.yaml"
    lines = path.read_text().splitlines()
    out = []
    skip_roles = False
    for line in lines:
        if packs is not None and line.startswith("policies:"):
            line = f"policies: [{', '.join(packs)}]"
        if roles is not None and line.startswith("roles:"):
            out.append("roles:")
            out.extend(f"  {role}: [{', '.join(people)}]" for role, people in roles.items())
            skip_roles = True
            continue
        if skip_roles and line.startswith("  "):
            continue
        skip_roles = False
        out.append(line)
    path.write_text("\n".join(out) + "\n" + extra)
    git(repo, "commit", "-qam", "settings")


def record_drift(repo: Path, ref: str, at: str, breach: bool = False, rid: str = "M-1") -> None:
    """A monitoring record as the drift command writes it (committed by hand here)."""
    model, version = ref.split("@")
    folder = repo / "models" / model / "versions" / version / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)
    verdict = {"dataset_drift": breach, "breaches": [{"column": "income"}] if breach else []}
    (folder / f"{rid}.json").write_text(json.dumps({"at": at, "kind": "drift", "verdict": verdict}))
    git(repo, "add", "-A", "models")
    git(repo, "commit", "-qm", f"drift {rid}")


def edit_card(repo: Path, model: str, old: str, new: str) -> None:
    card = repo / "models" / model / "card.md"
    text = card.read_text()
    assert old in text
    card.write_text(text.replace(old, new))
    git(repo, "commit", "-qam", "hand edit of the card")


def results(mops: Mops, *refs: str, code: int | None = None) -> dict[str, dict]:
    """``check --format json`` as {rule id: result} (for one version)."""
    data = mops.json("check", *refs, "--format", "json", code=code)
    return {r["rule"]: r for r in data["results"]}
