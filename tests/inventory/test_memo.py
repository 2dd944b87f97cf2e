"""Policy results kept by content (.git/mops/results, .git/mops/rows): ``list`` and ``check``
give, warm, exactly what they give with no cache; every input the key covers, changed,
changes the verdict; damaged, foreign or forged entries are ignored."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from mops.inventory import memo, sealed
from tests.benchmarks import scale_bench
from tests.conftest import Mops, git, use_pack
from tests.inventory.conftest import all_sealed, damage

M1 = "models/model-00001"
CARD = f"{M1}/card.md"
V1 = f"{M1}/versions/1.0.0"
PACK = """pack: acme
title: Acme
rules:
  - id: AC-REVIEW
    title: Reviewed within a year
    cite: "Acme policy 1"
    require: {review_within: {months: 12}}
  - id: AC-EVIDENCE
    title: Fresh validation report
    cite: "Acme policy 2"
    require: {evidence: {kind: validation-report, max_age_days: 30}}
"""


def _run(root: Path) -> tuple[list, dict]:
    return (Mops(root).json("list", "--json"),
            Mops(root).json("check", "--format", "json", code=None))


def _truth(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, dict]:
    with monkeypatch.context() as m:
        m.setenv("MOPS_NO_CACHE", "1")
        return _run(root)


def _kept(root: Path) -> list[Path]:
    return sorted(p for kind in ("results", "rows")
                  for p in (root / ".git" / "mops" / kind).glob("*") if p.is_file())


def _verdict(root: Path, model: str = "model-00001", version: str = "1.0.0") -> bool:
    rows = Mops(root).json("list", "--json")
    return next(r["compliant"] for r in rows if (r["model"], r["version"]) == (model, version))


def _follows(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, dict]:
    """Warm answers after a change are those of a run with no cache at all."""
    warm = _run(root)
    assert warm == _truth(root, monkeypatch)
    return warm


def test_warm_answers_are_those_of_no_cache(inv: Path, monkeypatch: pytest.MonkeyPatch):
    cold = _run(inv)
    assert _kept(inv)
    stamps = {p: p.stat().st_mtime_ns for p in _kept(inv)}
    assert _run(inv) == cold == _truth(inv, monkeypatch)
    assert {p: p.stat().st_mtime_ns for p in _kept(inv)} == stamps  # warm: nothing rewritten
    # One model, one version, a stage: the same rows and results as the whole.
    one = Mops(inv).json("check", "model-00001@2.0.0", "--format", "json", code=None)
    assert one["results"] == [r for r in cold[1]["results"]
                              if (r["model"], r["version"]) == ("model-00001", "2.0.0")]
    staged = Mops(inv).json("list", "--stage", "production", "--json")
    assert staged == [r for r in cold[0] if r["stage"] == "production"]


def test_no_cache_keeps_nothing(inv: Path, monkeypatch: pytest.MonkeyPatch):
    _truth(inv, monkeypatch)
    assert _kept(inv) == []


def test_damaged_entries_are_ignored_and_rewritten(inv: Path, monkeypatch: pytest.MonkeyPatch):
    truth = _run(inv)
    damage(_kept(inv))
    assert _run(inv) == truth
    assert all_sealed(_kept(inv))


def _pass_entry(root: Path, secret: bytes) -> None:
    """Seal, with ``secret``, entries saying model-00001 passes every rule as its records
    stand *now* (the key a real run computes), in the shards a run reads."""
    from mops.inventory.store import Inventory
    from mops.policy.engine import _context, load_packs

    inv = Inventory.open(root)
    keeper = memo.Memo(inv, {"results": None, "rows": None})
    keeper.use(_context(inv, load_packs(inv)))
    key = keeper.model_key("model-00001")
    assert key is not None
    rows = [["production", "  " + json.dumps(
        {"model": "model-00001", "version": v, "stage": "production", "tier": 1,
         "owner": "alice@acme.test", "compliant": True, "registered_at": "x",
         "compliance": "compliant", "failing_rules": [], "waived_rules": []},
        indent=2).replace("\n", "\n  ")] for v in ("1.0.0", "2.0.0")]
    for kind, value in (("rows", rows), ("results", {"versions": ["1.0.0", "2.0.0"],
                                                    "results": []})):
        store = keeper.stores[kind]
        entry = memo.Memo.encoded(value, (None, None), {})
        import pickle

        path = store.file(key[0])
        old = sealed.read(path, sealed.key()) if path.exists() else None
        shard = pickle.loads(old) if old else {}
        shard[key] = entry
        sealed.write(path, secret, pickle.dumps(shard))


def _stale(root: Path) -> None:
    """A hand edit of the card (not committed): model-00001's sign-off is stale."""
    card = root / CARD
    card.write_text(card.read_text().replace("Scores applications.", "Scores loans."))


