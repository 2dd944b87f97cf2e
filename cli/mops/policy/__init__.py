"""Policy: the rule vocabulary, versioned packs, and evaluation.

:mod:`.requirements` and :mod:`.vocabulary` are what a rule may demand and name;
:mod:`.packs`, :mod:`.catalog` and :mod:`.upgrade` the packs (built-in and the
inventory's own, versioned); :mod:`.engine` evaluates them, pure: an inventory
snapshot, a clock and the caller's caches in, results out, nothing written;
:mod:`.results` the ``Result`` of one rule and the ``Status`` enum (its order and
labels, for every output).
"""
