"""Writing to the inventory: one action, one commit, or nothing at all.

A ``Change`` collects the files an action writes, then in :meth:`Change.commit`
(1) refuses if any of those paths has uncommitted changes of the user's,
(2) stores the blobs and builds the commit without touching anything visible,
(3) writes the files atomically into the working tree, (4) moves HEAD with a
compare-and-swap and (5) records the new blobs in the user's index for those
paths only. Any failure or interrupt before the end puts every file, the index
and HEAD back as they were.

Writers take an exclusive ``flock`` on ``.git/mops.lock`` first, so concurrent
mops processes queue instead of failing; the kernel releases the lock when a
process dies, so a crashed writer never leaves a lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mops import git
from mops.errors import PolicyError, UsageError
from mops.inventory.layout import LOCK_FILE, SETTINGS_FILE
from mops.inventory.store import Inventory


def _lock_timeout() -> float:
    try:
        return float(os.environ.get("MOPS_LOCK_TIMEOUT", "600"))
    except ValueError:
        return 600.0


@contextlib.contextmanager
def repository_lock(top: Path, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the inventory's write lock; wait (up to ``MOPS_LOCK_TIMEOUT`` s) for it."""
    path = git.git_dir(top) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + _lock_timeout()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and notify is not None:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    notify(f"waiting for another mops process to finish ({holder or 'unknown'})")
                    told = True
                if time.monotonic() > deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    raise UsageError(f"another mops process ({holder or 'unknown'}) has held "
                                     f"{path} for more than {_lock_timeout():.0f} s; "
                                     f"try again when it has finished") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


@contextlib.contextmanager
def locked(start: Path, notify: Callable[[str], None] | None = None, *,
           env: Mapping[str, str] | None = None) -> Iterator[Inventory]:
    """Open the inventory under its write lock, read fresh once the lock is held.

    ``env`` is the git environment of the one acting (see ``Inventory.git_env``)."""
    inv = Inventory.open(start, git_env=env)
    with repository_lock(inv.top, notify):
        fresh = Inventory.open(start, git_env=env, record_cache=inv.record_cache)
        try:
            yield fresh
        finally:
            fresh.close()


def new_id(prefix: str, exists: Callable[[str], bool]) -> str:
    """A short random id such as ``F-3fa2c1``: unique here, and safe to merge across branches."""
    for _ in range(100):
        rid = f"{prefix}-{secrets.token_hex(3)}"
        if not exists(rid):
            return rid
    raise RuntimeError("could not find a free record id")  # pragma: no cover


@dataclass
class _Pending:
    data: bytes | None = None
    source: Path | None = None


