"""What the commands print, and nothing else does: only ``mops.commands`` (and ``main``) use it.

:mod:`.console` is results on stdout and everything else on stderr (rich only on a
terminal, ``NO_COLOR`` and ``TERM=dumb`` honoured, JSON through ``json.dumps``); its
functions are this package's own names (``from mops.output import echo``).
:mod:`.github` writes GitHub Actions annotations, the job summary and step outputs
(``--format github``), and :mod:`.github_drift` those of ``mops drift``.
"""

from mops.output.console import echo, emit_json, error, escape_codes_allowed, info, is_terminal, table, warn

__all__ = ["echo", "emit_json", "error", "escape_codes_allowed", "info", "is_terminal", "table", "warn"]
