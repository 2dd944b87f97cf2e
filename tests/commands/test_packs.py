"""``mops packs list | show | upgrade``, and evaluation with the pack version in force at a commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Mops, git, snapshot
from tests.policy.helpers import BOB, CAROL, DANA, act, pin_clock, register, set_settings

BUILT_IN = {"baseline", "us-sr26-2", "eu-ai-act-high-risk", "nist-ai-rmf", "osfi-e23",
            "pra-ss1-23", "naic-ai-bulletin", "iso-42001"}


def refused(repo: Path, mops: Mops, args: list[str], message: str, code: int) -> str:
    before = snapshot(repo)
    r = mops(*args, code=code)
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert snapshot(repo) == before, "a refused command changed the repository"
    return r.stderr


# ----------------------------------------------------------------------------- list and show


def test_list_and_show_work_outside_an_inventory(tmp_path: Path):
    m = Mops(tmp_path)
    rows = {r["name"]: r for r in m.json("packs", "list", "--json")}
    assert set(rows) == BUILT_IN
    assert rows["us-sr26-2"]["versions"] == [1, 2] and rows["us-sr26-2"]["version"] == 2
    assert rows["osfi-e23"]["in_force"] is None and rows["osfi-e23"]["builtin"] is True
    text = m("packs", "list").stdout
    assert "naic-ai-bulletin" in text and "mops init --pack" in text

    pack = m.json("packs", "show", "us-sr26-2", "--json")
    assert pack["ref"] == "us-sr26-2@2" and pack["changelog"][0]["version"] == 2
    rules = {r["id"]: r for r in pack["rules"]}
    assert "SR26-BENCHMARKING" not in rules
    effective = rules["SR26-EFFECTIVE-CHALLENGE"]
    assert {b["kind"] for b in effective["basis"]} == {"text", "practice"}
    assert effective["require"] == {"approval": {"role": "validator",
                                                 "independent_of": ["owner", "developers", "registrant"]}}
    settings = {s["name"]: s for s in pack["settings"]}
    assert settings["monitoring_max_age_days"]["default"] == 92
    old = m.json("packs", "show", "us-sr26-2@1", "--json")
    assert "SR26-BENCHMARKING" in {r["id"] for r in old["rules"]}
    assert all(r["basis"][0]["kind"] == "unspecified" for r in old["rules"])

    text = m("packs", "show", "naic-ai-bulletin").stdout
    assert "CO-10-1-1-TESTING  [high]" in text
    assert "now off:  applies when setting colorado_10_1_1 is true" in text
    assert "basis:    text:" in text and "practice:" in text and "cite:" in text
    assert "unfair-discrimination-testing" in text  # the vocabulary it declares

    assert "unknown pack 'sr11-7'" in m("packs", "show", "sr11-7", code=2).stderr
    assert "us-sr26-2 has no version 5" in m("packs", "show", "us-sr26-2@5", code=2).stderr


def test_list_and_show_inside_an_inventory(inventory: Path, mops: Mops):
    (inventory / "policies").mkdir()
    (inventory / "policies" / "acme.yaml").write_text(
        "pack: acme\nversion: 4\ntitle: Acme standard\nrules:\n"
        "  - {id: ACME-1, title: Owner, cite: Acme MRM §1, require: {card_fields: [owner]}}\n")
    set_settings(inventory, packs=["baseline", "policies/acme.yaml"])
    rows = {r["name"]: r for r in mops.json("packs", "list", "--json")}
    assert rows["baseline"]["in_force"] == 1 and rows["baseline"]["version"] == 1
    assert rows["baseline"]["latest"] == 2
    assert rows["acme"]["in_force"] == 4 and rows["acme"]["path"] == "policies/acme.yaml"
    r = mops("packs", "list")
    assert "1 (latest 2)" in r.stdout
    assert "pack baseline is at version 1" in r.stderr and "mops packs upgrade baseline" in r.stderr
    shown = mops.json("packs", "show", "policies/acme.yaml", "--json")
    assert shown["rules"][0]["basis"][0]["kind"] == "unspecified" and shown["version"] == 4
    assert mops.json("packs", "show", "baseline", "--json")["version"] == 1  # the one in force
    assert mops.json("packs", "show", "baseline@2", "--json")["in_force"] == 1


# ----------------------------------------------------------------------------- upgrade


@pytest.fixture
def old_inventory(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An inventory whose mops.yaml predates versions: bare names, i.e. version 1."""
    pin_clock(monkeypatch)
    set_settings(inventory, packs=["baseline", "us-sr26-2"])
    text = (inventory / "mops.yaml").read_text()
    assert "policies: [baseline, us-sr26-2]" in text
    return inventory


