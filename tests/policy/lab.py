"""A fast way to set up inventory states for the policy engine: write the records directly.

The records are written exactly as the mops commands write them (the command tests
cover the commands); sign-offs carry the real subject digest of the moment they
are written, so editing anything afterwards makes them stale, as in real use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from mops.inventory.digest import DigestCache, combine, subject_parts
from mops.inventory.names import parse_ref
from mops.inventory.store import Inventory
from mops.policy.engine import evaluate
from mops.policy.results import Result

CARD: dict[str, Any] = {
    "id": None,
    "name": "Retail credit PD scorecard",
    "owner": "alice@acme.test",
    "developers": ["bob@acme.test"],
    "tier": 1,
    "intended_use": "Probability of default for retail credit decisions.",
    "out_of_scope": "Commercial lending.",
    "limitations": ["Trained on 2019-2024 data only"],
    "inputs": ["income", "utilisation"],
    "outputs": "Probability of default in 12 months",
    "data_sources": ["core banking"],
    "dependencies": [],
    "vendor": False,
    "review": {"last": "2026-01-15"},
}

SETTINGS = {
    "inventory": "Lab",
    "policies": ["baseline"],
    "stages": ["development", "validation", "production", "retired"],
    "roles": {"validator": ["carol@acme.test", "erin@acme.test"],
              "risk-officer": ["dana@acme.test"]},
}


class Lab:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.counter = 0
        self.current = dict(SETTINGS)
        self.settings()

    # -------------------------------------------------------------- settings and packs

    def settings(self, **changes: Any) -> None:
        """Rewrite mops.yaml with ``changes`` on top of the settings so far."""
        self.current.update(changes)
        (self.repo / "mops.yaml").write_text(yaml.safe_dump(self.current, sort_keys=False))

    def pack(self, text: str, name: str = "custom.yaml", *, also: tuple[str, ...] = (),
             **settings: Any) -> str:
        """Write an inventory pack and put it (after ``also``) in force."""
        (self.repo / "policies").mkdir(exist_ok=True)
        (self.repo / "policies" / name).write_text(text)
        self.settings(policies=[*also, f"policies/{name}"], **settings)
        return f"policies/{name}"

    # -------------------------------------------------------------- records

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:06d}"

    def card(self, model: str = "m", **fields: Any) -> None:
        front = {**CARD, "id": model}
        for key, value in fields.items():
            if value is ...:
                front.pop(key, None)
            else:
                front[key] = value
        folder = self.repo / "models" / model
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "card.md").write_text(f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n# {model}\n")

    def version(self, ref: str = "m@1", stage: str = "development", *,
                registered_by: str = "bob@acme.test", at: str = "2026-01-01T00:00:00Z",
                **extra: Any) -> str:
        model, version = ref.split("@")
        if not (self.repo / "models" / model / "card.md").exists():
            self.card(model)
        record = {"model": model, "version": version, "stage": stage,
                  "registered_by": registered_by, "registered_at": at,
                  "artifact": {"sha256": "ab" * 32}, "metrics": {"auc": 0.8}, **extra}
        folder = self.vdir(ref)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "version.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        return ref

    def vdir(self, ref: str) -> Path:
        model, version = ref.split("@")
        return self.repo / "models" / model / "versions" / version

    def evidence(self, ref: str, kind: str, *, at: str = "2026-05-01T00:00:00Z",
                 content: bytes = b"report") -> str:
        eid = self._id("E")
        rel = f"evidence/files/{eid}/report.txt"
        path = self.vdir(ref) / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        record = {"id": eid, "kind": kind, "title": kind,
                  "files": [{"path": rel, "sha256": hashlib.sha256(content).hexdigest(),
                             "size": len(content)}],
                  "metrics": {}, "added_by": "bob@acme.test", "added_at": at}
        (self.vdir(ref) / "evidence" / f"{eid}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        return eid

    def sign(self, ref: str, by: str = "carol@acme.test", role: str = "validator", *,
             decision: str = "approve", at: str = "2026-05-02T00:00:00Z",
             expires: str | None = None, supersedes: str | None = None,
             comment: str | None = None) -> str:
        """A sign-off bound to the version's content as it is now."""
        inv = Inventory.open(self.repo)
        _, version = inv.resolve(parse_ref(ref))
        parts = subject_parts(inv, version, DigestCache(inv))
        aid = self._id("A")
        record = {"id": aid, "role": role, "decision": decision, "by": by, "at": at,
                  "comment": comment, "expires": expires, "digest": combine(parts),
                  "digest_parts": parts}
        if supersedes:
            record["supersedes"] = supersedes
        folder = self.vdir(ref) / "approvals"
        folder.mkdir(exist_ok=True)
        (folder / f"{aid}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        return aid

    def finding(self, model: str = "m", severity: str | None = "high", *, version: str | None = None,
                status: str = "open", kind: str = "finding", rule: str | None = None,
                expires: str | None = None, reason: str = "urgent use") -> str:
        fid = self._id("W" if kind == "exception" else "F")
        record = {"id": fid, "kind": kind, "model": model, "version": version,
                  "severity": severity, "title": f"{kind} {fid}", "status": status,
                  "opened_by": "dana@acme.test", "opened_at": "2026-05-03T00:00:00Z",
                  "rule": rule, "expires": expires, "reason": reason}
        if status == "closed":
            record.update(closed_by="dana@acme.test", closed_at="2026-05-04T00:00:00Z")
        folder = self.repo / "models" / model / "findings"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{fid}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        return fid

    def drift(self, ref: str, at: str, *, breach: bool = False, kind: str = "drift") -> str:
        mid = self._id("M")
        folder = self.vdir(ref) / "monitoring"
        folder.mkdir(exist_ok=True)
        verdict = {"dataset_drift": breach, "breaches": [{"column": "income"}] if breach else []}
        (folder / f"{mid}.json").write_text(json.dumps({"at": at, "kind": kind, "verdict": verdict}))
        return mid

    # -------------------------------------------------------------- evaluation

    def run(self, now: str = "2026-06-01", refs: list[str] | None = None) -> dict[tuple[str, str], Result]:
        """Evaluate; results by (model@version, rule id)."""
        inv = Inventory.open(self.repo)
        when = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
        parsed = [parse_ref(r) for r in refs] if refs is not None else None
        return {(f"{r.model}@{r.version}", r.rule): r for r in evaluate(inv, now=when, refs=parsed)}

    def result(self, rule: str, ref: str = "m@1", now: str = "2026-06-01") -> Result:
        return self.run(now)[(ref, rule)]
