"""``mops verify`` against real SSH keys: honest inventories pass, every attack names its file."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Mops, git
from tests.policy.helpers import BOB, CAROL, DANA, ERIN
from tests.trust.helpers import (
    MALLORY,
    VDIR,
    Team,
    commit,
    evil_merge,
    make_team,
    set_signing,
    write_signers,
)


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def approval_path(aid: str) -> str:
    return f"{VDIR}/approvals/{aid}.yaml"


def evidence_record(repo: Path) -> tuple[str, dict]:
    [path] = (repo / VDIR / "evidence").glob("*.yaml")
    return path.relative_to(repo).as_posix(), yaml.safe_load(path.read_text())


def forge(team: Team, aid: str, new_id: str) -> str:
    """A copy of sign-off ``aid`` under a new id (the file an attacker would write)."""
    src = team.repo / approval_path(aid)
    dst = team.repo / approval_path(new_id)
    dst.write_text(src.read_text().replace(f"id: {aid}", f"id: {new_id}"))
    return approval_path(new_id)


#: A hand-made commit dressed as ``mops approve``'s (trailers are only text): what is
#: tested is then the signature and the identity, not the missing trailer.
APPROVE = "approve: credit-pd@1.0.0\n\nMops-Action: approve\nMops-Model: credit-pd\n"


def signature_by_git(repo: Path, signers: Path, rev: str = "HEAD") -> str:
    """What git itself says of a commit's signature, given an allowed-signers file."""
    return git(repo, "-c", f"gpg.ssh.allowedSignersFile={signers}", "log", "-1",
               "--format=%G? %GS", rev).strip()


# ----------------------------------------------------------------------------- honest


def test_honest_signed_inventory_verifies_clean(team: Team, tmp_path: Path):
    team.approve()
    team.approve(DANA, "dana", role="risk-officer")
    # Dana (the risk officer, who governs) adds Erin as a validator and a signer, signed...
    team.act(DANA, "dana")
    settings = team.repo / "mops.yaml"
    settings.write_text(settings.read_text().replace("validator: [carol@acme.test]",
                                                     "validator: [carol@acme.test, erin@acme.test]"))
    signers = team.repo / ".mops" / "allowed_signers"
    signers.write_text(signers.read_text() + team.keys.line(ERIN[1], "erin") + "\n")
    commit(team.repo, "add Erin as a validator", sign=True)
    # ... and Erin signs off in a later commit: her key was allowed before it.
    team.approve(ERIN, "erin")
    assert signature_by_git(team.repo, signers).startswith("G erin@acme.test")

    r = team.mops("verify")
    assert r.stdout.strip().endswith(": ok"), r.stdout
    assert "3 sign-off(s), 1 evidence record(s) with 1 file(s)" in r.stdout
    assert "commit(s) replayed" in r.stdout
    data = team.verify("--full", code=0)  # the whole history again, not from the checkpoint
    assert data["ok"] is True and data["problems"] == [] and data["warnings"] == []
    assert data["checked"]["signoffs"] == 3 and data["checked"]["governance_changes"] >= 3


def test_unsigned_history_verifies_clean_when_signing_is_optional(inventory: Path, mops: Mops,
                                                                  tmp_path: Path, monkeypatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    team.approve(key=None)
    assert team.problems() == []


# ----------------------------------------------------------------------------- sign-offs


@pytest.mark.parametrize("signing", ["required", "optional"])
def test_forged_signature_is_reported(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch,
                                      signing: str):
    """Mallory signs with her own key a sign-off that claims to be Carol's."""
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing=signing)
    aid = team.approve()
    path = forge(team, aid, "A-f0f0f0")
    team.act(CAROL, "mallory")  # Carol's name and address, Mallory's key
    commit(team.repo, APPROVE, sign=True)
    problems = team.problems()
    assert [p for p, _ in problems] == [path]
    assert "does not list for carol@acme.test" in problems[0][1]
    assert "before that commit" in problems[0][1]


def test_unsigned_signoff_is_reported_when_signing_is_required(team: Team):
    aid = team.approve()
    path = forge(team, aid, "A-0a0a0a")
    team.act(CAROL, None)
    commit(team.repo, APPROVE)
    assert team.problems() == [(path, f"the commit that added it ({_head(team)}) is not signed; "
                                      f"signing is required, so the signature must be "
                                      f"carol@acme.test's")]


def _head(team: Team) -> str:
    return git(team.repo, "rev-parse", "--short=12", "HEAD").strip()


