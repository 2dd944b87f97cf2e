"""Drift reads inside the inventory only, and never quotes a file in an error (issue 12, item 10).

A card's ``monitoring.reference`` and ``monitoring.logs`` (and mops.yaml's
``monitoring.logs``) arrive by pull request: absolute, with ``..``, or through a
committed symbolic link, they once made ``mops drift`` read any file of the machine
and print one of its lines into the CI log. Each attack here has a twin inside the
inventory that is read as before.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Mops, git

SECRET = "hunter2-the-secret-line"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the inventory, shaped like a log, with a secret in every line."""
    path = tmp_path / "outside" / "secret.csv"
    path.parent.mkdir()
    path.write_text(f"{SECRET}:x:0:0,{SECRET}\n" * 3)
    return path


@pytest.fixture
def current(tmp_path: Path) -> Path:
    path = tmp_path / "current.csv"
    path.write_text("income\n" + "".join(f"{i}\n" for i in range(50)))
    return path


def _card(inventory: Path, tmp_path: Path, mops: Mops, monitoring: str, model: str = "m") -> None:
    card = tmp_path / f"{model}.md"
    card.write_text(f"---\nid: {model}\nname: M\nowner: alice@acme.test\ntier: 2\n"
                    f"monitoring:\n{monitoring}---\nBody.\n")
    mops("register", model, "--version", "1", "--card", str(card))


def _reference(inventory: Path, rel: str = "data/ref.csv") -> Path:
    path = inventory / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("income\n" + "".join(f"{i}\n" for i in range(50)))
    return path


def _quiet(result) -> None:
    """Nothing of the outside file's content in any output."""
    assert SECRET not in result.stdout + result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink", "symlinked-folder"])
def test_a_reference_outside_the_inventory_is_refused(inventory: Path, tmp_path: Path,
                                                      mops: Mops, outside: Path, current: Path,
                                                      where: str):
    if where == "absolute":
        rel = str(outside)
    elif where == "dotdot":
        rel = os.path.relpath(outside, inventory)
        assert rel.startswith("..")
    elif where == "symlink":
        rel = "data/ref.csv"
        (inventory / "data").mkdir()
        (inventory / rel).symlink_to(outside)
    else:
        rel = "data/ref/secret.csv"
        (inventory / "data").mkdir()
        (inventory / "data/ref").symlink_to(outside.parent)
    git(inventory, "add", "-A")
    git(inventory, "commit", "-qm", "reference data", "--allow-empty")
    _card(inventory, tmp_path, mops, f"  reference: {rel}\n  features: [income]\n")
    r = mops("drift", "m", "--current", str(current), code=2)
    _quiet(r)
    assert "monitoring.reference" in r.stderr and "inside the inventory" in r.stderr, r.stderr


def test_the_twin_a_reference_inside_even_through_a_link_is_read(inventory: Path, tmp_path: Path,
                                                                 mops: Mops, current: Path):
    _reference(inventory, "data/real/ref.csv")
    (inventory / "data/ref.csv").symlink_to("real/ref.csv")  # a link that stays inside
    git(inventory, "add", "-A")
    git(inventory, "commit", "-qm", "reference data")
    _card(inventory, tmp_path, mops, "  reference: data/ref.csv\n  features: [income]\n")
    doc = mops.json("drift", "m", "--current", str(current), "--json", code=None)
    assert doc["rows"] == {"reference": 50, "current": 50}


def test_paths_given_on_the_command_line_are_the_users_choice(inventory: Path, tmp_path: Path,
                                                               mops: Mops, current: Path):
    """--reference and --current are typed by the person running mops: anywhere is fine."""
    ref = tmp_path / "elsewhere.csv"
    ref.write_text(current.read_text())
    _card(inventory, tmp_path, mops, "  features: [income]\n")
    doc = mops.json("drift", "m", "--current", str(current), "--reference", str(ref), "--json",
                    code=None)
    assert doc["rows"]["reference"] == 50


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlinked-file"])
def test_a_log_pattern_outside_the_inventory_is_a_problem(inventory: Path, tmp_path: Path,
                                                          mops: Mops, outside: Path, where: str):
    _reference(inventory)
    if where == "absolute":
        pattern = f"{outside.parent}/*.csv"
    elif where == "dotdot":
        pattern = os.path.relpath(outside.parent, inventory) + "/*.csv"
    else:
        pattern = "logs/{model}/*.csv"
        (inventory / "logs/m").mkdir(parents=True)
        (inventory / "logs/m/2026-06.csv").symlink_to(outside)
    git(inventory, "add", "-A")
    git(inventory, "commit", "-qm", "logs")
    _card(inventory, tmp_path, mops, f"  reference: data/ref.csv\n  features: [income]\n"
                                     f"  logs: '{pattern}'\n")
    vfile = inventory / "models/m/versions/1/version.yaml"
    vfile.write_text(vfile.read_text().replace("stage: development", "stage: production"))
    git(inventory, "commit", "-qam", "in production")
    r = mops("drift", "--all", "--format", "json", code=None)
    assert r.exit_code != 0
    _quiet(r)
    assert "inside the inventory" in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_readers_never_quote_the_file(inventory: Path, tmp_path: Path, mops: Mops,
                                      current: Path):
    """A malformed reference inside the inventory: the error names the file and what is
    wrong, and quotes none of its lines or values."""
    ref = _reference(inventory)
    _card(inventory, tmp_path, mops, "  reference: data/ref.csv\n  features: [income]\n")
    for text in (f"income\n1\n2,{SECRET}\n",                   # a row with a column too many
                 f"income\n1\n{SECRET}\n",                     # a value that is not a number
                 f"{SECRET}:x:0:0:root:/root:/bin/bash\n1\n"):  # no such column: the header
        ref.write_text(text)
        r = mops("drift", "m", "--current", str(current), code=2)
        _quiet(r)
        assert "data/ref.csv" in r.stderr, r.stderr
    # The twin: column names that look like names are still listed, to help with typos.
    ref.write_text("incme,age\n1,2\n")
    r = mops("drift", "m", "--current", str(current), code=2)
    assert "missing column 'income'" in r.stderr and "'incme'" in r.stderr, r.stderr
