"""SSH-signed sign-offs: whether to sign, and whether a sign-off is proven signed.

A signature counts only if *git* verifies it (``%G?`` with ``gpg.ssh.allowedSignersFile``
set to the inventory's ``.mops/allowed_signers`` **as it stood in the commit's parent**),
and git reports a principal that names the person the record names. Reading the
signers from the parent means nobody can add their own key and use it in the same
change. Nothing here checks a signature by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mops import git
from mops.errors import PolicyError
from mops.inventory import records
from mops.inventory.layout import MODELS_DIR
from mops.inventory.store import Inventory, Version
from mops.trust.history import History, uncommitted
from mops.trust.signers import KEY_RE, committed_signers, is_listed, signature_problem

SETUP_HELP = ("run `git config gpg.format ssh` and `git config user.signingkey "
              "~/.ssh/id_ed25519.pub`, and have your public key added to .mops/allowed_signers "
              "as a line `{email} ssh-ed25519 AAAA...` (committed, signed by someone already "
              "listed there)")


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
    match = KEY_RE.search(value)
    if match:
        return match[1], match[2]
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = top / path
    for candidate in (path, Path(f"{path}.pub")):
        try:
            if candidate.is_file() and candidate.stat().st_size < 64 * 1024:
                match = KEY_RE.search(candidate.read_text("utf-8", "replace"))
                if match:
                    return match[1], match[2]
        except OSError:
            continue
    return None  # a private key without its .pub beside it: git can sign, we cannot tell


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
    actor = inv.identity().email
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
