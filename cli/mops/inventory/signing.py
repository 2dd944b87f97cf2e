"""SSH-signed sign-offs: whether to sign, and what a commit's signature proves.

A signature counts only if *git* verifies it (``%G?`` with ``gpg.ssh.allowedSignersFile``
set to the inventory's ``.mops/allowed_signers`` **as it stood in the commit's parent**),
and git reports a principal that names the person the record names. Reading the
signers from the parent means nobody can add their own key and use it in the same
change. Nothing here checks a signature by hand.

History is read in one ``git log --name-status`` pass; blobs of the parents in one
``git cat-file --batch``; signatures with one ``git log --no-walk`` per distinct
allowed-signers file. An inventory with thousands of sign-offs costs a handful of
git processes, not one per record.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mops import git
from mops.errors import PolicyError, RecordError, UsageError
from mops.git import CommitInfo, Event, Signature
from mops.inventory import records
from mops.inventory.layout import ALLOWED_SIGNERS, GOVERNED_PATHS, MODELS_DIR, SETTINGS_FILE
from mops.inventory.store import Inventory, Version

#: Commits per ``git log --no-walk`` when checking signatures.
CHUNK = 100

SETUP_HELP = ("run `git config gpg.format ssh` and `git config user.signingkey "
              "~/.ssh/id_ed25519.pub`, and have your public key added to .mops/allowed_signers "
              "as a line `{email} ssh-ed25519 AAAA...` (committed, signed by someone already "
              "listed there)")

_KEY_RE = re.compile(r"(?:^|\s)((?:ssh|ecdsa-sha2|sk-ssh|sk-ecdsa-sha2)-[\w@.+-]+)\s+"
                     r"([A-Za-z0-9+/]+={0,3})(?:\s|$)")


# ----------------------------------------------------------------------------- allowed signers


def principal_matches(patterns: str, email: str) -> bool:
    """Whether ``email`` matches an allowed-signers principals field (``a@x,*@y,!z@y``).

    OpenSSH's pattern-list rules: ``*`` and ``?`` wildcards, ``!`` negates, and a
    matching negation wins. Compared case-insensitively (mops lower-cases e-mails).
    """
    email = email.strip().lower()
    matched = False
    for pattern in patterns.strip().strip('"').lower().split(","):
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip()
        if not pattern:
            continue
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, email):
            if negate:
                return False
            matched = True
    return matched


@dataclass(frozen=True)
class AllowedKey:
    principals: str
    key_type: str
    key: str
    cert_authority: bool


def allowed_keys(text: str) -> list[AllowedKey]:
    """The entries of an allowed-signers file, read well enough to say who is listed.

    Used only to warn *before* signing; verification itself is git's.
    """
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _KEY_RE.search(line)
        if not match:
            continue
        principals = line.split(None, 1)[0]
        options = line[len(principals):match.start(1)]
        out.append(AllowedKey(principals, match[1], match[2], "cert-authority" in options))
    return out


def is_listed(text: str, email: str, key: tuple[str, str] | None) -> bool:
    """Whether ``key`` (type, base64) is listed for ``email`` (any key when ``key`` is None)."""
    for entry in allowed_keys(text):
        if not principal_matches(entry.principals, email):
            continue
        if key is None or entry.cert_authority or (entry.key_type, entry.key) == key:
            return True
    return False


# ----------------------------------------------------------------------------- signing setup


@dataclass(frozen=True)
class SigningSetup:
    """The user's git signing configuration (``gpg.format``, ``user.signingkey``)."""

    format: str
    key: str
    key_command: str

    @property
    def ready(self) -> bool:
        return self.format == "ssh" and bool(self.key or self.key_command)


def signing_setup(top: Path) -> SigningSetup:
    return SigningSetup(format=git.config_get(top, "gpg.format").lower(),
                        key=git.config_get(top, "user.signingkey"),
                        key_command=git.config_get(top, "gpg.ssh.defaultKeyCommand"))


def public_key(setup: SigningSetup, top: Path) -> tuple[str, str] | None:
    """The (type, base64) public key git will sign with, when it can be told without signing."""
    value = setup.key.strip()
    if not value:
        return None  # the key comes from gpg.ssh.defaultKeyCommand (an agent)
    value = value.removeprefix("key::")
    match = _KEY_RE.search(value)
    if match:
        return match[1], match[2]
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = top / path
    for candidate in (path, Path(f"{path}.pub")):
        try:
            if candidate.is_file() and candidate.stat().st_size < 64 * 1024:
                match = _KEY_RE.search(candidate.read_text("utf-8", "replace"))
                if match:
                    return match[1], match[2]
        except OSError:
            continue
    return None  # a private key without its .pub beside it: git can sign, we cannot tell