def test_upgrade_shows_the_differences_and_makes_one_commit(old_inventory: Path, mops: Mops,
                                                            monkeypatch: pytest.MonkeyPatch):
    repo = old_inventory
    before = (repo / "mops.yaml").read_text()
    head = git(repo, "rev-parse", "HEAD").strip()
    act(monkeypatch, DANA)  # the risk officer: governance.changed_by by default
    dry = mops("packs", "upgrade", "--dry-run")
    assert "us-sr26-2: version 1 -> 2" in dry.stdout and "dry run" in dry.stdout
    assert git(repo, "rev-parse", "HEAD").strip() == head
    out = mops("packs", "upgrade").stdout
    assert "baseline: version 1 -> 2" in out and "us-sr26-2: version 1 -> 2" in out
    assert "rule removed: SR26-BENCHMARKING" in out
    assert re.search(r"rule changed: SR26-EFFECTIVE-CHALLENGE\n(    .*\n)*    cite: ", out)
    assert "changelog of version 2:" in out
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["mops.yaml"]
    message = git(repo, "log", "-1", "--format=%B")
    assert "Mops-Action: packs-upgrade" in message and "Mops-Actor: dana@acme.test" in message
    assert "Mops-Packs: baseline@2 us-sr26-2@2" in message
    after = (repo / "mops.yaml").read_text()
    # only the policies entries changed; the comments and the rest stay byte for byte
    assert after == before.replace("policies: [baseline, us-sr26-2]",
                                   "policies: [baseline@2, us-sr26-2@2]")
    assert git(repo, "status", "--porcelain") == ""
    again = mops("packs", "upgrade")
    assert "Nothing to upgrade" in again.stdout
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"


def test_upgrade_of_one_pack_in_a_block_list(old_inventory: Path, mops: Mops,
                                              monkeypatch: pytest.MonkeyPatch):
    repo = old_inventory
    path = repo / "mops.yaml"
    path.write_text(path.read_text().replace(
        "policies: [baseline, us-sr26-2]", "policies:\n  - baseline   # ours\n  - 'us-sr26-2'"))
    git(repo, "commit", "-qam", "block list")
    act(monkeypatch, DANA)
    mops("packs", "upgrade", "us-sr26-2")
    assert "policies:\n  - baseline   # ours\n  - us-sr26-2@2\n" in path.read_text()


