"""The command line says what it wants: did-you-mean for models, the date formats
--as-of takes, repeatable --current, usage lines as the README writes them, monitoring
results in `show`, and the commit every mutating command made."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import typer

from mops.demo.data import write_credit_logs
from mops.main import app
from tests.conftest import CARD, Mops, as_person, git, mops_executable, snapshot, write_card
from tests.test_meta import _commands


@pytest.fixture
def registered(inventory: Path, mops: Mops, tmp_path: Path) -> Mops:
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(write_card(tmp_path / "c.md")),
         "--sha256", "a" * 64)
    mops("register", "fraud-detect", "--version", "2.0", "--owner", "erin@acme.test", "--tier", "2")
    return mops


# ---------------------------------------------------------------- did you mean


@pytest.mark.parametrize("args", [
    ["show", "credt-pd"],
    ["show", "credit-p@1.0.0"],
    ["log", "credit-pdd"],
    ["check", "credit_pd"],
    ["approve", "credt-pd@1.0.0", "--role", "validator"],
    ["promote", "credit-pb", "--to", "validation"],
    ["retire", "credit-pdx", "--reason", "r"],
    ["finding", "add", "credt-pd", "--severity", "low", "--title", "t"],
    ["waive", "credt-pd", "--rule", "BL-OWNER", "--expires", "2099-01-01", "--reason", "r"],
    ["drift", "--all", "credt-pd"],
    ["drift", "credt-pd", "--current", "x.csv"],
    ["audit", "credt-pd", "--out", "r.html"],
])
def test_an_unknown_model_gets_the_closest_names(inventory: Path, registered: Mops, args: list[str]):
    before = snapshot(inventory)
    r = registered(*args, code=2)
    assert "did you mean 'credit-pd'?" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert snapshot(inventory) == before
    assert not (inventory / "r.html").exists()


def test_no_suggestion_for_a_name_like_none_of_them(registered: Mops):
    r = registered("show", "zzzzzz", code=2)
    assert "unknown model 'zzzzzz'" in r.stderr and "did you mean" not in r.stderr
    assert "`mops list` shows the models" in r.stderr


def test_a_suggestion_per_unknown_model(registered: Mops):
    r = registered("audit", "credt-pd", "fraud-detekt", "--out", "r.html", code=2)
    assert "'credt-pd' (did you mean 'credit-pd'?)" in r.stderr
    assert "'fraud-detekt' (did you mean 'fraud-detect'?)" in r.stderr


def test_the_evidence_command_suggests_too(inventory: Path, registered: Mops, tmp_path: Path):
    doc = tmp_path / "v.md"
    doc.write_text("# report\n")
    before = snapshot(inventory)
    r = registered("evidence", "add", "credit-pdd@1.0.0", str(doc), "--kind", "validation-report",
                   code=2)
    assert "did you mean 'credit-pd'?" in r.stderr
    assert snapshot(inventory) == before


# ---------------------------------------------------------------- --as-of


@pytest.mark.parametrize("value", ["29-11-2026", "2026/11/29", "11/29/2026", "no-such-branch"])
def test_as_of_names_the_formats_it_takes(registered: Mops, inventory: Path, value: str):
    r = registered("audit", "--as-of", value, "--out", "r.html", code=2)
    assert f"--as-of {value!r}" in r.stderr
    assert "YYYY-MM-DD" in r.stderr and "revision" in r.stderr
    assert not (inventory / "r.html").exists()


def test_as_of_still_takes_a_date_and_a_revision(registered: Mops, inventory: Path):
    import datetime as dt

    registered("audit", "--as-of", dt.date.today().isoformat(), "--out", "a.html")
    registered("audit", "--as-of", "HEAD~1", "--out", "b.html")
    assert (inventory / "a.html").exists() and (inventory / "b.html").exists()


# ---------------------------------------------------------------- --current


def test_several_paths_after_one_current_say_to_repeat_the_option(registered: Mops, inventory: Path):
    before = snapshot(inventory)
    r = registered("drift", "credit-pd", "--current", "a.csv", "b.csv", "--record", code=2)
    assert "--current takes one PATH" in r.stderr
    assert "--current a.csv --current b.csv" in r.stderr
    assert snapshot(inventory) == before


def test_current_is_repeatable_and_its_help_says_so():
    drift = dict(_commands(app))["drift"]
    option = next(p for p in drift.params if "--current" in getattr(p, "opts", []))
    assert option.multiple and "repeat" in option.help
    assert "PATH..." not in (option.metavar or "")


# ---------------------------------------------------------------- usage lines


def _usage(path: str) -> str:
    r = Mops(Path.cwd())(*path.split(), "--help")
    return next(line for line in r.stdout.splitlines() if line.startswith("Usage:"))


def test_usage_lines_spell_arguments_as_the_readme_does():
    """MODEL, MODEL@V, MODEL[@V]: bare when required, [..] when optional, ... when repeatable;
    never Typer's {MODEL} or a lower-case name."""
    usages = {path: _usage(path) for path, _ in _commands(app)}
    for path, line in usages.items():
        assert "{" not in line and "}" not in line, line
        words = line.split()[2 + len(path.split()):]
        assert all(w == "[OPTIONS]" or not re.search(r"[a-z]", w.strip("[]."))
                   for w in words), line
    assert usages["register"].endswith("mops register [OPTIONS] MODEL")
    assert usages["show"].endswith("MODEL[@V]")
    assert usages["approve"].endswith("MODEL@V")
    assert usages["log"].endswith("[MODEL]")
    assert usages["check"].endswith("[MODEL[@V]]...")
    assert usages["evidence add"].endswith("MODEL@V FILE...")