def test_a_forged_pass_is_not_believed(inv: Path, monkeypatch: pytest.MonkeyPatch):
    _run(inv)
    _stale(inv)
    assert _verdict(inv) is False
    for f in _kept(inv):  # an unsealed file in place of every shard: ignored
        f.write_bytes(f.read_bytes()[len(sealed.MAGIC) + 32:])
    assert _verdict(inv) is False
    _pass_entry(inv, b"k" * 32)  # sealed with someone else's key: ignored
    assert _verdict(inv) is False
    assert _run(inv) == _truth(inv, monkeypatch)


def test_forging_twin_an_entry_sealed_with_the_users_key_is_believed(
        inv: Path, monkeypatch: pytest.MonkeyPatch):
    """The trust boundary is the user's key: this twin shows the test above could fail;
    MOPS_NO_CACHE=1 sets even this aside."""
    _stale(inv)
    _run(inv)
    secret = sealed.key()
    assert secret is not None
    _pass_entry(inv, secret)
    assert _verdict(inv) is True
    monkeypatch.setenv("MOPS_NO_CACHE", "1")
    assert _verdict(inv) is False


def test_hand_edits_of_records_are_followed(inv: Path, monkeypatch: pytest.MonkeyPatch):
    before = _run(inv)
    _stale(inv)  # the card, uncommitted
    after = _follows(inv, monkeypatch)
    assert after != before and _verdict(inv) is False
    (inv / CARD).write_bytes(git(inv, "show", f"HEAD:{CARD}").encode())  # put back
    assert _follows(inv, monkeypatch) == before
    approval = next((inv / V1 / "approvals").iterdir())
    approval.unlink()  # a record removed
    assert _follows(inv, monkeypatch) != before
    git(inv, "checkout", "--", str(approval.relative_to(inv)))
    finding = inv / M1 / "findings" / "F-000001.yaml"  # a record added, untracked
    finding.parent.mkdir()
    finding.write_text("id: F-000001\nmodel: model-00001\nkind: finding\nseverity: high\n"
                       "title: Broken\nstatus: open\nopened_by: bob@acme.test\n"
                       "opened_at: '2026-05-01T00:00:00Z'\n")
    assert _follows(inv, monkeypatch) != before


def test_evidence_files_are_followed(inv: Path, monkeypatch: pytest.MonkeyPatch):
    """Not a record: the evidence file a sign-off is bound to, changed in place."""
    before = _run(inv)
    report = next((inv / V1 / "evidence" / "files").rglob("report.md"))
    report.write_text("tampered\n")
    assert _follows(inv, monkeypatch) != before and _verdict(inv) is False
    report.unlink()
    assert _verdict(inv) is False and _follows(inv, monkeypatch) != before


