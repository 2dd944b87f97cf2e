"""One model's audit report verifies that model and the rules, from the whole of their
history, and says so on its cover (real repositories, real ssh-keygen keys).

The oracle is the full replay of the whole inventory: for every forgery of the
provenance table, made in an old commit with honest work on another model after it, the
scoped replay finds exactly the problems the full replay finds for the model and the
rules. A forgery in another model is never called "verified" for the whole inventory:
the cover names what was checked, and ``--verify-all`` and the whole-inventory report
still fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from mops import api
from mops.inventory.store import Inventory
from tests.conftest import Mops, git
from tests.policy.helpers import BOB, evidence, register
from tests.report.helpers import Node, parse, squash
from tests.trust import test_attacks, test_verify
from tests.trust.helpers import Team, make_team
from tests.trust.test_provenance_table import FORGERIES

MODEL = "credit-pd"
OTHER = "other-pd"
#: Forgeries that leave a pack no report can be rendered with (exit 2, whatever the scope).
UNRENDERABLE = {"named-packs"}
#: The forged cover template prints no verdict; the exceptions (built in) still list it.
NO_COVER = {"templates"}


@pytest.fixture
def team(inventory: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(inventory, mops, tmp_path, monkeypatch)


def honest_work_elsewhere(team: Team, tmp_path: Path) -> None:
    """Bob registers another model and adds its evidence, signed: the forgery now lies
    in an old commit, behind commits that never touched its model."""
    team.act(BOB, "bob")
    register(team.mops, tmp_path, model=OTHER)
    evidence(team.mops, tmp_path, f"{OTHER}@1.0.0", "validation-report")


def verified(repo: Path, models: list[str] | None) -> dict:
    inv = Inventory.open(repo)
    snapshot = inv.at(inv.head or "HEAD")
    try:
        return api.verify_at(snapshot, models=models)
    finally:
        snapshot.close()
        inv.close()


def in_scope(path: str, model: str) -> bool:
    return not path.startswith("models/") or path.startswith(f"models/{model}/")


def problems(result: dict) -> set[tuple[str, str]]:
    return {(p["path"], p["problem"]) for p in result["problems"]}


def cover(team: Team, tmp_path: Path, *args: str) -> tuple[str, Node]:
    """The cover's verify cell (text) and the report, of ``mops audit ARGS``."""
    out = tmp_path / "report.html"
    team.mops("audit", *args, "--out", str(out))
    doc = parse(out.read_text(encoding="utf-8"))
    found = doc.find_all(None, id="verify")
    return (squash(found[0].text()) if found else ""), doc


@pytest.mark.parametrize("rule_id", sorted(FORGERIES))
def test_the_scoped_replay_finds_what_the_full_replay_finds(team: Team, tmp_path: Path,
                                                             rule_id: str):
    forged = FORGERIES[rule_id](team)
    honest_work_elsewhere(team, tmp_path)
    full = verified(team.repo, None)
    assert forged in {p["path"] for p in full["problems"]}, full["problems"]
    for model in (MODEL, OTHER):
        scoped = verified(team.repo, [model])
        assert scoped["scope"] == [model]
        # Exactly the full replay's problems about this model and the rules.
        assert problems(scoped) == {p for p in problems(full) if in_scope(p[0], model)}
        assert scoped["ok"] is (not scoped["problems"])
    if rule_id in UNRENDERABLE:
        for args in ((MODEL,), (OTHER,), (OTHER, "--verify-all")):
            assert team.mops("audit", *args, "--out", str(tmp_path / "r.html"),
                             code=None).exit_code == 2
        return
    if rule_id in NO_COVER:
        for args in ((MODEL,), (OTHER,), (OTHER, "--verify-all")):
            _, doc = cover(team, tmp_path, *args)
            assert forged in squash(doc.by_id("exceptions-verify").text())
        return
    text, _ = cover(team, tmp_path, MODEL)
    assert "FAILED" in text and f"{MODEL} and the rules only" in text
    text, doc = cover(team, tmp_path, OTHER)
    if in_scope(forged, OTHER):  # a forged rule file fails every model's report
        assert "FAILED" in text
        assert forged in squash(doc.by_id("exceptions-verify").text())
    else:  # another model's forgery: passed, for this model and the rules only
        assert "passed" in text and "FAILED" not in text
        assert f"for {OTHER} and the rules only" in text
        assert "the history of other models was not checked" in text
        assert forged not in doc.text()
    text, doc = cover(team, tmp_path, OTHER, "--verify-all")
    assert "FAILED" in text and "and the rules only" not in text
    assert forged in squash(doc.by_id("exceptions-verify").text())


def test_a_forgery_in_another_model_fails_the_whole_report(team: Team, tmp_path: Path):
    forged = FORGERIES["signoff"](team)
    honest_work_elsewhere(team, tmp_path)
    text, doc = cover(team, tmp_path)
    assert "FAILED" in text and "only" not in text
    assert "Checked: the whole inventory" in squash(doc.by_id("verify").text())
    assert forged in squash(doc.by_id("exceptions-verify").text())


def test_an_honest_inventory_passes_in_scope_and_whole(team: Team, tmp_path: Path):
    honest_work_elsewhere(team, tmp_path)
    for model in (MODEL, OTHER):
        scoped = verified(team.repo, [model])
        assert scoped["ok"] is True and scoped["problems"] == []
        assert scoped["checked"]["commits"] < verified(team.repo, None)["checked"]["commits"]
    text, _ = cover(team, tmp_path, MODEL)
    assert "passed" in text and f"for {MODEL} and the rules only" in text


