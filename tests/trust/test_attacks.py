"""Issue 12's attacks: an insider with commit access (but not the role policy demands)
tries to make ``promote``, ``check`` and ``verify`` pass for a model no validator approved.

Each attack is done the way an insider would: hand-made files and commits, forged
trailers, branches and merges. ``verify`` must name the file; where it matters,
``check`` or ``promote`` must refuse too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import Mops, git
from tests.policy.helpers import BOB, CAROL, DANA
from tests.trust.helpers import MALLORY, VDIR, Team, commit, evil_merge, make_team

SIGNERS = ".mops/allowed_signers"
FINDINGS = "models/credit-pd/findings"


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def problems_of(team: Team, *args: str) -> dict[str, list[str]]:
    data = team.verify(*args, code=None)
    assert data["ok"] is (not data["problems"])
    out: dict[str, list[str]] = {}
    for p in data["problems"]:
        out.setdefault(p["path"], []).append(p["problem"])
    return out


def mops_commit(team: Team, message: str, *, action: str, sign: bool = False,
                model: str = "credit-pd", version: str | None = "1.0.0",
                actor: str | None = None, extra: str = "") -> str:
    """A hand-made commit dressed as a mops commit (its trailers are only text)."""
    trailers = f"Mops-Action: {action}\nMops-Model: {model}\n"
    if version:
        trailers += f"Mops-Version: {version}\n"
    if actor:
        trailers += f"Mops-Actor: {actor}\n"
    return commit(team.repo, f"{action}: {message}\n\n{trailers}{extra}", sign=sign)


def gate(team: Team, target: str = "production") -> int:
    return team.mops("promote", team.ref, "--to", target, code=None).exit_code


# ----------------------------------------------------------------------------- 1. the anchor


def test_signers_replaced_through_a_merge_of_an_orphan_branch(team: Team):
    """The orphan's root commit has no parent; the merge takes the orphan's signers file,
    so its tree equals one side there. A sign-off signed with Mallory's key then
    verified as Carol's."""
    team.act(BOB, None)
    git(team.repo, "checkout", "-q", "--orphan", "anchor")
    git(team.repo, "rm", "-rq", "--cached", ".")
    (team.repo / SIGNERS).write_text(
        f"{team.keys.line(CAROL[1], 'mallory')}\n{team.keys.line(DANA[1], 'dana')}\n"
        f"{team.keys.line(BOB[1], 'bob')}\n")
    git(team.repo, "add", SIGNERS)
    git(team.repo, "commit", "-q", "--no-gpg-sign", "-m", "signers")
    git(team.repo, "clean", "-qfdx")
    git(team.repo, "checkout", "-q", "main")
    git(team.repo, "merge", "-q", "--no-gpg-sign", "--allow-unrelated-histories", "-X", "theirs",
        "-m", "Merge branch 'anchor'", "anchor")
    assert team.keys.public("mallory") in (team.repo / SIGNERS).read_text()
    aid = team.approve(CAROL, "mallory")  # git and mops now take Mallory's key for Carol's
    problems = problems_of(team)
    assert SIGNERS in problems, problems
    assert any("signed by" in p or "not signed" in p for p in problems[SIGNERS])
    assert f"{VDIR}/approvals/{aid}.yaml" in problems


