"""Errors that mops reports to the user, each carrying its exit code.

Core code raises these; the one handler in ``mops.main`` turns them into a single
``error: ...`` line on stderr and the exit code. Anything else is a bug (exit 3).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
#: The reader of the output closed it (`mops check | head`), as a program killed by SIGPIPE.
EXIT_BROKEN_PIPE = 141


class MopsError(Exception):
    """Base class of every error mops reports without a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Extra lines (one per problem) printed under the message.
        self.details = list(details or [])


class UsageError(MopsError):
    """Bad input or usage: unknown model, invalid name, malformed file (exit 2)."""

    exit_code = EXIT_USAGE


class NotAnInventoryError(UsageError):
    """The working directory is not inside a mops inventory."""


class InvalidNameError(UsageError):
    """A model, version, finding or other name that may not become a path."""


class RecordError(UsageError):
    """A file of the inventory (card, record, pack) is malformed.

    The message starts with ``path:line:`` (or ``path:``) so editors can jump to it.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 column: int | None = None) -> None:
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.column = column


class NotFoundError(UsageError):
    """An unknown model, version, finding, role or rule."""


class PolicyError(MopsError):
    """Policy says no: a refused approval or promotion, a failed gate (exit 1)."""

    exit_code = EXIT_POLICY


class GitError(MopsError):
    """git failed in a way the user can act on (exit 2)."""

    exit_code = EXIT_USAGE
