"""Which models changed since a revision: real repositories, no mocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mops.errors import UsageError
from mops.inventory.changes import changed_models
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
    assert changed(three) == set()   # a deleted model cannot be checked


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