def committed_signers(inv: Inventory, rev: str = "HEAD") -> str:
    """``.mops/allowed_signers`` as committed at ``rev`` ("" when there is none)."""
    spec = f"{rev}:{inv.git_path(ALLOWED_SIGNERS)}"
    return git.read_blob(inv.top, spec).decode("utf-8", "replace")


def should_sign(inv: Inventory) -> bool:
    """Whether ``approve`` signs its commit; refuses when signing is required but impossible.

    ``signing: required``: sign, or refuse (exit 1, the inventory's policy says no)
    when git is not set up for SSH signing or the key is not listed for the actor in
    the committed allowed signers. ``signing: optional``: sign when git is set up to
    and the key is listed (or cannot be told), so that a key nobody listed never
    produces a signed sign-off that ``mops verify`` would then reject.
    """
    required = inv.settings.signing == "required"
    setup = signing_setup(inv.top)
    actor = git.identity(inv.top).email
    if not setup.ready:
        if required:
            raise PolicyError(f"mops.yaml says signing: required and your git is not set up to "
                              f"sign: {SETUP_HELP.format(email=actor)}; nothing was recorded")
        return False
    key = public_key(setup, inv.top)
    if key is None:
        return True
    signers = committed_signers(inv, inv.head or "HEAD") if inv.head else ""
    if is_listed(signers, actor, key):
        return True
    if required:
        raise PolicyError(f"mops.yaml says signing: required and your signing key "
                          f"({key[0]} {key[1][:16]}...) is not listed for {actor} in the committed "
                          f".mops/allowed_signers: have the line `{actor} {key[0]} {key[1]}` "
                          f"added there in a commit signed by someone already listed; nothing "
                          f"was recorded")
    return False


# ----------------------------------------------------------------------------- history


def signature_problem(sig: Signature, email: str | None) -> str | None:
    """Why git's verdict ``sig`` does not prove ``email`` (any listed signer when None)."""
    if sig.status == "G" and sig.signer:
        if email is None or principal_matches(sig.signer, email):
            return None
        return (f"is signed with the key of {sig.signer} (in .mops/allowed_signers), "
                f"not of {email}")
    if sig.status == "N":
        return "is not signed"
    if sig.status in ("G", "U"):
        who = f"for {email}" if email else "for anyone"
        return (f"is signed with a key ({sig.fingerprint or 'unknown'}) that "
                f".mops/allowed_signers, as it stood before that commit, does not list {who}")
    if sig.status == "B":
        return ("has a signature git rejects (the commit was altered after it was signed, "
                "or the key is in gpg.ssh.revocationFile)")
    if sig.status in ("X", "Y"):
        return "has an expired signature or key"
    if sig.status == "R":
        return "is signed with a revoked key"
    return "has a signature that cannot be checked here (not an SSH signature?)"


