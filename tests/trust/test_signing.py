"""``mops approve`` signs with SSH keys; ``signed: true`` rules count only verified sign-offs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mops.trust import signers, signing
from tests.conftest import Mops, git, snapshot
from tests.policy.helpers import BOB, CAROL, results
from tests.trust.helpers import MALLORY, VDIR, Team, commit, make_team


def head_signature(team: Team) -> str:
    signers = team.repo / ".mops" / "allowed_signers"
    return git(team.repo, "-c", f"gpg.ssh.allowedSignersFile={signers}", "log", "-1",
               "--format=%G? %GS").strip()


@pytest.fixture
def optional(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")


@pytest.fixture
def required(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch, signing="required")


# ----------------------------------------------------------------------------- approve


def test_approve_signs_when_git_is_set_up(optional: Team):
    optional.approve(CAROL, "carol")
    assert head_signature(optional) == "G carol@acme.test"
    assert optional.problems() == []


@pytest.mark.parametrize("key", [None, "mallory"], ids=["not-set-up", "key-not-listed"])
def test_optional_signing_never_makes_a_signature_verify_would_reject(optional: Team, key):
    """A key nobody listed (say, one set up for GitHub) gives an unsigned sign-off instead."""
    optional.approve(CAROL, key)
    assert head_signature(optional).startswith("N")
    assert optional.problems() == []


def test_required_signing_refuses_when_git_cannot_sign(required: Team):
    before = snapshot(required.repo)
    stderr = required.approve(CAROL, None, code=1)
    assert "signing: required" in stderr
    for step in ("git config gpg.format ssh", "git config user.signingkey ~/.ssh/id_ed25519.pub",
                 ".mops/allowed_signers", "carol@acme.test ssh-ed25519"):
        assert step in stderr, stderr
    assert "nothing was recorded" in stderr
    assert snapshot(required.repo) == before


def test_required_signing_refuses_a_key_not_listed_for_the_actor(required: Team):
    before = snapshot(required.repo)
    stderr = required.approve(CAROL, "mallory", code=1)
    assert "is not listed for carol@acme.test" in stderr
    assert f"carol@acme.test {required.keys.public('mallory')}" in " ".join(stderr.split())
    assert snapshot(required.repo) == before


def test_uncommitted_signers_do_not_count(required: Team):
    """The key must be in the *committed* allowed signers: that is what verify checks against."""
    signers = required.repo / ".mops" / "allowed_signers"
    signers.write_text(signers.read_text() + required.keys.line(CAROL[1], "mallory") + "\n")
    required.approve(CAROL, "mallory", code=1)


# ----------------------------------------------------------------------------- signed: true


PACK = """\
pack: trust
title: Trust test pack
rules:
  - id: T-SIGNED
    title: Signed validator sign-off
    cite: "Test standard §1"
    require:
      approval: {role: validator, signed: true}
"""


def test_signed_rules_count_only_verified_signoffs(optional: Team):
    repo = optional.repo
    (repo / "policies").mkdir()
    (repo / "policies" / "trust.yaml").write_text(PACK)
    settings = repo / "mops.yaml"
    settings.write_text(settings.read_text().replace("policies: [baseline@2]",
                                                     "policies: [policies/trust.yaml]"))
    optional.act(BOB, None)
    commit(repo, "signed sign-offs required by policy")

    optional.approve(CAROL, None)  # unsigned
    rule = results(optional.mops, optional.ref, code=1)["T-SIGNED"]
    assert rule["status"] == "fail" and "is not signed" in rule["message"]
    optional.act(BOB, None)
    r = optional.mops("promote", optional.ref, "--to", "validation", code=1)
    assert "T-SIGNED" in r.stderr

    aid = optional.approve(CAROL, "carol")  # signed: supersedes the unsigned one
    assert results(optional.mops, optional.ref, code=0)["T-SIGNED"]["status"] == "pass"

    # Edited after the fact, it no longer counts as signed (even uncommitted).
    path = repo / VDIR / "approvals" / f"{aid}.yaml"
    path.write_text(path.read_text() + "# edited\n")
    assert results(optional.mops, optional.ref, code=1)["T-SIGNED"]["status"] == "fail"
    path.write_text(path.read_text().replace("# edited\n", ""))
    optional.act(BOB, None)
    optional.mops("promote", optional.ref, "--to", "validation")


def test_signature_check_reads_history_once(optional: Team, monkeypatch: pytest.MonkeyPatch):
    from mops.inventory.store import Inventory

    optional.approve(CAROL, "carol")
    inv = Inventory.open(optional.repo)
    version = inv.model("credit-pd").latest
    calls = []
    real = signing.History.scan
    monkeypatch.setattr(signing.History, "scan",
                        classmethod(lambda cls, *a, **k: calls.append(1) or real(*a, **k)))
    check = signing.signature_check(inv)
    assert [check(version, a) for a in version.approvals * 3] == [True] * 3
    assert calls == [1]


# ----------------------------------------------------------------------------- pieces


@pytest.mark.parametrize("patterns,email,expected", [
    ("carol@acme.test", "carol@acme.test", True),
    ("Carol@Acme.test", "carol@acme.test", True),
    ("carol@acme.test", "carol@acme.test.evil", False),
    ("*@acme.test", "dana@acme.test", True),
    ("*@acme.test,!mallory@acme.test", "mallory@acme.test", False),
    ("a@x.test,carol@acme.test", "carol@acme.test", True),
    ("car?l@acme.test", "carol@acme.test", True),
    ("[c]arol@acme.test", "carol@acme.test", False),  # no character classes in OpenSSH patterns
    ("", "carol@acme.test", False),
])
def test_principal_patterns_follow_openssh(patterns, email, expected):
    assert signers.principal_matches(patterns, email) is expected


def test_allowed_signers_entries_and_listing(required: Team):
    keys = required.keys
    text = (f"# team\n\n{keys.line('carol@acme.test', 'carol')}\n"
            f'dana@acme.test namespaces="git,file" {keys.public("dana")} dana laptop\n'
            f"*@ca.test cert-authority {keys.public('erin')}\n")
    entries = signers.allowed_keys(text)
    assert [e.principals for e in entries] == ["carol@acme.test", "dana@acme.test", "*@ca.test"]
    carol = tuple(keys.public("carol").split())
    dana = tuple(keys.public("dana").split())
    assert signers.is_listed(text, "carol@acme.test", carol)
    assert signers.is_listed(text, "dana@acme.test", dana)
    assert not signers.is_listed(text, "dana@acme.test", carol)
    assert signers.is_listed(text, "x@ca.test", carol)  # a CA: the certificate decides
    assert signers.is_listed(text, "carol@acme.test", None)
    assert not signers.is_listed(text, MALLORY[1], None)


def test_public_key_from_config_forms(required: Team, tmp_path: Path):
    keys = required.keys
    expected = tuple(keys.public("carol").split())
    private = keys.path("carol")
    for value in (f"key::{keys.public('carol')}", keys.public("carol"), str(private),
                  str(private.with_suffix(".pub"))):
        setup = signing.SigningSetup("ssh", value, "")
        assert signing.public_key(setup, tmp_path) == expected, value
    assert signing.public_key(signing.SigningSetup("ssh", "", "ssh-add -L"), tmp_path) is None
    lonely = tmp_path / "lonely"
    lonely.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert signing.public_key(signing.SigningSetup("ssh", str(lonely), ""), tmp_path) is None