def test_signers_replaced_through_a_branch_forked_before_signing_was_required(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """No orphan needed: a branch from before the anchor is held, where it lands, to the
    rules of the line it joins."""
    before = git(inventory, "rev-parse", "HEAD").strip()
    team = make_team(inventory, mops, tmp_path, monkeypatch)
    team.act(BOB, None)
    git(team.repo, "checkout", "-q", "-b", "old", before)
    (team.repo / ".mops").mkdir(exist_ok=True)
    (team.repo / SIGNERS).write_text(f"{team.keys.line(CAROL[1], 'mallory')}\n")
    commit(team.repo, "signers")  # valid where it was made: signing was optional there
    git(team.repo, "checkout", "-q", "main")
    git(team.repo, "merge", "-q", "--no-gpg-sign", "-X", "theirs", "-m", "Merge old", "old")
    problems = problems_of(team)
    assert SIGNERS in problems, problems


# ----------------------------------------------------------------------------- 2. exceptions


def _exception(team: Team, rid: str = "W-abcdef") -> str:
    rel = f"{FINDINGS}/{rid}.yaml"
    (team.repo / FINDINGS).mkdir(parents=True, exist_ok=True)
    (team.repo / rel).write_text(yaml.safe_dump({
        "id": rid, "kind": "exception", "model": "credit-pd", "version": None,
        "rule": "BL-INDEPENDENT-SIGNOFF", "title": "Exception to BL-INDEPENDENT-SIGNOFF",
        "reason": "urgent", "controls": None, "approved_by": DANA[1], "status": "open",
        "opened_by": DANA[1], "opened_at": "2026-01-02T00:00:00Z", "expires": "2999-12-31"},
        sort_keys=False))
    return rel


def test_hand_written_exception_is_reported(team: Team):
    rel = _exception(team)
    team.act(BOB, "bob")
    commit(team.repo, "exception", sign=True)
    problems = problems_of(team)
    assert list(problems) == [rel]
    assert any("mops waive" in p for p in problems[rel])


def test_exception_with_forged_trailers_is_reported(team: Team):
    """Bob writes Dana's name and waive's trailers; the commit is still his."""
    rel = _exception(team)
    team.act(BOB, "bob")
    mops_commit(team, "waive", action="waive", version=None, actor=DANA[1], sign=True)
    problems = problems_of(team)
    assert list(problems) == [rel]
    assert any(BOB[1] in p for p in problems[rel])


# ----------------------------------------------------------------------------- 3. findings


def _finding(team: Team) -> str:
    team.act(CAROL, "carol")
    out = team.mops("finding", "add", team.ref, "--severity", "high", "--title",
                    "Unstable on new data").stdout.strip()
    return f"{FINDINGS}/{out}.yaml"


def test_finding_closed_by_hand_is_reported(team: Team):
    rel = _finding(team)
    path = team.repo / rel
    path.write_text(path.read_text().replace("status: open", "status: closed"))
    team.act(BOB, "bob")
    commit(team.repo, "close it", sign=True)
    problems = problems_of(team)
    assert list(problems) == [rel]
    assert any("mops finding close" in p for p in problems[rel])


def test_finding_deleted_is_reported(team: Team):
    rel = _finding(team)
    team.act(BOB, "bob")
    git(team.repo, "rm", "-q", rel)
    commit(team.repo, "drop it", sign=True)
    problems = problems_of(team)
    assert list(problems) == [rel]
    assert any("deleted" in p for p in problems[rel])


# ----------------------------------------------------------------------------- 4. policy


def _baseline_without_independence(team: Team) -> str:
    import mops.resources as resources

    text = resources.builtin_pack_path("baseline", 2).read_text()
    pack = yaml.safe_load(text)
    pack["rules"] = [r for r in pack["rules"] if r["id"] != "BL-INDEPENDENT-SIGNOFF"]
    pack["pack"] = "baseline-local"
    rel = "policies/baseline-local.yaml"
    (team.repo / "policies").mkdir(exist_ok=True)
    (team.repo / rel).write_text(yaml.safe_dump(pack, sort_keys=False))
    return rel


def _settings(team: Team, old: str, new: str) -> None:
    path = team.repo / "mops.yaml"
    text = path.read_text()
    assert old in text, text
    path.write_text(text.replace(old, new))


def test_policies_pointed_at_a_weaker_local_copy_is_reported(team: Team):
    pack = _baseline_without_independence(team)
    text = (team.repo / "mops.yaml").read_text()
    line = next(line for line in text.splitlines() if line.startswith("policies:"))
    _settings(team, line, f"policies: [{pack}]")
    team.act(BOB, "bob")
    commit(team.repo, "simplify the policy", sign=True)
    problems = problems_of(team)
    assert set(problems) == {"mops.yaml", pack}, problems
    assert any("policies" in p for p in problems["mops.yaml"])


@pytest.mark.parametrize("old,new,what", [
    ("stages: [development, validation, production, retired]",
     "stages: [development, production, retired]", "stages"),
    ("signing: required", "signing: required\npolicy_settings: {}", "policy_settings"),
    ("  risk-officer: [dana@acme.test]", "  risk-officer: [dana@acme.test, bob@acme.test]",
     "roles"),
])
def test_ungoverned_settings_changes_are_reported(team: Team, old: str, new: str, what: str):
    _settings(team, old, new)
    team.act(BOB, "bob")
    commit(team.repo, f"edit {what}", sign=True)
    problems = problems_of(team)
    assert list(problems) == ["mops.yaml"], problems
    assert any(what in p for p in problems["mops.yaml"])


def test_inventory_pack_edited_without_governance_is_reported(team: Team):
    pack = _baseline_without_independence(team)
    team.act(DANA, "dana")
    commit(team.repo, "our own pack", sign=True)  # governed: Dana is the risk officer
    assert problems_of(team) == {}
    path = team.repo / pack
    path.write_text(path.read_text().replace("severity: high", "severity: low"))
    team.act(BOB, "bob")
    commit(team.repo, "tone it down", sign=True)
    problems = problems_of(team)
    assert list(problems) == [pack]


def test_report_template_override_without_governance_is_reported(team: Team):
    rel = "report_templates/_policy.html"
    (team.repo / "report_templates").mkdir()
    (team.repo / rel).write_text("<p>all good</p>\n")
    team.act(BOB, "bob")
    commit(team.repo, "nicer report", sign=True)
    assert list(problems_of(team)) == [rel]


def test_unparsable_settings_are_a_problem(team: Team):
    (team.repo / "mops.yaml").write_text("inventory: [unclosed\n")
    team.act(DANA, "dana")
    commit(team.repo, "oops", sign=True)
    r = team.mops("verify", code=None)
    assert r.exit_code != 0
    assert "mops.yaml" in r.stdout + r.stderr


# ----------------------------------------------------------------------------- 5. monitoring


def _monitoring(team: Team, rid: str = "D-abcdef") -> str:
    rel = f"{VDIR}/monitoring/{rid}.json"
    (team.repo / VDIR / "monitoring").mkdir(exist_ok=True)
    (team.repo / rel).write_text(json.dumps({
        "id": rid, "kind": "drift", "at": "2026-05-30T00:00:00Z", "by": BOB[1],
        "model": "credit-pd", "version": "1.0.0",
        "verdict": {"dataset_drift": False, "drifted_share": 0.0, "breaches": []}}))
    return rel


def test_forged_monitoring_record_is_reported(team: Team):
    rel = _monitoring(team)
    team.act(BOB, "bob")
    commit(team.repo, "monitoring", sign=True)
    problems = problems_of(team)
    assert list(problems) == [rel]
    assert any("mops drift" in p for p in problems[rel])


def test_monitoring_recorded_by_someone_outside_the_recording_role_is_reported(team: Team):
    team.act(DANA, "dana")
    _settings(team, "signing: required",
              "signing: required\nmonitoring: {recorded_by: [monitoring]}")
    _settings(team, "  risk-officer: [dana@acme.test]",
              "  risk-officer: [dana@acme.test]\n  monitoring: [ci-bot@acme.test]")
    commit(team.repo, "only CI records monitoring", sign=True)
    rel = _monitoring(team)
    team.act(BOB, "bob")
    mops_commit(team, "drift", action="drift", actor=BOB[1], sign=True)
    problems = problems_of(team)
    assert list(problems) == [rel], problems
    assert any("monitoring" in p for p in problems[rel])


# ----------------------------------------------------------------------------- the rest


def test_unsigned_evidence_is_reported_when_signing_is_required(team: Team):
    [src] = (team.repo / VDIR / "evidence").glob("*.yaml")
    record = yaml.safe_load(src.read_text())
    record["id"] = "E-0f0f0f"
    rel = f"{VDIR}/evidence/E-0f0f0f.yaml"
    (team.repo / rel).write_text(yaml.safe_dump(record, sort_keys=False))
    team.act(BOB, None)
    mops_commit(team, "evidence", action="evidence", actor=BOB[1])
    problems = problems_of(team)
    assert list(problems) == [rel], problems
    assert any("not signed" in p for p in problems[rel])


@pytest.mark.parametrize("old,new", [("stage: development", "stage: production"),
                                     ("registered_by: bob@acme.test",
                                      "registered_by: erin@acme.test")])
def test_hand_edits_of_the_version_record_are_reported(team: Team, old: str, new: str):
    rel = f"{VDIR}/version.yaml"
    path = team.repo / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    team.act(BOB, "bob")
    commit(team.repo, "fix", sign=True)
    assert list(problems_of(team)) == [rel]


def test_a_promotion_the_gate_would_have_refused_is_reported(team: Team):
    """A hand-made promotion, perfect in form (trailers, stage history, signed by its
    author), without the validator's sign-off the rules in force demand."""
    team.mops("promote", team.ref, "--to", "validation")
    assert gate(team) == 1  # no validator sign-off yet
    rel = forge_promotion(team)
    problems = problems_of(team)
    assert list(problems) == [rel], problems
    assert any("BL-INDEPENDENT-SIGNOFF" in p for p in problems[rel])


def forge_promotion(team: Team) -> str:
    """Promote the version in validation to production by hand, in a commit perfect in form
    (trailers, stage history, signed by its author); the version record's path."""
    rel = f"{VDIR}/version.yaml"
    record = yaml.safe_load((team.repo / rel).read_text())
    record["stage"] = "production"
    record["stage_history"].append({"stage": "production", "from": "validation",
                                    "at": "2026-05-31T00:00:00Z", "by": BOB[1]})
    (team.repo / rel).write_text(yaml.safe_dump(record, sort_keys=False))
    team.act(BOB, "bob")
    mops_commit(team, "promote", action="promote", actor=BOB[1], sign=True,
                extra="Mops-Stage: production\n")
    return rel


def test_merge_that_adds_a_record_itself_is_reported(team: Team):
    """An evil merge: the record is in neither side."""
    evil_merge(team)
    rel = _exception(team)
    git(team.repo, "add", rel)
    git(team.repo, "commit", "-q", "--no-gpg-sign", "-m", "Merge branch 'side'")
    assert list(problems_of(team)) == [rel]


# ----------------------------------------------------------------------------- honest


def test_honest_history_under_required_signing_verifies_clean(team: Team):
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "validation")
    team.approve()
    team.approve(DANA, "dana", role="risk-officer")
    team.act(CAROL, "carol")
    fid = team.mops("finding", "add", team.ref, "--severity", "low", "--title", "Minor").stdout
    team.mops("finding", "close", "credit-pd", fid.strip(), "--comment", "fixed")
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "production")
    data = team.verify(code=0)
    assert data["problems"] == [] and data["warnings"] == []


