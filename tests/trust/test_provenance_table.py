"""Every row of the provenance table (mops.trust.rules.RULES) has a forging attempt, and
``verify`` names the forged file; the README shows the table as it is in the code."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mops.trust import rules
from tests.conftest import Mops
from tests.policy.helpers import BOB, CAROL, DANA
from tests.trust.helpers import VDIR, Team, commit, make_team

README = Path(__file__).resolve().parents[2] / "README.md"
MODEL = "models/credit-pd"


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def as_mops(action: str, extra: str = "") -> str:
    """A hand-made commit message dressed as mops's (its trailers are only text)."""
    return (f"{action}: credit-pd@1.0.0\n\nMops-Action: {action}\nMops-Model: credit-pd\n"
            f"Mops-Version: 1.0.0\n{extra}")


def bob_commits(team: Team, message: str = "by hand") -> None:
    """Bob (a developer, listed as a signer, in no governance role) commits, signed."""
    team.act(BOB, "bob")
    commit(team.repo, message, sign=True)


def edit(team: Team, rel: str, old: str, new: str) -> None:
    path = team.repo / rel
    text = path.read_text()
    assert old in text, text
    path.write_text(text.replace(old, new, 1))


def write(team: Team, rel: str, text: str) -> None:
    path = team.repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _evidence_record(team: Team) -> tuple[str, dict]:
    [path] = (team.repo / VDIR / "evidence").glob("*.yaml")
    return path.relative_to(team.repo).as_posix(), yaml.safe_load(path.read_text())


# ----------------------------------------------------------------------------- the forgeries


def forge_settings(team: Team) -> str:
    edit(team, "mops.yaml", "inventory: Test inventory", "inventory: Somebody else's")
    bob_commits(team)
    return "mops.yaml"


def forge_signers(team: Team) -> str:
    path = team.repo / ".mops" / "allowed_signers"
    path.write_text(path.read_text() + team.keys.line(CAROL[1], "bob") + "\n")
    bob_commits(team)
    return ".mops/allowed_signers"


def forge_packs(team: Team) -> str:
    write(team, "policies/lenient.yaml", "pack: lenient\ntitle: Lenient\nrules: []\n")
    bob_commits(team)
    return "policies/lenient.yaml"


def forge_named_packs(team: Team) -> str:
    rel = "governance/acme.yaml"
    write(team, rel, "pack: acme\ntitle: Acme\nrules:\n  - id: ACME-1\n    title: Owner\n"
                     "    cite: Acme 1\n    require: {card_fields: [owner]}\n")
    line = next(x for x in (team.repo / "mops.yaml").read_text().splitlines()
                if x.startswith("policies:"))
    edit(team, "mops.yaml", line, line.replace("[", f"[{rel}, ", 1))
    team.act(DANA, "dana")
    commit(team.repo, "our own pack", sign=True)  # Dana governs: allowed
    edit(team, rel, "card_fields: [owner]", "card_fields: []")
    bob_commits(team)
    return rel


def forge_templates(team: Team) -> str:
    write(team, "report_templates/_cover.html", "<p>Everything is compliant.</p>\n")
    bob_commits(team)
    return "report_templates/_cover.html"


def forge_card(team: Team) -> str:
    edit(team, f"{MODEL}/card.md", "tier: 1", "tier: 3")
    bob_commits(team, as_mops("register", f"Mops-Actor: {BOB[1]}\n"))
    return f"{MODEL}/card.md"


def forge_version(team: Team) -> str:
    edit(team, f"{VDIR}/version.yaml", "stage: development", "stage: production")
    bob_commits(team, as_mops("promote", f"Mops-Actor: {BOB[1]}\nMops-Stage: production\n"))
    return f"{VDIR}/version.yaml"


def forge_evidence(team: Team) -> str:
    _, record = _evidence_record(team)
    record.update(id="E-0f0f0f", added_by=CAROL[1])
    rel = f"{VDIR}/evidence/E-0f0f0f.yaml"
    write(team, rel, yaml.safe_dump(record, sort_keys=False))
    bob_commits(team, as_mops("evidence", f"Mops-Actor: {CAROL[1]}\n"))
    return rel


def forge_evidence_file(team: Team) -> str:
    _, record = _evidence_record(team)
    rel = f"{VDIR}/evidence/files/{record['id']}/appendix.pdf"
    write(team, rel, "an appendix no record lists\n")
    bob_commits(team, as_mops("evidence", f"Mops-Actor: {BOB[1]}\n"))
    return rel


