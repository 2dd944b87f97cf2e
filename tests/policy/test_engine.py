"""The policy engine, requirement by requirement, on real inventories written record by record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mops.inventory.names import ModelRef
from mops.inventory.store import Inventory
from mops.policy.engine import compliance, evaluate, load_packs
from tests.conftest import git
from tests.policy.lab import Lab


@pytest.fixture
def lab(inventory: Path) -> Lab:
    return Lab(inventory)


def one_rule(require: str, when: str = "") -> str:
    return f"""pack: t
title: Test pack
rules:
  - id: T-1
    title: The rule under test
    cite: "Test Standard §1"
    {('when: ' + when) if when else ''}
    require: {require}
"""


# ----------------------------------------------------------------------------- card_fields / version_fields


def test_card_fields(lab: Lab):
    lab.pack(one_rule("{card_fields: [owner, limitations, review.last, {field: dependencies, allow_empty: true}]}"))
    lab.version("m@1")
    r = lab.result("T-1")
    assert r.status == "pass" and r.file == "models/m/card.md" and r.cite == "Test Standard §1"
    lab.card("m", limitations=[], owner=..., dependencies=...)
    r = lab.result("T-1")
    assert r.status == "fail"
    assert r.message == ("the model card does not document owner (missing), limitations (empty) "
                         "and dependencies (missing)")


def test_version_fields(lab: Lab):
    lab.pack(one_rule("{version_fields: [artifact.sha256, data.snapshot]}"))
    lab.version("m@1")
    r = lab.result("T-1")
    assert r.status == "fail" and "data.snapshot (missing)" in r.message
    assert r.file == "models/m/versions/1/version.yaml"
    lab.version("m@1", data={"snapshot": "2026-04"})
    assert lab.result("T-1").status == "pass"


# ----------------------------------------------------------------------------- evidence


def test_evidence_kinds_age_and_tampering(lab: Lab):
    lab.pack(one_rule("{evidence: {kind: [validation-report, benchmarking], max_age_days: 30}}"))
    lab.version("m@1")
    r = lab.result("T-1")
    assert r.status == "fail" and r.message == "no validation-report evidence; no benchmarking evidence"
    lab.evidence("m@1", "validation-report", at="2026-05-20T00:00:00Z")
    old = lab.evidence("m@1", "benchmarking", at="2026-03-01T00:00:00Z")
    r = lab.result("T-1")
    assert r.status == "fail" and f"{old} is 92 days old (at most 30)" in r.message
    assert r.file == f"models/m/versions/1/evidence/{old}.yaml"
    fresh = lab.evidence("m@1", "benchmarking", at="2026-05-25T00:00:00Z")
    r = lab.result("T-1")
    assert r.status == "pass" and fresh in r.message
    # a file changed after it was added no longer counts
    (lab.vdir("m@1") / f"evidence/files/{fresh}/report.txt").write_bytes(b"doctored report")
    r = lab.result("T-1")
    assert r.status == "fail"
    assert f"{fresh}'s file report.txt is missing or was changed after it was added" in r.message


# ----------------------------------------------------------------------------- approval


def test_approval_counts_distinct_valid_people(lab: Lab):
    lab.pack(one_rule("{approval: {role: validator, count: 2, independent_of: [owner, developers, registrant]}}"))
    lab.version("m@1")
    r = lab.result("T-1")
    assert r.status == "fail" and "needs 2 approvals by different people in role validator" in r.message
    assert "no sign-off recorded" in r.message and r.file == "models/m/versions/1/version.yaml"
    lab.sign("m@1", "carol@acme.test")
    lab.sign("m@1", "carol@acme.test", at="2026-05-03T00:00:00Z")
    assert lab.result("T-1").status == "fail"  # the same person twice is one approval
    lab.sign("m@1", "erin@acme.test")
    r = lab.result("T-1")
    assert r.status == "pass" and "carol@acme.test" in r.message and "erin@acme.test" in r.message


def test_approval_ignores_people_not_in_role_or_not_independent(lab: Lab):
    lab.pack(one_rule("{approval: {role: validator, independent_of: [owner, developers, registrant]}}"))
    lab.version("m@1", registered_by="erin@acme.test")
    lab.sign("m@1", "erin@acme.test")      # registered the version
    lab.sign("m@1", "mallory@acme.test")   # never listed
    r = lab.result("T-1")
    assert r.status == "fail"
    assert "erin@acme.test is the person who registered this version" in r.message
    assert "mallory@acme.test is no longer listed for role validator" in r.message
    carol = lab.sign("m@1", "carol@acme.test")
    assert lab.result("T-1").status == "pass"
    lab.settings(roles={"validator": ["erin@acme.test"]})  # carol left the team
    r = lab.result("T-1")
    assert r.status == "fail" and f"{carol} by carol@acme.test does not count" in r.message
    lab.settings(roles={"validator": []})
    assert "no one is listed for role validator in mops.yaml" in lab.result("T-1").message


def test_stale_signoff_says_what_changed(lab: Lab):
    lab.pack(one_rule("{approval: {role: validator}}"))
    lab.version("m@1")
    lab.evidence("m@1", "validation-report")
    aid = lab.sign("m@1")
    assert lab.result("T-1").status == "pass"
    # stage, monitoring and other sign-offs are outside the digest
    lab.version("m@1", stage="validation")
    lab.drift("m@1", "2026-05-30T00:00:00Z", breach=True)
    lab.sign("m@1", "dana@acme.test", role="risk-officer")
    assert lab.result("T-1").status == "pass"
    lab.evidence("m@1", "benchmarking")
    r = lab.result("T-1")
    assert r.status == "fail"
    assert f"{aid} by carol@acme.test is stale: the evidence changed after it was given" in r.message
    lab.sign("m@1")
    lab.card("m", limitations=["new limitation"])
    lab.version("m@1", stage="validation", metrics={"auc": 0.9})
    assert ("is stale: the model card and the version's artifact, data or metrics changed"
            in lab.result("T-1").message)


def test_reject_cancels_earlier_approve_and_later_approve_supersedes(lab: Lab):
    lab.pack(one_rule("{approval: {role: validator}}"))
    lab.version("m@1")
    a1 = lab.sign("m@1", at="2026-05-02T00:00:00Z")
    r1 = lab.sign("m@1", decision="reject", at="2026-05-02T00:00:00Z", supersedes=a1,
                  comment="PSI above limit")
    r = lab.result("T-1")
    assert r.status == "fail" and "rejected by carol@acme.test on 2026-05-02" in r.message
    assert "PSI above limit" in r.message
    # Another validator's approval does not outweigh a standing rejection...
    lab.sign("m@1", "erin@acme.test")
    assert lab.result("T-1").status == "fail"
    # ...until the rejecting validator approves (same second: the supersedes link decides).
    lab.sign("m@1", at="2026-05-02T00:00:00Z", supersedes=r1)
    assert lab.result("T-1").status == "pass"


def test_expired_old_and_unsigned_signoffs(lab: Lab):
    lab.pack(one_rule("{approval: {role: validator, max_age_days: {1: 30, default: 400}}}"))
    lab.version("m@1")
    aid = lab.sign("m@1", at="2026-04-01T00:00:00Z", expires="2026-12-31")
    r = lab.result("T-1")
    assert r.status == "fail" and f"{aid} by carol@acme.test is 61 days old (at most 30)" in r.message
    lab.card("m", tier=2)
    lab.sign("m@1", at="2026-04-01T00:00:00Z", expires="2026-05-31")
    lab.sign("m@1", "erin@acme.test", at="2026-04-01T00:00:00Z", expires="2026-12-31")
    r = lab.result("T-1")  # tier 2: the default (400 days) applies
    assert r.status == "pass" and r.message.startswith("approved by erin@acme.test")
    assert "expired on 2026-05-31" in lab.result("T-1", now="2027-01-02").message
    lab.pack(one_rule("{approval: {role: validator, signed: true}}"))
    r = lab.result("T-1")
    assert r.status == "fail" and "is not signed" in r.message
    inv = Inventory.open(lab.repo)
    signed = evaluate(inv, now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                      is_signed=lambda version, approval: approval.by == "erin@acme.test")
    assert [r.status for r in signed if r.rule == "T-1"] == ["pass"]


# ----------------------------------------------------------------------------- review_within


def test_review_within_months_by_tier(lab: Lab):
    lab.pack(one_rule("{review_within: {months: {1: 12, 2: 24, 3: 36}}}"))
    lab.version("m@1")
    r = lab.result("T-1")
    assert r.status == "pass" and "next due by 2027-01-15 (tier 1: every 12 months)" in r.message
    r = lab.result("T-1", now="2027-01-16")
    assert r.status == "fail" and r.file == "models/m/card.md"
    assert r.message == ("review overdue: last review 2026-01-15, due by 2027-01-15 "
                         "(tier 1: every 12 months)")
    lab.card("m", tier=3)
    assert lab.result("T-1", now="2027-01-16").status == "pass"
    lab.card("m", tier=...)  # no tier: the strictest figure
    assert lab.result("T-1", now="2027-01-16").status == "fail"
    lab.card("m", review=...)
    assert lab.result("T-1").message == "the model card has no review.last date (the last review)"
    lab.pack(one_rule("{review_within: {days: 30}}"))
    lab.card("m", review={"last": "2026-05-01"})
    assert lab.result("T-1", now="2026-05-31").status == "pass"
    assert lab.result("T-1", now="2026-06-01").status == "fail"


# ----------------------------------------------------------------------------- monitoring


def test_monitoring_recent_and_without_breach(lab: Lab):
    lab.pack(one_rule("{monitoring: {within_days: 30}}"))
    lab.version("m@1")
    r = lab.result("T-1")
    assert r.status == "fail" and "no drift result recorded" in r.message
    assert "mops drift m@1 --current LOG --record" in r.message
    lab.drift("m@1", "2026-04-01T00:00:00Z")
    r = lab.result("T-1")
    assert r.status == "fail" and "61 days old; one is needed every 30 days" in r.message
    mid = lab.drift("m@1", "2026-05-25T00:00:00Z", breach=True)
    r = lab.result("T-1")
    assert r.status == "fail" and f"latest drift result ({mid}, 2026-05-25) shows a breach: income" in r.message
    assert r.file == f"models/m/versions/1/monitoring/{mid}.json"
    lab.drift("m@1", "2026-05-30T00:00:00Z")
    assert lab.result("T-1").status == "pass"


# ----------------------------------------------------------------------------- no_open_findings


@pytest.mark.parametrize("threshold,severity,status", [
    ("high", "high", "fail"), ("high", "medium", "pass"), ("medium", "high", "fail"),
    ("medium", "low", "pass"), ("low", "low", "fail"),
])
def test_no_open_findings_threshold(lab: Lab, threshold: str, severity: str, status: str):
    lab.pack(one_rule(f"{{no_open_findings: {{severity: {threshold}}}}}"))
    lab.version("m@1")
    fid = lab.finding("m", severity)
    r = lab.result("T-1")
    assert r.status == status
    if status == "fail":
        assert fid in r.message and r.file == f"models/m/findings/{fid}.yaml"


def test_findings_scope_closed_and_other_versions(lab: Lab):
    lab.pack(one_rule("{no_open_findings: {severity: high}}"))
    lab.version("m@1")
    lab.version("m@2", at="2026-02-01T00:00:00Z")
    lab.finding("m", "high", version="2")
    lab.finding("m", "high", status="closed")
    res = lab.run()
    assert res[("m@1", "T-1")].status == "pass" and res[("m@2", "T-1")].status == "fail"


# ----------------------------------------------------------------------------- waivers, scope, selectors


def test_waived_is_never_pass_and_expired_waivers_count_for_nothing(lab: Lab):
    lab.pack(one_rule("{card_fields: [vendor_name]}"))
    lab.version("m@1")
    lab.version("m@2", at="2026-02-01T00:00:00Z")
    wid = lab.finding("m", None, kind="exception", rule="T-1", version="1", expires="2026-06-30")
    res = lab.run()
    assert res[("m@1", "T-1")].status == "waived" and res[("m@1", "T-1")].waiver == wid
    assert "unmet: the model card does not document vendor_name" in res[("m@1", "T-1")].message
    assert res[("m@2", "T-1")].status == "fail"  # the exception names version 1 only
    assert compliance(Inventory.open(lab.repo), now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)) == {
        ("m", "1"): True, ("m", "2"): False}
    assert lab.result("T-1", now="2026-06-30").status == "waived"  # valid through its last day
    r = lab.result("T-1", now="2026-07-01")
    assert r.status == "fail" and f"exception {wid} expired on 2026-06-30" in r.message
    lab.card("m", vendor_name="Acme Analytics")
    assert lab.result("T-1").status == "pass"  # met: the exception is not needed
    lab.card("m", vendor_name=...)
    lab.finding("m", None, kind="exception", rule="T-1", expires="2026-12-31", status="closed")
    assert lab.result("T-1").status == "waived"  # the model-wide but closed one does not count
    assert lab.run()[("m@2", "T-1")].status == "fail"


def test_stage_scope_of_check(lab: Lab):
    lab.pack("""pack: t