def test_readme_headings_use_the_same_spelling():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    headings = re.findall(r"^### `(mops [^`]*)`", readme, re.M)
    assert headings
    for h in headings:
        assert "{" not in h and "MODEL@VERSION" not in h and "PATH..." not in h, h


# ---------------------------------------------------------------- show: monitoring


def monitored_version(inventory: Path, mops: Mops, version: str, rows: tuple[int, int]) -> dict:
    """credit-pd@VERSION with a monitoring plan (income, region; score) and its reference
    committed; the credit logs, by month."""
    logs = write_credit_logs(inventory / "data/credit-pd", reference_rows=rows[0], month_rows=rows[1])
    git(inventory, "add", "data/credit-pd/reference.parquet")
    git(inventory, "commit", "-qm", "reference")
    card = CARD.format(id="credit-pd", tier=1).replace(
        "license: apache-2.0\n", "license: apache-2.0\nmonitoring:\n  reference: "
        "data/credit-pd/reference.parquet\n  features: [income, region]\n  prediction: score\n")
    (inventory.parent / f"card-{version}.md").write_text(card)
    mops("register", "credit-pd", "--version", version, "--card", str(inventory.parent / f"card-{version}.md"),
         "--sha256", "b" * 64)
    return logs


def test_show_lists_monitoring_results(inventory: Path, registered: Mops):
    logs = monitored_version(inventory, registered, "1.1.0", (400, 600))
    registered("drift", "credit-pd@1.1.0", "--current", str(logs["2026-09"]), "--record",
               "--window", "2026-09")
    registered("drift", "credit-pd@1.1.0", "--current", str(logs["2026-10"]), "--record",
               "--window", "2026-10", code=1)
    data = registered.json("show", "credit-pd@1.1.0", "--json")
    assert sorted((m["window"], m["breach"]) for m in data["monitoring"]) == [("2026-09", False),
                                                                               ("2026-10", True)]
    text = registered("show", "credit-pd@1.1.0").stdout
    assert "monitoring:  2" in text
    lines = {line.split("window ")[1].split()[0]: line for line in text.splitlines()
             if line.strip().startswith("D-")}
    assert sorted(lines) == ["2026-09", "2026-10"]
    assert "no breach" in lines["2026-09"] and "DRIFT" in lines["2026-10"]
    assert "monitoring:  none" in registered("show", "credit-pd@1.0.0").stdout


# ---------------------------------------------------------------- the commit each makes


def _head(repo: Path) -> tuple[str, str]:
    sha, subject = git(repo, "log", "-1", "--format=%H%x00%s").strip().split("\0")
    return sha, subject


def _prints_head(out: str, repo: Path) -> None:
    sha, subject = _head(repo)
    assert f"[{sha[:12]}] {subject}" in out.splitlines(), (out, sha, subject)


