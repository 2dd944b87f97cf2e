"""Every rule of every built-in pack (the current version of each), table-driven.

For each rule: a model built to satisfy the whole pack, in a stage and with card
values the rule applies to, passes every rule; the same model without that rule's
demand fails exactly that rule, with its citation. The model is derived from the pack
itself (the card fields, evidence kinds, sign-off roles, review dates, monitoring
and retirement fields its rules name), so a new rule is covered without a new test,
and two rules of one pack that make the same demand are caught.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mops import resources
from mops.inventory import records
from mops.inventory.digest import DigestCache, combine, subject_parts
from mops.inventory.names import parse_ref
from mops.inventory.store import Inventory
from mops.policy import vocabulary
from mops.policy.packs import Pack, Rule, builtin_ref, load_builtin, load_pack
from mops.policy.requirements import REQUIREMENTS
from mops.policy.results import Basis

STAGES = ("development", "validation", "production", "retired")
NOW = "2026-06-01"
ROLES = {"validator": ["carol@acme.test"], "risk-officer": ["dana@acme.test"],
         "committee": ["frank@acme.test"], "business-owner": ["gina@acme.test"]}

#: Values for the card fields the packs name (anything else: a sentence).
VALUES: dict[str, Any] = {
    "name": "Retail credit PD scorecard", "owner": "alice@acme.test",
    "developers": ["bob@acme.test"], "tier": 1, "vendor": False, "vendor_name": "Acme Analytics",
    "intended_use": "Probability of default for retail credit decisions.",
    "out_of_scope": "Commercial lending.", "limitations": ["Trained on 2019-2024 data only"],
    "inputs": ["income", "utilisation"], "outputs": "Probability of default in 12 months",
    "data_sources": ["core banking"], "dependencies": [],
    "review.last": "2026-05-01", "review.next": "2027-01-15",
    "approver": "Model Risk Committee", "reviewer": "carol@acme.test",
    "monitoring.thresholds": {"psi": 0.25}, "logging": {"events": "every decision"},
    "human_oversight.people": ["ops@acme.test"], "eu_ai_act.provider": "Acme Bank plc",
    "eu_ai_act.registration": "EU-DB-2027-0001",
}


def current_packs() -> list[Pack]:
    return [load_builtin(builtin_ref(name, default_latest=True), stages=STAGES)
            for name in resources.builtin_pack_names()]


CASES = [(pack.name, rule.id) for pack in current_packs() for rule in pack.rules]


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = copy.deepcopy(value)


def _pop(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data.get(part) or {}
    data.pop(last, None)


def _get(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


class Model:
    """One model version built from a pack, written as the mops commands write records."""

    def __init__(self, repo: Path, pack: Pack, rule: Rule, *, without: bool) -> None:
        self.repo, self.pack, self.rule, self.without = repo, pack, rule, without
        self.ref = "m@1"
        self.stage = rule.stages[0] if rule.stages else "production"
        self.vdir = repo / "models" / "m" / "versions" / "1"
        self.counter = 0

    def removed(self, requirement: str) -> Any:
        """The parameters of the demand to leave out (None: keep everything)."""
        if self.without and self.rule.requirement == requirement:
            return self.rule.params
        return None

    def build(self) -> None:
        rules = self.pack.rules
        overrides = {sel.field: sel.values[0] for sel in self.rule.settings_when if not sel.negate}
        settings = {"inventory": "Lab", "policies": [self.pack.ref], "stages": list(STAGES),
                    "roles": ROLES}
        if overrides:
            settings["policy_settings"] = {self.pack.name: overrides}
        (self.repo / "mops.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
        # The pack as the inventory sees it (settings may name other roles).
        path = resources.builtin_pack_path(self.pack.name, self.pack.version)
        pack = load_pack(str(path), path.read_bytes(), stages=STAGES, overrides=overrides,
                         builtin=True)
        rules = pack.rules
        self.card(rules)
        self.version(rules)
        for kind in sorted({k for r in rules for k in REQUIREMENTS[r.requirement].names(r.params)
                           .evidence_kinds}):
            gone = self.removed("evidence")
            if gone is None or kind not in gone.kinds:
                self.evidence(kind)
        if any(r.requirement == "monitoring" for r in rules) and self.removed("monitoring") is None:
            self.drift("2026-05-20T00:00:00Z")
        gone = self.removed("no_open_findings")
        if gone is not None:
            self.finding(gone.severities[0])
        roles = {r.params.role for r in rules if r.requirement == "approval"}
        gone = self.removed("approval")
        for role in sorted(roles):
            if gone is None or gone.role != role:
                self.sign(ROLES[role][0], role)

    def card(self, rules: tuple[Rule, ...]) -> None:
        front: dict[str, Any] = {"id": "m"}
        for key in ("name", "owner", "developers", "tier", "intended_use", "out_of_scope",
                    "limitations", "inputs", "outputs", "data_sources", "dependencies", "vendor",
                    "review.last"):
            _set(front, key, VALUES[key])
        for r in rules:
            for name in REQUIREMENTS[r.requirement].names(r.params).card_fields:
                _set(front, name, VALUES.get(name, f"{name} documented"))
        for sel in self.rule.when:  # make the rule apply
            found, value = _get(front, sel.field)
            if not sel.negate:
                _set(front, sel.field, sel.values[0])
            elif found and value in sel.values:
                _pop(front, sel.field)
        gone = self.removed("card_fields")
        for spec in gone or ():
            _pop(front, spec.path)
        for req in ("review_within", "next_review"):
            gone = self.removed(req)
            if gone is not None:
                _pop(front, gone.field)
        text = f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n# m\n"
        records.load_card("card.md", text.encode(), expected_id="m")  # a valid card
        folder = self.repo / "models" / "m"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "card.md").write_text(text)

    def version(self, rules: tuple[Rule, ...]) -> None:
        record: dict[str, Any] = {"model": "m", "version": "1", "stage": self.stage,
                                  "registered_by": "bob@acme.test",
                                  "registered_at": "2026-01-01T00:00:00Z",
                                  "artifact": {"sha256": "ab" * 32}, "metrics": {"auc": 0.8}}
        if self.stage == "retired":
            record["retired"] = {"at": "2026-05-01T00:00:00Z", "by": "dana@acme.test",
                                 "reason": "replaced"}
        for spec in self.removed("version_fields") or ():
            _pop(record, spec.path)
        self.vdir.mkdir(parents=True, exist_ok=True)
        (self.vdir / "version.yaml").write_text(yaml.safe_dump(record, sort_keys=False))

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:06d}"

    def evidence(self, kind: str) -> None:
        eid = self._id("E")
        rel = f"evidence/files/{eid}/report.txt"
        (self.vdir / rel).parent.mkdir(parents=True)
        (self.vdir / rel).write_bytes(kind.encode())
        record = {"id": eid, "kind": kind, "title": kind,
                  "files": [{"path": rel, "sha256": hashlib.sha256(kind.encode()).hexdigest()}],
                  "metrics": {}, "added_by": "bob@acme.test", "added_at": "2026-05-01T00:00:00Z"}
        (self.vdir / "evidence").mkdir(exist_ok=True)
        (self.vdir / "evidence" / f"{eid}.yaml").write_text(yaml.safe_dump(record))

    def drift(self, at: str) -> None:
        folder = self.vdir / "monitoring"
        folder.mkdir(exist_ok=True)
        (folder / f"{self._id('M')}.json").write_text(json.dumps(
            {"at": at, "kind": "drift", "verdict": {"dataset_drift": False, "breaches": []}}))

    def finding(self, severity: str) -> None:
        fid = self._id("F")
        folder = self.repo / "models" / "m" / "findings"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{fid}.yaml").write_text(yaml.safe_dump(
            {"id": fid, "kind": "finding", "model": "m", "severity": severity, "title": "found",
             "status": "open", "opened_by": "carol@acme.test",
             "opened_at": "2026-05-03T00:00:00Z"}))

    def sign(self, by: str, role: str) -> None:
        inv = Inventory.open(self.repo)
        _, version = inv.resolve(parse_ref(self.ref))
        parts = subject_parts(inv, version, DigestCache(inv))
        aid = self._id("A")
        folder = self.vdir / "approvals"
        folder.mkdir(exist_ok=True)
        (folder / f"{aid}.yaml").write_text(yaml.safe_dump(
            {"id": aid, "role": role, "decision": "approve", "by": by,
             "at": "2026-05-02T00:00:00Z", "digest": combine(parts), "digest_parts": parts}))

    def results(self) -> dict[str, Any]:
        import datetime as dt

        from mops.policy.engine import evaluate

        inv = Inventory.open(self.repo)
        now = dt.datetime.fromisoformat(NOW).replace(tzinfo=dt.UTC)
        return {r.rule: r for r in evaluate(inv, now=now)}


def _repo(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _pack_and_rule(pack_name: str, rule_id: str) -> tuple[Pack, Rule]:
    pack = next(p for p in current_packs() if p.name == pack_name)
    return pack, next(r for r in pack.rules if r.id == rule_id)


@pytest.mark.parametrize("pack_name,rule_id", CASES)
def test_each_rule_passes_when_met_and_alone_fails_when_its_demand_is_removed(
        tmp_path: Path, pack_name: str, rule_id: str):
    pack, rule = _pack_and_rule(pack_name, rule_id)

    met = Model(_repo(tmp_path, "met"), pack, rule, without=False)
    met.build()
    res = met.results()
    assert res[rule_id].status == "pass", res[rule_id].message
    assert [r.rule for r in res.values() if r.status == "fail"] == [], \
        {r.rule: r.message for r in res.values() if r.status == "fail"}

    unmet = Model(_repo(tmp_path, "unmet"), pack, rule, without=True)
    unmet.build()
    res = unmet.results()
    failing = sorted(r.rule for r in res.values() if r.status == "fail")
    assert failing == [rule_id], {r.rule: r.message for r in res.values() if r.status == "fail"}
    assert res[rule_id].cite == rule.cite and res[rule_id].message
    assert res[rule_id].basis == rule.basis and res[rule_id].pack_version == pack.version


@pytest.mark.parametrize("pack", current_packs(), ids=lambda p: p.name)
def test_a_minimal_model_satisfies_each_pack_through_check(tmp_path: Path, pack: Pack):
    """One production model with everything the pack asks: `mops check` exits 0."""
    from tests.conftest import Mops

    rule = next(r for r in pack.rules if r.stages is None or "production" in r.stages)
    model = Model(_repo(tmp_path, "inv"), pack, rule, without=False)
    model.build()
    subprocess.run(["git", "-C", str(model.repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(model.repo), "commit", "-qm", "model"], check=True)
    import os

    os.environ["MOPS_NOW"] = NOW
    try:
        data = Mops(model.repo).json("check", "--format", "json")
    finally:
        del os.environ["MOPS_NOW"]
    assert data["ok"] is True
    statuses = {r["rule"]: r["status"] for r in data["results"]}
    assert set(statuses) == {r.id for r in pack.rules}
    assert "pass" in statuses.values() and "fail" not in statuses.values()
    for r in data["results"]:
        assert r["basis"] and all(b["kind"] in ("text", "practice") for b in r["basis"])
        assert r["pack_version"] == pack.version


@pytest.mark.parametrize("pack", current_packs(), ids=lambda p: p.name)
def test_every_rule_has_a_citation_and_a_basis(pack: Pack):
    assert pack.title and pack.description and pack.sources and pack.changelog
    assert pack.version == resources.builtin_pack_versions(pack.name)[-1]
    for rule in pack.rules:
        assert rule.cite.strip() and rule.title.strip()
        assert rule.basis and all(isinstance(b, Basis) for b in rule.basis)
        kinds = {b.kind for b in rule.basis}
        assert kinds <= {"text", "practice"}, rule.id  # never unspecified in a built-in pack
        for b in rule.basis:
            assert b.demand and b.detail
    for setting in pack.settings.values():
        assert setting.note
        if not isinstance(setting.default, bool):
            assert "practice" in setting.note, setting.name  # figures and choices say so
    raw = yaml.safe_load(resources.builtin_pack_path(pack.name, pack.version).read_text())
    for rule in raw["rules"]:
        for setting in pack.settings:
            if f"${setting}" in str(rule.get("require")):
                assert "setting" in rule["cite"], rule["id"]  # a figure's citation names the setting


def test_rule_ids_are_unique_across_all_built_in_packs_and_versions():
    seen: dict[str, str] = {}
    for name in resources.builtin_pack_names():
        for version in resources.builtin_pack_versions(name):
            pack = load_builtin(builtin_ref(f"{name}@{version}"), stages=STAGES)
            for rule in pack.rules:
                assert seen.setdefault(rule.id, name) == name, rule.id


#: DESIGN.md's standard evidence kinds (the vocabulary may add more).
STANDARD_EVIDENCE_KINDS = (
    "validation-report", "conceptual-soundness", "outcomes-analysis", "benchmarking",
    "data-quality", "fairness", "robustness", "performance-metrics", "monitoring-plan",
    "risk-assessment", "human-oversight", "instructions-for-use", "declaration-of-conformity",
    "fundamental-rights-impact-assessment",
)


def test_vocabulary_keeps_the_standard_evidence_kinds_and_hugging_face_keys():
    assert set(STANDARD_EVIDENCE_KINDS) <= set(vocabulary.EVIDENCE_KINDS)
    for key in ("license", "datasets", "metrics", "model-index"):
        assert vocabulary.is_known_field(key)
    assert vocabulary.is_known_field("review.next") and not vocabulary.is_known_field("review.nxt")
    assert vocabulary.is_known_field("monitoring.thresholds")  # sub-fields not enumerated
    assert not vocabulary.is_known_field("ownr")


def test_regulation_names_that_must_not_be_cited():
    """Guards from the review of issue 13: wrong sections must not come back."""
    text = "\n".join(resources.builtin_pack_path(p.name, p.version).read_text()
                     for p in current_packs())
    cites = " ".join(r.cite for p in current_packs() for r in p.rules)
    assert "SB24-205" not in cites and "SB 24-205" not in cites  # repealed by SB26-189
    assert "process verification" not in " ".join(
        r.cite for p in current_packs() if p.name == "us-sr26-2" for r in p.rules).lower()
    assert "GOVERN 1.5" not in next(r.cite for p in current_packs() for r in p.rules
                                    if r.id == "BL-NO-HIGH-FINDINGS")
    sr26 = {r.id: r for p in current_packs() if p.name == "us-sr26-2" for r in p.rules}
    assert "SR26-BENCHMARKING" not in sr26
    assert "§III" in sr26["SR26-EFFECTIVE-CHALLENGE"].cite
    assert "material change" not in sr26["SR26-EFFECTIVE-CHALLENGE"].cite.lower()
    assert "not used in development" not in sr26["SR26-OUTCOMES-ANALYSIS"].title
    eu = {r.id: r for p in current_packs() if p.name == "eu-ai-act-high-risk" for r in p.rules}
    assert all("26(" not in r.cite for r in eu.values() if "deployer" not in str(r.when)
               or any(s.negate for s in r.when if s.field == "eu_ai_act.role"))
    assert "2026/1744" in text
    for r in (r for p in current_packs() if p.name == "iso-42001" for r in p.rules):
        assert "secondary sources" in r.cite
