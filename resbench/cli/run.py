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
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from resbench.cli.app import user_errors
from resbench.cli.executor_flags import PANEL, with_executor_flags
from resbench.core.names import markup
from resbench.sweep.size import MAX_RUNS

if TYPE_CHECKING:
    from rich.console import Console

    from resbench.results import Results
    from resbench.runner import Plan


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class DeviceName(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


# `run`'s options, one type each; the execution flags are `resbench.cli.executor_flags`'.
SweepRef = Annotated[
    str, typer.Argument(help="A sweep file, or the name of a preset (see `resbench sweeps`).")
]
ResultsRoot = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="Results root: records go to OUT/NAME, NAME being the sweep's name."
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Rerun runs that already have a record.")]
RetryFailed = Annotated[
    bool,
    typer.Option("--retry-failed", help="Rerun runs recorded as failed, oom, killed or timeout."),
]
Device = Annotated[
    Optional[DeviceName],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        help="Override train.device (auto = cuda, then mps, then cpu).", rich_help_panel=PANEL
    ),
]
DataDir = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--data-dir",
        help="Folder holding the dataset's files: sets dataset.root (default $RESBENCH_DATA).",
    ),
]
Download = Annotated[
    bool,
    typer.Option(
        "--download", help="Download missing dataset files from the official source, MD5-checked."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the table.")]
Overrides = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a field of the sweep, value parsed as YAML; repeatable: "
        "-s train.epochs=5 -s grid.depth=[8,20].",
    ),
]
MaxRuns = Annotated[
    int,
    typer.Option(
        "--max-runs",
        min=1,
        help="Refuse a sweep of more runs than this, counted before any run is made "
        "(a guard against a typo in a grid).",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Validate and list the runs (recorded or not); train nothing."),
]
DryRunFormat = Annotated[
    OutputFormat, typer.Option("--format", help="--dry-run output: a table or JSON.")
]


@with_executor_flags
def run(
    sweep: SweepRef = "quick",
    out: ResultsRoot = Path("results"),
    force: Force = False,
    retry_failed: RetryFailed = False,
    executor_flags: dict[str, Any] | None = None,  # the execution flags given, by field
    device: Device = None,
    data_dir: DataDir = None,
    download: Download = False,
    quiet: Quiet = False,
    set_: Overrides = None,
    max_runs: MaxRuns = MAX_RUNS,
    dry_run: DryRun = False,
    fmt: DryRunFormat = OutputFormat.table,
) -> None:
    """Run every run of a sweep that has no record yet, then write runs.csv and curves.csv.

    A rerun of the same command skips what is recorded, so an interrupted sweep resumes: Ctrl-C
    (or SIGTERM) stops handing out runs, ends the running ones and keeps every record; a second
    Ctrl-C exits at once. Exit codes: 0 every run ok or diverged, 1 some run failed, oom,
    killed or timeout, 2 bad input, 3 a place that cannot be written (a read-only folder, a full
    disk), 130 interrupted.

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

    from resbench.core.key_values import parse_key_values
    from resbench.runner import Interrupted, StorageFailed, execute, prepare
    from resbench.views.progress import SweepView

    console = Console(stderr=True, quiet=quiet)
    # From here on a first Ctrl-C or SIGTERM stops the sweep cleanly, whatever it is doing.
    with user_errors(), _stop_on_signals():
        try:
            overrides = parse_key_values(set_ or [], "-s", "train.epochs=5")
            if device:
                overrides["train.device"] = device.value
            plan = prepare(sweep, out, overrides, data_dir, download, max_runs)
            settings = plan.sweep.executor.override(**(executor_flags or {}))
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
            raise typer.Exit(130 if isinstance(e, Interrupted) else e.exit_code) from None
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
    table = Table(*map(markup, rows[0]), title=f"{plan.sweep.name}: {len(plan.specs)} runs")
    for row in rows:
        table.add_row(*("—" if v is None else markup(v) for v in row.values()))
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
    console.print("results: " + "  ".join(map(markup, results.table_paths())))
    broken = runs[runs["status"].isin(MISSING)] if not runs.empty else runs
    if len(broken):
        typer.echo(
            f"{len(broken)} run(s) failed; see the error column of {results.runs_csv}, "
            "then rerun with --retry-failed",
            err=True,
        )
        raise typer.Exit(1)