def test_refused_and_unknown_upgrades_change_nothing(old_inventory: Path, mops: Mops,
                                                     monkeypatch: pytest.MonkeyPatch):
    repo = old_inventory
    act(monkeypatch, BOB)  # not listed for any role
    refused(repo, mops, ["packs", "upgrade"], "bob@acme.test may not change the inventory's rules", 1)
    act(monkeypatch, CAROL)  # a validator, but not in governance.changed_by (risk-officer)
    stderr = refused(repo, mops, ["packs", "upgrade"], "carol@acme.test may not change the inventory's rules", 1)
    assert "risk-officer" in stderr and "governance.changed_by" in stderr
    act(monkeypatch, DANA)
    refused(repo, mops, ["packs", "upgrade", "sr11-7"], "unknown built-in pack 'sr11-7'", 2)
    refused(repo, mops, ["packs", "upgrade", "osfi-e23"], "pack 'osfi-e23' is not in force", 2)
    refused(repo, mops, ["packs", "upgrade", "baseline@2"], "'baseline@2': give the pack's name alone", 2)
    # the user's own change to mops.yaml is never overwritten
    (repo / "mops.yaml").write_text((repo / "mops.yaml").read_text() + "# note\n")
    refused(repo, mops, ["packs", "upgrade"], "mops.yaml: has uncommitted changes", 2)
    git(repo, "checkout", "mops.yaml")
    # a new version that would clash with the inventory's own pack is refused before writing
    (repo / "policies").mkdir()
    (repo / "policies" / "own.yaml").write_text(
        "pack: own\ntitle: Own\nrules:\n"
        "  - {id: AIA-ART49, title: x, cite: c, require: {card_fields: [owner]}}\n")
    set_settings(repo, packs=["eu-ai-act-high-risk", "policies/own.yaml"])
    refused(repo, mops, ["packs", "upgrade"], "cannot upgrade: with the new versions", 2)


def test_as_of_before_an_upgrade_uses_the_old_version_and_after_it_the_new(
        old_inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    repo = old_inventory
    ref = register(mops, tmp_path)
    act(monkeypatch, CAROL)
    mops("finding", "add", ref, "--severity", "high", "--title", "Calibration drift")
    before = git(repo, "rev-parse", "HEAD").strip()
    old = {r["rule"]: r for r in mops.json("check", "--format", "json", code=None)["results"]}
    assert "SR26-BENCHMARKING" in old and old["BL-INVENTORY"]["pack_version"] == 1
    act(monkeypatch, DANA)
    mops("packs", "upgrade")
    new = {r["rule"]: r for r in mops.json("check", "--format", "json", code=None)["results"]}
    assert "SR26-BENCHMARKING" not in new and new["BL-INVENTORY"]["pack_version"] == 2
    assert new["BL-NO-HIGH-FINDINGS"]["cite"].startswith("NIST AI RMF 1.0 MANAGE 1.1")
    assert {b["kind"] for b in new["BL-INDEPENDENT-SIGNOFF"]["basis"]} == {"text", "practice"}

    def report(as_of: str) -> str:
        out = tmp_path / f"report-{as_of[:7]}.html"
        mops("audit", "--as-of", as_of, "--out", str(out))
        return out.read_text()

    then, now = report(before), report("HEAD")
    assert "SR26-BENCHMARKING" in then and "SR26-BENCHMARKING" not in now
    assert "GOVERN 1.5 (ongoing monitoring and periodic review)" in then
    assert "MANAGE 1.1 (go/no-go decision)" in now
    assert "version 1" in then and "version 2 is available" in then
    assert "baseline@2" in now and "practice" in now


# ----------------------------------------------------------------------------- basis in every output


def test_check_text_and_github_annotations_show_the_basis(inventory: Path, mops: Mops, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    from tests.policy.lab import Lab

    pin_clock(monkeypatch)
    lab = Lab(inventory)
    lab.settings(policies=["us-sr26-2@2"])
    lab.version("m@1", stage="validation")
    text = mops("check", code=1).stdout
    assert ("basis: text: conceptual soundness evaluated (design, construction, developmental "
            "testing) (SR 26-2 attachment §V, conceptual soundness)") in text
    assert "practice: recorded as conceptual-soundness evidence before" in text
    github = mops("check", "--format", "github", code=1).stdout
    line = next(x for x in github.splitlines() if "title=SR26-CONCEPTUAL-SOUNDNESS" in x)
    assert "[basis: " in line and "practice: " in line

    from mops.output.github import annotations
    from mops.policy.results import Basis, Result

    r = Result(model="m", version="1", rule="R", title="t", status="fail", message="no report",
               cite="SR 26-2 §V", file="f", basis=(Basis("outcomes", "text", "§V"),
                                                  Basis("before production", "practice", "why")))
    assert annotations([r])[0].endswith("no report (SR 26-2 §V) [basis: text: outcomes | practice: "
                                        "before production]")
