"""The provenance table: every governed path has exactly one rule, found by its path."""

from __future__ import annotations

import pytest

from mops.errors import RecordError
from mops.inventory.records import load_settings
from mops.trust import rules

PATHS = {
    "mops.yaml": "settings",
    ".mops/allowed_signers": "signers",
    "policies/acme.yaml": "packs",
    "governance/acme.yaml": "named-packs",
    "report_templates/_cover.html": "templates",
    "models/credit-pd/card.md": "card",
    "models/credit-pd/versions/1.0.0/version.yaml": "version",
    "models/credit-pd/versions/1.0.0/evidence/E-1a2b3c.yaml": "evidence",
    "models/credit-pd/versions/1.0.0/evidence/files/E-1a2b3c/report.pdf": "evidence-file",
    "models/credit-pd/versions/1.0.0/approvals/A-1a2b3c.yaml": "signoff",
    "models/credit-pd/findings/F-1a2b3c.yaml": "finding",
    "models/credit-pd/versions/1.0.0/monitoring/D-1a2b3c.json": "monitoring",
    "models/.gitkeep": "other",
    "models/credit-pd/notes.txt": "other",
}


@pytest.mark.parametrize("path,rule_id", PATHS.items())
def test_each_governed_path_finds_its_rule(path: str, rule_id: str):
    found = rules.rule_for(path, packs=frozenset({"governance/acme.yaml"}))
    assert found is not None and found.id == rule_id


def test_findings_and_exceptions_share_a_path_and_differ_by_kind():
    path = "models/credit-pd/findings/W-1a2b3c.yaml"
    assert rules.rule_for(path, kind="exception").id == "exception"
    assert rules.rule_for(path, kind="finding").id == "finding"
    assert rules.rule_for(path).id == "finding"


@pytest.mark.parametrize("path", ["data/credit-pd/reference.parquet", "README.md", "mops.yml",
                                  "policies.yaml"])
def test_other_paths_are_not_governed(path: str):
    assert rules.rule_for(path) is None


def test_every_rule_is_in_the_table_and_every_action_has_a_command():
    table = rules.markdown()
    for r in rules.RULES:
        assert f"| `{r.pattern}` |" in table
        for action in (*r.created_by, *r.changed_by):
            assert action in rules.COMMANDS
    for key in rules.SETTINGS_KEYS:
        assert f"| `mops.yaml` `{key}:` |" in table


def _settings(extra: str = "") -> bytes:
    return (b"inventory: T\nroles:\n  validator: [carol@acme.test]\n"
            b"  risk-officer: [dana@acme.test]\n  committee: [erin@acme.test]\n"
            + extra.encode())


def test_governors_default_to_the_risk_officer_and_are_configurable():
    assert rules.governors(load_settings("mops.yaml", _settings())) == ("dana@acme.test",)
    chosen = load_settings("mops.yaml", _settings("governance: {changed_by: [committee, "
                                                  "validator]}\n"))
    assert rules.governors(chosen) == ("erin@acme.test", "carol@acme.test")
    nobody = load_settings("mops.yaml", _settings("governance: {changed_by: [board]}\n"))
    assert set(rules.governors(nobody)) == {"carol@acme.test", "dana@acme.test",
                                            "erin@acme.test"}
    empty = load_settings("mops.yaml", b"inventory: T\nroles: {validator: []}\n")
    assert rules.governors(empty) == () and rules.setting_up(empty)


def test_monitoring_recorders_are_anyone_unless_named():
    assert rules.recorders(load_settings("mops.yaml", _settings())) is None
    named = load_settings("mops.yaml", _settings(
        "  monitoring: [ci-bot@acme.test]\nmonitoring: {logs: x, recorded_by: [monitoring]}\n"))
    assert rules.recorders(named) == ("ci-bot@acme.test",)

@pytest.mark.parametrize("text,message", [
    ("governance: [risk-officer]\n", "'governance' must be a mapping"),
    ("governance: {changed_by: [Risk Officer]}\n", "governance.changed_by"),
    ("governance: {who: [x]}\n", "'governance.who' is not a setting"),
    ("monitoring: {recorded_by: 3}\n", "'monitoring.recorded_by' must be a list of role names"),
])
def test_malformed_governance_settings_are_refused(text: str, message: str):
    with pytest.raises(RecordError, match=message.replace(".", r"\.").replace("[", r"\[")):
        load_settings("mops.yaml", _settings(text))


def test_changed_keys_ignore_layout():
    assert rules.changed_keys({"a": 1, "b": [1]}, {"b": [1], "a": 1}) == []
    assert rules.changed_keys({"a": 1}, {"a": 2, "c": None}) == ["a", "c"]
