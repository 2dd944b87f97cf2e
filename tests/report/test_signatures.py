"""Signatures in the report, as `mops verify` sees them (real ssh-keygen keys)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Mops, missing_tool
from tests.policy.helpers import DANA
from tests.report.helpers import parse, section
from tests.trust.helpers import MALLORY, commit, make_team

pytestmark = pytest.mark.skipif(missing_tool(shutil.which("ssh-keygen") is not None),
                                reason="needs ssh-keygen (openssh-client)")


def test_signoff_and_trail_signatures(inventory: Path, mops: Mops, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch):
    team = make_team(inventory, mops, tmp_path, monkeypatch, signing="optional")
    team.approve()  # carol, signed with her listed key
    team.approve(DANA, None, role="risk-officer")  # dana, not signed
    team.act(MALLORY, "mallory")  # a key nobody listed
    card = inventory / "models/credit-pd/card.md"
    card.write_text(card.read_text() + "\nEdited.\n")
    forged = commit(inventory, "hand edit", sign=True)

    out = tmp_path / "r.html"
    mops("audit", "--out", str(out))
    doc = parse(out.read_text())
    table = [t for t in doc.by_id("model-credit-pd-v-1.0.0").find_all("table")
             if "Sign-offs of" in t.find("caption").text()][0]
    rows = {r[0]: r for r in table.rows()[1:]}
    assert rows["validator"][7].startswith("signed, verified by carol@acme.test's key")
    assert rows["risk-officer"][7].startswith("not signed")
    trail = {r[4]: r for r in section(doc, "credit-pd").find("section", class_="trail")
             .find("table").rows()[1:]}
    assert trail[forged][5].startswith("NOT VERIFIED the commit is signed with a key")
    approvals = [r for r in trail.values() if r[2].startswith("approve")]
    assert sorted(r[5].split(" key")[0] for r in approvals) == ["not signed", "signed, verified"]
