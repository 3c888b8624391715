"""The errors a user meets, each shown as one line, never a traceback: `ResbenchError` for bad
input (exit code 2), and `CannotWrite` for a place that cannot be written (exit code 3).

Set `RESBENCH_TRACEBACK=1` to see the traceback as well, on the command line and in IPython.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from resbench.core.names import shown

# Set to anything but "" or "0": a `ResbenchError` shows its traceback too.
TRACEBACK = "RESBENCH_TRACEBACK"


class ResbenchError(Exception):
    """A problem the user can fix, reported as one line; `exit_code` is the command line's.

    One line whatever it quotes: a line break in a value the user gave is shown as `\\n`."""

    exit_code = 2

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


class CannotWrite(ResbenchError, OSError):
    """A place that cannot be written (a read-only folder, a full disk, a parent that is not a
    folder): which, and why, in one line (exit code 3). An `OSError` too, for the code that
    stops cleanly on one."""

    exit_code = 3

    def __init__(self, path: str | Path, error: OSError | str) -> None:
        if isinstance(error, str):
            error = OSError(None, error)
        OSError.__init__(self, error.errno, error.strerror, str(path))
        self.message = one_line(f"{shown(path)}: cannot write there ({error.strerror or error})")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:  # raised in a worker, told to its driver
        return (_cannot_write, (self.filename, self.errno, self.strerror))


def _cannot_write(path: str, errno: int | None, strerror: str | None) -> CannotWrite:
    return CannotWrite(path, OSError(errno, strerror))


def one_line(message: object) -> str:
    """`message` on one line: each line break (any that str.splitlines knows) shown as `\\n`."""
    return "\\n".join(str(message).splitlines())


def show_tracebacks() -> bool:
    """Whether the user asked for tracebacks of the errors shown as one line."""
    return os.environ.get(TRACEBACK, "") not in ("", "0")


def one_line_in_ipython() -> None:
    """In IPython and Jupyter, show a `ResbenchError` as one line, as the command line does: its
    traceback with RESBENCH_TRACEBACK=1, or with %tb after it. Nothing elsewhere, nor where the
    user has a handler of their own."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "custom_exceptions", None):
        return
    shell.set_custom_exc((ResbenchError,), _one_line)


def _one_line(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
    shell._get_exc_info((etype, value, tb))  # kept for %tb and %debug
    if show_tracebacks():
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return []
    line = [f"{etype.__name__}: {shown(value)}"]
    shell._showtraceback(etype, value, line)
    return line
