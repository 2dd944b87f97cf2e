"""The only code that starts git or composes a git command line.

One file per concept, after gittuf's ``pkg/gitinterface``: :mod:`.run` (the one
runner and its environment), :mod:`.repo` (where the repository is, its config),
:mod:`.identity` (the acting person), :mod:`.refs` (HEAD and revisions),
:mod:`.objects` (blobs and trees, reading a commit without a checkout),
:mod:`.commit` (building a commit from blobs, the index), :mod:`.history` (log,
diff, merge base), :mod:`.status` (uncommitted changes) and :mod:`.signatures`
(git's verdict on commit signatures).

Callers write ``from mops import git`` and ``git.head(top)``: this package is one
interface (as a Go package is), its files only the way it is kept. Nothing here
knows what an inventory is; paths are as git names them (from the top).
"""

from mops.git.commit import (
    build_tree,
    commit_paths,
    make_commit,
    restore_index,
    stage_written,
    update_index,
)
from mops.git.history import (
    Change,
    CommitInfo,
    Event,
    LoggedCommit,
    WalkStore,
    changes_log,
    changes_log_of,
    commit_subject,
    commit_time,
    diff_names,
    index_history,
    log_records,
    merge_base,
    merge_changes,
    parents_of,
    path_history,
    signature_marks,
    touched_paths,
    walk,
    worktree_diff_names,
)
from mops.git.identity import Identity, identity
from mops.git.objects import (
    CommitReader,
    MappedReader,
    ObjectStore,
    TreeEntry,
    TreeReader,
    cat_blobs,
    hash_blob,
    object_ids,
    read_blob,
    tree_blobs,
)
from mops.git.refs import advance_head, commit_before, delete_head, head, resolve, symbolic_ref
from mops.git.repo import config_get, git_dir, init, is_shallow, toplevel
from mops.git.run import ZERO
from mops.git.signatures import Signature, verify_commits
from mops.git.status import dirty_paths, uncommitted, untracked_files
from mops.git.touches import keep_from_log as keep_touches

__all__ = [
    "ZERO", "Change", "CommitInfo", "CommitReader", "Event", "Identity", "LoggedCommit", "MappedReader",
    "ObjectStore", "Signature", "TreeEntry", "TreeReader", "advance_head", "cat_blobs",
    "changes_log", "changes_log_of", "commit_before", "commit_paths", "commit_subject",
    "commit_time", "config_get", "delete_head",
    "diff_names", "dirty_paths", "index_history", "git_dir", "hash_blob", "head", "identity", "init", "is_shallow",
    "keep_touches",
    "log_records", "make_commit", "merge_base", "merge_changes", "object_ids", "parents_of", "path_history",
    "read_blob", "touched_paths", "tree_blobs",
    "build_tree", "stage_written", "resolve", "restore_index", "symbolic_ref", "toplevel", "uncommitted",
    "untracked_files", "update_index", "verify_commits", "walk", "WalkStore", "signature_marks",
    "worktree_diff_names",
]