def test_every_mutating_command_prints_its_commit(inventory: Path, registered: Mops,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    m = registered
    _prints_head(m("register", "credit-pd", "--version", "1.0.1", "--sha256", "c" * 64).stdout, inventory)
    doc = tmp_path / "v.md"
    doc.write_text("# validation\n")
    _prints_head(m("evidence", "add", "credit-pd@1.0.0", str(doc), "--kind", "validation-report").stdout,
                 inventory)
    _prints_head(m("promote", "credit-pd@1.0.0", "--to", "validation").stdout, inventory)
    r = m("finding", "add", "credit-pd", "--severity", "low", "--title", "Tidy the card")
    finding = r.stdout.strip()
    assert re.fullmatch(r"F-[0-9a-f]+", finding), r.stdout   # the id alone on stdout
    _prints_head(r.stderr, inventory)
    r = m("finding", "add", "credit-pd", "--severity", "low", "--title", "Another", "--json")
    doc_json = __import__("json").loads(r.stdout)
    assert doc_json["commit"] == _head(inventory)[0] and doc_json["subject"] == _head(inventory)[1]
    assert doc_json["id"].startswith("F-")
    _prints_head(m("finding", "close", "credit-pd", finding, "--comment", "done").stdout, inventory)
    as_person(monkeypatch, "Carol Validator", "carol@acme.test")
    _prints_head(m("approve", "credit-pd@1.0.0", "--role", "validator").stdout, inventory)
    as_person(monkeypatch, "Dana Risk", "dana@acme.test")
    _prints_head(m("waive", "credit-pd", "--rule", "BL-OWNER", "--expires",
                   __import__("datetime").date.today().isoformat(), "--reason", "r").stdout, inventory)
    _prints_head(m("retire", "fraud-detect", "--reason", "replaced").stdout, inventory)
    _prints_head(m("init", "--github").stdout, inventory)
    second = tmp_path / "second"
    _prints_head(Mops(tmp_path)("init", str(second)).stdout, second)


def test_drift_record_prints_its_commit_and_json_names_it(inventory: Path, registered: Mops):
    logs = monitored_version(inventory, registered, "1.2.0", (300, 400))
    # (the verdict does not matter here: a small sample may or may not drift)
    r = registered("drift", "credit-pd@1.2.0", "--current", str(logs["2026-09"]), "--record",
                   code=None)
    assert r.exit_code in (0, 1), r.stderr
    _prints_head(r.stderr, inventory)
    doc = registered.json("drift", "credit-pd@1.2.0", "--current", str(logs["2026-09"]), "--record",
                          "--json", code=None)
    sha, subject = _head(inventory)
    assert doc["recorded"]["commit"] == sha and doc["recorded"]["subject"] == subject
    assert doc["recorded"]["path"].startswith("models/credit-pd/versions/1.2.0/monitoring/")
    assert {"model", "version", "dataset_drift", "columns"} <= doc.keys()
    unrecorded = registered.json("drift", "credit-pd@1.2.0", "--current", str(logs["2026-09"]),
                                 "--json", code=None)
    assert "recorded" not in unrecorded and _head(inventory)[0] == sha


def test_the_installed_script_prints_the_commit(inventory: Path, registered: Mops):
    """Through a real process, not only CliRunner."""
    proc = subprocess.run([mops_executable(), "promote", "credit-pd@1.0.0", "--to", "validation"],
                          cwd=inventory, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    _prints_head(proc.stdout, inventory)


def test_a_refused_command_prints_no_commit(inventory: Path, registered: Mops):
    before = snapshot(inventory)
    r = registered("approve", "credit-pd@1.0.0", "--role", "validator", code=1)  # bob: no validator
    assert not re.search(r"^\[[0-9a-f]{12}\] ", r.stdout + r.stderr, re.M)
    assert snapshot(inventory) == before


def test_typer_is_what_the_usage_class_extends():
    """The usage lines come from a subclass of Typer's own command class (no Click import)."""
    from typer.core import TyperCommand

    from mops.commands.options import Command

    assert issubclass(Command, TyperCommand)
    assert isinstance(typer.main.get_command(app).commands["show"], Command)


# ---------------------------------------------------------------- init --role


def test_init_lists_the_roles_given(tmp_path: Path):
    import yaml

    r = Mops(tmp_path)("init", "inv", "--role", "validator=carol@acme.test",
                       "--role", "risk-officer=Dana@acme.test", "--role", "validator=val@acme.test")
    settings = yaml.safe_load((tmp_path / "inv" / "mops.yaml").read_text())
    assert settings["roles"] == {"validator": ["carol@acme.test", "val@acme.test"],
                                 "risk-officer": ["dana@acme.test"]}
    _prints_head(r.stdout, tmp_path / "inv")
    assert git(tmp_path / "inv", "status", "--porcelain") == ""


@pytest.mark.parametrize("value", ["validator", "validator=", "=carol@acme.test", "validator=carol",
                                   "Val idator=carol@acme.test", "../x=carol@acme.test"])
def test_init_refuses_a_malformed_role_and_writes_nothing(tmp_path: Path, value: str):
    r = Mops(tmp_path)("init", "inv", "--role", value, code=2)
    assert f"--role {value!r}" in r.stderr
    assert not (tmp_path / "inv").exists()


def test_role_is_for_a_new_inventory(inventory: Path, mops: Mops):
    before = snapshot(inventory)
    r = mops("init", "--github", "--role", "validator=eve@acme.test", code=2)
    assert "--role" in r.stderr
    assert snapshot(inventory) == before


# ---------------------------------------------------------------- a reader that goes away


@pytest.mark.parametrize("args", [["list", "--json"], ["check", "--format", "json"], ["show", "credit-pd"]])
def test_a_reader_that_closes_the_pipe_is_not_an_internal_error(inventory: Path, registered: Mops,
                                                                 args: list[str]):
    """`mops check | head`: the reader closes the pipe before mops writes; mops exits as a
    program killed by SIGPIPE (141) with nothing on stderr, not "internal error" (3)."""
    proc = subprocess.Popen([mops_executable(), *args], cwd=inventory, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the only reader: every write mops makes now fails with EPIPE
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""
