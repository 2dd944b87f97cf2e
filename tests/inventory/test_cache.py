"""The caches in .git/mops/ only save time: damaged, foreign, forged or stale entries are
ignored, and rewriting history under them changes nothing but what is read."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mops.inventory import sealed, stamps
from mops.inventory.yamlio import ParseCache, blob_id
from tests.benchmarks import scale_bench
from tests.conftest import Mops, git
from tests.inventory.conftest import all_sealed, damage

APPROVAL = "models/model-00001/versions/1.0.0/approvals/A-000001.yaml"


def _records(root: Path) -> Path:
    return root / ".git" / "mops" / "records"


def _shard(root: Path, key: bytes, secret: bytes) -> Path:
    return _records(root) / f"{sealed.key_id(secret)}-{key[0]:02x}.{ParseCache.FORMAT}"


def _show(root: Path) -> dict:
    return Mops(root).json("show", "model-00001@1.0.0", "--json")


def _forge(root: Path, secret: bytes) -> None:
    """A shard mapping the sign-off's real blob id to a rejection, sealed with ``secret``."""
    data = (root / APPROVAL).read_bytes()
    forged = pickle.dumps({**_parsed(data), "decision": "reject"})
    key = blob_id(data)
    path = _shard(root, key, sealed.key() or b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    sealed.write(path, secret, pickle.dumps({key: forged}))


def _parsed(data: bytes) -> dict:
    import yaml

    return yaml.safe_load(data)


def test_a_warm_cache_gives_the_same_answers(inv: Path):
    cold = _show(inv), Mops(inv).json("check", "--format", "json")
    assert any(_records(inv).iterdir())
    assert (_show(inv), Mops(inv).json("check", "--format", "json")) == cold


def test_truncated_and_garbage_cache_files_are_ignored(inv: Path):
    time.sleep(stamps.RACY_NS / 1e9)  # evidence digests are remembered once settled
    truth = _show(inv)
    files = sorted(_records(inv).iterdir()) + [inv / ".git" / "mops" / "digests.json"]
    damage(files, b"\x80\x04garbage")
    assert _show(inv) == truth
    # ... and rewritten whole: every file is sealed again.
    assert all_sealed(_records(inv).iterdir())


def test_an_entry_that_is_not_plain_data_is_dropped_and_parsed_again(inv: Path):
    truth = _show(inv)
    data = (inv / APPROVAL).read_bytes()
    key, secret = blob_id(data), sealed.key()
    assert secret is not None
    for wrong in (pickle.dumps({"decision": {1, 2}}), pickle.dumps(b"bytes"), b"not a pickle",
                  pickle.dumps(ParseCache)):  # a class: refused by the unpickler
        sealed.write(_shard(inv, key, secret), secret, pickle.dumps({key: wrong}))
        assert _show(inv) == truth


def test_a_forged_entry_is_not_believed(inv: Path):
    """Someone else writes an entry mapping the sign-off's real blob id to a rejection."""
    truth = _show(inv)
    assert truth["approvals"][0]["decision"] == "approve"
    _forge(inv, b"k" * 32)  # not this user's key
    assert _show(inv) == truth


def test_forging_twin_an_entry_sealed_with_the_users_own_key_is_believed(inv: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    """The trust boundary: whoever holds the key (the user's account) is the user. This twin
    shows the test above could fail; MOPS_NO_CACHE=1 sets even this aside."""
    secret = sealed.key()
    assert secret is not None
    _forge(inv, secret)
    assert _show(inv)["approvals"][0]["decision"] == "reject"
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    assert _show(inv)["approvals"][0]["decision"] == "approve"


def test_a_forged_evidence_digest_is_not_believed(inv: Path):
    """A tampered evidence file and a digests.json (unsealed, or sealed by someone else)
    claiming its old sha256: the sign-off is still stale."""
    Mops(inv).json("check", "--format", "json")
    cache = inv / ".git" / "mops" / "digests.json"
    evidence = next((inv / "models" / "model-00001" / "versions" / "1.0.0").rglob("report.md"))
    old = scale_bench._sha(evidence.read_bytes())
    evidence.write_text("tampered\n")
    st = evidence.stat()
    key = (f"file:{evidence.relative_to(inv).as_posix()}:{st.st_size}:{st.st_mtime_ns}:"
           f"{st.st_ctime_ns}:{st.st_ino}")
    for forge in (lambda p: p.write_text(json.dumps({key: old})),
                  lambda p: sealed.write(p, b"x" * 32, json.dumps({key: old}).encode())):
        forge(cache)
        assert _show(inv)["approvals"][0]["stale"] is True


def test_history_rewritten_under_the_cache(inv: Path):
    """Amend the commit that made a sign-off: the cache (by blob id) has the old content;
    what is read now is the new content, in the working tree and in history."""
    _show(inv)
    Mops(inv)("audit", "model-00001", "--out", str(inv.parent / "before.html"))
    path = inv / APPROVAL
    path.write_text(path.read_text().replace("decision: approve", "decision: reject"))
    git(inv, "add", APPROVAL)
    git(inv, "commit", "-q", "--amend", "--no-edit")
    after = _show(inv)
    assert after["approvals"][0]["decision"] == "reject"
    Mops(inv)("audit", "model-00001", "--out", str(inv.parent / "after.html"))
    # The same answer as with no cache at all.
    os.environ["MOPS_NO_CACHE"] = "1"
    try:
        assert _show(inv) == after
    finally:
        del os.environ["MOPS_NO_CACHE"]
    # Back to the first history: the cache holds both, each under its own blob id.
    git(inv, "reset", "-q", "--hard", "HEAD@{1}")
    assert _show(inv)["approvals"][0]["decision"] == "approve"


def test_concurrent_runs_leave_every_cache_file_whole(inv: Path):
    time.sleep(stamps.RACY_NS / 1e9)  # stamps and digests are remembered once settled
    env = {**os.environ, "MOPS_NOW": "2026-06-01"}
    mops = str(Path(sys.executable).parent / "mops")
    procs = [subprocess.Popen([mops, "list", "--json"], cwd=inv, env=env, stdout=subprocess.PIPE)
             for _ in range(4)]
    outs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs) and len(set(outs)) == 1
    secret = sealed.key()
    kept = [inv / ".git" / "mops" / kind for kind in ("records", "results", "rows", stamps.FOLDER)]
    files = [f for folder in kept for f in folder.iterdir()]
    assert all(any(folder.iterdir()) for folder in kept)
    files.append(inv / ".git" / "mops" / "digests.json")
    assert all(sealed.read(f, secret) is not None for f in files)
    assert not [f for f in files if f.name.startswith(".")]  # no temp files left
    # ... and what they hold is what a run with no cache says.
    again = subprocess.run([mops, "list", "--json"], cwd=inv, env=env, capture_output=True)
    truth = subprocess.run([mops, "list", "--json"], cwd=inv, env={**env, "MOPS_NO_CACHE": "1"},
                           capture_output=True)
    assert again.stdout == truth.stdout == outs[0]
