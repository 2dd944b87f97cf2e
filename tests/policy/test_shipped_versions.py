"""A pack version, once shipped, never changes: an inventory that adopted `baseline@1`
must be judged next year by exactly the rules it adopted. Changes go into a new version
(with a changelog entry); `tests/policy/shipped_packs.sha256` lists every shipped file."""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).with_name("shipped_packs.sha256")


def _manifest() -> dict[str, str]:
    entries = {}
    for line in MANIFEST.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        entries[name] = digest
    return entries


def test_every_shipped_pack_version_is_byte_for_byte_what_was_released():
    shipped = _manifest()
    changed = [name for name, digest in shipped.items()
               if not (ROOT / "policies" / name).is_file()
               or hashlib.sha256((ROOT / "policies" / name).read_bytes()).hexdigest() != digest]
    assert changed == [], (f"{changed}: a released pack version changed or vanished; put the change "
                           "in a new version NAME/N+1.yaml with a changelog entry instead")


def test_every_pack_version_file_is_listed():
    files = sorted(str(p.relative_to(ROOT / "policies")) for p in (ROOT / "policies").glob("*/*.yaml"))
    unlisted = [f for f in files if f not in _manifest()]
    assert unlisted == [], (f"{unlisted}: add each new pack version to {MANIFEST.name} "
                            "(cd policies && sha256sum NAME/N.yaml) when it is released")
