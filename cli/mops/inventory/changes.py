"""Which models changed since a revision (``--changed-since REF``).

The comparison is from the merge base of REF and HEAD to the working tree,
uncommitted and untracked files included: what this branch changed, as a pull
request shows it, ignoring what landed on REF's branch meanwhile. A change to
anything every model is judged by (``mops.yaml``, ``policies/``, a policy pack
named in ``mops.yaml``, ``.mops/`` with the allowed signers) means every model.
"""

from __future__ import annotations

import os
from pathlib import Path

from mops import git
from mops.errors import UsageError
from mops.inventory.layout import GLOBAL_DIRS, MODELS_DIR, SETTINGS_FILE
from mops.inventory.store import Inventory


def changed_paths(inv: Inventory, ref: str) -> list[str]:
    """Paths changed from the merge base of ``ref`` and HEAD to the working tree (or commit).

    Paths are relative to the repository's top, as git names them.
    """
    if ref.startswith("-"):
        raise UsageError(f"--changed-since {ref!r}: expected a commit, branch or tag")
    try:
        commit = git.resolve(inv.top, ref)
    except UsageError:
        raise UsageError(f"--changed-since {ref!r}: not a commit in this repository (in GitHub "
                         f"Actions, check out with `fetch-depth: 0` so the base commit is there)"
                         ) from None
    head = inv.commit or git.head(inv.top)
    base = commit
    if head:
        base = git.merge_base(inv.top, commit, head) or commit  # unrelated: REF itself
    paths: set[str] = set()
    if inv.commit is not None:
        paths.update(git.diff_names(inv.top, base, inv.commit))
    else:
        # Tracked files as they are now, and files git does not track yet.
        paths.update(git.worktree_diff_names(inv.top, base))
        paths.update(git.untracked_files(inv.top))
    return sorted(paths)


def changed_models(inv: Inventory, ref: str) -> set[str] | None:
    """Models (that exist now) with a file changed since ``ref``; ``None`` means every model.

    An unknown ``ref`` is a usage error (exit 2).
    """
    paths = changed_paths(inv, ref)
    top = Path(os.path.realpath(inv.top))
    pack_files = {Path(os.path.realpath(inv.root / p)) for p in inv.settings.policies
                  if p.endswith((".yaml", ".yml"))}
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    models: set[str] = set()
    for path in paths:
        if top / path in pack_files:
            return None
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        if rel == SETTINGS_FILE or rel.startswith(GLOBAL_DIRS):
            return None
        parts = rel.split("/")
        if len(parts) > 2 and parts[0] == MODELS_DIR:
            models.add(parts[1])
    return models & set(inv.model_ids())