@pytest.mark.parametrize("editor,key", [(BOB, None), (CAROL, "carol")])
def test_hand_edited_signoff_is_reported(team: Team, editor, key):
    """Even Carol, signing, may not edit her own sign-off: she records a new one."""
    aid = team.approve()
    path = team.repo / approval_path(aid)
    path.write_text(path.read_text().replace("decision: approve", "decision: reject"))
    team.act(editor, key)
    commit(team.repo, "fix the sign-off", sign=key is not None)
    problems = team.problems()
    assert [p for p, _ in problems] == [approval_path(aid)]
    assert "was changed after it was added in" in problems[0][1]
    assert f"modified in {_head(team)} by {editor[1]}" in problems[0][1]


def test_signed_commit_altered_after_signing_is_reported(team: Team, tmp_path: Path):
    """Carol's signed commit rebuilt around an edited sign-off, her signature kept."""
    aid = team.approve()
    rel = approval_path(aid)
    edited = (team.repo / rel).read_text().replace("decision: approve", "decision: reject")
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "forged-index")}

    def run(*args: str, data: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=team.repo, env=env, input=data, check=True,
                              capture_output=True, text=True).stdout.strip()

    run("read-tree", "HEAD")
    blob = run("hash-object", "-w", "--stdin", data=edited)
    run("update-index", "--cacheinfo", f"100644,{blob},{rel}")
    tree = run("write-tree")
    original = run("cat-file", "commit", "HEAD")
    assert "gpgsig" in original
    old_tree = original.split("\n", 1)[0].split()[1]
    forged = run("hash-object", "-t", "commit", "-w", "--stdin",
                 data=original.replace(f"tree {old_tree}", f"tree {tree}", 1) + "\n")
    git(team.repo, "reset", "-q", "--hard", forged)
    assert "decision: reject" in (team.repo / rel).read_text()
    [(path, problem)] = team.problems()
    assert path == rel
    assert "has a signature git rejects (the commit was altered after it was signed" in problem


def test_uncommitted_edit_of_a_signoff_is_reported(team: Team):
    aid = team.approve()
    path = team.repo / approval_path(aid)
    path.write_text(path.read_text().replace("decision: approve", "decision: reject"))
    assert team.problems() == [(approval_path(aid), "a sign-off record with uncommitted changes: "
                                                    "records are never edited")]


def test_untracked_and_ignored_signoffs_are_reported(team: Team):
    aid = team.approve()
    untracked = forge(team, aid, "A-111111")
    ignored = forge(team, aid, "A-222222")
    (team.repo / ".gitignore").write_text("A-222222.yaml\n")
    problems = dict(team.problems())
    assert "not committed" in problems[untracked]
    assert "git ignores" in problems[ignored]


def test_signoff_naming_someone_else_is_reported(inventory: Path, mops: Mops, tmp_path: Path,
                                                 monkeypatch):
    """Without signing, the commit's author and committer must still be the person named."""
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    aid = team.approve(key=None)
    path = forge(team, aid, "A-b0b0b0")
    team.act(BOB, None)
    commit(team.repo, APPROVE)
    problems = team.problems()
    assert [p for p, _ in problems] == [path, path]
    assert "names carol@acme.test, but the commit that added it" in problems[0][1]
    assert problems[0][1].endswith("has bob@acme.test as its author")
    assert problems[1][1].endswith("has bob@acme.test as its committer")


def test_deleted_signoff_is_reported(team: Team):
    aid = team.approve()
    team.act(BOB, None)
    git(team.repo, "rm", "-q", approval_path(aid))
    commit(team.repo, "drop an inconvenient sign-off")
    [(path, problem)] = team.problems()
    assert path == approval_path(aid)
    assert problem.startswith(f"this sign-off record was deleted in {_head(team)} by bob@acme.test")


def test_signoff_and_signer_smuggled_in_by_a_merge_are_reported(team: Team):
    """An 'evil merge' adds what no branch had: it is held to the rules of any commit."""
    aid = team.approve()
    evil_merge(team)
    path = forge(team, aid, "A-e0e0e0")
    signers = team.repo / ".mops" / "allowed_signers"
    signers.write_text(signers.read_text() + team.keys.line(CAROL[1], "mallory") + "\n")
    git(team.repo, "add", path, ".mops/allowed_signers")
    git(team.repo, "commit", "-q", "--no-gpg-sign", "-m", "Merge branch 'side'")
    merge = _head(team)
    problems = dict(team.problems())
    assert set(problems) == {path, ".mops/allowed_signers"}
    assert f"added in {merge} by bob@acme.test, not by `mops approve`" in problems[path]
    assert f"commit {merge} by bob@acme.test changed .mops/allowed_signers while signing was " \
           f"required, and it is not signed" in problems[".mops/allowed_signers"]


