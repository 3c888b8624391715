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
from resbench.sweep.size import MAX_RUNS

if TYPE_CHECKING:
    from rich.console import Console

    from resbench.results import Results
    from resbench.runner import Plan


class ExecutorName(str, Enum):
    local = "local"
    inline = "inline"
    ray = "ray"
    slurm = "slurm"


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
        bool,
        typer.Option(
            "--retry-failed", help="Rerun runs recorded as failed, oom, killed or timeout."
        ),
    ] = False,
    executor: Annotated[
        Optional[ExecutorName],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(
            help="local = a worker process per slot (default); inline = one by one, here; "
            'ray = a task per run on a Ray cluster (pip install "resbench[ray]"); '
            "slurm = a SLURM job array (docs/cluster.md).",
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
            help="ray, slurm: CPUs each run reserves, and its torch threads "
            "[default: threads-per-run].",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    num_gpus: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            min=0,
            help="ray: GPUs each run reserves, e.g. 0.25 [default: 1/runs-per-gpu on GPU nodes]; "
            "slurm: whole GPUs per task [default: 1 when train.device is cuda].",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    partition: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="slurm: the partition [default: SLURM's]; more in the executor: section or "
            "-s executor.KEY=VALUE (time, mem, account, qos, max_running, sbatch_args).",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    time: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--time",
            help="slurm: each task's time limit, as sbatch's --time (30, 2:00:00, 1-12).",
            rich_help_panel=EXECUTION_HELP,
        ),
    ] = None,
    keep_jobs: Annotated[
        bool,
        typer.Option(
            "--keep-jobs",
            help="slurm: a Ctrl-C leaves the job array running (default: cancels it); the same "
            "command later re-attaches to it.",
            rich_help_panel=EXECUTION_HELP,
            show_default=False,
        ),
    ] = False,
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
    Ctrl-C exits at once. Exit codes: 0 every run ok or diverged, 1 some run failed, oom,
    killed or timeout, 2 bad input, 130 interrupted.

    Examples:

        resbench run                      # the default preset, quick, on every core

        resbench run ci --out /tmp/res    # a preset, results under /tmp/res/ci/

        resbench run my-sweep.yaml --workers 2 --threads-per-run 4

        resbench run my-sweep.yaml --executor ray --address auto --num-gpus 0.25

        resbench run my-sweep.yaml --executor slurm --partition gpu --time 2:00:00 --num-gpus 1

        resbench run my-sweep.yaml --force

        resbench run quick -s train.epochs=5 -s grid.seed=[0] --dry-run

        resbench run cifar10-paper --data-dir ~/data    # holds cifar-10-binary.tar.gz
    """
    from rich.console import Console

    from resbench.runner import Interrupted, StorageFailed, execute, prepare
    from resbench.sweep.load import parse_overrides
    from resbench.views.progress import SweepView

    console = Console(stderr=True, quiet=quiet)
    # From here on a first Ctrl-C or SIGTERM stops the sweep cleanly, whatever it is doing.
    with user_errors(), _stop_on_signals():
        try:
            overrides = parse_overrides(set_ or [])
            if device:
                overrides["train.device"] = device.value
            plan = prepare(sweep, out, overrides, data_dir, download, max_runs)
            settings = plan.sweep.executor.override(
                name=executor.value if executor else None,
                workers=workers,
                runs_per_gpu=runs_per_gpu,
                threads_per_run=threads_per_run,
                retries=retries,
                address=address,
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                partition=partition,
                time=time,
                keep_jobs=keep_jobs or None,
            )
            if dry_run:
                _show_runs(plan, fmt)
                return
            results = execute(plan, settings, force, retry_failed, SweepView(console).on_event)
        except (Interrupted, StorageFailed) as e:
            # The same command resumes: without --force, which would redo the finished runs
            # (an interrupted --force is remembered by the results folder).
            again = shlex.join(["resbench", *(a for a in sys.argv[1:] if a != "--force")])
            how = "" if isinstance(e, Interrupted) else "make room there, then "
            typer.echo(
                f"\n{e}; {how}run the same command again to do the rest:\n  {again}", err=True
            )
            raise typer.Exit(130 if isinstance(e, Interrupted) else 1) from None
        except KeyboardInterrupt:
            typer.echo("\ninterrupted before any run started", err=True)
            raise typer.Exit(130) from None
    _finish(results, console)


def _show_runs(plan: Plan, fmt: OutputFormat) -> None:
    """The expanded runs, one per row: run_id, every swept value, and any record's status."""
    import json

    from rich.console import Console
    from rich.table import Table

    from resbench.sweep.load import swept_values

    scan = plan.results.scan(s.run_id for s in plan.specs)
    recorded = {run_id: r.status for run_id, r in scan.results.items()}
    recorded |= dict.fromkeys(scan.kept, "newer format")
    rows = [
        {
            "run_id": spec.run_id,
            **swept_values(plan.sweep, spec),
            "recorded": recorded.get(spec.run_id),
        }
        for spec in plan.specs
    ]
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=1))
        return
    table = Table(*rows[0].keys(), title=f"{plan.sweep.name}: {len(plan.specs)} runs")
    for row in rows:
        table.add_row(*("—" if v is None else str(v) for v in row.values()))
    Console().print(table)


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


def _finish(results: Results, console: Console) -> None:
    """The sweep's table, where its files are, and exit 1 when some run has no result."""
    from rich.console import Console

    from resbench.train.run_result import MISSING
    from resbench.views.text import depth_tables

    runs = results.runs
    if not runs.empty:
        for table in depth_tables(runs):
            Console().print(table)
    console.print("results: " + "  ".join(map(str, results.table_paths())))
    broken = runs[runs["status"].isin(MISSING)] if not runs.empty else runs
    if len(broken):
        typer.echo(
            f"{len(broken)} run(s) failed; see the error column of {results.runs_csv}, "
            "then rerun with --retry-failed",
            err=True,
        )
        raise typer.Exit(1)