title: T
declares: {card_fields: {nope: a field no card has}}
rules:
  - {id: ANY, title: Any stage, cite: c, require: {card_fields: [nope]}}
  - {id: PROD, title: Production, cite: c, when: {stage: production}, require: {card_fields: [nope]}}
  - {id: VAL, title: Validation, cite: c, when: {stage: [validation, production]}, require: {card_fields: [nope]}}
  - {id: RET, title: Retired, cite: c, when: {stage: retired}, require: {card_fields: [nope]}}
""")
    for i, stage in enumerate(("development", "validation", "production", "retired")):
        lab.version(f"m@{i}", stage=stage, at=f"2026-01-0{i + 1}T00:00:00Z")
    res = lab.run()
    status = {(ref, rule): r.status for (ref, rule), r in res.items()}
    assert [status[("m@0", r)] for r in ("ANY", "PROD", "VAL", "RET")] == ["fail", "n/a", "n/a", "n/a"]
    assert [status[("m@1", r)] for r in ("ANY", "PROD", "VAL", "RET")] == ["fail", "n/a", "fail", "n/a"]
    assert [status[("m@2", r)] for r in ("ANY", "PROD", "VAL", "RET")] == ["fail", "fail", "fail", "n/a"]
    assert [status[("m@3", r)] for r in ("ANY", "PROD", "VAL", "RET")] == ["n/a", "n/a", "n/a", "fail"]
    assert res[("m@0", "PROD")].message == "applies in stage production; this version is in development"
    # refs: one version, or all versions of a model
    inv = Inventory.open(lab.repo)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert {r.version for r in evaluate(inv, now=now, refs=[ModelRef("m", "2")])} == {"2"}
    assert {r.version for r in evaluate(inv, now=now, refs=[ModelRef("m")])} == {"0", "1", "2", "3"}


def test_card_selectors(lab: Lab):
    lab.pack("""pack: t