@dataclass
class History:
    """What happened to the inventory's governed paths, read once from git."""

    inv: Inventory
    rev: str | None
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    #: git path -> events, oldest first.
    events: dict[str, list[Event]] = field(default_factory=dict)
    _signatures: dict[str, Signature] = field(default_factory=dict)
    _parent_blobs: dict[tuple[str, str], bytes | None] = field(default_factory=dict)

    @classmethod
    def scan(cls, inv: Inventory, paths: Iterable[str] | None = None) -> History:
        """Read history of ``paths`` (inventory-relative; default: models, settings, signers)."""
        rev = inv.commit or git.head(inv.top)
        hist = cls(inv, rev)
        if rev is None:
            return hist
        wanted = list(paths) if paths is not None else list(GOVERNED_PATHS)
        hist.commits, hist.events = git.path_history(inv.top, rev,
                                                     [inv.git_path(p) for p in wanted])
        return hist

    # --------------------------------------------------------------- blobs of parents

    def parent_blobs(self, commits: Iterable[str], path: str) -> dict[str, bytes | None]:
        """``path`` (inventory-relative) as it stood in each commit's first parent."""
        gpath = self.inv.git_path(path)
        commits = list(commits)
        todo = [c for c in dict.fromkeys(commits) if (c, gpath) not in self._parent_blobs]
        if todo:
            found = git.cat_blobs(self.inv.top, [f"{c}^:{gpath}" for c in todo])
            for c in todo:
                self._parent_blobs[(c, gpath)] = found.get(f"{c}^:{gpath}")
        return {c: self._parent_blobs[(c, gpath)] for c in commits}

    def signing_required_before(self, commits: Iterable[str]) -> dict[str, bool]:
        """Whether ``mops.yaml`` in each commit's parent said ``signing: required``."""
        out = {}
        parsed: dict[bytes, bool] = {}
        for commit, blob in self.parent_blobs(commits, SETTINGS_FILE).items():
            if blob is None:
                out[commit] = False
                continue
            if blob not in parsed:
                try:
                    parsed[blob] = records.load_settings(SETTINGS_FILE, blob).signing == "required"
                except RecordError:
                    # A malformed mops.yaml in the parent: hold the commit to the inventory's
                    # current setting rather than let a broken file switch signing off.
                    parsed[blob] = self.inv.settings.signing == "required"
            out[commit] = parsed[blob]
        return out

    # --------------------------------------------------------------- signatures

    def signatures(self, commits: Iterable[str]) -> dict[str, Signature]:
        """git's verdict on each commit's signature, against the signers of its parent."""
        commits = list(dict.fromkeys(commits))
        todo = [c for c in commits if c not in self._signatures]
        if todo:
            groups: dict[bytes, list[str]] = {}
            for commit, blob in self.parent_blobs(todo, ALLOWED_SIGNERS).items():
                groups.setdefault(blob or b"", []).append(commit)
            # git runs ssh-keygen for each signed commit (~15 ms): thousands of signed
            # sign-offs are checked in chunks, several git processes at a time.
            jobs = [(signers, group[i:i + CHUNK]) for signers, group in groups.items()
                    for i in range(0, len(group), CHUNK)]
            workers = max(1, min(8, os.cpu_count() or 1, len(jobs)))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for found in pool.map(lambda job: git.verify_commits(self.inv.top, job[1], job[0]),
                                      jobs):
                    self._signatures.update(found)
            if any(self._signatures[c].status == "E" for c in todo) \
                    and shutil.which("ssh-keygen") is None:
                raise UsageError("checking signatures needs ssh-keygen (the OpenSSH client); "
                                 "install it (e.g. `apt-get install openssh-client`)")
        return {c: self._signatures[c] for c in commits}


def uncommitted(inv: Inventory, paths: Iterable[str] = (MODELS_DIR,)) -> dict[str, str]:
    """Inventory-relative paths with uncommitted changes -> git's two-letter status.

    Ignored files are included: a sign-off hidden by ``.gitignore`` is read by mops
    like any other file, so it must show up here.
    """
    statuses = git.uncommitted(inv.top, [inv.git_path(p) for p in paths])
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    return {path[len(prefix):]: status for path, status in statuses.items()
            if path.startswith(prefix)}


# ----------------------------------------------------------------------------- the policy hook


def signoff_verdict(hist: History, approval: records.Approval,
                    dirty: Mapping[str, str]) -> str | None:
    """Why ``approval`` is not a proven, signed sign-off (None when it is)."""
    if approval.path in dirty:
        return "has uncommitted changes"
    events = hist.events.get(hist.inv.git_path(approval.path), [])
    if not events:
        return "is not committed"
    if events[0].status != "A" or len(events) > 1:
        return "was changed after it was added"
    sig = hist.signatures([events[0].commit])[events[0].commit]
    return signature_problem(sig, approval.by)


class SignedSignoffs:
    """``is_signed(version, approval)`` for the policy engine (rules with ``signed: true``).

    A sign-off counts as signed when the one commit that added it carries a signature
    git verifies for the person it names, against the allowed signers of that
    commit's parent, and the record is unchanged since (committed and clean).
    History is read on first use only, so commands without such rules pay nothing.
    """

    def __init__(self, source: Inventory | Path) -> None:
        self._source = source
        self._hist: History | None = None
        self._dirty: dict[str, str] = {}
        self._cache: dict[str, bool] = {}

    def _history(self) -> History:
        if self._hist is None:
            inv = self._source if isinstance(self._source, Inventory) else \
                Inventory.open(self._source)
            self._hist = History.scan(inv, [MODELS_DIR])
            self._dirty = {} if inv.commit is not None else uncommitted(inv)
        return self._hist

    def __call__(self, version: Version, approval: records.Approval) -> bool:
        if approval.path not in self._cache:
            hist = self._history()
            self._cache[approval.path] = signoff_verdict(hist, approval, self._dirty) is None
        return self._cache[approval.path]


def signature_check(source: Inventory | Path) -> Callable[[Version, records.Approval], bool]:
    """The ``is_signed`` hook for ``evaluate``/``promotion_gate`` (see :class:`SignedSignoffs`)."""
    return SignedSignoffs(source)
