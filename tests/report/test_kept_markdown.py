"""Cards' HTML kept between reports (KeptMarkdown): the same HTML as rendering the text,
believed only from shards this user's mops sealed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mops.inventory import sealed
from mops.report.markdown import KeptMarkdown, render_markdown

TEXTS = ["# Model 1\n\nScores *applications*.\n", "<script>alert(1)</script>\n\ntext",
         "| a | b |\n|---|---|\n| 1 | 2 |\n", "", "caf\u00e9 \u2014 `code` [x](https://e.x)\n"]


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.delenv("MOPS_NO_CACHE", raising=False)
    return tmp_path / "markdown"


def test_kept_html_is_the_rendered_html(own_key: Path):
    first = KeptMarkdown(own_key)
    assert [first(t) for t in TEXTS] == [render_markdown(t) for t in TEXTS]
    first.save()
    assert list(own_key.iterdir())
    again = KeptMarkdown(own_key)
    kept = [again(t) for t in TEXTS]
    assert kept == [render_markdown(t) for t in TEXTS]
    assert all(type(k).__name__ == "Markup" for k in kept)
    # a lone surrogate is rendered, not kept
    assert again("a\ud800b") == render_markdown("a\ud800b")


def _forge(folder: Path, secret: bytes, html: bytes) -> None:
    """Every entry of every shard in ``folder`` replaced by ``html``, sealed with ``secret``."""
    import pickle

    for path in sorted(folder.iterdir()):
        shard = pickle.loads(_ORIGINAL.setdefault(path, sealed.read(path, sealed.key()) or b""))
        sealed.write(path, secret, pickle.dumps({k: html for k in shard}))


_ORIGINAL: dict[Path, bytes] = {}


def test_a_shard_sealed_by_someone_else_is_not_believed(own_key: Path):
    keeper = KeptMarkdown(own_key)
    for t in TEXTS:
        keeper(t)
    keeper.save()
    _forge(own_key, b"k" * 32, b"<p>approved by the regulator</p>")
    assert [KeptMarkdown(own_key)(t) for t in TEXTS] == [render_markdown(t) for t in TEXTS]
    # The twin: sealed with this user's key, the entry is what a report shows.
    _forge(own_key, sealed.key() or b"", b"<p>approved by the regulator</p>")
    assert KeptMarkdown(own_key)(TEXTS[0]) == "<p>approved by the regulator</p>"


def test_nothing_is_kept_with_caches_off(own_key: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    keeper = KeptMarkdown(own_key)
    assert keeper(TEXTS[0]) == render_markdown(TEXTS[0])
    keeper.save()
    assert not own_key.exists()
