"""The inventory's write side: one action, one commit, or nothing at all.

:mod:`.change` is the protocol every action follows (the write lock, then one
``Change`` committed with ``Mops-*`` trailers, rolled back completely on any
failure); :mod:`.register` creates inventories and registers versions;
:mod:`.governance` records evidence, sign-offs, promotions, retirements, findings
and exceptions; :mod:`.monitoring` records drift results. Actions validate, write
and commit; policy decisions are passed in as callables (``inventory`` never
imports ``policy`` or ``trust``), and each returns what it did.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    """What a mutating action did: its commit and the files it wrote.

    Each action returns a subclass naming what it made (``Registered``, ``SignedOff``,
    ``Promoted``, ...), so callers read fields, never keys.
    """

    commit: str
    files: tuple[str, ...]
