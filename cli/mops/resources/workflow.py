"""The GitHub workflow that ``mops init --github`` writes into a user's repository."""

from __future__ import annotations

import json
from pathlib import Path

from mops import ACTIONS_REF

HERE = Path(__file__).resolve().parent
#: Where `mops init --github` writes the workflow, relative to the repository's top.
GITHUB_WORKFLOW = ".github/workflows/mops.yml"


def github_workflow(branch: str, directory: str = ".") -> str:
    """The workflow of `mops init --github`: the gate on pushes to ``branch``, the drift schedule.

    ``directory`` is the inventory's folder relative to the repository's top.
    """
    text = (HERE / "github-workflow.yml").read_text(encoding="utf-8")
    # json.dumps gives a YAML double-quoted scalar; the template has the quotes already.
    return (text.replace("__MOPS_BRANCH__", json.dumps(branch))
                .replace('"__MOPS_DIR__"', json.dumps(directory or "."))
                .replace("__MOPS_ACTIONS_REF__", ACTIONS_REF))
