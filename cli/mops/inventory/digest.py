"""Content digests: files, and the *subject digest* a sign-off binds to.

The subject digest covers the model card, the version's immutable fields
(artifact, data, metrics) and the set of evidence records with the digests of
their files *as they are now*. Stage changes, monitoring results and other
sign-offs are outside it. Its three parts are kept beside it in each sign-off,
so a stale sign-off can say what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from mops import git
from mops.inventory import layout, sealed, stamps
from mops.inventory.store import CommitSource, Inventory, Version, WorktreeSource

CHUNK = 1024 * 1024
MISSING = "missing"
_HEXES_RE = re.compile(r"[0-9a-f]*")


def sha256_file(path: Path | str) -> tuple[str, int]:
    """sha256 and size of a file, read in 1 MiB chunks (artifacts can be many GB)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, dates as ISO strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=False).encode("utf-8")


class DigestCache:
    """Remembers file digests by their stamp (device, inode, size, mtime, ctime, once
    settled: :mod:`mops.inventory.stamps`), or by git blob id for history.

    Kept in ``.git/mops/digests.json``, sealed (:mod:`mops.inventory.sealed`: only this
    user's mops is believed; a damaged or foreign file is ignored): re-reading gigabytes
    of unchanged evidence on every ``mops check`` is what would otherwise dominate. The one who makes a cache
    saves it (:meth:`save`); code that is handed one (policy evaluation) never does.
    :meth:`in_memory` makes one that neither reads nor writes that file.

    It holds what is current, not every stamp a file ever had: a run that asked for the
    files of the whole working tree saves only the stamps it used (:meth:`save`,
    ``whole``), and any run drops the other stamps of a path it found with a new one
    (that path's file has changed since). Entries by blob id are kept: they name content
    that never changes, and every full replay of history (``verify --full``, each audit
    report) asks for them again. A pruned cache only ever lacks entries; a digest it
    lacks is computed again.
    """

    def __init__(self, inv: Inventory, *, persist: bool = True) -> None:
        self.inv = inv
        self.path = git.git_dir(inv.top) / layout.CACHE_DIR / layout.DIGEST_CACHE \
            if persist and inv.top else None
        self.entries: dict[str, str] = {}
        self.dirty = False
        #: The stamp key of each working-tree file asked for (path -> key), whether or not
        #: its digest could be remembered: what :meth:`save` keeps, and what it prunes by.
        self.current: dict[str, str] = {}
        #: When a dict, every file's digest handed out is noted in it (path -> sha256):
        #: what a cached policy result depends on besides the records.
        self.reads: dict[str, str] | None = None
        self._secret = sealed.key() if self.path else None
        payload = sealed.read(self.path, self._secret) if self.path else None
        if payload is not None:
            try:
                loaded = json.loads(payload)
            except ValueError:
                loaded = None
            # Keys of a JSON object are strings; every value a sha256 (checked all at once).
            if isinstance(loaded, dict) and all(
                    type(v) is str and len(v) == 64 for v in loaded.values()) and \
                    _HEXES_RE.fullmatch("".join(loaded.values())):
                self.entries = loaded

    @classmethod
    def in_memory(cls, inv: Inventory) -> DigestCache:
        """A cache for one computation: nothing is read from or written to disk."""
        return cls(inv, persist=False)

    def file_sha256(self, rel: str) -> str:
        digest = self._sha256(rel)
        if self.reads is not None:
            self.reads[rel] = digest
        return digest

    def _sha256(self, rel: str) -> str:
        source = self.inv.source
        if isinstance(source, CommitSource):
            entry = source.reader.entries.get(rel)
            if entry is None:
                return MISSING
            key = f"blob:{entry.sha}"
            if key not in self.entries:
                self.entries[key] = sha256_bytes(source.read(rel))
                self.dirty = True
            return self.entries[key]
        assert isinstance(source, WorktreeSource)
        try:
            st = source.stat(rel)
        except (FileNotFoundError, NotADirectoryError):
            return MISSING
        # Known by its stamp (mops.inventory.stamps): ctime changes on every write, even
        # one that puts the old mtime back (`touch -d`), and a digest is remembered only
        # once its stamp has settled, so a write in the same tick as the hashing is seen.
        key = self.current[rel] = _stamp_key(rel, stamps.stamp(st))
        kept = self.entries.get(key)
        if kept is not None:
            return kept
        digest, seen = stamps.observe(os.path.join(source.root, rel),
                                      lambda path: sha256_file(path)[0])
        if seen is not None:
            key = self.current[rel] = _stamp_key(rel, seen)
            self.entries[key] = digest
            self.dirty = True
        return digest

    def stamp_of(self, rel: str, digest: str) -> stamps.Stamp | None:
        """The settled stamp under which this run found ``rel`` to have ``digest`` (None:
        it was not asked for, or its stamp has not settled, or its digest is another)."""
        key = self.current.get(rel)
        if key is None or self.entries.get(key) != digest:
            return None
        return bytes.fromhex(key[key.rfind(":") + 1:])

    def save(self, *, whole: bool = False) -> None:
        """Write the entries back (when they changed). ``whole``: this run asked for the
        files of every model of the working tree, and was answered: the stamps it did not
        use (of files edited, moved or deleted since, or of records no longer there) are
        dropped. Without it, only the older stamps of the paths asked for are dropped."""
        if self.path is None:
            return
        whole = whole and isinstance(self.inv.source, WorktreeSource)
        if not self.dirty and not whole:
            return
        current = self.current
        mine = set(current.values())
        if whole:
            kept = {k: v for k, v in self.entries.items()
                    if k in mine or not k.startswith(_FILE)}
        else:
            asked = {f"{_FILE}{rel}:" for rel in current}  # a stamp key up to its stamp
            kept = {k: v for k, v in self.entries.items() if k in mine
                    or not k.startswith(_FILE) or k[:k.rfind(":") + 1] not in asked}
        if not self.dirty and len(kept) == len(self.entries):
            return
        self.entries = kept
        # Sealed: a digest another user (or a forger) wrote is never believed.
        sealed.write(self.path, self._secret, json.dumps(self.entries).encode())
        self.dirty = False


_FILE = "file:"


def _stamp_key(rel: str, seen: stamps.Stamp) -> str:
    return f"{_FILE}{rel}:{seen.hex()}"


def subject_parts(inv: Inventory, version: Version, cache: DigestCache) -> dict[str, str]:
    """The three digests a sign-off covers: card, version fields, evidence set."""
    card_rel = layout.card_of_version(version.dir)
    card = sha256_bytes(inv.read(card_rel))
    fields = sha256_bytes(canonical(version.record.immutable_fields()))
    evidence = []
    for ev in sorted(version.evidence, key=lambda e: e.id):
        files = [{"path": f.path, "sha256": cache.file_sha256(f"{version.dir}/{f.path}")}
                 for f in ev.files]
        evidence.append({"id": ev.id, "kind": ev.kind, "title": ev.title, "metrics": ev.metrics,
                         "files": files})
    return {"card": card, "version": fields, "evidence": sha256_bytes(canonical(evidence))}


def combine(parts: dict[str, str]) -> str:
    return "sha256:" + sha256_bytes(canonical(parts))


PART_NAMES = {"card": "the model card", "version": "the version's artifact, data or metrics",
              "evidence": "the evidence"}


def what_changed(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """Human names of the parts that differ between a sign-off and the content now."""
    if not recorded:
        return ["content (the sign-off predates per-part digests)"]
    return [PART_NAMES[k] for k in ("card", "version", "evidence")
            if recorded.get(k) != current.get(k)]
