"""Fixtures of the report tests."""

from __future__ import annotations

import pytest

from tests.report.helpers import History, build_history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """:func:`build_history` once per module, isolated like ``conftest.isolated_git``.

    Tests using it must not change the repository.
    """
    from tests.conftest import AUTHOR

    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "MOPS_NOW"):
            mp.delenv(var, raising=False)
        for role in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{role}_NAME", AUTHOR["name"])
            mp.setenv(f"GIT_{role}_EMAIL", AUTHOR["email"])
        return build_history(tmp_path_factory.mktemp("history"), mp)