def test_a_clean_merge_of_signed_work_verifies_clean(team: Team):
    """Sign-offs made on a branch keep their own commits through a merge."""
    git(team.repo, "checkout", "-q", "-b", "review")
    team.approve()
    git(team.repo, "checkout", "-q", "main")
    team.act(BOB, None)
    (team.repo / "main.txt").write_text("y\n")
    commit(team.repo, "main work")
    git(team.repo, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge review", "review")
    assert team.problems() == []


# ----------------------------------------------------------------------------- signers


def test_signer_added_and_used_in_the_same_commit_is_reported(team: Team):
    """Mallory lists her key for Carol and signs as Carol in one commit: both files reported."""
    aid = team.approve()
    signers = team.repo / ".mops" / "allowed_signers"
    signers.write_text(signers.read_text() + team.keys.line(CAROL[1], "mallory") + "\n")
    path = forge(team, aid, "A-5a5a5a")
    team.act(CAROL, "mallory")
    commit(team.repo, APPROVE, sign=True)
    # Checked against the signers the commit itself brings, git would call it good:
    assert signature_by_git(team.repo, signers) == "G carol@acme.test"
    problems = dict(team.problems())
    assert set(problems) == {path, ".mops/allowed_signers"}
    assert "does not list for carol@acme.test" in problems[path]
    assert "changed .mops/allowed_signers while signing was required" in problems[
        ".mops/allowed_signers"]


def test_roles_and_signing_changes_need_an_allowed_signature(team: Team):
    settings = team.repo / "mops.yaml"
    settings.write_text(settings.read_text().replace("validator: [carol@acme.test]",
                                                     "validator: [carol@acme.test, bob@acme.test]"))
    team.act(BOB, None)
    commit(team.repo, "make me a validator")
    set_signing(team.repo, "optional")
    team.act(MALLORY, "mallory")
    commit(team.repo, "switch signing off", sign=True)
    problems = team.problems()
    assert [p for p, _ in problems] == ["mops.yaml", "mops.yaml"]
    assert "changed mops.yaml's roles while signing was required, and it is not signed" \
        in problems[0][1]
    assert "does not list for anyone" in problems[1][1]


def test_changes_while_signing_was_optional_are_not_held_to_it(inventory: Path, mops: Mops,
                                                              tmp_path: Path, monkeypatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    write_signers(team.repo, team.keys.line(CAROL[1], "carol"))  # unsigned, allowed
    commit(team.repo, "only carol")
    assert team.problems() == []


# ----------------------------------------------------------------------------- evidence


def test_swapped_evidence_file_is_reported(team: Team):
    rel, record = evidence_record(team.repo)
    file_rel = f"{VDIR}/{record['files'][0]['path']}"
    (team.repo / file_rel).write_text("a kinder validation report\n")
    commit(team.repo, "update the report")
    problems = team.problems()
    assert [p for p, _ in problems] == [file_rel, file_rel]
    assert "was changed after it was added" in problems[0][1]
    actual = hashlib.sha256(b"a kinder validation report\n").hexdigest()
    assert problems[1][1] == (f"its sha256 is {actual}, but evidence record {record['id']} "
                              f"({rel}) holds {record['files'][0]['sha256']}: the file was "
                              f"replaced")


def test_swapped_evidence_file_in_the_working_tree_is_reported(team: Team):
    _, record = evidence_record(team.repo)
    file_rel = f"{VDIR}/{record['files'][0]['path']}"
    (team.repo / file_rel).write_text("swapped\n")
    problems = dict(team.problems())
    assert list(problems) == [file_rel]
    assert "the file was replaced" in problems[file_rel]


def test_evidence_record_edited_to_match_a_swapped_file_is_reported(team: Team):
    rel, record = evidence_record(team.repo)
    file_rel = f"{VDIR}/{record['files'][0]['path']}"
    (team.repo / file_rel).write_text("swapped\n")
    text = (team.repo / rel).read_text().replace(
        record["files"][0]["sha256"], hashlib.sha256(b"swapped\n").hexdigest())
    (team.repo / rel).write_text(text)
    commit(team.repo, "refresh digest")
    problems = dict(team.problems())
    assert set(problems) == {rel, file_rel}
    assert "the evidence record was changed after it was added" in problems[rel]


def test_missing_evidence_file_is_reported(team: Team):
    _, record = evidence_record(team.repo)
    file_rel = f"{VDIR}/{record['files'][0]['path']}"
    (team.repo / file_rel).unlink()
    problems = dict(team.problems())
    assert "does not exist" in problems[file_rel]


# ----------------------------------------------------------------------------- the command


def test_text_output_names_each_file_and_exits_1(team: Team):
    aid = team.approve()
    path = team.repo / approval_path(aid)
    path.write_text(path.read_text() + "comment: edited\n")
    r = team.mops("verify", code=1)
    assert r.stdout.startswith(f"{approval_path(aid)}: a sign-off record with uncommitted changes")
    assert r.stdout.strip().endswith("FAILED: 1 problem(s)")


def test_changed_since_checks_only_changed_models(team: Team, tmp_path: Path):
    from tests.policy.helpers import register

    aid = team.approve()
    base = git(team.repo, "rev-parse", "HEAD").strip()
    path = team.repo / approval_path(aid)
    path.write_text(path.read_text().replace("decision: approve", "decision: reject"))
    commit(team.repo, "tamper")
    git(team.repo, "branch", "-q", "base2")
    register(team.mops, tmp_path, model="churn")
    assert team.verify("--changed-since", "base2", code=0)["scope"] == ["churn"]
    data = team.verify("--changed-since", base, code=1)
    assert data["scope"] == ["churn", "credit-pd"]
    assert [p["path"] for p in data["problems"]] == [approval_path(aid)]
    r = team.mops("verify", "--changed-since", "no-such-ref", code=2)
    assert "not a commit" in r.stderr


def test_artifacts_are_checked_on_request(team: Team, tmp_path: Path):
    from tests.conftest import write_card

    artifact = team.repo / "artifacts" / "model.bin"
    artifact.parent.mkdir()
    artifact.write_bytes(b"weights v1")
    commit(team.repo, "artifact")
    card = write_card(tmp_path / "card2.md", model="scorer")
    team.mops("register", "scorer", "--version", "1", "--card", str(card), "--artifact",
              str(artifact))
    assert team.verify("--artifacts", code=0)["checked"]["artifacts"] == 1
    artifact.write_bytes(b"weights v2")
    assert team.verify(code=0)["ok"]  # not checked unless asked
    [problem] = team.verify("--artifacts", code=1)["problems"]
    assert problem["path"] == "models/scorer/versions/1/version.yaml"
    assert problem["problem"].startswith(f"artifact {artifact}: its sha256 is")


def test_shallow_clone_is_refused_with_advice(team: Team, tmp_path: Path):
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{team.repo}", str(clone)],
                   check=True)
    r = Mops(clone)("verify", code=2)
    assert "shallow clone" in r.stderr and "fetch-depth: 0" in r.stderr


def test_malformed_record_is_a_problem_not_a_crash(team: Team):
    aid = team.approve()
    (team.repo / approval_path(aid)).write_text("id: [unclosed\n")
    commit(team.repo, "break it")
    problems = team.problems()
    assert any(p == approval_path(aid) and text.startswith("line ") for p, text in problems)


def test_inventory_in_a_subfolder_of_a_larger_repository(tmp_path: Path, monkeypatch):
    """Paths in problems are the inventory's own, wherever its repository's top is."""
    top = tmp_path / "monorepo"
    top.mkdir()
    git(top, "init", "-q")
    (top / "README").write_text("other things\n")
    git(top, "add", "README")
    git(top, "commit", "-qm", "other things")
    Mops(tmp_path)("init", str(top / "governance"), "--name", "Sub")
    repo = top / "governance"
    settings = repo / "mops.yaml"
    settings.write_text(settings.read_text().replace("validator: []",
                                                     "validator: [carol@acme.test]"))
    git(repo, "commit", "-qam", "roles")
    team = make_team(repo, Mops(repo), tmp_path, monkeypatch)
    aid = team.approve()
    assert team.problems() == []
    path = forge(team, aid, "A-5b5b5b")
    team.act(CAROL, "mallory")
    commit(team.repo, "forged", sign=True)
    _, record = evidence_record(repo)
    file_rel = f"{VDIR}/{record['files'][0]['path']}"
    (repo / file_rel).write_text("swapped\n")
    problems = dict(team.problems())
    assert set(problems) == {path, file_rel}
