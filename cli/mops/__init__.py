"""mops: model governance in a git repository.

Imports run one way: ``main`` -> ``commands`` -> ``api`` -> ``trust``, ``policy``,
``drift``, ``report`` -> ``inventory`` -> ``git`` -> ``clock``, ``errors``;
``output`` is used by the commands only (DESIGN.md, "Code layout").
"""

#: The one place the version lives; a release is tagged ``v`` + this.
__version__ = "0.1.0"
#: How users refer to a release: the GitHub actions by its major tag (``@v0``, moved on
#: every release of that major), pre-commit by its exact tag (``rev: v0.1.0``).
ACTIONS_REF = "v" + __version__.split(".")[0]
PRE_COMMIT_REV = "v" + __version__
