"""The command line: each command parses, calls the library, renders. Heavy imports are lazy."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from resbench import ResbenchError

if TYPE_CHECKING:
    from rich.console import Console

    from resbench.executors import Executor
    from resbench.progress import SweepView
    from resbench.store import Store
    from resbench.sweep import RunSpec

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


class ExecutorName(str, Enum):
    local = "local"
    inline = "inline"


class DeviceName(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


@contextmanager
def user_errors() -> Iterator[None]:
    """Input problems end as one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except ResbenchError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


# Options of `run` that say where runs execute; they override the sweep's `executor:` section.
EXECUTION_HELP = "Execution (overrides the sweep's executor: section)"


@app.command()
def run(
    sweep: Annotated[
        str, typer.Argument(help="A sweep file, or the name of a preset (see `resbench sweeps`).")
    ] = "quick",
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Results root: records go to OUT/NAME, NAME being the sweep's name."
        ),
    ] = Path("results"),
    force: Annotated[
        bool, typer.Option("--force", help="Rerun runs that already have a record.")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Rerun runs recorded as failed, oom or killed.")
    ] = False,
    executor: Annotated[
        Optional[ExecutorName],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            help="local = a worker process per slot (default); inline = one by one, here.",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    workers: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            min=1,
            help="Worker processes [default: GPUs x runs-per-gpu, else cores / threads-per-run].",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    runs_per_gpu: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            min=1, help="Runs sharing each GPU [default: 1].", rich_help_panel=EXECUTION_HELP
        ),
    ] = None,
    threads_per_run: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            min=1, help="CPU threads of each run [default: 1].", rich_help_panel=EXECUTION_HELP
        ),
    ] = None,
    retries: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            min=0,
            help="Attempts after the first for a run that fails or whose worker dies [default: 1].",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    device: Annotated[
        Optional[DeviceName],  # noqa: UP045
        typer.Option(
            help="Override train.device (auto = cuda, then mps, then cpu).",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors and the table.")
    ] = False,
) -> None:
    """Run every run of a sweep that has no record yet, then write runs.csv and curves.csv.

    A rerun of the same command skips what is recorded, so an interrupted sweep resumes: Ctrl-C
    (or SIGTERM) stops handing out runs, ends the running ones and keeps every record; a second
    Ctrl-C exits at once. Exit codes: 0 every run ok or diverged, 1 some run failed, oom or
    killed, 2 bad input, 130 interrupted.

    Examples:

        resbench run                      # the default preset, quick, on every core

        resbench run ci --out /tmp/res    # a preset, results under /tmp/res/ci/

        resbench run my-sweep.yaml --workers 2 --threads-per-run 4

        resbench run my-sweep.yaml --force
    """
    from rich.console import Console

    from resbench.executors import make_executor
    from resbench.progress import SweepView
    from resbench.store import Store
    from resbench.sweep import expand, load_sweep, resolve

    console = Console(stderr=True, quiet=quiet)
    with user_errors():
        overrides = {"train.device": device.value} if device else {}
        spec_sweep = load_sweep(sweep, overrides)
        settings = spec_sweep.executor.override(
            name=executor.value if executor else None,
            workers=workers,
            runs_per_gpu=runs_per_gpu,
            threads_per_run=threads_per_run,
            retries=retries,
        )
        specs = expand(spec_sweep)
        store = Store(out / spec_sweep.name)
        with store.lock():
            store.save_sweep(resolve(sweep).read_text())
            todo = store.todo(specs, force=force, retry_failed=retry_failed)
            if force:
                store.discard_checkpoints(s.run_id for s in todo)
            console.print(
                f"[bold]{spec_sweep.name}[/]: {len(specs)} runs, {len(specs) - len(todo)} "
                f"recorded, {len(todo)} to run → {store.path}"
            )
            view = SweepView(console, len(todo))
            pool = make_executor(settings, _device_of(specs), on_event=view.on_event)
            interrupted = _run_all(pool, todo, store, view)
            runs_csv, curves_csv = store.export(s.run_id for s in specs)
    if interrupted:
        # Resuming is the same command; without --force, which would redo the finished runs.
        again = shlex.join(["resbench", *(a for a in sys.argv[1:] if a != "--force")])
        typer.echo(
            f"\ninterrupted: {view.done} finished run(s) kept in {store.runs_dir}, "
            f"{len(todo) - view.done} left; run the same command again to do the rest:\n"
            f"  {again}",
            err=True,
        )
        raise typer.Exit(130)
    _finish(runs_csv, curves_csv, console)


def _run_all(pool: Executor, todo: list[RunSpec], store: Store, view: SweepView) -> bool:
    """Run `todo`, saving each result as it comes; True when interrupted (Ctrl-C, SIGTERM)."""
    from resbench.train import train_run

    results = pool.map(store.checkpointed(train_run), todo)
    with _stop_on_signals():
        try:
            with view:
                for result in results:
                    store.save(result)
                    view.finished(result)
        except KeyboardInterrupt:
            results.close()  # ends the running workers; their checkpoints stay for the rerun
            return True
    return False


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """A first Ctrl-C or SIGTERM raises KeyboardInterrupt (a clean stop); a second exits now."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def now(signum: int, frame: object) -> None:
        os.write(2, b"\ninterrupted again: exiting now\n")
        os._exit(130)  # records are written atomically: stopping anywhere leaves them whole

    def first(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, now)
        signal.signal(signal.SIGTERM, now)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, first) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _device_of(specs: list[RunSpec]) -> str:
    """The device that sizes the executor: a GPU when any run may use one."""
    devices = {s.train.device for s in specs}
    return next((d for d in ("cuda", "auto", "mps") if d in devices), "cpu")


def _finish(runs_csv: Path, curves_csv: Path, console: Console) -> None:
    from rich.console import Console

    from resbench.report import depth_table
    from resbench.store import RETRYABLE, load_runs

    runs = load_runs(runs_csv)
    if not runs.empty:
        Console().print(depth_table(runs))
    console.print(f"results: {runs_csv}  {curves_csv}")
    broken = runs[runs["status"].isin(RETRYABLE)] if not runs.empty else runs
    if len(broken):
        typer.echo(
            f"{len(broken)} run(s) failed; see the error column of {runs_csv}, "
            "then rerun with --retry-failed",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def sweeps() -> None:
    """List the preset sweeps that ship with resbench; run one with `resbench run NAME`."""
    import yaml
    from rich.console import Console
    from rich.table import Table

    from resbench.sweep import preset_names, preset_path

    table = Table("preset", "description", box=None)
    for name in preset_names():
        try:
            raw = yaml.safe_load(preset_path(name).read_text()) or {}
            description = str(raw.get("description", ""))
        except yaml.YAMLError:
            description = "(unreadable)"
        table.add_row(name, description)
    Console().print(table)


def main() -> None:
    """Entry point of the `resbench` script and `python -m resbench`."""
    try:
        app()
    except KeyboardInterrupt:  # a second Ctrl-C, outside any command's own handling
        sys.exit(130)
