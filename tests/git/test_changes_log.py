"""History read one path group at a time gives what one walk of all the paths gives: the
same commits (merges included), the same changes, parents first."""

from __future__ import annotations

from pathlib import Path

from mops import git as mgit
from tests.conftest import git


def _write(repo: Path, rel: str, text: str) -> None:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(text)


def _commit(repo: Path, message: str, **files: str) -> None:
    for rel, text in files.items():
        _write(repo, rel.replace("__", "/"), text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def _history(repo: Path) -> None:
    """Branches that each touch one group, merged (one merge adds a file of its own), an
    orphan merged in, and commits touching neither group."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    _commit(repo, "base", **{"mops.yaml": "a\n", "models__m__card.md": "1\n", "other.txt": "x"})
    git(repo, "checkout", "-q", "-b", "side")
    _commit(repo, "side model", **{"models__m__card.md": "2\n"})
    _commit(repo, "side other model", **{"models__n__card.md": "1\n"})
    git(repo, "checkout", "-q", "main")
    _commit(repo, "main rules", **{"mops.yaml": "b\n"})
    _commit(repo, "unrelated", **{"other.txt": "y"})
    git(repo, "merge", "-q", "--no-commit", "--no-ff", "side")
    _write(repo, "models/m/versions/1/version.yaml", "evil\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "evil merge")
    git(repo, "checkout", "-q", "--orphan", "anchor")
    git(repo, "rm", "-rq", "--cached", ".")
    _write(repo, ".mops/allowed_signers", "x\n")
    git(repo, "add", ".mops/allowed_signers")
    git(repo, "commit", "-q", "-m", "orphan")
    git(repo, "clean", "-qfdx")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--allow-unrelated-histories", "-m", "orphan merge", "anchor")
    _commit(repo, "both", **{"mops.yaml": "c\n", "models__m__card.md": "3\n"})


def test_groups_read_apart_give_the_whole_walk(tmp_path: Path):
    repo = tmp_path / "r"
    _history(repo)
    rules = ["mops.yaml", "policies", ".mops", "report_templates"]
    folder = "models/m"
    for rev in ("HEAD", "HEAD~3..HEAD"):
        whole = mgit.changes_log(repo, rev, [*rules, folder])
        apart = mgit.changes_log_of(repo, rev, [rules, [folder]])
        assert {c.sha for c in apart} == {c.sha for c in whole}
        assert any(c.is_merge for c in whole) or rev != "HEAD"
        by_sha = {c.sha: c for c in whole}
        for c in apart:
            assert c.changes == by_sha[c.sha].changes, c.sha
            assert (c.parents, c.author, c.trailers) == (by_sha[c.sha].parents,
                                                        by_sha[c.sha].author,
                                                        by_sha[c.sha].trailers)
        seen: set[str] = set()
        for c in apart:  # parents first
            assert not any(p in {x.sha for x in apart} and p not in seen for p in c.parents)
            seen.add(c.sha)
    assert mgit.changes_log_of(repo, "HEAD", [[folder]]) == mgit.changes_log(repo, "HEAD",
                                                                              [folder])
    assert mgit.changes_log_of(repo, "HEAD", [[], []]) == []
