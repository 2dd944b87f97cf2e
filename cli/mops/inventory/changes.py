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

from mops.errors import UsageError
from mops.inventory import git
from mops.inventory.store import MODELS_DIR, SETTINGS_FILE, Inventory

#: Folders of the inventory whose change (besides mops.yaml) puts every model in question.
GLOBAL_DIRS = ("policies/", ".mops/")


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
        out = git.git(inv.top, "merge-base", commit, head, check=False).decode().strip()
        base = out or commit  # unrelated histories: compare with REF itself
    paths: set[str] = set()
    if inv.commit is not None:
        diff = git.git(inv.top, "diff", "--name-only", "-z", "--no-renames", base, inv.commit)
        paths.update(_split(diff))
    else:
        # `git diff <commit>` compares with the working tree; --no-optional-locks keeps it
        # from rewriting the index under another process's feet.
        diff = git.git(inv.top, "--no-optional-locks", "diff", "--name-only", "-z",
                       "--no-renames", base, "--")
        untracked = git.git(inv.top, "ls-files", "-z", "--others", "--exclude-standard",
                            "--full-name", "--", ".")
        paths.update(_split(diff))
        paths.update(_split(untracked))
    return sorted(paths)


def _split(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


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
