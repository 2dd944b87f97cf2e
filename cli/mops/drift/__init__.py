"""Drift and performance checks of prediction logs against a reference.

``readers`` is the only IO; ``state`` holds mergeable per-column state;
``stats`` is pure statistics; ``engine`` ties them into the API the ``drift``
command calls. Importing this package is cheap: the names below load their
module (numpy, pyarrow) on first use.
"""

from __future__ import annotations

__all__ = [
    "DriftPlan",
    "DriftResult",
    "Profile",
    "compare",
    "merge_profiles",
    "profile_files",
]


def __getattr__(name: str):
    if name in __all__:
        from mops.drift import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'mops.drift' has no attribute {name!r}")
