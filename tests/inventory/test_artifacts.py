"""Artifact digests: a file is its sha256; a folder is its manifest's, as coreutils computes it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mops.errors import UsageError
from mops.inventory.artifacts import digest_path, manifest


def coreutils_digest(folder: Path) -> str:
    """The README's recipe, run by the shell: the independent oracle."""
    out = subprocess.run(
        "find . -type f ! -path ./registered_model_meta -printf '%P\\0' | LC_ALL=C sort -z "
        "| xargs -0 sha256sum | sha256sum", shell=True, cwd=folder, check=True,
        capture_output=True, text=True).stdout
    return out.split()[0]


needs_coreutils = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("find", "sort", "xargs", "sha256sum")),
    reason="GNU find/sort/xargs/sha256sum are not installed")


@needs_coreutils
def test_folder_digest_is_the_coreutils_manifest_digest(tmp_path: Path):
    model = tmp_path / "model"
    (model / "sub" / "deeper").mkdir(parents=True)
    (model / "empty-folder").mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "model.pkl").write_bytes(os.urandom(300_000))
    (model / "sub" / "B.txt").write_text("upper case sorts first\n")
    (model / "sub" / "a.txt").write_text("a\n")
    (model / "sub" / "deeper" / "é.json").write_text("{}\n")  # UTF-8 bytes order
    (model / "with space.txt").write_text("spaces are fine\n")
    result = digest_path(model)
    assert result.sha256 == coreutils_digest(model)
    assert result.files == 6
    assert result.size == sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    assert hashlib.sha256(result.manifest or b"").hexdigest() == result.sha256
    # MLflow's client adds this file to a models:/ download; it is not the model.
    (model / "registered_model_meta").write_text("model_name: credit-pd\nmodel_version: '3'\n")
    assert digest_path(model).sha256 == result.sha256 == coreutils_digest(model)
    (model / "sub" / "a.txt").write_text("b\n")
    assert digest_path(model).sha256 != result.sha256


def test_file_digest_is_its_sha256(tmp_path: Path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"x" * 5_000_000)
    result = digest_path(path)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.manifest is None and result.size == 5_000_000


def test_manifest_lines_and_order():
    text = manifest([("b/x", "1" * 64), ("B", "2" * 64), ("a", "3" * 64)])
    assert text == f"{'2' * 64}  B\n{'3' * 64}  a\n{'1' * 64}  b/x\n".encode()


@pytest.mark.parametrize("path", ["a\nb", "back\\slash", "/abs", "../out", "a//b", "./a", ""])
def test_paths_without_a_plain_manifest_line_are_refused(path: str):
    with pytest.raises(UsageError):
        manifest([(path, "0" * 64)])


def test_refusals(tmp_path: Path):
    empty = tmp_path / "empty"
    (empty / "only-folders").mkdir(parents=True)
    with pytest.raises(UsageError, match="empty folder"):
        digest_path(empty)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "real").write_text("x")
    (linked / "link").symlink_to(linked / "real")
    with pytest.raises(UsageError, match="symbolic link"):
        digest_path(linked)
    with pytest.raises(UsageError, match="no such"):
        digest_path(tmp_path / "missing")
