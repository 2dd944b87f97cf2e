"""Pack loading: malformed packs are named with file, line and rule id; the built-in packs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mops import resources
from mops.errors import RecordError
from mops.inventory.store import Inventory
from mops.policy.packs import load_pack, load_packs
from tests.conftest import Mops
from tests.policy.lab import Lab

STAGES = ("development", "validation", "production", "retired")


def pack_text(rule: str, head: str = "") -> str:
    return f"pack: t\ntitle: T\n{head}rules:\n  - id: T-1\n    title: A rule\n{rule}"


def load(text: str, overrides: dict | None = None):
    return load_pack("policies/t.yaml", text.encode(), stages=STAGES, overrides=overrides)


@pytest.mark.parametrize("rule,message", [
    ('    cite: "S §1"\n    require: {aproval: {role: validator}}\n',
     "policies/t.yaml:7: rule T-1: unknown requirement 'aproval' (known: card_fields"),
    ("    require: {card_fields: [owner]}\n",
     "policies/t.yaml:4: rule T-1: missing 'cite' (every rule cites"),
    ('    cite: "  "\n    require: {card_fields: [owner]}\n', "rule T-1: missing 'cite'"),
    ('    cite: c\n    when: {stage: prod}\n    require: {card_fields: [owner]}\n',
     "policies/t.yaml:7: rule T-1: bad selector: unknown stage 'prod'"),
    ('    cite: c\n    when: {tier: {min: 1}}\n    require: {card_fields: [owner]}\n',
     "rule T-1: bad selector for tier: a mapping may only be {not: VALUE}"),
    ('    cite: c\n    when: {tier: [[1]]}\n    require: {card_fields: [owner]}\n',
     "rule T-1: bad selector for tier"),
    ('    cite: c\n    when: {"bad key!": 1}\n    require: {card_fields: [owner]}\n',
     "rule T-1: bad selector: 'bad key!' is not a card field name"),
    ('    cite: c\n    when: [production]\n    require: {card_fields: [owner]}\n',
     "rule T-1: 'when' must be a mapping of selectors"),
    ('    cite: c\n    require: {card_fields: [owner], evidence: {kind: x}}\n',
     "rule T-1: 'require' must hold exactly one requirement"),
    ('    cite: c\n    require: {approval: {role: validator, quorum: 2}}\n',
     "rule T-1: approval: unknown parameter 'quorum'"),
    ('    cite: c\n    require: {approval: {role: validator, count: 0}}\n',
     "rule T-1: approval: 'count' must be a whole number of at least 1"),
    ('    cite: c\n    require: {approval: {role: validator, independent_of: [boss]}}\n',
     "rule T-1: approval: 'independent_of' lists any of owner, developers, registrant"),
    ('    cite: c\n    require: {evidence: {max_age_days: 3}}\n',
     "rule T-1: evidence: 'kind' must name an evidence kind"),
    ('    cite: c\n    require: {review_within: {days: 1, months: 1}}\n',
     "rule T-1: review_within: give exactly one of 'days' or 'months'"),
    ('    cite: c\n    require: {review_within: {months: {one: 12}}}\n',
     "rule T-1: 'months' maps tiers (1, 2, ...) or 'default' to numbers"),
    ('    cite: c\n    require: {monitoring: {}}\n', "rule T-1: monitoring: 'within_days' is required"),
    ('    cite: c\n    require: {no_open_findings: {severity: critical}}\n',
     "rule T-1: no_open_findings: 'severity' must be high, medium or low"),
    ('    cite: c\n    require: {card_fields: []}\n', "rule T-1: card_fields: expected a non-empty list"),
    ('    cite: c\n    severity: urgent\n    require: {card_fields: [owner]}\n',
     "rule T-1: 'severity' must be high, medium or low"),
    ('    cite: c\n    requires: {card_fields: [owner]}\n', "rule T-1: unknown key 'requires'"),
    ('    cite: c\n    require: {monitoring: {within_days: $interval}}\n',
     "rule T-1: unknown setting $interval (this pack's settings: none)"),
])
def test_malformed_rule_is_named_with_file_line_and_rule_id(rule: str, message: str):
    with pytest.raises(RecordError) as err:
        load(pack_text(rule))
    assert message in str(err.value)


@pytest.mark.parametrize("text,message", [
    ("title: T\nrules: []\n", "policies/t.yaml: 'pack' must name the pack"),
    ("pack: t\ntitle: T\nrules: []\n", "policies/t.yaml:3: 'rules' must be a non-empty list"),
    ("pack: t\ntitle: T\nrules:\n  - {title: x, cite: c, require: {card_fields: [name]}}\n",
     "policies/t.yaml:4: rules[0]: 'id' must be a rule id"),
    ("pack: t\ntitle: T\nrules:\n  - {id: A, title: x, cite: c, require: {card_fields: [name]}}\n"
     "  - {id: A, title: y, cite: c, require: {card_fields: [owner]}}\n",
     "policies/t.yaml:5: rule A: the id is used twice in this pack"),
    ("pack: t\ntitle: T\nversion: two\nrules: []\n", "policies/t.yaml:3: 'version' must be a whole number"),
    ("pack: t\ntitle: T\nedition: 2\nrules: []\n", "policies/t.yaml:3: unknown key 'edition'"),
    ("pack: t\ntitle: T\nsettings: {days: 30}\nrules: []\n", "setting days: write {default: VALUE"),
])
def test_malformed_pack(text: str, message: str):
    with pytest.raises(RecordError) as err:
        load(text)
    assert message in str(err.value)


SETTINGS_PACK = pack_text('    cite: c\n    require: {monitoring: {within_days: $interval}}\n',
                          head="settings:\n  interval: {default: 30, note: practice}\n")


def test_settings_default_override_and_bad_override():
    assert load(SETTINGS_PACK).rules[0].params.within_days == 30
    pack = load(SETTINGS_PACK, {"interval": 7})
    assert pack.rules[0].params.within_days == 7
    assert pack.settings["interval"].source == "mops.yaml: policy_settings.t.interval"
    with pytest.raises(RecordError) as err:
        load(SETTINGS_PACK, {"interval": "weekly"})
    assert str(err.value).startswith("mops.yaml: policy_settings.t.interval: 'within_days' must be")
    assert "(used by rule T-1 of policies/t.yaml)" in str(err.value)
    with pytest.raises(RecordError) as err:
        load(SETTINGS_PACK, {"intervall": 7})
    assert "policy_settings.t.intervall: pack 't' has no such setting (its settings: interval)" in str(err.value)


def test_inventory_packs_from_paths_combine_with_builtin(inventory: Path, mops: Mops):
    lab = Lab(inventory)
    lab.pack(SETTINGS_PACK, also=("baseline",), policy_settings={"t": {"interval": 14}})
    packs = load_packs(Inventory.open(inventory))
    assert [p.name for p in packs] == ["baseline", "t"]
    assert packs[1].path == "policies/custom.yaml" and packs[1].rules[0].params.within_days == 14
    lab.settings(policy_settings={"acme": {"x": 1}})
    err = mops("check", code=2).stderr
    assert "mops.yaml: policy_settings.acme: no pack named 'acme' is in force" in err


@pytest.mark.parametrize("policies,message", [
    (["sr11-7"], "mops.yaml: policies: unknown built-in pack 'sr11-7'"),
    (["policies/missing.yaml"], "mops.yaml: policies: 'policies/missing.yaml': no such file"),
    (["../outside.yaml"], "must be a path inside the inventory"),
    (["baseline", "policies/dup.yaml"], "rule BL-OWNER: the id is also used by pack 'baseline'"),
])
def test_bad_pack_references_fail_check_with_exit_2(inventory: Path, mops: Mops, policies, message):
    lab = Lab(inventory)
    (inventory / "policies").mkdir()
    (inventory / "policies" / "dup.yaml").write_text(
        "pack: dup\ntitle: D\nrules:\n  - {id: BL-OWNER, title: x, cite: c, require: {card_fields: [name]}}\n")
    lab.settings(policies=policies)
    lab.version("m@1")
    assert message in mops("check", code=2).stderr
    assert message in mops("list", code=2).stderr


def test_malformed_inventory_pack_fails_check_naming_file_and_rule(inventory: Path, mops: Mops):
    lab = Lab(inventory)
    lab.pack(pack_text('    cite: c\n    require: {aproval: {role: validator}}\n'))
    lab.version("m@1")
    err = mops("check", code=2).stderr
    assert "error: policies/custom.yaml:7: rule T-1: unknown requirement 'aproval'" in err


# ----------------------------------------------------------------------------- built-in packs


def test_builtin_packs_load_and_every_rule_cites_its_source():
    names = resources.builtin_pack_names()
    assert {"baseline", "us-sr26-2", "eu-ai-act-high-risk"} <= set(names)
    ids: set[str] = set()
    for name in names:
        path = resources.builtin_pack_path(name)
        pack = load_pack(str(path), path.read_bytes(), stages=STAGES)
        assert pack.name == name and pack.title and pack.description
        for rule in pack.rules:
            assert rule.cite and rule.title and rule.id not in ids
            ids.add(rule.id)
        for setting in pack.settings.values():
            assert setting.note
            if not isinstance(setting.default, bool):
                assert "practice" in setting.note  # figures that are practice say so
        raw = yaml.safe_load(path.read_text())
        for rule in raw["rules"]:
            uses = str(rule["require"])
            for setting in pack.settings:
                if f"${setting}" in uses:
                    assert "setting" in rule["cite"], rule["id"]


def test_us_sr26_2_pack(inventory: Path):
    lab = Lab(inventory)
    lab.settings(policies=["us-sr26-2"])
    lab.version("m@1", stage="production")
    res = {rule: r for (_, rule), r in lab.run().items()}
    failing = sorted(rule for rule, r in res.items() if r.status == "fail")
    assert failing == ["SR26-BENCHMARKING", "SR26-CONCEPTUAL-SOUNDNESS", "SR26-EFFECTIVE-CHALLENGE",
                       "SR26-ONGOING-MONITORING", "SR26-OUTCOMES-ANALYSIS", "SR26-VALIDATION-REPORT"]
    assert res["SR26-VENDOR"].status == "n/a" and res["SR26-INVENTORY"].status == "pass"
    assert res["SR26-OUTCOMES-ANALYSIS"].cite.startswith("SR 26-2 / OCC Bulletin 2026-13")
    for kind in ("conceptual-soundness", "outcomes-analysis", "benchmarking", "validation-report"):
        lab.evidence("m@1", kind)
    lab.sign("m@1")
    lab.drift("m@1", "2026-05-01T00:00:00Z")
    assert {r.status for r in lab.run().values()} == {"pass", "n/a"}
    # review frequency by tier is a setting: 12/24/36 months by default
    assert lab.result("SR26-REVIEW-FREQUENCY", now="2027-01-16").status == "fail"
    lab.settings(policy_settings={"us-sr26-2": {"revalidation_months": {1: 18}}})
    assert lab.result("SR26-REVIEW-FREQUENCY", now="2027-01-16").status == "pass"
    assert lab.result("SR26-ONGOING-MONITORING", now="2026-08-02").status == "fail"  # > 92 days
    lab.card("m", vendor=True)
    assert "vendor_name (missing)" in lab.result("SR26-VENDOR").message


def test_eu_ai_act_high_risk_pack(inventory: Path):
    lab = Lab(inventory)
    lab.settings(policies=["eu-ai-act-high-risk"])
    lab.version("m@1", stage="production")
    failing = sorted(rule for (_, rule), r in lab.run().items() if r.status == "fail")
    assert failing == ["AIA-ANNEX-IV-2G", "AIA-ANNEX-IV-2G-SIGNED", "AIA-ART12", "AIA-ART13",
                       "AIA-ART14-MEASURES", "AIA-ART14-PEOPLE", "AIA-ART47", "AIA-ART72-MONITORING",
                       "AIA-ART72-PLAN", "AIA-ART9"]
    lab.card("m", logging={"retention_months": 12}, human_oversight={"people": ["ops@acme.test"]})
    for kind in ("performance-metrics", "robustness", "fairness", "risk-assessment",
                 "instructions-for-use", "human-oversight", "declaration-of-conformity",
                 "monitoring-plan"):
        lab.evidence("m@1", kind)
    lab.sign("m@1")
    lab.drift("m@1", "2026-05-20T00:00:00Z")
    res = lab.run()
    assert {r.status for r in res.values()} == {"pass", "n/a"}
    assert res[("m@1", "AIA-ART27-FRIA")].status == "n/a"
    assert "Annex IV point 2(g)" in res[("m@1", "AIA-ANNEX-IV-2G")].cite
    # signed test reports are a setting
    lab.settings(policy_settings={"eu-ai-act-high-risk": {"require_signed_test_reports": True}})
    assert "is not signed" in lab.result("AIA-ANNEX-IV-2G-SIGNED").message
    # a deployer of an Annex III 5(b) system: FRIA applies, provider documentation does not
    lab.settings(policy_settings={})
    lab.card("m", eu_ai_act={"role": "deployer", "annex_iii": "5(b)"},
             logging={"retention_months": 12}, human_oversight={"people": ["ops@acme.test"]})
    res = {rule: r.status for (_, rule), r in lab.run().items()}
    assert res["AIA-ART27-FRIA"] == "fail" and res["AIA-ART47"] == "n/a"
    assert res["AIA-ART14-MEASURES"] == "pass"
    # models the card marks as not high-risk are out of scope
    lab.card("m", eu_ai_act={"high_risk": False})
    assert {r.status for r in lab.run().values()} == {"n/a"}


def test_baseline_pack(inventory: Path):
    lab = Lab(inventory)
    lab.version("m@1")
    lab.version("m@2", stage="production", at="2026-02-01T00:00:00Z")
    lab.version("m@0", stage="retired", at="2025-01-01T00:00:00Z",
                retired={"at": "2026-01-01T00:00:00Z", "by": "dana@acme.test", "reason": "old"})
    res = {(ref, rule): r.status for (ref, rule), r in lab.run().items()}
    assert res[("m@1", "BL-INDEPENDENT-SIGNOFF")] == "n/a"
    assert res[("m@2", "BL-INDEPENDENT-SIGNOFF")] == "fail"
    assert res[("m@0", "BL-RETIRED-KEPT")] == "pass" and res[("m@0", "BL-OWNER")] == "n/a"
    lab.card("m", limitations=[], owner=...)
    res = {(ref, rule): r.status for (ref, rule), r in lab.run().items()}
    assert res[("m@1", "BL-OWNER")] == res[("m@1", "BL-LIMITATIONS")] == "fail"
    lab.finding("m", "high")
    assert lab.result("BL-NO-HIGH-FINDINGS", ref="m@2").status == "fail"