def test_the_report_never_depends_on_a_checkpoint(team: Team, tmp_path: Path):
    """Reports replay all of history: one rendered with a checkpoint in .git/mops equals
    one rendered without, and a forged checkpoint (claiming the forged HEAD clean, with a
    valid entry digest) changes nothing."""
    from mops.trust import checkpoint

    forged = FORGERIES["exception"](team)
    honest_work_elsewhere(team, tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for args in ((), (MODEL,)):
        first = tmp_path / "a" / "r.html"
        team.mops("audit", *args, "--out", str(first))
        inv = Inventory.open(team.repo)
        try:
            head = git(team.repo, "rev-parse", "HEAD").strip()
            checkpoint.store(inv, head, [], gated=True)  # as a clean run would have
            assert checkpoint.load(inv, head, gated=True) is not None
        finally:
            inv.close()
        second = tmp_path / "b" / "r.html"
        team.mops("audit", *args, "--out", str(second))
        assert first.read_bytes() == second.read_bytes()
        assert forged in squash(parse(second.read_text()).by_id("exceptions-verify").text())


#: Attacks through merges (each a test of its own there, against the full replay), and
#: an honest merge: run here again, after honest work on another model, to compare.
MERGES = {
    "orphan-signers": test_attacks.test_signers_replaced_through_a_merge_of_an_orphan_branch,
    "evil-merge-record": test_attacks.test_merge_that_adds_a_record_itself_is_reported,
    "evil-merge-signoff": test_verify.test_signoff_and_signer_smuggled_in_by_a_merge_are_reported,
    "honest-merge": test_verify.test_a_clean_merge_of_signed_work_verifies_clean,
}


@pytest.mark.parametrize("name", sorted(MERGES))
def test_the_scoped_replay_finds_what_the_full_replay_finds_through_merges(
        team: Team, tmp_path: Path, name: str):
    """Each model's folder is logged on its own (git's changed-path filters): a merge that
    brings a model's record or a rule file from one side is still replayed."""
    honest_work_elsewhere(team, tmp_path)
    MERGES[name](team)
    full = verified(team.repo, None)
    assert full["ok"] is (name == "honest-merge"), full["problems"]
    for model in (MODEL, OTHER):
        scoped = verified(team.repo, [model])
        assert problems(scoped) == {p for p in problems(full) if in_scope(p[0], model)}
        if model == MODEL:
            assert scoped["ok"] is full["ok"]


@pytest.mark.parametrize("graph", ["before", "after"])
def test_a_forgery_is_found_with_the_commit_graph(team: Team, tmp_path: Path, graph: str):
    """The scoped replay's walk of the model's folder leans on git's changed-path filters:
    a forgery is found whether the graph covers its commit (the filter says "maybe") or
    was written before it (git reads the trees of the commits it does not cover)."""
    honest_work_elsewhere(team, tmp_path)
    git(team.repo, "commit-graph", "write", "--reachable", "--changed-paths")
    forged = FORGERIES["signoff"](team)
    team.act(BOB, "bob")  # honest work after the forgery
    evidence(team.mops, tmp_path, f"{OTHER}@1.0.0", "validation-report", "a second report\n")
    if graph == "after":
        git(team.repo, "commit-graph", "write", "--reachable", "--changed-paths", "--split")
    full = verified(team.repo, None)
    scoped = verified(team.repo, [MODEL])
    assert forged in {p["path"] for p in scoped["problems"]}
    assert problems(scoped) == {p for p in problems(full) if in_scope(p[0], MODEL)}


@pytest.mark.parametrize("sealed_by", ["someone else", "this user"])
def test_a_forged_kept_walk_does_not_hide_a_forgery(team: Team, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     sealed_by: str):
    """The scoped replay's walks of history, and the index of each model's commits, are
    kept in ``.git/mops/walks`` (sealed): each rewritten without the forging commit, sealed
    by someone else, is ignored, and the report is the one rendered without any cache. The
    forging twin, sealed with the user's own key (the trust boundary, as for every cache),
    hides the forgery: so the rewritten files are a forgery that would work if they were
    believed."""
    from mops.git import history
    from mops.inventory import sealed
    from tests.git.test_walks import without_commit

    forged = FORGERIES["signoff"](team)
    forging = git(team.repo, "log", "-1", "--format=%H", "--", forged).strip()
    honest_work_elsewhere(team, tmp_path)
    first = tmp_path / "first.html"
    team.mops("audit", MODEL, "--out", str(first))
    folder = team.repo / ".git" / "mops" / "walks"
    changed = 0
    key = sealed.key() if sealed_by == "this user" else b"k" * 32
    for path in folder.iterdir():
        data = sealed.read(path, sealed.key())
        assert data is not None
        if data.startswith(b"{"):  # a shard of the index of each model's commits
            shard = without_commit(data, forging)
            if shard != data:
                changed += 1
                sealed.write(path, key, shard)
            continue
        mark = b"\x1e" if b"\x1e" in data else b"\n"  # a log's records, or rev-list's lines
        records = data.split(mark)
        kept = [r for r in records if not r.startswith(forging.encode())]
        if len(kept) != len(records):
            changed += 1
            sealed.write(path, key, mark.join(kept))
    assert changed
    history._WALKS.clear()  # what this test process read so far
    scoped = verified(team.repo, [MODEL])
    found = forged in {p["path"] for p in scoped["problems"]}
    assert found is (sealed_by == "someone else")
    if sealed_by == "this user":
        return
    history._WALKS.clear()
    second = tmp_path / "second.html"
    team.mops("audit", MODEL, "--out", str(second))
    assert second.read_bytes() == first.read_bytes()
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    history._WALKS.clear()
    third = tmp_path / "third.html"
    team.mops("audit", MODEL, "--out", str(third))
    assert third.read_bytes() == first.read_bytes()
    assert forged in squash(parse(third.read_text()).by_id("exceptions-verify").text())
