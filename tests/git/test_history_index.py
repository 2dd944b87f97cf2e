"""git's commit-graph, kept by mops for one model's history: the same log with or without
it, after history is rewritten, and when the graph file is damaged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mops.git import history
from tests.benchmarks import scale_bench
from tests.conftest import Mops, git

ENV = {"GIT_AUTHOR_NAME": "B", "GIT_AUTHOR_EMAIL": "b@acme.test", "GIT_COMMITTER_NAME": "B",
       "GIT_COMMITTER_EMAIL": "b@acme.test"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    monkeypatch.setattr(history, "GRAPH_FROM", 50)
    root = tmp_path / "hist"
    scale_bench.build_history(root, 4, 120, {**os.environ, **ENV})
    return root


def _log(root: Path, model: str = "model-00001") -> list[dict]:
    return Mops(root).json("log", model, "--json")


def _plain_git(root: Path, model: str = "model-00001") -> list[str]:
    """The commits git lists for the model's folder without any commit-graph."""
    return git(root, "-c", "core.commitGraph=false", "log", "--format=%H", "--",
               f"models/{model}").split()


def _graphs(root: Path) -> list[Path]:
    return sorted((root / ".git" / "objects" / "info").rglob("*graph*"))


def test_the_graph_is_written_once_and_changes_nothing(repo: Path):
    assert not _graphs(repo)
    entries = _log(repo)
    assert [e["commit"] for e in entries] == _plain_git(repo)
    graphs = _graphs(repo)
    assert graphs
    head = git(repo, "rev-parse", "HEAD").strip()
    assert (repo / ".git" / "mops" / "commit-graph.head").read_text().strip() == head
    mtimes = [g.stat().st_mtime_ns for g in graphs]
    assert _log(repo) == entries
    assert [g.stat().st_mtime_ns for g in _graphs(repo)] == mtimes  # nothing moved: not rewritten
    for model in ("model-00000", "model-00002", "model-00003"):
        assert [e["commit"] for e in _log(repo, model)] == _plain_git(repo, model)


def test_a_short_history_gets_no_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_NOW", "2026-06-01")
    root = tmp_path / "short"
    scale_bench.build_history(root, 2, 20, {**os.environ, **ENV})
    _log(root)
    assert not _graphs(root)


def test_history_rewritten_under_the_graph(repo: Path):
    _log(repo)
    # Rewrite: drop the last 30 commits and make new ones touching the model.
    git(repo, "reset", "-q", "--hard", "HEAD~30")
    card = repo / "models" / "model-00001" / "card.md"
    for i in range(3):
        card.write_text(card.read_text() + f"\nEdit {i}.\n")
        git(repo, "commit", "-qam", f"hand edit {i}")
    entries = _log(repo)
    assert [e["commit"] for e in entries] == _plain_git(repo)
    assert entries[0]["action"] == "edit" and entries[0]["subject"] == "hand edit 2"


def test_a_damaged_graph_is_ignored(repo: Path):
    truth = _log(repo)
    for graph in _graphs(repo):
        if graph.suffix == ".graph":
            graph.chmod(0o644)
            graph.write_bytes(graph.read_bytes()[:100])
    assert _log(repo) == truth
