"""Hostile input: YAML bombs, deep nesting, binary and oversized files, symlinks, look-alike names.

Property-based tests (hypothesis) drive the name validators and every record loader
with arbitrary input: a loader may refuse, but only with ``RecordError``/``MopsError``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mops.errors import InvalidNameError, MopsError
from mops.inventory import names, records, yamlio
from mops.inventory.records import load_monitoring
from mops.inventory.store import Inventory
from tests.conftest import Mops, git, mops_executable, snapshot, write_card
from tests.policy.helpers import register
from tests.trust.helpers import VDIR, commit

QUICK = 2.0  # seconds: "refused quickly", with room for a slow CI machine


@pytest.fixture
def ref(inventory: Path, mops: Mops, tmp_path: Path) -> str:
    return register(mops, tmp_path)


def plant(repo: Path, rel: str, data: bytes) -> str:
    """Commit a hand-made file, as anyone with write access can."""
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    commit(repo, f"plant {rel}")
    return rel


def timed(mops: Mops, *args: str, code: int):
    started = time.monotonic()
    r = mops(*args, code=code)
    return r, time.monotonic() - started


# ----------------------------------------------------------------------------- YAML


BOMB = (b"id: A-b0mb00\nrole: validator\ndecision: approve\nby: carol@acme.test\nat: x\n"
        + b"".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n".encode()
                   for i in range(1, 10)).replace(b"*l0", b"lol")
        + b"digest: sha256:" + b"0" * 64 + b"\n")


def test_alias_bomb_is_refused_quickly_by_check_and_verify(inventory: Path, mops: Mops, ref: str):
    """A billion laughs (10^9 strings if expanded) in a sign-off: refused, file:line named."""
    rel = plant(inventory, f"{VDIR}/approvals/A-b0mb00.yaml", BOMB)
    r, took = timed(mops, "check", code=2)
    assert took < QUICK
    assert f"{rel}:7:" in r.stderr and "YAML aliases (*name) are not allowed" in r.stderr
    data, took = timed(mops, "verify", "--json", code=1)
    assert took < QUICK
    problems = {p["path"]: p["problem"] for p in json.loads(data.stdout)["problems"]}
    assert problems[rel].startswith("line 7: YAML aliases")


@pytest.mark.parametrize("text", [
    "a: " + "[" * 1000 + "]" * 1000, "- " * 1000 + "x", "a: " + "{a: " * 1000 + "1" + "}" * 1000,
    "".join(" " * i + "k:\n" for i in range(1000)),
], ids=["flow-sequences", "block-sequences", "flow-mappings", "block-mappings"])
def test_deeply_nested_documents_are_refused_quickly(text: str):
    started = time.monotonic()
    with pytest.raises(MopsError, match="nested more than 32 levels deep"):
        yamlio.load_yaml("deep.yaml", text)
    assert time.monotonic() - started < QUICK


def test_a_document_deep_enough_to_crash_the_parser_is_refused(inventory: Path, ref: str):
    rel = plant(inventory, f"{VDIR}/approvals/A-deep00.yaml",
                b"id: A-deep00\nx: " + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    started = time.monotonic()
    proc = subprocess.run([mops_executable(), "-C", str(inventory), "show", ref, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stderr[-300:]}"
    assert f"{rel}:2:" in proc.stderr and "nested more than 32 levels deep" in proc.stderr
    assert time.monotonic() - started < QUICK + 1


# ----------------------------------------------------------------------------- sizes, binaries


def test_binary_and_oversized_cards_are_refused_with_their_size(inventory: Path, mops: Mops,
                                                                tmp_path: Path):
    before = snapshot(inventory)
    binary = tmp_path / "card.md"
    binary.write_bytes(b"---\nid: m\n---\n\x00\x01\x02 PNG\x89")
    r = mops("register", "m", "--version", "1", "--card", str(binary), code=2)
    assert "binary file (contains NUL bytes)" in r.stderr
    big = write_card(tmp_path / "big.md", model="m")
    big.write_text(big.read_text() + "x" * 2_000_000)
    size = big.stat().st_size
    r = mops("register", "m", "--version", "1", "--card", str(big), code=2)
    assert f"file is {size:,} bytes; records may be at most 1,048,576 bytes" in r.stderr
    assert snapshot(inventory) == before


def test_oversized_and_binary_records_in_the_inventory_are_named_by_verify(inventory: Path,
                                                                          mops: Mops, ref: str):
    big = plant(inventory, f"{VDIR}/approvals/A-b1g000.yaml", b"comment: " + b"y" * 1_500_000)
    binary = plant(inventory, f"{VDIR}/evidence/E-b1n000.yaml", b"id: E-b1n000\n\x00\xff")
    r = mops("check", code=2)  # stops at the first malformed file
    assert "E-b1n000.yaml: binary file" in r.stderr or "1,500,009 bytes" in r.stderr
    problems = {p["path"]: p["problem"] for p in mops.json("verify", "--json", code=1)["problems"]}
    assert problems[big] == "file is 1,500,009 bytes; records may be at most 1,048,576 bytes"
    assert problems[binary] == "binary file (contains NUL bytes), expected UTF-8 text"


# ----------------------------------------------------------------------------- symlinks


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text(write_card(tmp_path / "c.md", model="credit-pd").read_text())
    return secret


def test_symlinked_card_pointing_outside_is_not_followed(inventory: Path, mops: Mops, ref: str,
                                                         outside: Path):
    card = inventory / "models" / "credit-pd" / "card.md"
    card.unlink()
    card.symlink_to(outside)
    r = mops("show", ref, code=2)
    assert "models/credit-pd/card.md: is a symbolic link that points outside the inventory" \
        in r.stderr


def test_symlinked_model_folder_pointing_outside_is_not_followed(inventory: Path, mops: Mops,
                                                                 outside: Path):
    (inventory / "models" / "evil").symlink_to(outside.parent)
    r = mops("list", code=2)
    assert "models/evil: is a symbolic link that points outside the inventory" in r.stderr


def test_symlinked_evidence_files_are_reported_by_verify(inventory: Path, mops: Mops, ref: str,
                                                         tmp_path: Path):
    from tests.policy.helpers import evidence

    evidence(mops, tmp_path, ref, "validation-report", content="same bytes\n")
    evidence(mops, tmp_path, ref, "benchmarking", content="same bytes\n")
    files = sorted((inventory / VDIR / "evidence" / "files").rglob("*.txt"))
    copy = tmp_path / "outside-copy.txt"
    copy.write_text("same bytes\n")  # the digest would match: the link itself is the problem
    files[0].unlink()
    files[0].symlink_to(copy)
    files[1].unlink()
    files[1].symlink_to(files[0].parent.parent / "elsewhere.txt")
    (files[0].parent.parent / "elsewhere.txt").write_text("same bytes\n")
    problems = {p["path"]: p["problem"] for p in mops.json("verify", "--json", code=1)["problems"]}
    rel = [f.relative_to(inventory).as_posix() for f in files]
    assert problems[rel[0]] == "is a symbolic link that points outside the inventory; mops does " \
                               "not follow it"
    assert problems[rel[1]] == "is a symbolic link; evidence files are regular files"


def test_symlinks_in_history_are_not_followed(inventory: Path, mops: Mops, ref: str,
                                             outside: Path):
    card = inventory / "models" / "credit-pd" / "card.md"
    card.unlink()
    card.symlink_to(outside)
    rev = commit(inventory, "card as a link")
    card.unlink()
    git(inventory, "checkout", "-q", "HEAD~1", "--", "models/credit-pd/card.md")
    commit(inventory, "card back")
    then = Inventory.open(inventory).at(rev)
    with pytest.raises(MopsError, match="card.md: is a symbolic link; mops does not follow links "
                                        "in history"):
        then.model("credit-pd")
    then.close()


# ----------------------------------------------------------------------------- names


HOSTILE_NAMES = {
    "cyrillic-e": "cr\u0435dit-pd",
    "fullwidth-c": "\uff43redit-pd",
    "zero-width-space": "credit\u200b-pd",
    "right-to-left-override": "credit-\u202edp",
    "combining-accent": "credit-pd\u0301",
    "dotless-i": "cred\u0131t-pd",
    "terminal-escape": "credit\x1b[2J-pd",
    "newline": "credit\n-pd",
    "tab": "credit\t-pd",
    "one-dot-leader": "credit\u2024pd",
}


@pytest.mark.parametrize("name", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_look_alike_and_control_names_are_refused(inventory: Path, mops: Mops, tmp_path: Path,
                                                  name: str):
    before = snapshot(inventory)
    r = mops("register", name, "--version", "1", "--owner", "a@acme.test", "--tier", "2", code=2)
    assert "invalid model name" in r.stderr
    r = mops("register", "credit-pd", "--version", name.replace("credit", "1"), "--owner",
             "a@acme.test", "--tier", "2", code=2)
    assert "invalid version name" in r.stderr
    assert snapshot(inventory) == before


def test_look_alike_model_folder_committed_by_hand_is_named(inventory: Path, mops: Mops, ref: str):
    fake = HOSTILE_NAMES["cyrillic-e"]
    src = inventory / "models" / "credit-pd"
    dst = inventory / "models" / fake
    dst.mkdir()
    (dst / "card.md").write_text((src / "card.md").read_text().replace("id: credit-pd",
                                                                       f"id: {fake}"))
    commit(inventory, "a model that looks like credit-pd")
    assert "invalid model name" in mops("list", code=2).stderr
    problems = mops.json("verify", "--json", code=1)["problems"]
    named = [p["problem"] for p in problems if p["path"] == f"models/{fake}"]
    assert len(named) == 1 and "invalid model name" in named[0]
    # ... and, its card being written by hand, history says who made it
    assert {p["path"] for p in problems} == {f"models/{fake}", f"models/{fake}/card.md"}


VALIDATORS = {"model": names.validate_model, "version": names.validate_version,
              "record": names.validate_record_id, "role": names.validate_role}
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")

#: Text biased towards the tricky parts: ASCII names with look-alikes, marks, controls.
TRICKY = st.text(alphabet=st.one_of(
    st.sampled_from(sorted(SAFE)), st.sampled_from(["/", "\\", " ", "\x00", "\n"]),
    st.characters(categories=["Cc", "Cf", "Mn", "Zs", "Ll", "Lu", "Nd", "Pd", "Po"])),
    max_size=70)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(VALIDATORS)), name=TRICKY)
def test_names_with_anything_but_plain_ascii_are_refused(kind: str, name: str):
    if not set(name) <= SAFE:
        with pytest.raises(InvalidNameError):
            VALIDATORS[kind](name)
        return
    try:
        accepted = VALIDATORS[kind](name)
    except InvalidNameError:
        return  # plain but refused (too long, '..', a leading '.'): fine
    assert accepted == name
    assert name.isascii() and name.isprintable() and name == name.strip()
    assert "/" not in name and ".." not in name and name not in (".", "")
    assert unicodedata.normalize("NFKC", name) == name


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=140))
def test_parse_ref_refuses_only_with_invalid_name_error(text: str):
    try:
        ref = names.parse_ref(text)
    except InvalidNameError:
        return
    assert str(ref) == text and str(ref).isascii()


# ----------------------------------------------------------------------------- loaders


def _loaders() -> dict:
    return {
        "card": lambda b: records.load_card("card.md", b, expected_id="m"),
        "settings": lambda b: records.load_settings("mops.yaml", b),
        "version": lambda b: records.load_version("v.yaml", b, model="m", version="1"),
        "evidence": lambda b: records.load_evidence("e.yaml", b, record_id="E-1"),
        "approval": lambda b: records.load_approval("a.yaml", b, record_id="A-1"),
        "finding": lambda b: records.load_finding("f.yaml", b, record_id="F-1", model="m"),
        "monitoring": lambda b: load_monitoring("m.json", b, "M-1"),
    }


LOADERS = _loaders()

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.dates(),
                    st.datetimes(timezones=st.sampled_from([None, dt.UTC,
                                                            dt.timezone(dt.timedelta(hours=14)),
                                                            dt.timezone(-dt.timedelta(hours=12))
                                                            ])))
KEYS = st.sampled_from(["id", "model", "version", "stage", "registered_by", "registered_at",
                        "artifact", "sha256", "metrics", "kind", "files", "path", "added_by",
                        "added_at", "role", "decision", "by", "at", "digest", "expires",
                        "digest_parts", "status", "severity", "rule", "opened_at", "due",
                        "inventory", "policies", "stages", "roles", "signing", "tier", "owner",
                        "developers", "review", "last", "monitoring", "x"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(KEYS, SCALARS), inner, max_size=5)),
    max_leaves=8)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=10)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _yaml_bytes(doc: dict, kind: str) -> bytes:
    text = yaml.safe_dump(doc, allow_unicode=True, default_flow_style=None)
    if kind == "card":
        text = f"---\n{text}---\n# body\n"
    elif kind == "monitoring":
        text = json.dumps(_jsonable(doc), default=str)
    return text.encode("utf-8", "surrogatepass")


# Fuzzed documents never land in (or come from) a record cache: loaders cache only through
# the cache an Inventory passes them, and these calls pass none.


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(LOADERS)), data=st.binary(max_size=400))
def test_loaders_refuse_arbitrary_bytes_only_with_record_errors(kind: str, data: bytes):
    try:
        LOADERS[kind](data)
    except MopsError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(LOADERS)), doc=DOCUMENTS)
def test_loaders_refuse_well_formed_but_wrong_records_only_with_record_errors(kind: str,
                                                                              doc: dict):
    if kind == "card":
        doc = {**doc, "id": "m"}
    try:
        LOADERS[kind](_yaml_bytes(doc, kind))
    except MopsError:
        pass


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-12:00"])
def test_timestamps_at_the_edge_of_time_are_refused_or_read(stamp: str):
    """A timestamp that cannot be moved to UTC must be a record error, not a crash."""
    data = (f"id: A-1\nrole: validator\ndecision: approve\nby: c@acme.test\nat: {stamp}\n"
            f"digest: sha256:{'0' * 64}\n").encode()
    try:
        records.load_approval("a.yaml", data, record_id="A-1")
    except MopsError:
        pass
