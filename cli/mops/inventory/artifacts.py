"""The digest of a model artifact: a file's sha256, or a folder's manifest digest.

A model is often a folder (an MLflow model: ``MLmodel``, ``model.pkl``,
``requirements.txt``, ...), so "the artifact's sha256" needs a definition that
anyone can recompute with standard tools:

- a **file**'s digest is the sha256 of its bytes (``sha256sum FILE``);
- a **folder**'s digest is the sha256 of its *manifest*: one line
  ``<sha256 of the file>  <path>\\n`` (two spaces, as ``sha256sum`` prints) for every
  regular file below it, ``path`` relative to the folder with ``/`` separators,
  lines sorted by the UTF-8 bytes of the path. Empty folders do not count (an object
  store has none); a symbolic link, a path with a newline or a backslash, and an empty
  folder are refused. One file is left out: ``registered_model_meta`` at the top, which
  MLflow's client writes into a folder it downloads from a ``models:/`` URI (the
  registered name and version); it is not part of the model MLflow stores. The same
  bytes give the same digest wherever they are stored::

    cd FOLDER && find . -type f ! -path ./registered_model_meta -printf '%P\\0' \\
      | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum

Files are read in chunks, one at a time: an artifact of many gigabytes is never
held in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mops.errors import UsageError
from mops.inventory.digest import sha256_file

#: The file an import records the manifest of a folder artifact in (an evidence file).
MANIFEST_NAME = "artifact.sha256sum"
#: Written by MLflow's client into a ``models:/`` download; not part of the stored model.
LEFT_OUT = frozenset({"registered_model_meta"})


@dataclass(frozen=True)
class ArtifactDigest:
    sha256: str
    #: Total bytes (all files of a folder).
    size: int
    #: For a folder: the manifest whose sha256 is the digest; None for a file.
    manifest: bytes | None = None

    @property
    def files(self) -> int:
        return 1 if self.manifest is None else self.manifest.count(b"\n")


def manifest_line(path: str, sha256: str) -> bytes:
    """One manifest line; refuses a path ``sha256sum`` would escape, or one leaving the folder."""
    if not path or "\n" in path or "\r" in path or "\\" in path:
        raise UsageError(f"artifact file {path!r}: a path with a newline or a backslash has no "
                         f"manifest line (see the README's artifact digests)")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"artifact file {path!r}: not a plain relative path")
    return f"{sha256}  {path}\n".encode()


def manifest(entries: Iterable[tuple[str, str]]) -> bytes:
    """The manifest of ``(relative path, sha256)`` pairs, sorted by the paths' UTF-8 bytes."""
    lines: dict[bytes, bytes] = {}
    for path, sha in entries:
        if path in LEFT_OUT:
            continue
        key = path.encode("utf-8")
        if key in lines:
            raise UsageError(f"artifact file {path!r} is listed twice")
        lines[key] = manifest_line(path, sha)
    if not lines:
        raise UsageError("the artifact is an empty folder: there is nothing to hash")
    return b"".join(lines[k] for k in sorted(lines))


def folder_digest(entries: Iterable[tuple[str, str]], size: int) -> ArtifactDigest:
    """The digest of a folder whose files have these ``(path, sha256)``."""
    text = manifest(entries)
    return ArtifactDigest(hashlib.sha256(text).hexdigest(), size, text)


def digest_path(path: Path) -> ArtifactDigest:
    """The digest of a local file or folder (see the module doc)."""
    if path.is_symlink() and path.is_dir():
        raise UsageError(f"{path}: is a symbolic link to a folder; give the folder itself")
    if path.is_file():
        sha, size = sha256_file(path)
        return ArtifactDigest(sha, size)
    if not path.is_dir():
        raise UsageError(f"{path}: no such file or folder")
    entries: list[tuple[str, str]] = []
    total = 0
    for folder, dirs, files in os.walk(path, followlinks=False):
        here = Path(folder)
        for name in sorted(dirs + files):
            full = here / name
            rel = full.relative_to(path).as_posix()
            if full.is_symlink():
                raise UsageError(f"{path}: {rel} is a symbolic link; an artifact folder holds "
                                 f"regular files only")
            if name in files:
                if not full.is_file():
                    raise UsageError(f"{path}: {rel} is not a regular file")
                if rel in LEFT_OUT:
                    continue
                sha, size = sha256_file(full)
                entries.append((rel, sha))
                total += size
    return folder_digest(entries, total)
