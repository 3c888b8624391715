"""`resbench run`: a sweep's runs handed out to an executor, their records kept as they come."""

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

from resbench.cli.app import user_errors
from resbench.sweep_size import MAX_RUNS

if TYPE_CHECKING:
    from rich.console import Console

    from resbench.executors import Executor
    from resbench.progress import SweepView
    from resbench.spec import RunSpec, Sweep
    from resbench.store import Store


class ExecutorName(str, Enum):
    local = "local"
    inline = "inline"
    ray = "ray"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class DeviceName(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


# Options of `run` that say where runs execute; they override the sweep's `executor:` section.
EXECUTION_HELP = "Execution (overrides the sweep's executor: section)"


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
            help="local = a worker process per slot (default); inline = one by one, here; "
            'ray = a task per run on a Ray cluster (pip install "resbench[ray]").',
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
    address: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="ray: the cluster, auto or ray://HOST:PORT [default: start a local Ray].",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    num_cpus: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            min=0.01,
            help="ray: CPUs each run reserves, and its torch threads [default: threads-per-run].",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    num_gpus: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            min=0,
            help="ray: GPUs each run reserves, e.g. 0.25 [default: 1/runs-per-gpu on GPU nodes].",
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
    data_dir: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--data-dir",
            help="Folder holding the dataset's files: sets dataset.root (default $RESBENCH_DATA).",
        ),
    ] = None,
    download: Annotated[
        bool,
        typer.Option(
            "--download",
            help="Download missing dataset files from the official source, MD5-checked.",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors and the table.")
    ] = False,
    set_: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--set",
            "-s",
            metavar="KEY=VALUE",
            help="Override a field of the sweep, value parsed as YAML; repeatable: "
            "-s train.epochs=5 -s grid.depth=[8,20].",
        ),
    ] = None,
    max_runs: Annotated[
        int,
        typer.Option(
            "--max-runs",
            min=1,
            help="Refuse a sweep of more runs than this, counted before any run is made "
            "(a guard against a typo in a grid).",
        ),
    ] = MAX_RUNS,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Validate and list the runs (recorded or not); train nothing."
        ),
    ] = False,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="--dry-run output: a table or JSON.")
    ] = OutputFormat.table,
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

        resbench run my-sweep.yaml --executor ray --address auto --num-gpus 0.25

        resbench run my-sweep.yaml --force

        resbench run quick -s train.epochs=5 -s grid.seed=[0] --dry-run

        resbench run cifar10-paper --data-dir ~/data    # holds cifar-10-binary.tar.gz
    """
    from rich.console import Console

    from resbench.data import file_overrides
    from resbench.executors import check_available, make_executor, measure_peaks
    from resbench.progress import SweepView
    from resbench.store import Store
    from resbench.sweep import dump_sweep, expand, load_sweep, parse_overrides, resolve

    console = Console(stderr=True, quiet=quiet)
    with user_errors():
        overrides = parse_overrides(set_ or [])
        if device:
            overrides["train.device"] = device.value
        spec_sweep = load_sweep(sweep, overrides, max_runs)
        if data_dir or download:
            root = str(data_dir) if data_dir else None
            overrides |= file_overrides(spec_sweep.dataset, root, download)
            spec_sweep = load_sweep(sweep, overrides, max_runs)
        settings = spec_sweep.executor.override(
            name=executor.value if executor else None,
            workers=workers,
            runs_per_gpu=runs_per_gpu,
            threads_per_run=threads_per_run,
            retries=retries,
            address=address,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
        )
        specs = expand(spec_sweep)
        store = Store(out / spec_sweep.name)
        if dry_run:
            _show_runs(spec_sweep, specs, store.statuses(), fmt)
            return
        check_available(settings)  # before the sweep is saved or any dataset fetched
        with store.lock():
            # Keep the sweep beside its results as the runs saw it: overrides included.
            text = (
                resolve(sweep).read_text()
                if not overrides
                else dump_sweep(spec_sweep, sweep, overrides)
            )
            store.save_sweep(text)
            todo = store.todo(specs, force=force, retry_failed=retry_failed)
            if force:
                store.discard_checkpoints(s.run_id for s in todo)
            # Missing files are one error now, not one failed run each; downloads happen once.
            for options in {s.dataset.model_dump_json(): s.dataset for s in todo}.values():
                options.ensure_files(report=console.print)
            console.print(
                f"[bold]{spec_sweep.name}[/]: {len(specs)} runs, {len(specs) - len(todo)} "
                f"recorded, {len(todo)} to run → {store.path}"
            )
            view = SweepView(console, len(todo))
            if todo:
                measure_peaks(settings, _device_of(todo), {s.train.precision for s in todo})
            pool = make_executor(settings, _device_of(specs), on_event=view.on_event)
            interrupted = _run_all(pool, todo, store, view)
            tables = store.export(s.run_id for s in specs)
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
    _finish(tables, console)


def _show_runs(
    sweep: Sweep, specs: list[RunSpec], recorded: dict[str, str], fmt: OutputFormat
) -> None:
    """The expanded runs, one per row: run_id, every swept value, and any record's status."""
    import json

    from rich.console import Console
    from rich.table import Table

    from resbench.sweep import swept_values

    rows = [
        {"run_id": spec.run_id, **swept_values(sweep, spec), "recorded": recorded.get(spec.run_id)}
        for spec in specs
    ]
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=1))
        return
    table = Table(*rows[0].keys(), title=f"{sweep.name}: {len(specs)} runs")
    for row in rows:
        table.add_row(*("—" if v is None else str(v) for v in row.values()))
    Console().print(table)


def _run_all(pool: Executor, todo: list[RunSpec], store: Store, view: SweepView) -> bool:
    """Run `todo`, saving each result as it comes; True when interrupted (Ctrl-C, SIGTERM)."""
    from resbench.executors import TRAIN_RUN
    from resbench.schedule import longest_first

    results = pool.map(store.checkpointed(TRAIN_RUN), longest_first(todo))
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


def _finish(tables: list[Path], console: Console) -> None:
    """The sweep's table, where its files are, and exit 1 when some run has no result."""
    from rich.console import Console

    from resbench.render import depth_tables
    from resbench.result import MISSING
    from resbench.tables import load_runs

    runs = load_runs(tables[0])
    if not runs.empty:
        for table in depth_tables(runs):
            Console().print(table)
    console.print("results: " + "  ".join(map(str, tables)))
    broken = runs[runs["status"].isin(MISSING)] if not runs.empty else runs
    if len(broken):
        typer.echo(
            f"{len(broken)} run(s) failed; see the error column of {tables[0]}, "
            "then rerun with --retry-failed",
            err=True,
        )
        raise typer.Exit(1)
