"""Fixtures of the report tests."""

from __future__ import annotations

import pytest

from tests.report.helpers import History, build_history, isolated_git_env


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """:func:`build_history` once per module, isolated like ``conftest.isolated_git``.

    Tests using it must not change the repository.
    """
    with isolated_git_env(tmp_path_factory) as mp:
        return build_history(tmp_path_factory.mktemp("history"), mp)