title: T
declares: {card_fields: {x: a field no card has, eu_ai_act.role: role, eu_ai_act.annex_iii: point}}
rules:
  - {id: TIER, title: t, cite: c, when: {tier: [1, 2]}, require: {card_fields: [x]}}
  - {id: VENDOR, title: t, cite: c, when: {vendor: true}, require: {card_fields: [x]}}
  - {id: NOT-DEPLOYER, title: t, cite: c, when: {eu_ai_act.role: {not: deployer}}, require: {card_fields: [x]}}
  - {id: ANNEX, title: t, cite: c, when: {eu_ai_act.annex_iii: ["5(b)", "5(c)"]}, require: {card_fields: [x]}}
""")
    lab.version("m@1")
    status = {rule: r.status for (_, rule), r in lab.run().items()}
    assert status == {"TIER": "fail", "VENDOR": "n/a", "NOT-DEPLOYER": "fail", "ANNEX": "n/a"}
    assert lab.result("VENDOR").message == "applies when vendor is true (model card)"
    lab.card("m", tier=3, vendor=True, eu_ai_act={"role": "deployer", "annex_iii": "5(b)"})
    status = {rule: r.status for (_, rule), r in lab.run().items()}
    assert status == {"TIER": "n/a", "VENDOR": "fail", "NOT-DEPLOYER": "n/a", "ANNEX": "fail"}


def test_evaluate_reads_history(lab: Lab):
    """The audit report evaluates ``inv.at(rev)``: the same engine on a past commit."""
    lab.pack(one_rule("{approval: {role: validator}}"))
    lab.version("m@1")
    lab.evidence("m@1", "validation-report")
    lab.sign("m@1")
    git(lab.repo, "add", "-A")
    git(lab.repo, "commit", "-qm", "signed")
    signed = git(lab.repo, "rev-parse", "HEAD").strip()
    lab.card("m", limitations=["changed after sign-off"])
    git(lab.repo, "commit", "-qam", "edit")
    inv = Inventory.open(lab.repo)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    then = inv.at(signed)
    try:
        assert [r.status for r in evaluate(then, now=now) if r.rule == "T-1"] == ["pass"]
        assert [p.name for p in load_packs(then)] == ["t"]
    finally:
        then.close()
    assert [r.status for r in evaluate(inv, now=now) if r.rule == "T-1"] == ["fail"]


def test_results_carry_weight_pack_and_file(lab: Lab):
    lab.settings(policies=["baseline"])
    lab.version("m@1", stage="production")
    lab.card("m", owner=...)
    res = lab.run()
    owner, limits = res[("m@1", "BL-OWNER")], res[("m@1", "BL-LIMITATIONS")]
    assert owner.status == "fail" and owner.pack == "baseline" and owner.file == "models/m/card.md"
    assert owner.weight > limits.weight  # high severity before medium
    assert res[("m@1", "BL-INDEPENDENT-SIGNOFF")].file == "models/m/versions/1/version.yaml"
