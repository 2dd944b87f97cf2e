"""init, register, list, show, log: through the CLI, on real git repositories."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Mops, git, mops_executable, snapshot, write_card


def test_init_creates_inventory_in_new_folder(tmp_path: Path):
    m = Mops(tmp_path)
    m("init", "inv", "--name", "Acme Bank")
    repo = tmp_path / "inv"
    assert (repo / "mops.yaml").is_file() and (repo / "models").is_dir()
    assert "inventory: Acme Bank" in (repo / "mops.yaml").read_text()
    assert git(repo, "log", "--format=%s").splitlines() == ["init: Acme Bank"]
    assert "Mops-Action: init" in git(repo, "log", "-1", "--format=%B")
    assert git(repo, "status", "--porcelain") == ""


def test_init_in_existing_repo_keeps_user_changes(tmp_path: Path):
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "notes.txt").write_text("draft")
    git(repo, "add", "notes.txt")
    Mops(repo)("init")
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["models/.gitkeep",
                                                                               "mops.yaml"]
    assert git(repo, "status", "--porcelain").strip() == "A  notes.txt"


def test_second_init_is_refused(tmp_path: Path, inventory: Path):
    before = snapshot(inventory)
    r = Mops(inventory)("init", code=2)
    assert "already a mops inventory" in r.stderr
    assert snapshot(inventory) == before


def test_init_unknown_pack_writes_nothing(tmp_path: Path):
    r = Mops(tmp_path)("init", "inv", "--pack", "sr11-7", code=2)
    assert "--pack 'sr11-7': unknown built-in pack 'sr11-7'" in r.stderr
    assert not (tmp_path / "inv").exists()


def test_outside_an_inventory_says_run_init(tmp_path: Path):
    r = Mops(tmp_path)("list", code=2)
    assert "not a mops inventory" in r.stderr and "mops init" in r.stderr


def test_register_generated_card_and_artifact(inventory: Path, mops: Mops):
    art = inventory / "model.bin"
    art.write_bytes(b"weights" * 1000)
    mops("register", "credit-pd", "--version", "1.0.0", "--owner", "alice@acme.test", "--tier", "1",
         "--artifact", "model.bin", "--metric", "auc=0.81", "-m", "first cut")
    show = mops.json("show", "credit-pd@1.0.0", "--json")
    assert show["stage"] == "development"
    assert show["artifact"]["sha256"] == hashlib.sha256(art.read_bytes()).hexdigest()
    assert show["artifact"]["size"] == 7000
    assert show["metrics"] == {"auc": 0.81}
    assert show["card"]["owner"] == "alice@acme.test" and show["card"]["tier"] == 1
    assert show["evidence"] == [] and show["approvals"] == []
    assert show["digest"].startswith("sha256:")
    msg = git(inventory, "log", "-1", "--format=%B")
    for trailer in ("Mops-Action: register", "Mops-Model: credit-pd", "Mops-Version: 1.0.0",
                    "Mops-Actor: bob@acme.test"):
        assert trailer in msg
    assert "first cut" in msg
    # the artifact itself is the user's file: not committed by mops
    assert "model.bin" not in git(inventory, "show", "--name-only", "--format=", "HEAD")


def test_register_with_card_and_uri(inventory: Path, mops: Mops, tmp_path: Path):
    card = write_card(tmp_path / "card.md")
    sha = "ab" * 32
    mops("register", "credit-pd", "--version", "2.0", "--card", str(card),
         "--artifact", "s3://models/credit-pd/2.0.pkl", "--sha256", sha.upper())
    show = mops.json("show", "credit-pd", "--json")
    assert show["artifact"] == {"uri": "s3://models/credit-pd/2.0.pkl", "sha256": sha}
    assert show["card"]["license"] == "apache-2.0"  # Hugging Face keys are kept
    assert (inventory / "models/credit-pd/card.md").read_bytes() == card.read_bytes()


def test_new_version_may_update_card_and_latest_is_newest(inventory: Path, mops: Mops, tmp_path: Path):
    card = write_card(tmp_path / "card.md")
    mops("register", "credit-pd", "--version", "1.0", "--card", str(card))
    write_card(card, tier=2)
    mops("register", "credit-pd", "--version", "1.1", "--card", str(card))
    show = mops.json("show", "credit-pd", "--json")
    assert show["version"] == "1.1" and show["card"]["tier"] == 2 and show["versions"] == ["1.0", "1.1"]


def _assert_refused(inventory: Path, mops: Mops, args: list[str], message: str, code: int = 2):
    before = snapshot(inventory)
    r = mops(*args, code=code)
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert snapshot(inventory) == before, "a refused command changed the repository"
    return r


@pytest.mark.parametrize("args,message", [
    (["register", "../etc", "--version", "1", "--owner", "a@b.c", "--tier", "1"], "'..' and path separators"),
    (["register", "Credit", "--version", "1", "--owner", "a@b.c", "--tier", "1"], "invalid model name 'Credit'"),
    (["register", "m", "--version", "../1", "--owner", "a@b.c", "--tier", "1"], "invalid version name"),
    (["register", "m", "--version", "1"], "give its card with --card FILE"),
    (["register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "1", "--artifact", "nope.bin"],
     "--artifact nope.bin: no such file"),
    (["register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "1", "--artifact", "s3://b/k"],
     "give its digest with --sha256"),
    (["register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "1", "--sha256", "abc"],
     "--sha256 'abc': expected 64 hexadecimal digits"),
    (["register", "m", "--version", "1", "--owner", "alice", "--tier", "1"], "--owner 'alice'"),
    (["register", "m", "--version", "1", "--card", "missing.md"], "--card missing.md: no such file"),
    (["register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "1", "--metric", "auc"],
     "write NAME=VALUE"),
])
def test_register_bad_input_changes_nothing(inventory: Path, mops: Mops, args, message):
    _assert_refused(inventory, mops, args, message)


@pytest.mark.parametrize("content,message", [
    (b"no fences\n", "card.md:1: a model card must start with '---'"),
    (b"---\nid: other\n---\n", "card.md:2: the card's id is 'other' but the model is 'credit-pd'"),
    (b"---\nid: credit-pd\nx: [\n---\n", "invalid YAML"),
    (b"---\nid: credit-pd\n---\n\xff", "not valid UTF-8"),
])
def test_register_bad_card_names_file_and_line(inventory: Path, mops: Mops, tmp_path: Path, content, message):
    card = tmp_path / "card.md"
    card.write_bytes(content)
    r = _assert_refused(inventory, mops, ["register", "credit-pd", "--version", "1", "--card", str(card)], message)
    assert str(card) in r.stderr


def test_registered_version_is_immutable(inventory: Path, mops: Mops):
    mops("register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    _assert_refused(inventory, mops, ["register", "m", "--version", "1", "--sha256", "a" * 64],
                    "already registered, and a registered version is immutable")


def test_mops_commits_only_its_own_files(inventory: Path, mops: Mops):
    """A user's unrelated staged and unstaged changes stay as they were, out of the commit."""
    (inventory / "staged.txt").write_text("staged")
    git(inventory, "add", "staged.txt")
    (inventory / "mops.yaml").write_text((inventory / "mops.yaml").read_text() + "# my edit\n")
    (inventory / "scratch.txt").write_text("untracked")
    mops("register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    files = git(inventory, "show", "--name-only", "--format=", "HEAD").split()
    assert files == ["models/m/card.md", "models/m/versions/1/version.yaml"]
    status = set(git(inventory, "status", "--porcelain").splitlines())
    assert status == {"A  staged.txt", " M mops.yaml", "?? scratch.txt"}


def test_refuses_to_overwrite_uncommitted_edit(inventory: Path, mops: Mops, tmp_path: Path):
    mops("register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    card = inventory / "models/m/card.md"
    card.write_text(card.read_text() + "\nmy unsaved notes\n")
    new = write_card(tmp_path / "card.md", model="m")
    _assert_refused(inventory, mops, ["register", "m", "--version", "2", "--card", str(new)],
                    "models/m/card.md: has uncommitted changes")
    assert "my unsaved notes" in card.read_text()


def test_list_show_log(inventory: Path, mops: Mops):
    mops("register", "a-model", "--version", "1", "--owner", "a@b.c", "--tier", "2")
    mops("register", "b-model", "--version", "1", "--owner", "x@b.c", "--tier", "3")
    rows = mops.json("list", "--json")
    assert [(r["model"], r["version"], r["stage"], r["tier"], r["owner"]) for r in rows] == [
        ("a-model", "1", "development", 2, "a@b.c"), ("b-model", "1", "development", 3, "x@b.c")]
    assert all({"model", "version", "stage", "tier", "owner", "compliant"} <= r.keys() for r in rows)
    assert mops.json("list", "--stage", "production", "--json") == []
    assert "--stage 'prod'" in mops("list", "--stage", "prod", code=2).stderr
    text = mops("list").stdout
    assert "a-model" in text and "b-model" in text
    log = mops.json("log", "--json")
    assert [e["action"] for e in log][:2] == ["register", "register"]
    assert {"commit", "at", "actor", "action", "model", "version"} <= log[0].keys()
    assert [e["model"] for e in mops.json("log", "a-model", "--json")] == ["a-model"]
    assert "unknown model 'zzz'" in mops("show", "zzz", code=2).stderr
    assert "has no version '9'" in mops("show", "a-model@9", code=2).stderr


def test_log_shows_hand_edits(inventory: Path, mops: Mops):
    mops("register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    card = inventory / "models/m/card.md"
    card.write_text(card.read_text().replace("tier: 3", "tier: 1"))
    git(inventory, "commit", "-qam", "bump tier by hand")
    log = mops.json("log", "m", "--json")
    assert log[0]["action"] == "edit" and log[0]["by_mops"] is False


def test_json_output_is_pure_json(inventory: Path, mops: Mops):
    import json

    mops("register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    for args in (["list", "--json"], ["show", "m", "--json"], ["log", "--json"]):
        json.loads(mops(*args).stdout)


def test_missing_identity_is_a_clear_error(inventory: Path, mops: Mops, monkeypatch):
    for var in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("EMAIL", "")
    git(inventory, "config", "user.useConfigOnly", "true")
    _assert_refused(inventory, mops, ["register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3"],
                    "git config user.email")


def test_dash_c_and_version(tmp_path: Path):
    from typer.testing import CliRunner

    from mops import __version__
    from mops.main import app

    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"mops {__version__}"
    r = CliRunner().invoke(app, ["-C", str(tmp_path / "nope"), "list"])
    assert r.exit_code == 2 and "-C" in r.stderr


def test_concurrent_writers_all_commit(inventory: Path):
    """Writers queue on the lock: every one of them makes its commit."""
    mops_bin = mops_executable()
    procs = [subprocess.Popen([mops_bin, "-C", str(inventory), "register", f"m{i}", "--version", "1",
                               "--owner", "a@b.c", "--tier", "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    subjects = git(inventory, "log", "--format=%s").splitlines()
    assert sorted(s for s in subjects if s.startswith("register")) == sorted(
        f"register: m{i}@1" for i in range(8))
    assert git(inventory, "status", "--porcelain") == ""


def test_check_with_no_packs_says_nothing_was_checked(inventory: Path, mops: Mops):
    settings = inventory / "mops.yaml"
    settings.write_text(settings.read_text().replace("policies: [baseline@2]", "policies: []"))
    git(inventory, "commit", "-qam", "no packs")
    mops("register", "m", "--version", "1", "--owner", "a@b.c", "--tier", "3")
    r = mops("check")
    assert "no policy rule was evaluated: no policy pack is in force" in r.stderr
    r = mops("check", "--format", "github")
    assert "::warning title=mops check::no policy rule was evaluated" in r.stdout