def test_merged_signed_work_with_a_new_signer_on_main_verifies_clean(team: Team):
    """A review branch (Carol signs there) merged after main added Erin, who signed off
    on main: each side's records hold under the rules of the other or of the merge."""
    from tests.policy.helpers import ERIN

    git(team.repo, "checkout", "-q", "-b", "review")
    team.approve()
    git(team.repo, "checkout", "-q", "main")
    team.act(DANA, "dana")
    settings = team.repo / "mops.yaml"
    settings.write_text(settings.read_text().replace(
        "validator: [carol@acme.test]", "validator: [carol@acme.test, erin@acme.test]"))
    signers = team.repo / SIGNERS
    signers.write_text(signers.read_text() + team.keys.line(ERIN[1], "erin") + "\n")
    commit(team.repo, "add Erin", sign=True)
    team.approve(ERIN, "erin")
    team.act(BOB, None)
    git(team.repo, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge review", "review")
    assert problems_of(team) == {}


def test_a_retired_signers_old_signoffs_still_verify(team: Team):
    team.approve()
    team.act(DANA, "dana")
    signers = team.repo / SIGNERS
    signers.write_text("".join(line + "\n" for line in signers.read_text().splitlines()
                               if not line.startswith(CAROL[1])))
    commit(team.repo, "Carol left", sign=True)
    assert problems_of(team) == {}


def test_switching_from_optional_to_required_keeps_old_history_valid(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    team.approve(key=None)
    team.act(DANA, "dana")
    path = team.repo / "mops.yaml"
    path.write_text(path.read_text().replace("signing: optional", "signing: required"))
    commit(team.repo, "signing: required", sign=True)
    team.approve(DANA, "dana", role="risk-officer")
    data = team.verify(code=0)
    assert data["problems"] == []


def test_unsigned_governance_changes_are_warnings_when_signing_is_optional(
        inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    _settings(team, "stages: [development, validation, production, retired]",
              "stages: [development, production, retired]")
    team.act(BOB, None)
    commit(team.repo, "fewer stages")
    data = team.verify(code=0)
    assert [w["path"] for w in data["warnings"]] == ["mops.yaml"]
    assert "unsigned governance change" in data["warnings"][0]["problem"]
    strict = team.verify("--strict", code=1)
    assert [p["path"] for p in strict["problems"]] == ["mops.yaml"]


def test_the_demo_inventory_verifies_clean(tmp_path: Path):
    demo = tmp_path / "demo"
    Mops(tmp_path)("demo", str(demo))
    data = Mops(demo).json("verify", "--json")
    assert data["ok"] and data["problems"] == [] and data["warnings"] == [], data


def test_mallory_cannot_sign_as_a_governance_person(team: Team):
    _settings(team, "  risk-officer: [dana@acme.test]",
              "  risk-officer: [dana@acme.test, mallory@acme.test]")
    team.act(MALLORY, "mallory")
    commit(team.repo, "me too", sign=True)
    assert list(problems_of(team)) == ["mops.yaml"]


def test_promotions_after_merges_and_unrelated_commits_replay_clean(team: Team):
    """The replayed gate sees what the merge brought (Carol's sign-off, made on a review
    branch), and a promotion whose parent touched nothing governed."""
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "validation")
    git(team.repo, "checkout", "-q", "-b", "review")
    team.approve()
    git(team.repo, "checkout", "-q", "main")
    team.act(BOB, None)
    (team.repo / "notes.txt").write_text("unrelated\n")
    commit(team.repo, "notes")
    git(team.repo, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge review", "review")
    (team.repo / "notes.txt").write_text("still unrelated\n")
    commit(team.repo, "more notes")  # the promotion's parent: nothing governed changed
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "production")
    data = team.verify(code=0)
    assert data["problems"] == [] and data["checked"]["promotions"] == 2


def test_a_promotion_before_the_signoff_was_merged_is_reported(team: Team):
    """Order matters: promoted on main while the sign-off was still on its branch."""
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "validation")
    git(team.repo, "checkout", "-q", "-b", "review")
    team.approve()
    git(team.repo, "checkout", "-q", "main")
    rel = f"{VDIR}/version.yaml"
    record = yaml.safe_load((team.repo / rel).read_text())
    record["stage"] = "production"
    record["stage_history"].append({"stage": "production", "from": "validation",
                                    "at": "2026-05-31T00:00:00Z", "by": BOB[1]})
    (team.repo / rel).write_text(yaml.safe_dump(record, sort_keys=False))
    team.act(BOB, "bob")
    mops_commit(team, "promote", action="promote", actor=BOB[1], sign=True)
    team.act(BOB, None)
    git(team.repo, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge review", "review")
    assert team.mops("check", code=None).exit_code == 0  # today everything is in place...
    problems = problems_of(team)
    assert list(problems) == [rel]  # ... but the promotion came first
    assert any("BL-INDEPENDENT-SIGNOFF" in p for p in problems[rel])


def test_a_finding_closed_and_a_version_promoted_on_a_branch_merge_clean(team: Team):
    """Changes a record may have (a closure, a promotion), made on a branch by mops and
    merged: the merge brings them as they were made."""
    rel = _finding(team)
    fid = rel.rsplit("/", 1)[1].removesuffix(".yaml")
    git(team.repo, "checkout", "-q", "-b", "work")
    team.act(CAROL, "carol")
    team.mops("finding", "close", "credit-pd", fid, "--comment", "fixed")
    team.act(BOB, "bob")
    team.mops("promote", team.ref, "--to", "validation")
    git(team.repo, "checkout", "-q", "main")
    team.act(BOB, None)
    (team.repo / "notes.txt").write_text("meanwhile\n")
    commit(team.repo, "notes")
    git(team.repo, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge work", "work")
    assert problems_of(team) == {}
