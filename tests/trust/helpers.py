"""Real SSH keys (``ssh-keygen``) and a signed inventory to attack."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Mops, git
from tests.policy.helpers import BOB, CAROL, DANA, act, evidence, register

MALLORY = ("Mallory", "mallory@acme.test")
VDIR = "models/credit-pd/versions/1.0.0"


class Keys:
    """ed25519 key pairs made with ssh-keygen in tmp_path, one per person."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(exist_ok=True)

    def path(self, name: str) -> Path:
        key = self.folder / name
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                            str(key)], check=True)
        return key

    def public(self, name: str) -> str:
        """``ssh-ed25519 AAAA...`` (without the comment)."""
        return " ".join((self.path(name).with_suffix(".pub")).read_text().split()[:2])

    def line(self, email: str, name: str) -> str:
        """An allowed-signers line: ``email ssh-ed25519 AAAA...``."""
        return f"{email} {self.public(name)}"

    def use(self, monkeypatch: pytest.MonkeyPatch, name: str | None) -> None:
        """Set up git to sign with ``name``'s key (None: not set up to sign)."""
        if name is None:
            monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
            return
        config = {"gpg.format": "ssh",
                  "user.signingkey": str(self.path(name).with_suffix(".pub"))}
        monkeypatch.setenv("GIT_CONFIG_COUNT", str(len(config)))
        for i, (key, value) in enumerate(config.items()):
            monkeypatch.setenv(f"GIT_CONFIG_KEY_{i}", key)
            monkeypatch.setenv(f"GIT_CONFIG_VALUE_{i}", value)


def set_signing(repo: Path, mode: str) -> None:
    path = repo / "mops.yaml"
    text = path.read_text()
    for old in ("signing: optional", "signing: required"):
        text = text.replace(old, f"signing: {mode}")
    path.write_text(text)


def write_signers(repo: Path, *lines: str) -> None:
    path = repo / ".mops" / "allowed_signers"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    git(repo, "add", ".mops/allowed_signers")


def commit(repo: Path, message: str, *paths: str, sign: bool = False) -> str:
    """A hand-made commit (what someone with write access can always do)."""
    git(repo, "add", "-A", *paths)
    git(repo, "commit", "-q", *(["-S"] if sign else ["--no-gpg-sign"]), "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@dataclass
class Team:
    """A signed inventory: carol and dana listed as signers, ``signing: required``."""

    repo: Path
    mops: Mops
    keys: Keys
    monkeypatch: pytest.MonkeyPatch
    ref: str = "credit-pd@1.0.0"

    def act(self, who: tuple[str, str], key: str | None) -> None:
        act(self.monkeypatch, who)
        self.keys.use(self.monkeypatch, key)

    def approve(self, who: tuple[str, str] = CAROL, key: str | None = "carol",
                role: str = "validator", code: int = 0) -> str:
        self.act(who, key)
        r = self.mops("approve", self.ref, "--role", role, code=code)
        return r.stdout.split("sign-off ")[1].split(",")[0] if code == 0 else r.stderr

    def verify(self, *args: str, code: int | None = None) -> dict:
        return self.mops.json("verify", "--json", *args, code=code)

    def problems(self, *args: str) -> list[tuple[str, str]]:
        data = self.verify(*args)
        assert data["ok"] is (not data["problems"])
        return [(p["path"], p["problem"]) for p in data["problems"]]


def make_team(repo: Path, mops: Mops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
              signing: str = "required") -> Team:
    """Carol (validator), Dana (risk officer, who governs) and Bob (developer) listed as
    signers; Dana sets up the signers and the signing mode (the trust anchor: before it,
    signing was optional); Bob registers credit-pd@1.0.0 and adds a validation report,
    both signed with his key (under ``required`` every mops commit is signed)."""
    keys = Keys(tmp_path / "keys")
    team = Team(repo, mops, keys, monkeypatch)
    team.act(DANA, "dana")
    write_signers(repo, keys.line(CAROL[1], "carol"), keys.line(DANA[1], "dana"),
                  keys.line(BOB[1], "bob"))
    set_signing(repo, signing)
    commit(repo, "signers and signing", sign=True)
    team.act(BOB, "bob")
    register(mops, tmp_path)
    evidence(mops, tmp_path, team.ref, "validation-report")
    return team


def evil_merge(team: Team) -> None:
    """Two branches, merged with ``--no-commit``: what is staged next is the merge's own."""
    team.act(BOB, None)
    git(team.repo, "checkout", "-q", "-b", "side")
    (team.repo / "side.txt").write_text("x\n")
    commit(team.repo, "side work")
    git(team.repo, "checkout", "-q", "main")
    (team.repo / "main.txt").write_text("y\n")
    commit(team.repo, "main work")
    git(team.repo, "merge", "-q", "--no-commit", "--no-ff", "side")
