"""Which models changed since a revision (``--changed-since REF``).

The comparison is from the merge base of REF and HEAD to the working tree,
uncommitted and untracked files included: what this branch changed, as a pull
request shows it, ignoring what landed on REF's branch meanwhile. A change to
anything every model is judged by (``mops.yaml``, ``policies/``, a policy pack
named in ``mops.yaml``, ``.mops/`` with the allowed signers) means every model.
A model the base commit had and the inventory has no more (deleted, renamed, or its
card deleted) is in no such set: :func:`deleted_models` names it, so that a pull
request that deletes a model is not a pull request that changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mops import git
from mops.errors import InvalidNameError, UsageError
from mops.inventory import layout
from mops.inventory.layout import GLOBAL_DIRS, MODELS_DIR, SETTINGS_FILE
from mops.inventory.names import validate_model
from mops.inventory.store import Inventory


def base_commit(inv: Inventory, ref: str) -> str:
    """The commit ``--changed-since REF`` compares with: the merge base of REF and HEAD."""
    if ref.startswith("-"):
        raise UsageError(f"--changed-since {ref!r}: expected a commit, branch or tag")
    try:
        commit = git.resolve(inv.top, ref)
    except UsageError:
        raise UsageError(f"--changed-since {ref!r}: not a commit in this repository (in GitHub "
                         f"Actions, check out with `fetch-depth: 0` so the base commit is there)"
                         ) from None
    head = inv.commit or git.head(inv.top)
    if head:
        return git.merge_base(inv.top, commit, head) or commit  # unrelated: REF itself
    return commit


def changed_paths(inv: Inventory, ref: str) -> list[str]:
    """Paths changed from the merge base of ``ref`` and HEAD to the working tree (or commit).

    Paths are relative to the repository's top, as git names them.
    """
    base = base_commit(inv, ref)
    paths: set[str] = set()
    if inv.commit is not None:
        paths.update(git.diff_names(inv.top, base, inv.commit))
    else:
        # Tracked files as they are now, and files git does not track yet.
        paths.update(git.worktree_diff_names(inv.top, base))
        paths.update(git.untracked_files(inv.top))
    return sorted(paths)


def _model_folders(inv: Inventory, paths: list[str]) -> set[str]:
    """The names of the folders under ``models/`` that ``paths`` (from the top) fall in."""
    prefix = f"{inv.prefix}/" if inv.prefix else ""
    out = set()
    for path in paths:
        parts = path[len(prefix):].split("/") if path.startswith(prefix) else []
        if len(parts) > 2 and parts[0] == MODELS_DIR:
            out.add(parts[1])
    return out


@dataclass(frozen=True)
class DeletedModel:
    """A model the base commit had and the inventory no longer has (deleted or renamed)."""

    model: str
    #: Its versions at the base commit.
    versions: tuple[str, ...]
    #: Its card's path, relative to the inventory (the file that is gone).
    card: str


def deleted_models(inv: Inventory, ref: str) -> list[DeletedModel]:
    """Models whose card was in the base commit of ``--changed-since REF`` and is gone now.

    A pull request that deletes a model, or renames its folder, or deletes only its card
    (a folder without a card is no model) leaves no model to check; this names them.
    """
    base = base_commit(inv, ref)
    now = set(inv.model_ids())
    gone = sorted(m for m in _model_folders(inv, changed_paths(inv, ref)) if m not in now)
    if not gone:
        return []
    try:
        then = inv.at(base)
    except UsageError:  # the base commit had no inventory: nothing could be deleted
        return []
    out = []
    try:
        for name in gone:
            try:
                validate_model(name)
            except InvalidNameError:
                continue
            if not then.source.isfile(layout.card_path(name)):
                continue
            versions = tuple(v for v in then.source.listdir(layout.versions_dir(name))
                             if then.source.isfile(f"{layout.version_dir(name, v)}/"
                                                   f"{layout.VERSION_FILE}"))
            out.append(DeletedModel(name, versions, layout.card_path(name)))
    finally:
        then.close()
    return out


def changed_models(inv: Inventory, ref: str) -> set[str] | None:
    """Models (that exist now) with a file changed since ``ref``; ``None`` means every model.

    Models deleted or renamed since ``ref`` are not in it: :func:`deleted_models` names
    them. An unknown ``ref`` is a usage error (exit 2).
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
