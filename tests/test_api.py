"""mops.api: the verbs wire the hooks once; who acts is explicit; evaluation writes nothing."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from mops import api
from mops.inventory import stamps
from mops.inventory.names import parse_ref
from mops.inventory.store import Inventory
from mops.policy import engine
from tests.conftest import git, use_pack, write_card

CAROL = {"GIT_AUTHOR_NAME": "Carol Validator", "GIT_AUTHOR_EMAIL": "carol@acme.test",
         "GIT_COMMITTER_NAME": "Carol Validator", "GIT_COMMITTER_EMAIL": "carol@acme.test",
         "GIT_AUTHOR_DATE": "2026-03-01T10:00:00+00:00",
         "GIT_COMMITTER_DATE": "2026-03-01T10:00:00+00:00"}


def test_the_acting_person_is_an_explicit_environment_not_os_environ(inventory: Path):
    before = dict(os.environ)
    api.register(inventory, "credit-pd", "1.0.0", card=write_card(inventory / "card.md"))
    doc = inventory / "report.md"
    doc.write_text("# Validation\n")
    done = api.add_evidence(inventory, parse_ref("credit-pd@1.0.0"), [doc],
                            kind="validation-report", env=CAROL)
    assert done.evidence.added_by == "carol@acme.test"
    assert done.evidence.added_at == "2026-03-01T10:00:00Z"
    assert git(inventory, "log", "-1", "--format=%ae %ce %cI").split() == [
        "carol@acme.test", "carol@acme.test", "2026-03-01T10:00:00+00:00"]
    assert git(inventory, "log", "-2", "--format=%ae").split()[1] == "bob@acme.test"
    assert dict(os.environ) == before


def test_evaluation_writes_no_cache_and_the_api_saves_it(inventory: Path):
    api.register(inventory, "credit-pd", "1.0.0", card=write_card(inventory / "card.md"))
    doc = inventory / "report.md"
    doc.write_text("# Validation\n")
    api.add_evidence(inventory, parse_ref("credit-pd@1.0.0"), [doc], kind="validation-report")
    use_pack(inventory, "pack: t\ntitle: T\nrules:\n  - id: T-EV\n    title: Evidence\n"
             "    cite: test\n    require: {evidence: {kind: validation-report}}\n", "t.yaml",
             keep=True)
    cache = inventory / ".git" / "mops" / "digests.json"
    cache.unlink(missing_ok=True)
    time.sleep(stamps.RACY_NS / 1e9)  # a digest is remembered once its file has settled
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    inv = Inventory.open(inventory)
    pure = engine.evaluate(inv, now=now)
    assert pure and not cache.exists()
    with api.opened(inventory) as inv:
        wired = api.evaluate(inv, now=now)
    assert cache.exists()
    assert [(r.rule, r.status) for r in wired] == [(r.rule, r.status) for r in pure]


def test_the_record_cache_belongs_to_the_inventory_and_is_saved_when_it_closes(inventory: Path):
    api.register(inventory, "credit-pd", "1.0.0", card=write_card(inventory / "card.md"))
    import shutil

    from mops.inventory.yamlio import MISSING, blob_id

    folder = inventory / ".git" / "mops" / "records"
    shutil.rmtree(folder, ignore_errors=True)
    with api.opened(inventory) as inv:
        assert inv.record_cache is not None and inv.model("credit-pd").versions
        assert not folder.exists()
    assert any(folder.iterdir())
    record = (inventory / "models" / "credit-pd" / "versions" / "1.0.0" / "version.yaml").read_bytes()
    assert Inventory.open(inventory).record_cache.get(blob_id(record)) is not MISSING  # type: ignore[union-attr]
