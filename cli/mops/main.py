"""The ``mops`` command: global options, command registration and the one error handler.

Start-up stays light: command modules import only Typer and the standard library
at module level; the core (YAML, git, pandas, scipy, pyarrow, Jinja2) is imported
inside the command that needs it.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand

from mops import __version__
from mops.commands import (
    attest,
    audit,
    check,
    demo,
    drift,
    export,
    governance,
    importing,
    init,
    inspect,
    packs,
    register,
    verify,
)
from mops.commands.options import Command
from mops.errors import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED, MopsError

app = typer.Typer(
    name="mops",
    help="Model governance in a git repository: inventory, sign-offs, policy gates, drift "
         "checks and offline audit reports.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion: no import, ~1 ms
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"traceback": False}


class Interrupted(BaseException):
    """SIGINT or SIGTERM: a BaseException so that Click does not turn it into 'Aborted!'."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mops {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    directory: Annotated[Path | None, typer.Option(
        "-C", metavar="PATH",
        help="Run as if mops was started in PATH (like git -C).")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version of mops and exit.")] = False,
    show_traceback: Annotated[bool, typer.Option(
        "--traceback", help="On an internal error, show the Python traceback.")] = False,
) -> None:
    """Model governance in a git repository."""
    _state["traceback"] = show_traceback
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            from mops.output import error

            error(f"-C {directory}: {exc.strerror}")
            raise typer.Exit(2) from None


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """The one error handler: MopsError → its exit code, anything else → exit 3."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from mops.output import error

        try:
            return func(*args, **kwargs)
        except MopsError as exc:
            error(exc.message, exc.details)
            raise typer.Exit(exc.exit_code) from None
        except (Interrupted, KeyboardInterrupt):
            error("interrupted; nothing was changed by the interrupted action")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except typer.Exit:
            raise
        except BrokenPipeError:
            _reader_gone()
        except Exception as exc:  # a bug in mops, not the user's fault
            if _state["traceback"]:
                traceback.print_exc()
            else:
                error(f"internal error ({type(exc).__name__}: {exc}); this is a bug in mops. "
                      f"Re-run with --traceback and report the output")
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def _reader_gone() -> NoReturn:
    """The reader of the output went away (`mops check | head`): nothing more can be said,
    and it is not a bug. Exit as a program killed by SIGPIPE does, after pointing stdout
    at /dev/null so that Python's last flush does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (a test's runner)
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


def _guard_all(typer_app: typer.Typer) -> None:
    """Every command behind the one error handler, with the usage lines of :class:`Command`."""
    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = guarded(info.callback)
        if info.cls in (None, TyperCommand):  # (Typer's default; a command's own class stays)
            info.cls = Command
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _guard_all(group.typer_instance)


for module in (init, register, importing, inspect, governance, check, drift, demo, audit, verify,
               attest, packs, export):
    module.register(app)
_guard_all(app)


def _on_signal(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    from mops.output import escape_codes_allowed

    try:
        # Click strips styles from what it prints (Typer's own messages included) when
        # colour is False; None leaves it to Click: styles only on a terminal.
        app(prog_name="mops", color=None if escape_codes_allowed() else False)
    except Interrupted:
        sys.stderr.write("error: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        _reader_gone()
    finally:
        try:  # what is still buffered, while a closed pipe can still be told apart
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
