"""What ``mops drift --all`` checks: the versions in a stage with a plan, and their logs.

The log pattern of a version is, first found: the ``--logs`` option, the card's
``monitoring.logs``, mops.yaml's ``monitoring.logs``. It is relative to the
inventory (``--logs`` may be absolute; a record's pattern, and every file it finds,
stay inside the inventory: :mod:`mops.inventory.contained`), with ``{model}`` and
``{version}`` filled in and glob wildcards (``*``, ``?``, ``[...]``, ``**`` across
folders) expanded.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from mops.drift.plan import has_plan
from mops.errors import MopsError, UsageError
from mops.inventory.contained import RULE, check_relative, is_inside
from mops.inventory.store import Inventory


@dataclass(frozen=True)
class Target:
    """A model version to check, where its logs are, or why it cannot be checked."""

    model: str
    version: str
    #: The model card, relative to the inventory.
    card: str
    #: The log pattern used, before placeholders are filled in ("" when there is none).
    pattern: str
    #: The log files found, sorted (absolute paths).
    files: tuple[str, ...] = ()
    #: Why the version cannot be checked (a malformed card or pattern), if so.
    problem: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}" if self.version else self.model


def find_targets(inv: Inventory, stage: str, *, logs: str | None = None,
                 models: Collection[str] = (), pass_through: bool = False) -> list[Target]:
    """Every version in *stage* whose model card has a monitoring plan, with its log files.

    *logs* overrides every pattern; *models* limits the check to those model ids.
    With *pass_through* (an engine that reads patterns itself, such as Spark), a
    pattern that is a URI or a table is kept as it is, and directories it finds
    (partitioned data sets) are inputs too.
    A model whose card cannot be read becomes a target with a ``problem`` (so the
    others are still checked); an unknown stage or model id is a usage error.
    """
    if stage not in inv.settings.stages:
        raise UsageError(f"--stage {stage}: not a stage of this inventory "
                         f"(mops.yaml: {', '.join(inv.settings.stages)})")
    ids = inv.model_ids()
    unknown = sorted(set(models) - set(ids))
    if unknown:
        raise inv.unknown_models(unknown)
    if logs is not None and not logs.strip():
        raise UsageError("--logs: expected a pattern such as 'logs/{model}/{version}/*.parquet'")
    default = inv.settings.monitoring.get("logs")
    default_problem = None
    if default is not None and not (isinstance(default, str) and default.strip()):
        default_problem = f"mops.yaml: monitoring.logs: expected a pattern, got {default!r}"
    found = []
    for model_id in sorted(ids):
        if models and model_id not in models:
            continue
        card = f"models/{model_id}/card.md"
        try:
            model = inv.model(model_id)
        except MopsError as exc:
            found.append(Target(model_id, "", card, "", problem=exc.message))
            continue
        monitoring = model.card.front.get("monitoring")
        if not has_plan(monitoring):
            continue
        assert isinstance(monitoring, dict)
        pattern: str | None = logs
        problem = None
        source = None  # the record the pattern comes from (None: the --logs option)
        if pattern is None:
            own = monitoring.get("logs")
            if own is None:
                pattern = default if default_problem is None else None
                problem = default_problem
                source = "mops.yaml"
            elif isinstance(own, str) and own.strip():
                pattern = own
                source = card
            else:
                problem = f"{card}: monitoring.logs: expected a pattern such as 'logs/{{model}}/{{version}}/*.csv'"
        if source is not None and pattern and not problem and not _remote(pattern, pass_through):
            try:  # a record's pattern finds files inside the inventory only
                check_relative(pattern, f"{source}: monitoring.logs")
            except UsageError as exc:
                problem = exc.message
        for version in model.versions:
            if version.stage != stage:
                continue
            if problem or not pattern:
                found.append(Target(model_id, version.version, card, pattern or "", problem=problem))
                continue
            files = log_files(inv.root, pattern, model_id, version.version,
                              pass_through=pass_through)
            out = [f for f in files if source is not None and not _remote(f, pass_through)
                   and not is_inside(inv.root, f)]
            if out:
                shown = os.path.relpath(out[0], inv.root)
                found.append(Target(model_id, version.version, card, pattern, problem=(
                    f"{source}: monitoring.logs: {shown!r}{f' and {len(out) - 1} more' if len(out) > 1 else ''} "
                    f"lead outside the inventory through a symbolic link, and mops does not "
                    f"follow it; {RULE}")))
                continue
            found.append(Target(model_id, version.version, card, pattern, files=files))
    return found


def _remote(pattern: str, pass_through: bool) -> bool:
    """A URI or table an engine reads itself (not a file here); ``file:`` is a file here."""
    return pass_through and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", pattern)) \
        and not pattern.startswith("file:")


def log_files(root: Path, pattern: str, model: str, version: str, *,
              pass_through: bool = False) -> tuple[str, ...]:
    """The files *pattern* finds for a version, sorted (directories left out, unless *pass_through*).

    With *pass_through*, a URI (``s3a://...``) or table (``table:db.name``) pattern is
    returned as it is, filled in, for the engine to expand.
    """
    filled = pattern.replace("{model}", model).replace("{version}", version)
    if pass_through and re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", filled) and not filled.startswith("file:"):
        return (filled,)
    # Model ids and versions hold no glob characters; the inventory's own path may.
    full = filled if os.path.isabs(filled) else os.path.join(glob.escape(str(root)), filled)
    found = glob.glob(full, recursive=True)
    if not pass_through:
        return tuple(sorted(p for p in found if os.path.isfile(p)))
    # Directories are read whole: leave out what lies inside another match, or it is read twice.
    kept = sorted(p.rstrip(os.sep) for p in found if os.path.isfile(p) or os.path.isdir(p))
    folders = [p + os.sep for p in kept if os.path.isdir(p)]
    return tuple(p for p in kept if not any(p.startswith(f) for f in folders))
