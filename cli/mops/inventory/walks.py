"""History walks kept between runs, in ``.git/mops/walks/``, sealed (see :func:`mops.git.walk`).

A one-model command (``log MODEL``, ``audit MODEL``, verify of a few models) walks that
model's folder, and the inventory's rules, through all of history: with 200,000 commits a
walk costs seconds, though git's changed-path filters skip most commits, because about
one commit in a hundred that did not touch the folder passes the filter anyway and git
then reads its trees. What such a walk gives at a commit never changes, so it is kept
under that commit and read back, or extended by the commits that follow it in a line.

These walks decide what verify replays, so a kept walk must be the walk git gives: each
file is sealed like the other caches (:mod:`mops.inventory.sealed`), keyed by a hash of
the exact git command line, and carries the commit it covers. A file that is damaged,
forged or sealed by someone else reads as missing (the walk is made again); one whose
commit is no longer below HEAD along a line of ordinary commits (history rewritten, a
merge since) is walked again whole. ``MOPS_NO_CACHE=1`` keeps none.

One model's folder is not walked at all: the index of which commits touched each entry
of ``models/`` (:mod:`mops.git.touches`) is kept here too, sealed the same way, in 64
shards; built by one diff of every commit on the first one-model question (about 160 s
of CPU at 200,000 commits and 10,000 models), then brought forward by the new commits
(and back from commits no longer in history) when a shard is next read.
"""

from __future__ import annotations

import functools
from pathlib import Path

from mops import git
from mops.inventory import sealed
from mops.inventory.layout import CACHE_DIR, MODELS_DIR

FOLDER = "walks"


class SealedWalks:
    """A :class:`mops.git.WalkStore` of sealed files, one per walk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._secret = sealed.key()
        self._prefix = f"{sealed.key_id(self._secret)}-" if self._secret else ""

    def _file(self, name: str) -> Path:
        return self.folder / f"{self._prefix}{name}.walk"

    def get(self, name: str) -> bytes | None:
        return sealed.read(self._file(name), self._secret)

    def put(self, name: str, value: bytes) -> None:
        sealed.write(self._file(name), self._secret, value)

    def indexes(self, folder: str) -> bool:
        """Whether the commits touching each entry of ``folder`` (git path) are indexed
        (:mod:`mops.git.touches`): the models folder of an inventory (at the top of the
        repository or below it), whose entries are the models."""
        return folder == MODELS_DIR or folder.endswith("/" + MODELS_DIR)


def store(top: Path) -> SealedWalks | None:
    """The repository's kept walks (None when caches are off)."""
    if sealed.disabled():
        return None
    return SealedWalks(_git_dir(top) / CACHE_DIR / FOLDER)


@functools.lru_cache(maxsize=8)
def _git_dir(top: Path) -> Path:
    return git.git_dir(top)