def forge_signoff(team: Team) -> str:
    aid = team.approve()
    src = team.repo / VDIR / "approvals" / f"{aid}.yaml"
    rel = f"{VDIR}/approvals/A-0c0c0c.yaml"
    write(team, rel, src.read_text().replace(f"id: {aid}", "id: A-0c0c0c"))
    bob_commits(team, as_mops("approve", f"Mops-Actor: {CAROL[1]}\n"))
    return rel


def forge_finding(team: Team) -> str:
    rel = f"{MODEL}/findings/F-0d0d0d.yaml"
    write(team, rel, yaml.safe_dump({
        "id": "F-0d0d0d", "kind": "finding", "model": "credit-pd", "version": None,
        "severity": "low", "title": "Nothing to see", "status": "closed",
        "opened_by": BOB[1], "opened_at": "2026-01-02T00:00:00Z", "due": None,
        "closed_by": BOB[1], "closed_at": "2026-01-02T00:00:00Z"}, sort_keys=False))
    bob_commits(team, as_mops("finding", f"Mops-Actor: {BOB[1]}\n"))
    return rel


def forge_exception(team: Team) -> str:
    rel = f"{MODEL}/findings/W-0e0e0e.yaml"
    write(team, rel, yaml.safe_dump({
        "id": "W-0e0e0e", "kind": "exception", "model": "credit-pd", "version": None,
        "rule": "BL-INDEPENDENT-SIGNOFF", "title": "Exception to BL-INDEPENDENT-SIGNOFF",
        "reason": "urgent", "controls": None, "approved_by": DANA[1], "status": "open",
        "opened_by": DANA[1], "opened_at": "2026-05-01T00:00:00Z", "expires": "2026-12-31"},
        sort_keys=False))
    bob_commits(team, as_mops("waive", f"Mops-Actor: {DANA[1]}\n"))
    return rel


def forge_monitoring(team: Team) -> str:
    rel = f"{VDIR}/monitoring/D-0a0b0c.json"
    write(team, rel, json.dumps({
        "id": "D-0a0b0c", "kind": "drift", "at": "2026-05-30T00:00:00Z", "by": BOB[1],
        "model": "credit-pd", "version": "1.0.0",
        "verdict": {"dataset_drift": False, "drifted_share": 0.0, "breaches": []}}))
    bob_commits(team)
    return rel


FORGERIES: dict[str, Callable[[Team], str]] = {
    "settings": forge_settings, "signers": forge_signers, "packs": forge_packs,
    "named-packs": forge_named_packs, "templates": forge_templates, "card": forge_card,
    "version": forge_version, "evidence": forge_evidence, "evidence-file": forge_evidence_file,
    "signoff": forge_signoff, "finding": forge_finding, "exception": forge_exception,
    "monitoring": forge_monitoring,
}
#: Rows that govern nothing mops reads.
NOT_RECORDS = {"other"}
#: Forgeries that ``check`` (which reads no history) also catches: the version record put
#: in production fails the production rules there. The others are ``verify``'s to find.
CHECK_CATCHES = {"version"}


def test_every_row_has_a_forgery():
    assert set(FORGERIES) | NOT_RECORDS == {r.id for r in rules.RULES}
    assert all(not r.record for r in rules.RULES if r.id in NOT_RECORDS)


@pytest.mark.parametrize("rule_id", sorted(FORGERIES))
def test_verify_names_the_forged_file(team: Team, rule_id: str):
    path = FORGERIES[rule_id](team)
    assert rules.rule_for(path, packs=frozenset({"governance/acme.yaml"}),
                          kind="exception" if "/W-" in path else None).id == rule_id
    data = team.verify(code=1)
    assert path in {p["path"] for p in data["problems"]}, data["problems"]
    if rule_id in CHECK_CATCHES:
        assert team.mops("check", code=None).exit_code == 1


def test_files_mops_does_not_read_are_left_alone(team: Team):
    write(team, f"{MODEL}/notes.txt", "whatever\n")
    bob_commits(team)
    assert team.verify(code=0)["problems"] == []


# ----------------------------------------------------------------------------- the README


def _section(text: str) -> str:
    start = text.index("<!-- provenance table: begin -->")
    end = text.index("<!-- provenance table: end -->")
    return text[start:end].split("\n", 1)[1]


def test_the_readme_shows_the_table_in_the_code():
    shown = _section(README.read_text(encoding="utf-8"))
    assert shown == rules.markdown(), "run: python -c 'from mops.trust import rules; " \
                                      "print(rules.markdown())' and paste it into the README"


def test_the_readme_table_names_every_action():
    shown = _section(README.read_text(encoding="utf-8"))
    for action, command in rules.COMMANDS.items():
        if action != "init" and any(action in (*r.created_by, *r.changed_by) for r in rules.RULES):
            assert f"`{command}`" in shown, action
    assert re.search(r"`governance\.changed_by`", shown)