def test_an_evidence_file_rewritten_with_its_size_and_mtime_kept_is_followed(
        inv: Path, monkeypatch: pytest.MonkeyPatch):
    """The same size and modification time put back by hand: the kept result is still not
    believed (the digest cache's key has the change time and inode, which cannot be set)."""
    before = _run(inv)
    report = next((inv / V1 / "evidence" / "files").rglob("report.md"))
    st = report.stat()
    data = report.read_bytes()
    report.write_bytes(data.swapcase())
    os.utime(report, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert report.stat().st_size == st.st_size and report.stat().st_mtime_ns == st.st_mtime_ns
    assert _verdict(inv) is False and _follows(inv, monkeypatch) != before


def test_settings_and_packs_are_followed(inv: Path, monkeypatch: pytest.MonkeyPatch):
    settings = inv / "mops.yaml"
    before = _run(inv)
    settings.write_text(settings.read_text().replace("validator: [carol@acme.test]",
                                                     "validator: [erin@acme.test]"))
    assert _follows(inv, monkeypatch) != before and _verdict(inv) is False
    pack = use_pack(inv, PACK.replace("months: 12", "months: 240").replace(
        "max_age_days: 30", "max_age_days: 9000"), "acme.yaml")
    assert _verdict(inv) is True and _follows(inv, monkeypatch)
    pack.write_text(PACK)  # only the pack's file changes
    assert _verdict(inv) is False and _follows(inv, monkeypatch)


def _at(monkeypatch: pytest.MonkeyPatch, when: dt.datetime) -> None:
    monkeypatch.setenv("MOPS_NOW", when.isoformat())


def _verdicts_on(inv: Path, monkeypatch: pytest.MonkeyPatch, days: tuple[str, ...]
                 ) -> list[bool]:
    """The verdict on each day in turn (``MOPS_NOW``), each warm run checked against no cache."""
    seen = []
    for day in days:
        monkeypatch.setenv("MOPS_NOW", day)
        _follows(inv, monkeypatch)
        seen.append(_verdict(inv))
    return seen


def test_the_clock_is_followed_to_the_microsecond(inv: Path, monkeypatch: pytest.MonkeyPatch):
    """Ages count whole days from a record's time: a result is kept only for the instants
    every age it computed stays the same, and each day for dates (review due)."""
    use_pack(inv, PACK.replace("months: 12", "months: 240"), "acme.yaml")
    added = scale_bench.START + dt.timedelta(minutes=7)  # the evidence's added_at
    edge = added + dt.timedelta(days=31)  # from here it is 31 days old: too old
    seen = []
    for when in (added, edge - dt.timedelta(microseconds=1), edge,
                 edge - dt.timedelta(microseconds=1), edge + dt.timedelta(days=3650)):
        _at(monkeypatch, when)
        warm = _follows(inv, monkeypatch)
        seen.append(_verdict(inv))
        assert warm == _run(inv)
    assert seen == [True, True, False, True, False]
    # The review: last 2026-05-01, every 240 months: due by 2046-05-01, overdue the day after.
    (inv / "policies" / "acme.yaml").write_text(
        PACK.replace("months: 12", "months: 240").replace("max_age_days: 30", "max_age_days: 99999"))
    assert _verdicts_on(inv, monkeypatch, ("2046-05-01T23:59:59.999999", "2046-05-02",
                                           "2046-05-01")) == [True, False, True]


def test_an_exception_written_by_hand_is_followed_to_its_expiry(
        inv: Path, monkeypatch: pytest.MonkeyPatch):
    """A waiver is believed through its last day and not the day after, warm as cold."""
    use_pack(inv, PACK.replace("months: 12", "months: 240"), "acme.yaml")
    assert _verdict(inv) is False  # the validation report is ten years old
    exception = inv / M1 / "findings" / "X-000001.yaml"
    exception.parent.mkdir()
    exception.write_text("id: X-000001\nmodel: model-00001\nkind: exception\nrule: AC-EVIDENCE\n"
                         "title: Report due\nreason: Revalidation under way\ncontrols: Monthly "
                         "monitoring\nstatus: open\nopened_by: dana@acme.test\n"
                         "opened_at: '2026-05-20T00:00:00Z'\nexpires: 2026-06-10\n")
    assert _verdicts_on(inv, monkeypatch, ("2026-06-10T23:59:59", "2026-06-11",
                                           "2026-06-10")) == [True, False, True]


def test_history_rewritten_under_the_results(inv: Path, monkeypatch: pytest.MonkeyPatch):
    before = _run(inv)
    _stale(inv)
    git(inv, "commit", "-q", "-am", "card edited")
    edited = _follows(inv, monkeypatch)
    assert edited != before
    git(inv, "reset", "-q", "--hard", "HEAD~1")
    assert _follows(inv, monkeypatch) == before
    git(inv, "reset", "-q", "--hard", "HEAD@{1}")
    assert _follows(inv, monkeypatch) == edited


def test_signed_rules_keep_nothing(inv: Path, monkeypatch: pytest.MonkeyPatch):
    """A rule that needs signed sign-offs reads git history, which the key does not cover."""
    use_pack(inv, "pack: acme\ntitle: Acme\nrules:\n  - id: AC-SIGNED\n    title: Signed\n"
             "    cite: c\n    require: {approval: {role: validator, signed: true}}\n", "acme.yaml")
    assert _follows(inv, monkeypatch) and _kept(inv) == []


def test_the_code_fingerprint_covers_every_module(tmp_path: Path):
    pkg = tmp_path / "pkg"
    shutil.copytree(Path(memo.__file__).parent, pkg / "inventory")
    first = memo.package_fingerprint(pkg)
    memo.package_fingerprint.cache_clear()
    assert memo.package_fingerprint(pkg) == first
    memo.package_fingerprint.cache_clear()
    target = pkg / "inventory" / "digest.py"
    target.write_text(target.read_text() + "\n# changed\n")
    assert memo.package_fingerprint(pkg) != first
    memo.package_fingerprint.cache_clear()


def _entries(root: Path, kind: str) -> int:
    import pickle

    secret = sealed.key()
    return sum(len(pickle.loads(sealed.read(f, secret) or pickle.dumps({})))
               for f in (root / ".git" / "mops" / kind).glob("*"))


def test_entries_of_content_that_is_gone_are_dropped(inv: Path):
    """A whole-inventory run keeps one entry per model: those of older content (a record,
    the settings, the code) would otherwise pile up in the shards every run reads."""
    _run(inv)
    assert _entries(inv, "rows") == _entries(inv, "results") == 3
    for text in ("Scores loans.", "Scores cards.", "Scores cars."):
        card = inv / CARD
        card.write_text(card.read_text().rsplit("\n\n", 1)[0] + f"\n\n{text}\n")
        _run(inv)
    assert _entries(inv, "rows") == _entries(inv, "results") == 3
    # One model asked for: nothing is dropped (the others' entries are still live).
    Mops(inv).json("check", "model-00002", "--format", "json", code=None)
    assert _entries(inv, "results") == 3


def test_shards_of_an_earlier_format_are_removed_by_a_whole_run(inv: Path):
    """Entries were JSON in format 1: its shards are read by nobody, and a whole-inventory
    run removes them (a one-model run leaves them)."""
    assert memo.FORMAT > 1
    _run(inv)
    old = [inv / ".git" / "mops" / kind / f"0a1b2c3d-00.{kind}-1" for kind in ("results", "rows")]
    for path in old:
        path.write_bytes(b"format 1")
    Mops(inv).json("check", "model-00002", "--format", "json", code=None)
    assert all(path.exists() for path in old)
    _run(inv)
    assert not any(path.exists() for path in old) and _entries(inv, "rows") == 3


def test_a_record_changed_while_it_is_read_is_not_kept_under_the_old_key(
        inv: Path, monkeypatch: pytest.MonkeyPatch):
    """The card changes after its blob id went into the key and before the model is read:
    what is kept under that key is the evaluation of the bytes the key was made of."""
    card = inv / CARD
    original = card.read_text()
    real = memo.Memo.model_key

    def then_edited(self: memo.Memo, model_id: str) -> bytes | None:
        key = real(self, model_id)
        if model_id == "model-00001":
            card.write_text(original.replace("Scores applications.", "Scores loans."))
        return key

    with monkeypatch.context() as m:
        m.setattr(memo.Memo, "model_key", then_edited)
        _run(inv)
    card.write_text(original)
    assert _verdict(inv) is True  # the keyed (original) content: the sign-off holds
    assert _run(inv) == _truth(inv, monkeypatch)


def test_a_run_that_fails_half_way_drops_nothing(inv: Path):
    """A record that cannot be read stops the run: the entries of the models it did not
    reach are kept (dropping them is for a run that answered for every model)."""
    _run(inv)
    assert _entries(inv, "rows") == 3
    (inv / "models" / "model-00000" / "card.md").write_text("---\nid: [unclosed\n---\n")
    Mops(inv)("list", "--json", code=2)
    assert _entries(inv, "rows") == 3
