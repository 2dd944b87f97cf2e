"""Which models changed since a revision: real repositories, no mocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mops.errors import UsageError
from mops.inventory.changes import changed_models, deleted_models
from mops.inventory.store import Inventory
from tests.conftest import Mops, git, write_card


def _register(mops: Mops, inventory: Path, *models: str) -> None:
    for model in models:
        card = write_card(inventory.parent / f"{model}.md", model)
        mops("register", model, "--version", "1.0.0", "--card", str(card))


@pytest.fixture
def three(mops: Mops, inventory: Path) -> Path:
    _register(mops, inventory, "alpha", "beta", "gamma")
    git(inventory, "tag", "base")
    return inventory


def changed(inventory: Path, ref: str = "base") -> set[str] | None:
    return changed_models(Inventory.open(inventory), ref)


def test_nothing_changed(three: Path):
    assert changed(three) == set()


def test_committed_uncommitted_and_untracked_changes_count(three: Path, mops: Mops):
    mops("register", "alpha", "--version", "2.0.0")                     # committed
    card = three / "models/beta/card.md"
    card.write_text(card.read_text().replace("tier: 1", "tier: 2"))     # uncommitted
    assert changed(three) == {"alpha", "beta"}
    (three / "models/gamma/findings").mkdir()
    (three / "models/gamma/findings/F-1.yaml").write_text("x: 1\n")     # untracked
    assert changed(three) == {"alpha", "beta", "gamma"}


def test_changes_on_the_base_branch_since_the_fork_do_not_count(three: Path, mops: Mops):
    git(three, "checkout", "-q", "-b", "feature")
    mops("register", "alpha", "--version", "2.0.0")
    git(three, "checkout", "-q", "main")
    mops("register", "beta", "--version", "2.0.0")   # lands on main after the fork
    git(three, "checkout", "-q", "feature")
    assert changed(three, "main") == {"alpha"}


@pytest.mark.parametrize("path", ["mops.yaml", "policies/acme.yaml", ".mops/allowed_signers"])
def test_settings_policies_and_signers_mean_every_model(three: Path, path: str):
    target = three / path
    target.parent.mkdir(exist_ok=True)
    target.write_text((target.read_text() if target.exists() else "") + "\n# changed\n")
    assert changed(three) is None


def test_a_pack_named_by_path_means_every_model(three: Path):
    (three / "packs").mkdir()
    (three / "packs/acme.yaml").write_text("pack: acme\nrules: []\n")
    settings = three / "mops.yaml"
    # Whatever built-in pack `mops init` wrote (baseline, or baseline@N), plus our own.
    settings.write_text(re.sub(r"^policies: \[([^\]]*)\]", r"policies: [\1, packs/acme.yaml]",
                               settings.read_text(), count=1, flags=re.M))
    assert "packs/acme.yaml]" in settings.read_text()
    git(three, "add", ".")
    git(three, "commit", "-qm", "own pack")
    git(three, "tag", "-f", "base")
    assert changed(three) == set()
    (three / "packs/acme.yaml").write_text("pack: acme\nrules: []\n# edited\n")
    assert changed(three) is None


def test_deleted_and_unrelated_files(three: Path):
    git(three, "rm", "-rq", "models/gamma")
    (three / "README.md").write_text("notes\n")
    (three / "models/.gitkeep").write_text("touched\n")
    assert changed(three) == set()   # a deleted model cannot be checked ...
    assert deleted(three) == [("gamma", ("1.0.0",))]  # ... so it is named apart


def deleted(inventory: Path, ref: str = "base") -> list[tuple[str, tuple[str, ...]]]:
    return [(d.model, d.versions) for d in deleted_models(Inventory.open(inventory), ref)]


def test_deleted_renamed_and_card_less_models(three: Path, mops: Mops):
    assert deleted(three) == []
    git(three, "mv", "models/alpha", "models/alpha2")               # renamed (uncommitted)
    (three / "models/beta/card.md").unlink()                        # only its card deleted
    assert deleted(three) == [("alpha", ("1.0.0",)), ("beta", ("1.0.0",))]
    git(three, "commit", "-qam", "rename and delete")
    assert deleted(three) == [("alpha", ("1.0.0",)), ("beta", ("1.0.0",))]
    # A model added after the base and deleted again was never in the base: nothing lost.
    _register(mops, three, "delta")
    git(three, "rm", "-rq", "models/delta")
    assert [m for m, _ in deleted(three)] == ["alpha", "beta"]


def test_inventory_in_a_subfolder(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "models/other").mkdir(parents=True)
    (repo / "models/other/card.md").write_text("not ours\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "outside")
    inv = repo / "gov"
    mops = Mops(tmp_path)
    mops("init", str(inv))
    _register(Mops(inv), inv, "alpha", "beta")
    git(repo, "tag", "base")
    (repo / "models/other/card.md").write_text("changed, but not in the inventory\n")
    card = inv / "models/beta/card.md"
    card.write_text(card.read_text() + "\nMore.\n")
    assert changed(inv) == {"beta"}


def test_unknown_ref_is_a_usage_error(three: Path):
    with pytest.raises(UsageError, match="fetch-depth: 0"):
        changed(three, "no-such-branch")
    with pytest.raises(UsageError):
        changed(three, "--output=x")


# ----------------------------------------------------------------------------- check and verify


def test_check_changed_since_fails_a_deleted_model(three: Path, mops: Mops):
    """A pull request that deletes a model (or renames it) checked zero models and passed."""
    assert mops.json("check", "--changed-since", "base", "--format", "json")["ok"] is True
    git(three, "rm", "-rq", "models/gamma")
    git(three, "commit", "-qm", "delete gamma")
    data = mops.json("check", "--changed-since", "base", "--format", "json", code=1)
    assert data["ok"] is False
    (res,) = data["results"]
    assert (res["model"], res["version"], res["rule"], res["status"], res["file"]) == (
        "gamma", "1.0.0", "MOPS-NO-DELETION", "fail", "models/gamma/card.md")
    assert "gamma was deleted or renamed since base" in res["message"]
    text = mops("check", "--changed-since", "base", code=1).stdout
    assert "MOPS-NO-DELETION" in text and "check FAILED" in text
    github = mops("check", "--changed-since", "base", "--format", "github", code=1).stdout
    assert "::error file=models/gamma/card.md,title=MOPS-NO-DELETION::gamma@1.0.0: gamma was " \
           "deleted or renamed since base" in github
    # Naming other models keeps the deleted one out of scope, as it keeps other changes out.
    assert mops.json("check", "alpha", "--changed-since", "base", "--format", "json")["ok"]


def test_check_changed_since_fails_a_renamed_model_and_checks_its_new_name(three: Path, mops: Mops):
    git(three, "mv", "models/beta", "models/beta2")
    card = three / "models/beta2/card.md"
    card.write_text(card.read_text().replace("id: beta", "id: beta2"))
    v = three / "models/beta2/versions/1.0.0/version.yaml"
    v.write_text(v.read_text().replace("model: beta", "model: beta2"))
    data = mops.json("check", "--changed-since", "base", "--format", "json", code=1)
    assert {(r["model"], r["rule"]) for r in data["results"] if r["status"] == "fail"} >= {
        ("beta", "MOPS-NO-DELETION")}
    assert "beta2" in {r["model"] for r in data["results"]}


def test_verify_changed_since_reports_a_deleted_model_and_its_lost_records(
        three: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The twin of the attack: the same pull request, verified, is clean before the deletion
    and names every sign-off and evidence record it removed after it."""
    from tests.policy.helpers import CAROL, act, evidence

    eid = evidence(mops, tmp_path, "gamma@1.0.0", "validation-report")
    act(monkeypatch, CAROL)
    mops("approve", "gamma@1.0.0", "--role", "validator")
    git(three, "tag", "-f", "base")
    assert mops.json("verify", "--json", "--changed-since", "base")["ok"] is True
    # Only the card and the sign-off go: the folder (with its evidence) stays.
    (approval,) = (three / "models/gamma/versions/1.0.0/approvals").glob("A-*.yaml")
    git(three, "rm", "-q", "models/gamma/card.md", approval.relative_to(three).as_posix())
    git(three, "commit", "-qm", "delete gamma's card and sign-off")
    data = mops.json("verify", "--json", "--changed-since", "base", code=1)
    problems: dict[str, list[str]] = {}
    for p in data["problems"]:
        problems.setdefault(p["path"], []).append(p["problem"])
    assert any("the model gamma was deleted or renamed since base" in p
               for p in problems["models/gamma/card.md"])
    assert any("deleted" in p for p in problems[approval.relative_to(three).as_posix()])
    assert "gamma" in data["scope"]
    # The whole folder, evidence included.
    git(three, "rm", "-rq", "models/gamma")
    git(three, "commit", "-qm", "delete gamma")
    data = mops.json("verify", "--json", "--changed-since", "base", code=1)
    paths = {p["path"] for p in data["problems"]}
    assert f"models/gamma/versions/1.0.0/evidence/{eid}.yaml" in paths
    assert "models/gamma/card.md" in paths