@dataclass
class Change:
    """The files one action writes, committed together with ``Mops-*`` trailers."""

    inventory: Inventory
    action: str
    model: str | None = None
    version: str | None = None
    actor: str | None = None
    summary: str = ""
    body: str = ""
    trailers: dict[str, str] = field(default_factory=dict)
    #: Sign the commit; None: sign when the inventory says ``signing: required`` (then
    #: ``mops verify`` holds every record-making commit to the actor's signature).
    sign: bool | None = None
    files: dict[str, _Pending] = field(default_factory=dict)

    def write(self, rel: str, data: bytes | str) -> None:
        """Write ``data`` at ``rel`` (relative to the inventory root)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.files[rel] = _Pending(data=data)

    def copy(self, rel: str, source: Path) -> None:
        """Copy the file ``source`` to ``rel``, streaming (evidence files may be large)."""
        self.files[rel] = _Pending(source=source)

    def message(self) -> str:
        subject = f"{self.action}: {self.summary}".strip().rstrip(":")
        trailers = {"Mops-Action": self.action}
        if self.model:
            trailers["Mops-Model"] = self.model
        if self.version:
            trailers["Mops-Version"] = self.version
        if self.actor:
            trailers["Mops-Actor"] = self.actor
        for env_name, key in (("GITHUB_ACTOR", "Mops-GitHub-Actor"),
                              ("GITHUB_TRIGGERING_ACTOR", "Mops-GitHub-Triggering-Actor")):
            if os.environ.get(env_name):
                trailers[key] = os.environ[env_name]
        trailers.update(self.trailers)
        parts = [subject]
        if self.body.strip():
            parts.append(self.body.strip())
        parts.append("\n".join(f"{k}: {' '.join(str(v).split())}" for k, v in trailers.items()))
        return "\n\n".join(parts) + "\n"

    def _signs(self) -> bool:
        """Whether this commit is signed; refuses when it must be and git cannot sign."""
        if self.sign is not None:
            return self.sign
        inv = self.inventory
        if not inv.source.isfile(SETTINGS_FILE) or inv.settings.signing != "required":
            return False  # (``init`` writes the first mops.yaml)
        ready = git.config_get(inv.top, "gpg.format").lower() == "ssh" and bool(
            git.config_get(inv.top, "user.signingkey")
            or git.config_get(inv.top, "gpg.ssh.defaultKeyCommand"))
        if not ready:
            actor = self.actor or inv.identity().email
            raise PolicyError(f"mops.yaml says signing: required, so every mops commit is signed, "
                              f"and your git is not set up to sign: run `git config gpg.format "
                              f"ssh` and `git config user.signingkey ~/.ssh/id_ed25519.pub`, with "
                              f"your public key listed for {actor} in .mops/allowed_signers; "
                              f"nothing was recorded")
        return True

    def commit(self) -> str:
        """Make the one commit of this action, or leave everything as it was."""
        inv = self.inventory
        if inv.commit is not None:
            raise RuntimeError("cannot write to an inventory read from history")
        top = inv.top
        paths = {rel: inv.git_path(rel) for rel in self.files}
        dirty = git.dirty_paths(top, paths.values())
        if dirty:
            raise UsageError(f"{', '.join(sorted(dirty))}: has uncommitted changes that mops would "
                             f"overwrite; commit or discard them first")
        parent = git.head(top)
        blobs: dict[str, tuple[str, str]] = {}
        for rel, pending in self.files.items():
            if pending.source is not None:
                sha = git.hash_blob(top, path=pending.source)
            else:
                sha = git.hash_blob(top, pending.data)
            blobs[paths[rel]] = ("100644", sha)
        env = inv.git_env
        new = git.make_commit(top, parent, blobs, self.message(), sign=self._signs(), env=env)

        undo = _Undo(inv.root)
        moved = False
        try:
            # While git moves HEAD or writes the index it must not be killed half-way (it
            # would leave HEAD.lock or index.lock behind), so SIGINT/SIGTERM wait until
            # these steps are done; a signal that came meanwhile is raised on leaving the
            # block, still inside this try, and everything is rolled back.
            with signals_deferred():
                for rel, pending in self.files.items():
                    undo.write(rel, pending)
                git.advance_head(top, new, parent, f"mops {self.action}", env=env)
                moved = True
                git.stage_written(top, blobs)
        except BaseException:
            # Includes interrupts: main turns SIGINT and SIGTERM into an exception.
            with signals_deferred():
                with contextlib.suppress(Exception):
                    if moved:
                        if parent:
                            git.advance_head(top, parent, new, "mops: roll back", env=env)
                        else:
                            git.delete_head(top, new, env=env)
                        git.restore_index(top, parent, list(blobs))
                undo.rollback()
            raise
        undo.discard()
        invalidate = getattr(inv.source, "invalidate", None)
        if invalidate is not None:
            invalidate()
        return new


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (git children inherit the mask)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Undo:
    """Writes files atomically and remembers how to put the working tree back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.backup_dir = Path(tempfile.mkdtemp(prefix="mops-undo-"))
        self.replaced: list[tuple[Path, Path | None]] = []  # (target, backup or None if new)
        self.created_dirs: list[Path] = []

    def write(self, rel: str, pending: _Pending) -> None:
        target = self.root / rel
        missing = []
        parent = target.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            d.mkdir()
            self.created_dirs.append(d)
        backup = None
        if target.exists() or target.is_symlink():
            if target.is_dir() and not target.is_symlink():
                raise UsageError(f"{rel}: is a directory; mops needs to write a file there")
            backup = self.backup_dir / str(len(self.replaced))
            shutil.copy2(target, backup, follow_symlinks=False)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.mops-")
        try:
            with os.fdopen(fd, "wb") as out:
                if pending.source is not None:
                    with open(pending.source, "rb") as src:
                        shutil.copyfileobj(src, out, 1024 * 1024)
                else:
                    out.write(pending.data or b"")
            os.chmod(tmp, 0o644)
            self.replaced.append((target, backup))
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def rollback(self) -> None:
        for target, backup in reversed(self.replaced):
            with contextlib.suppress(Exception):
                if backup is None:
                    target.unlink(missing_ok=True)
                else:
                    os.replace(backup, target)
        for d in reversed(self.created_dirs):
            with contextlib.suppress(OSError):
                d.rmdir()
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.backup_dir, ignore_errors=True)
