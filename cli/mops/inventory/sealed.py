"""mops's cache files in the git directory, sealed so that only this user's mops is believed.

A cache only saves time, but two of mops's caches stand between a file and a verdict:
parsed records (a record is what its cache entry says) and evidence digests (a file's
sha256 is what its entry says). Anyone who can write ``.git/mops/`` could otherwise
make ``mops check`` pass a tampered record: a colleague on a shared network folder, or
whoever sent the repository as an archive. So every cache file carries a keyed BLAKE2b
MAC over its name and contents, with a 32-byte key kept outside the repository, readable
by this user only (``$XDG_CACHE_HOME/mops/cache-key``, else ``~/.cache/mops/cache-key``).
A file whose MAC does not match — truncated, written by someone else, forged, or from
another version of its format — is ignored as if it were not there, and rewritten.

The trust boundary is the user's account: whoever can read that key can also run code as
the user. A fresh clone (as CI makes) has no cache; ``MOPS_NO_CACHE=1`` ignores every
cache and writes none. Writes go to a temporary file and are renamed into place, so
concurrent runs never see half a file (the last writer wins; a lost entry costs time).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

MAGIC = b"mops-sealed-1\n"
_MAC = 32


def disabled() -> bool:
    """Whether the user asked for no caches (``MOPS_NO_CACHE`` set and not ``0``)."""
    return os.environ.get("MOPS_NO_CACHE", "0") not in ("", "0")


def _key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mops" / "cache-key"


def key() -> bytes | None:
    """This user's cache key (made on first use); None when it cannot be kept."""
    if disabled():
        return None
    return _key_at(str(_key_path()))


@functools.lru_cache(maxsize=8)
def _key_at(where: str) -> bytes | None:
    path = Path(where)
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".cache-key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)  # fails if another process made the key first: use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        data = path.read_bytes()
        return data if len(data) == 32 else None
    except OSError:
        return None


def key_id(secret: bytes) -> str:
    """A short public name for a key (cache files of different users do not collide)."""
    return hashlib.blake2b(secret, digest_size=4, person=b"mops-key-id").hexdigest()


def _mac(secret: bytes, name: str, payload: bytes | memoryview) -> bytes:
    h = hashlib.blake2b(key=secret, digest_size=_MAC, person=b"mops-cache")
    h.update(name.encode("utf-8") + b"\0")
    h.update(payload)
    return h.digest()


def read(path: Path, secret: bytes | None) -> bytes | None:
    """The contents sealed in ``path`` by this user's mops; None when it is missing,
    damaged, or not sealed with ``secret``."""
    payload = read_view(path, secret)
    return payload.tobytes() if payload is not None else None


def read_view(path: Path, secret: bytes | None) -> memoryview | None:
    """:func:`read`'s contents, not copied out of the file's bytes (a file of 100 MB)."""
    if secret is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + _MAC
    if len(data) < head or not data.startswith(MAGIC):
        return None
    payload = memoryview(data)[head:]
    if not hmac.compare_digest(data[len(MAGIC):head], _mac(secret, path.name, payload)):
        return None
    return payload


def write(path: Path, secret: bytes | None, payload: bytes) -> None:
    """Seal ``payload`` into ``path`` atomically; a cache that cannot be written only
    costs time, so errors are ignored."""
    if secret is None:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + _mac(secret, path.name, payload) + payload)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


class Shards:
    """A sealed key -> bytes store in 256 shard files by the key's first byte, each read only
    when a key in it is asked for (a command about one model opens a few small files).

    Used by the caches keyed by content (parsed records, policy results). A shard this
    user's mops did not seal, or a damaged one, reads as empty. Nothing is kept when
    ``folder`` is None or caches are off (``MOPS_NO_CACHE``).
    """

    #: Entries per shard before the older half is dropped.
    MAX_SHARD = 1000

    def __init__(self, folder: Path | None, fmt: str) -> None:
        self.folder = folder
        self.format = fmt
        self._secret = key() if folder is not None else None
        self._prefix = f"{key_id(self._secret)}-" if self._secret else ""
        self._shards: dict[int, dict[bytes, bytes]] = {}
        self._dirty: set[int] = set()
        #: The keys read or written by this process (see :meth:`save`'s ``prune``).
        self._touched: set[bytes] = set()

    @property
    def enabled(self) -> bool:
        """Whether anything read or written can outlive this process."""
        return self._secret is not None

    def file(self, index: int) -> Path:
        assert self.folder is not None
        return self.folder / f"{self._prefix}{index:02x}.{self.format}"

    def _shard(self, index: int) -> dict[bytes, bytes]:
        shard = self._shards.get(index)
        if shard is None:
            shard = self._shards[index] = self._load(index)
        return shard

    def _load(self, index: int) -> dict[bytes, bytes]:
        import pickle

        if self._secret is None:
            return {}
        payload = read(self.file(index), self._secret)
        if payload is None:
            return {}
        try:
            loaded = pickle.loads(payload)  # noqa: S301 - sealed by this user's key, and
            # only bytes by bytes (checked below)
        except Exception:
            return {}
        if not isinstance(loaded, dict) or not all(
                type(k) is bytes and type(v) is bytes for k, v in loaded.items()):
            return {}
        return loaded

    def get(self, name: bytes) -> bytes | None:
        value = self._shard(name[0]).get(name)
        if value is not None:
            self._touched.add(name)
        return value

    def put(self, name: bytes, value: bytes) -> None:
        self._shard(name[0])[name] = value
        self._dirty.add(name[0])
        self._touched.add(name)

    def drop(self, name: bytes) -> None:
        """Forget an entry found damaged."""
        if self._shard(name[0]).pop(name, None) is not None:
            self._dirty.add(name[0])

    def save(self, *, prune: bool = False) -> None:
        """Write the shards changed; with ``prune``, first drop from every shard read the
        entries this process did not use (for a run that asked for every live key: what
        is left is of content that is gone, and would only make every shard larger)."""
        import pickle

        if self.folder is None or self._secret is None:
            self._dirty.clear()
            return
        if prune:
            for path in self.folder.glob(f"{self._prefix}??.{self.format}"):
                with contextlib.suppress(ValueError):
                    self._shard(int(path.name[len(self._prefix):len(self._prefix) + 2], 16))
            for index, shard in self._shards.items():
                stale = [k for k in shard if k not in self._touched]
                for k in stale:
                    del shard[k]
                if stale:
                    self._dirty.add(index)
        for index in sorted(self._dirty):
            shard = self._shards[index]
            if len(shard) > self.MAX_SHARD:
                shard = self._shards[index] = dict(list(shard.items())[-self.MAX_SHARD // 2:])
            write(self.file(index), self._secret,
                  pickle.dumps(shard, protocol=pickle.HIGHEST_PROTOCOL))
        self._dirty.clear()
