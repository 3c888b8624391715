"""The `resbench` Typer app, shared by every command module, and its error convention."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from resbench.core.errors import CannotWrite, ResbenchError, show_tracebacks
from resbench.core.names import shown

app = typer.Typer(
    help=(
        "Measure the depth-degradation effect: deeper plain networks train worse, "
        "residual networks keep improving (He et al. 2015).\n\n"
        "Start with `resbench run` (the default MNIST-1D sweep, a few minutes on a CPU)."
    ),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """A problem the user can fix ends as one line on stderr, never a traceback (but with
    RESBENCH_TRACEBACK=1): bad input exit code 2, a place that cannot be written 3. An OSError
    that no writer named (a file system's refusal met elsewhere) is one line too, exit code 3."""
    try:
        yield
    except ResbenchError as e:
        _one_line(str(e), e.exit_code)
    except OSError as e:
        where = f"{shown(e.filename)}: " if e.filename is not None else ""
        _one_line(f"{where}{e.strerror or e}", CannotWrite.exit_code)


def _one_line(message: str, code: int) -> NoReturn:
    if show_tracebacks():
        traceback.print_exc()
    typer.echo(f"error: {shown(message)}", err=True)
    raise typer.Exit(code) from None


def output_guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command`, whose output that cannot be written ends it in one line: a reader that
    stopped reading (`resbench report | head`) ends it quietly (exit code 141 where the pipe
    breaks while it prints, as a shell's SIGPIPE); a full or closed standard output is a place
    that cannot be written, exit code 3."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BrokenPipeError:
            # What is still buffered would fail again at exit, as a second message.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except OSError as e:
            where = "standard output" if e.filename is None else e.filename
            _one_line(str(CannotWrite(where, e)), CannotWrite.exit_code)

    return guarded


def main() -> None:
    """Entry point of the `resbench` script and `python -m resbench`."""
    try:
        app()
    except KeyboardInterrupt:  # a second Ctrl-C, outside any command's own handling
        sys.exit(130)
