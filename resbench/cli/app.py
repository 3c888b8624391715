"""The `resbench` Typer app, shared by every command module, and its error convention."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from resbench import ResbenchError

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
    """Input problems end as one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except ResbenchError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    """Entry point of the `resbench` script and `python -m resbench`."""
    try:
        app()
    except KeyboardInterrupt:  # a second Ctrl-C, outside any command's own handling
        sys.exit(130)
