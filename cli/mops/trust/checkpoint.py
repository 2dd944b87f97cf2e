"""Verify's checkpoint: the last commit whose whole history ``mops verify`` found clean.

Kept in ``.git/mops/verify-checkpoint.json`` (never committed, never pushed: a fresh
clone, such as CI's, has none and replays everything). The next run replays only the
commits after it (:class:`mops.trust.replay.Replay` with ``since``), each still held to
the rules in force in its parent; everything about the working tree (uncommitted
records, evidence digests) is checked every time, from what the run that stored the
checkpoint saw of it (:mod:`mops.trust.worktree`).

A checkpoint is used only when every part of its key still holds:

- its commit is an ancestor of HEAD (history rewritten under it, e.g. a branch
  force-moved to a forged history, makes it useless: the whole history is replayed);
- it was stored by the same mops code (the fingerprint of the modules that decide a
  verdict and of the built-in packs, not only the version number), for the same
  inventory folder, with promotions re-gated or not alike;
- the trust anchor at that commit (its ``mops.yaml`` and allowed-signers blobs) is
  the one it was stored with, and so is what else git's verdict on a signature depends
  on here: the ``gpg.*`` settings that change it, the content of
  ``gpg.ssh.revocationFile`` (a key revoked since makes every commit signed with it
  checked again), and the git and ssh-keygen programs (an upgrade may change a verdict);
- the file parses and each entry's own digest matches (a corrupt or truncated file is
  ignored, never trusted), and so does its seal: a MAC keyed with this user's cache key
  (:mod:`mops.inventory.sealed`), so that an entry written by anyone else (who could
  otherwise name a forged HEAD as verified) is ignored. ``MOPS_NO_CACHE=1`` uses and
  keeps none.

It is stored only for a run that found no problem at all, so a problem once found is
found again on every run until it is fixed; the warnings of the history it covers are
kept with it and reported again (``--strict`` still makes them problems).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from mops import git
from mops.git.run import run
from mops.inventory import sealed
from mops.inventory.layout import ALLOWED_SIGNERS, CACHE_DIR, SETTINGS_FILE
from mops.inventory.store import Inventory

FILE = "verify-checkpoint.json"
FORMAT = 1
#: Checkpoints kept (one per line of history verified lately: branches, worktrees).
KEEP = 8


@dataclass(frozen=True)
class Checkpoint:
    """A commit whose history verified clean, and the warnings that history gave."""

    commit: str
    key: dict[str, Any]
    warnings: tuple[tuple[str, str], ...] = ()

    def to_json(self, secret: bytes) -> dict[str, Any]:
        body = {"commit": self.commit, "key": self.key,
                "warnings": [list(w) for w in self.warnings]}
        return {**body, "check": _digest(body), "seal": _seal(secret, body)}


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _seal(secret: bytes, body: dict[str, Any]) -> str:
    """A keyed MAC of an entry with this user's cache key (:mod:`mops.inventory.sealed`):
    an entry anyone else wrote (a colleague who can write ``.git/mops``, an archive's)
    would let the replay skip a forged history, so it is not believed."""
    return hashlib.blake2b(_canonical(body), key=secret, digest_size=32,
                           person=b"mops-checkpoint").hexdigest()


@cache
def fingerprint() -> str:
    """The mops code that decides a verdict, and the built-in packs: a checkpoint stored by
    other code (another release, or a changed source tree) is not used."""
    import mops
    from mops import resources

    root = Path(mops.__file__).parent
    digest = hashlib.sha256(mops.__version__.encode())
    folders = [root / name for name in ("trust", "policy", "inventory", "git")]
    for base in [*folders, resources.data_dir("policies")]:
        for path in sorted(base.rglob("*")):
            if path.suffix in (".py", ".yaml", ".yml") and path.is_file():
                digest.update(path.relative_to(base.parent).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def location(inv: Inventory) -> Path:
    return cache_folder(inv.top) / FILE


@lru_cache(maxsize=8)
def cache_folder(top: Path) -> Path:
    """The repository's ``.git/mops`` (git is asked where its folder is once per process,
    not at each file kept there)."""
    return git.git_dir(top) / CACHE_DIR


def anchor(inv: Inventory, commit: str) -> dict[str, str | None]:
    """The trust anchor at ``commit``: its mops.yaml and allowed-signers blob ids."""
    specs = {"settings": f"{commit}:{inv.git_path(SETTINGS_FILE)}",
             "signers": f"{commit}:{inv.git_path(ALLOWED_SIGNERS)}"}
    found = git.object_ids(inv.top, specs.values())
    return {name: found.get(spec) for name, spec in specs.items()}


#: git settings that change its verdict on a signature (mops sets the signers file and
#: ``gpg.ssh.program`` itself).
SIGNATURE_SETTINGS = ("gpg.ssh.revocationFile", "gpg.minTrustLevel", "gpg.program",
                      "gpg.openpgp.program", "gpg.x509.program")


def signature_settings(inv: Inventory) -> dict[str, str]:
    """The settings git checks signatures with here, the revocation file's digest, and
    which git and ssh-keygen check them (an upgrade may change a verdict)."""
    found = _gpg_settings(inv.top)
    for tool in ("git", "ssh-keygen"):
        where = shutil.which(tool)
        try:
            st = os.stat(where) if where else None
        except OSError:
            st = None
        found[tool] = f"{where}:{st.st_size}:{st.st_mtime_ns}" if st else "absent"
    revoked = found["gpg.ssh.revocationFile"]
    if revoked:
        path = Path(revoked).expanduser()
        path = path if path.is_absolute() else inv.top / path
        try:
            found["revoked"] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            found["revoked"] = f"unreadable: {exc.strerror}"
    return found


def _gpg_settings(top: Path) -> dict[str, str]:
    """:data:`SIGNATURE_SETTINGS` as ``git config --get`` gives each (the last value; ""
    when unset), read in one git process. git names a setting by its section and key in
    lower case and its subsection as written, and so does it when it checks a signature."""
    out = run(top, "config", "-z", "--get-regexp", r"^gpg\.", check=False)
    last: dict[str, str] = {}
    for rec in out.decode("utf-8", "replace").split("\0"):
        name, _, value = rec.partition("\n")
        if name:
            last[name] = value
    return {name: last.get(_config_name(name), "").strip() for name in SIGNATURE_SETTINGS}


def _config_name(name: str) -> str:
    section, _, rest = name.partition(".")
    middle, _, var = rest.rpartition(".")
    return ".".join(p for p in (section.lower(), middle, var.lower()) if p)


def key(inv: Inventory, commit: str, *, gated: bool) -> dict[str, Any]:
    """Everything besides the commit that would change what verify finds up to it."""
    return {"format": FORMAT, "code": fingerprint(), "prefix": inv.prefix, "gated": gated,
            "anchor": anchor(inv, commit), "signatures": signature_settings(inv)}


def _entries(path: Path, secret: bytes | None) -> list[Checkpoint]:
    """The stored checkpoints whose digest and seal match; [] for a missing or corrupt file,
    or without a cache key (``MOPS_NO_CACHE``)."""
    if secret is None:
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    if not isinstance(raw, dict) or raw.get("format") != FORMAT \
            or not isinstance(raw.get("entries"), list):
        return []
    out = []
    for entry in raw["entries"]:
        try:
            body = {"commit": entry["commit"], "key": entry["key"], "warnings": entry["warnings"]}
            if entry.get("check") != _digest(body) or not isinstance(body["commit"], str) \
                    or not isinstance(body["key"], dict) or not isinstance(entry.get("seal"), str) \
                    or not hmac.compare_digest(entry["seal"], _seal(secret, body)):
                continue
            warnings = tuple((str(p), str(t)) for p, t in body["warnings"])
        except (KeyError, TypeError, ValueError):
            continue
        out.append(Checkpoint(body["commit"], body["key"], warnings))
    return out


def load(inv: Inventory, head: str, *, gated: bool) -> Checkpoint | None:
    """The most recently stored checkpoint that still holds for ``head`` (see the module
    doc); None when there is none."""
    for cp in reversed(_entries(location(inv), sealed.key())):
        if cp.key.get("code") != fingerprint() or cp.key.get("prefix") != inv.prefix \
                or cp.key.get("gated") is not gated or cp.key.get("format") != FORMAT:
            continue
        if cp.commit != head and git.merge_base(inv.top, cp.commit, head) != cp.commit:
            continue  # not an ancestor of HEAD (history rewritten), or no longer there
        if cp.key != key(inv, cp.commit, gated=gated):
            continue
        return cp
    return None


def store(inv: Inventory, head: str, warnings: Iterable[tuple[str, str]], *,
          gated: bool) -> dict[str, Any] | None:
    """Remember that ``head``'s history verified clean (with these warnings); a file that
    cannot be written only costs time next run. Returns the key stored under (None: not
    stored)."""
    secret = sealed.key()
    if secret is None:
        return None
    path = location(inv)
    new = Checkpoint(head, key(inv, head, gated=gated), tuple(dict.fromkeys(warnings)))
    kept = [cp for cp in _entries(path, secret) if cp.commit != head][-(KEEP - 1):]
    data = json.dumps({"format": FORMAT,
                       "entries": [cp.to_json(secret) for cp in [*kept, new]]}, indent=1)
    try:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, path)  # concurrent runs: the last one wins, whole
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
    return new.key
