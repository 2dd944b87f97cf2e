"""The pack format's extensions (issue 13): versions, basis, declared vocabulary, setting selectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mops.errors import RecordError
from mops.inventory.store import Inventory
from mops.policy.packs import builtin_ref, load_pack, load_packs
from mops.policy.results import UNSPECIFIED
from tests.conftest import Mops
from tests.policy.lab import Lab

STAGES = ("development", "validation", "production", "retired")


def load(text: str, overrides: dict | None = None):
    return load_pack("policies/t.yaml", text.encode(), stages=STAGES, overrides=overrides)


def one(rule: str, head: str = "") -> str:
    return f"pack: t\ntitle: T\n{head}rules:\n  - id: T-1\n    title: A rule\n    cite: c\n{rule}"


# ----------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize("rule,message", [
    ("    require: {evidence: {kind: validation-reprot}}\n",
     "policies/t.yaml:7: rule T-1: evidence: unknown evidence kind 'validation-reprot'"),
    ("    require: {evidence: {kind: [fairness, acme-review]}}\n",
     "policies/t.yaml:7: rule T-1: evidence: unknown evidence kind 'acme-review'"),
    ("    require: {card_fields: [owner, ownr]}\n",
     "policies/t.yaml:7: rule T-1: card_fields: unknown card field 'ownr'"),
    ("    require: {card_fields: [review.lst]}\n",
     "policies/t.yaml:7: rule T-1: card_fields: unknown card field 'review.lst'"),
    ("    when: {tir: 1}\n    require: {card_fields: [owner]}\n",
     "policies/t.yaml:7: rule T-1: unknown card field 'tir'"),
    ("    require: {review_within: {months: 12, field: reviewed.last}}\n",
     "policies/t.yaml:7: rule T-1: review_within: unknown card field 'reviewed.last'"),
    ("    require: {next_review: {field: nxt}}\n",
     "policies/t.yaml:7: rule T-1: next_review: unknown card field 'nxt'"),
])
def test_unknown_evidence_kind_or_card_field_is_refused_with_file_and_line(rule: str, message: str):
    with pytest.raises(RecordError) as err:
        load(one(rule))
    assert message in str(err.value)
    assert "declares" in str(err.value)  # says how to add one


def test_a_pack_declares_its_own_card_fields_and_evidence_kinds():
    pack = load(one("    when: {business_line: retail}\n    require: {evidence: {kind: acme-review}}\n",
                    head="declares:\n  card_fields: {business_line: Line of business}\n"
                         "  evidence_kinds: {acme-review: Acme's annual review memo}\n"))
    assert pack.card_fields == {"business_line": "Line of business"}
    assert pack.evidence_kinds == {"acme-review": "Acme's annual review memo"}
    # Hugging Face keys and the standard fields need no declaration
    load(one("    require: {card_fields: [license, datasets, model-index, review.next, approver]}\n"))


@pytest.mark.parametrize("head,message", [
    ("declares: [x]\n", "policies/t.yaml:3: 'declares' maps card_fields and evidence_kinds"),
    ("declares: {fields: {x: y}}\n", "declares: unknown key 'fields'"),
    ("declares: {evidence_kinds: {Bad Kind: x}}\n", "declares.evidence_kinds: 'Bad Kind' is not"),
    ("declares: {card_fields: {x: ''}}\n", "declares.card_fields.x: say what it is"),
])
def test_malformed_declarations(head: str, message: str):
    with pytest.raises(RecordError) as err:
        load(one("    require: {card_fields: [owner]}\n", head=head))
    assert message in str(err.value)


# ----------------------------------------------------------------------------- basis


def test_basis_is_parsed_and_defaults_to_unspecified():
    pack = load(one("    basis:\n      - {demand: a named owner, text: 'Acme MRM §2.1'}\n"
                    "      - {demand: before production, practice: Acme's gate}\n"
                    "    require: {card_fields: [owner]}\n"))
    kinds = [(b.demand, b.kind, b.detail) for b in pack.rules[0].basis]
    assert kinds == [("a named owner", "text", "Acme MRM §2.1"),
                     ("before production", "practice", "Acme's gate")]
    # a user pack without basis still loads: its rules say the basis is unspecified
    assert load(one("    require: {card_fields: [owner]}\n")).rules[0].basis == UNSPECIFIED


@pytest.mark.parametrize("basis,message", [
    ("    basis: []\n", "policies/t.yaml:7: rule T-1: 'basis' lists each demand"),
    ("    basis:\n      - {demand: x}\n", "policies/t.yaml:8: rule T-1: basis[0]: give exactly one of 'text'"),
    ("    basis:\n      - {demand: x, text: a, practice: b}\n", "basis[0]: give exactly one of"),
    ("    basis:\n      - {text: a}\n", "basis[0]: 'demand' must say which demand"),
    ("    basis:\n      - {demand: x, law: a}\n", "basis[0]: unknown key 'law'"),
    ("    basis:\n      - {demand: x, practice: ''}\n", "basis[0]: 'practice' must not be empty"),
])
def test_malformed_basis_is_named_with_file_line_and_rule(basis: str, message: str):
    with pytest.raises(RecordError) as err:
        load(one(basis + "    require: {card_fields: [owner]}\n"))
    assert message in str(err.value)


# ----------------------------------------------------------------------------- versions and settings


def test_version_sources_and_changelog():
    pack = load("pack: t\nversion: 3\ntitle: T\nsources: [Acme MRM Standard 2026]\n"
                "changelog: [v3 tightened T-1]\nrules:\n"
                "  - {id: T-1, title: x, cite: c, require: {card_fields: [owner]}}\n")
    assert (pack.version, pack.pinned, pack.ref) == (3, True, "t@3")
    assert pack.sources == ("Acme MRM Standard 2026",) and pack.changelog == ("v3 tightened T-1",)
    assert load(one("    require: {card_fields: [owner]}\n")).version == 1


SETTING_PACK = one("    when: {$colorado: true, stage: production}\n    require: {card_fields: [owner]}\n",
                   head="settings:\n  colorado: {default: false, note: scope}\n")


def test_a_setting_selector_switches_a_rule_on_and_off(inventory: Path, mops: Mops):
    rule = load(SETTING_PACK).rules[0]
    assert rule.off is not None and "setting colorado is true" in rule.off
    assert load(SETTING_PACK, {"colorado": True}).rules[0].off is None
    assert rule.describe_when() == "stage production; setting colorado is true"
    lab = Lab(inventory)
    lab.pack(SETTING_PACK)
    lab.version("m@1", stage="production")
    lab.card("m", owner=...)
    r = lab.result("T-1")
    assert r.status == "n/a" and "policy_settings.t.colorado; now false" in r.message
    lab.settings(policy_settings={"t": {"colorado": True}})
    assert lab.result("T-1").status == "fail"
    with pytest.raises(RecordError, match="unknown setting \\$nope"):
        load(one("    when: {$nope: true}\n    require: {card_fields: [owner]}\n"))


def test_not_an_empty_list_selects_every_card(inventory: Path):
    text = one("    when: {tier: {not: $negligible}}\n    require: {card_fields: [owner]}\n",
               head="settings:\n  negligible: {default: [], note: practice}\n")
    rule = load(text).rules[0]
    assert rule.selects_card({"tier": 3}) is None
    rule = load(text, {"negligible": [3]}).rules[0]
    assert rule.selects_card({"tier": 3}) is not None and rule.selects_card({"tier": 1}) is None


# ----------------------------------------------------------------------------- built-in versions in mops.yaml


def test_a_built_in_name_without_version_is_version_1_and_name_at_n_is_that_version(inventory: Path):
    lab = Lab(inventory)
    lab.settings(policies=["us-sr26-2"])
    (pack,) = load_packs(Inventory.open(inventory))
    assert (pack.version, pack.pinned) == (1, False)
    assert "SR26-BENCHMARKING" in {r.id for r in pack.rules}  # exactly as before versions
    lab.settings(policies=["us-sr26-2@2"])
    (pack,) = load_packs(Inventory.open(inventory))
    assert (pack.version, pack.pinned) == (2, True)
    assert "SR26-BENCHMARKING" not in {r.id for r in pack.rules}
    assert builtin_ref("us-sr26-2", default_latest=True).version == 2


@pytest.mark.parametrize("policies,message", [
    (["us-sr26-2@9"], "mops.yaml: policies: us-sr26-2 has no version 9 (versions shipped with this mops: 1, 2"),
    (["sr11-7@1"], "mops.yaml: policies: unknown built-in pack 'sr11-7@1'"),
    (["baseline@1", "baseline@2"], "mops.yaml: policies: two packs are named 'baseline'"),
])
def test_bad_versions_in_mops_yaml_are_exit_2(inventory: Path, mops: Mops, policies, message):
    lab = Lab(inventory)
    lab.settings(policies=policies)
    lab.version("m@1")
    assert message in mops("check", code=2).stderr


def test_init_records_the_latest_versions(tmp_path: Path):
    Mops(tmp_path)("init", "inv", "--pack", "baseline", "--pack", "nist-ai-rmf@1")
    text = (tmp_path / "inv" / "mops.yaml").read_text()
    assert "policies: [baseline@2, nist-ai-rmf@1]" in text
    r = Mops(tmp_path)("init", "other", "--pack", "baseline@7", code=2)
    assert "--pack 'baseline@7': baseline has no version 7" in r.stderr
    assert not (tmp_path / "other").exists()
