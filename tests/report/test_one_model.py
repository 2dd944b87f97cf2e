"""One model's report reads that model's history only, and shows what the whole
inventory's report shows of it: the same section (card, versions, sign-offs and their
signatures, audit trail), and the same changes to the settings."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import git
from tests.report.helpers import History, Node, commit_files, parse, squash
from tests.report.test_audit import render


def _sections(doc: Node) -> tuple[str, str]:
    return (squash(doc.by_id("model-credit-pd").text()),
            squash(doc.by_id("inventory-trail").text()))


def test_one_model_shows_what_the_whole_report_shows_of_it(history: History, tmp_path: Path):
    whole = parse(render(history.repo, tmp_path / "all.html"))
    one = parse(render(history.repo, tmp_path / "one.html", "credit-pd"))
    assert _sections(one) == _sections(whole)
    assert "Mops-Action" not in _sections(one)[0]


def test_a_hand_edit_and_a_merge_are_attributed_alike(history: History, tmp_path: Path):
    """A hand edit touching mops.yaml and the model belongs to the model's trail, not to the
    settings' changes, in both reports; a branch's work on the model, merged, is in both."""
    repo = tmp_path / "inv"
    shutil.copytree(history.repo, repo)
    card = (repo / "models/credit-pd/card.md").read_text()
    settings = (repo / "mops.yaml").read_text()
    commit_files(repo, {"models/credit-pd/card.md": card + "\nEdited by hand.\n",
                        "mops.yaml": settings + "# and the settings\n"}, "hand edit of both")
    git(repo, "checkout", "-q", "-b", "side")
    commit_files(repo, {"models/credit-pd/card.md": card + "\nOn a branch.\n"}, "branch edit")
    git(repo, "checkout", "-q", "-")
    commit_files(repo, {"mops.yaml": settings + "# settings only\n"}, "settings only")
    git(repo, "merge", "-q", "--no-edit", "-X", "theirs", "side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    whole = parse(render(repo, tmp_path / "all.html"))
    one = parse(render(repo, tmp_path / "one.html", "credit-pd"))
    model, settings_trail = _sections(one)
    assert model == _sections(whole)[0]
    assert "hand edit of both" in model and "branch edit" in model
    assert "hand edit of both" not in settings_trail and "settings only" in settings_trail
    # The whole report lists the merge itself among the settings' changes (a merge lists no
    # files, and it changed the inventory); one model's report reads the settings' own log,
    # where the merge changed nothing the main line lacked.
    rows = [r for r in whole.by_id("inventory-trail").find("table").rows()[1:]]
    assert [r for r in rows if merge not in " ".join(r)] == \
        one.by_id("inventory-trail").find("table").rows()[1:]
