"""The report streamed to its file (never held whole) is byte for byte the report
rendered in memory, whatever falls across a piece boundary; a refused report writes
nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mops.errors import UsageError
from mops.inventory.store import Inventory
from mops.report import render, render_report, verify_digest, write_report
from tests.report.helpers import History, commit_files


def copy(history: History, tmp_path: Path, files: dict[str, str], message: str) -> Path:
    repo = tmp_path / "inv"
    shutil.copytree(history.repo, repo)
    commit_files(repo, files, message)
    return repo


def same_bytes(repo: Path, tmp_path: Path) -> str:
    in_memory = render_report(Inventory.open(repo)).html
    out = tmp_path / "streamed.html"
    report = write_report(Inventory.open(repo), out)
    streamed = out.read_text(encoding="utf-8")
    assert streamed == in_memory
    assert verify_digest(streamed) and report.digest and report.digest in streamed
    return streamed


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_streamed_equals_in_memory_at_any_piece_size(history: History, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, chunk: int):
    monkeypatch.setattr(render, "CHUNK", chunk)
    same_bytes(history.repo, tmp_path)


def test_honest_override_gets_its_notice_when_streamed(history: History, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(render, "CHUNK", 5)
    repo = copy(history, tmp_path, {"report_templates/_footer.html":
                                    '<p>ACME</p>{% include "default:_footer.html" %}\n'}, "ours")
    html = same_bytes(repo, tmp_path)
    assert html.index('id="mops-overrides"') < html.index("Model governance audit report")


def test_a_forging_override_writes_nothing_when_streamed(history: History, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(render, "CHUNK", 3)
    repo = copy(history, tmp_path, {"report_templates/_footer.html":
                                    '<img src="data:,x" onerror="alert(1)">'}, "forge")
    out = tmp_path / "r.html"
    with pytest.raises(UsageError):
        write_report(Inventory.open(repo), out)
    assert list(tmp_path.glob("*.html")) == [] and list(tmp_path.glob(".r.html*")) == []


def test_card_text_that_looks_like_a_handler_is_checked_whole(history: History, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    """Built-in templates, and a card whose (escaped) text says ``onclick=`` and
    ``<script>``: the stream's search finds it and the whole file is checked."""
    monkeypatch.setattr(render, "CHUNK", 11)
    card = history.repo / "models/credit-pd/card.md"
    text = card.read_text() + '\nSee <script>x</script> and <a onclick="y">z</a>\n'
    repo = copy(history, tmp_path, {"models/credit-pd/card.md": text}, "card")
    html = same_bytes(repo, tmp_path)
    assert "&lt;script&gt;" in html


def test_a_second_digest_spot_is_sealed_like_the_first(history: History, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(render, "CHUNK", 9)
    repo = copy(history, tmp_path, {"report_templates/_footer.html":
                                    '<code id="report-digest">' + "ab" * 32 + "</code>"
                                    '{% include "default:_footer.html" %}\n'}, "two spots")
    same_bytes(repo, tmp_path)
