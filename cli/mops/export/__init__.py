"""Documents for other tools, built from the inventory: :mod:`.cyclonedx` (an ML-BOM).

Each format's library is an optional extra, imported only by the command using it.
"""
