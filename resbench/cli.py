"""The command line: each command parses, calls the library, renders. Heavy imports are lazy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from resbench import ResbenchError

if TYPE_CHECKING:
    from rich.console import Console

    from resbench.sweep import RunSpec
    from resbench.train import RunResult

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
    inline = "inline"


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"


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
        ExecutorName, typer.Option(help="Where runs execute: inline = one by one, here.")
    ] = ExecutorName.inline,
    device: Annotated[
        Optional[DeviceName],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Override train.device (auto = cuda, then mps, then cpu)."),
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
) -> None:
    """Run every run of a sweep that has no record yet, then write runs.csv and curves.csv.

    A rerun of the same command skips what is recorded, so an interrupted sweep resumes.

    Examples:

        resbench run                      # the default preset, quick

        resbench run ci --out /tmp/res    # a preset, results under /tmp/res/ci/

        resbench run my-sweep.yaml --force

        resbench run cifar10-paper --data-dir ~/data    # holds cifar-10-binary.tar.gz
    """
    from rich.console import Console

    from resbench.data import file_overrides
    from resbench.executors import make_executor
    from resbench.store import Store
    from resbench.sweep import expand, load_sweep, resolve

    console = Console(stderr=True, quiet=quiet)
    with user_errors():
        overrides: dict[str, object] = {"train.device": device.value} if device else {}
        spec_sweep = load_sweep(sweep, overrides)
        if data_dir or download:
            root = str(data_dir) if data_dir else None
            overrides |= file_overrides(spec_sweep.dataset, root, download)
            spec_sweep = load_sweep(sweep, overrides)
        specs = expand(spec_sweep)
        store = Store(out / spec_sweep.name)
        store.save_sweep(resolve(sweep).read_text())
        todo = store.todo(specs, force=force, retry_failed=retry_failed)
        # Missing files are one error now, not one failed run each; downloads happen once, here.
        for options in {s.dataset.model_dump_json(): s.dataset for s in todo}.values():
            options.ensure_files(report=console.print)
        console.print(
            f"[bold]{spec_sweep.name}[/]: {len(specs)} runs, {len(specs) - len(todo)} recorded, "
            f"{len(todo)} to run → {store.path}"
        )
        pool = make_executor(executor.value)
        try:
            _run_all(pool, todo, store, console)
        except KeyboardInterrupt:
            store.export(s.run_id for s in specs)
            typer.echo(
                f"\ninterrupted: finished runs are kept in {store.runs_dir}; "
                f"run the same command again to do the rest",
                err=True,
            )
            raise typer.Exit(130) from None
        runs_csv, curves_csv = store.export(s.run_id for s in specs)
    _finish(runs_csv, curves_csv, console)


def _run_all(pool, todo: list[RunSpec], store, console: Console) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from resbench.train import train_run

    if not todo:
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("training", total=len(todo))
        for result in pool.map(train_run, todo):
            store.save(result)
            progress.advance(task)
            console.print(_result_line(result), highlight=False)


def _result_line(r: RunResult) -> str:
    mark = {"ok": "[green]ok[/]", "diverged": "[yellow]diverged[/]"}.get(
        r.status, f"[red]{r.status}[/]"
    )
    line = f"{mark:>8} {r.spec.label():<22}"
    if r.train_error is not None:
        line += f" train {r.train_error:.4f}  test {r.test_error:.4f}"
    if r.error:
        line += f" {r.error}"
    return line + f"  {r.seconds:.1f}s"


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


@app.command()
def models(
    family: Annotated[str, typer.Argument(help="The family: mlp, conv1d or cifar.")],
    depths: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Comma-separated depths (default: the family's usual ones)."),
    ] = None,
    arch: Annotated[str, typer.Option(help="Comma-separated: plain, residual.")] = "plain,residual",
    width: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=1, help="First stage's channels, or the mlp's width (default 16)."),
    ] = None,
    shortcut: Annotated[str, typer.Option(help="A (zero-pad) or B (1x1 projection).")] = "A",
    classes: Annotated[int, typer.Option(min=2, help="Outputs of the classifier.")] = 10,
    output: Annotated[
        TableFormat, typer.Option("--format", help="A table to read, or CSV to process.")
    ] = TableFormat.table,
) -> None:
    """Print each network's parameters and forward FLOPs per example (multiply-add = 2).

    FLOPs are counted on one example of the family's natural data: cifar (3, 32, 32),
    conv1d (1, 40), mlp (40,).

    Examples:

        resbench models cifar --depths 20,32,44,56,110,1202

        resbench models cifar --depths 56 --arch residual --shortcut B --classes 100

        resbench models conv1d --format csv > conv1d.csv
    """
    from resbench.models import FAMILIES, size_table

    with user_errors():
        if depths is None:  # an unknown family gets no depths, and size_table names it
            depth_list = list(FAMILIES[family].examples) if family in FAMILIES else []
        else:
            depth_list = _int_list("--depths", depths)
        archs = [a.strip() for a in arch.split(",") if a.strip()]
        rows = size_table(family, depth_list, archs, width, shortcut, classes)
    if output is TableFormat.csv:
        typer.echo("depth,arch,params,flops")
        for r in rows:
            typer.echo(f"{r['depth']},{r['arch']},{r['params']},{r['flops']}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("depth", "arch", "params", "FLOPs", title=f"{family} nets", box=None)
    for r in rows:
        params, flops = int(r["params"]), int(r["flops"])
        table.add_row(
            str(r["depth"]), str(r["arch"]), f"{params:,} ({params / 1e6:.2f}M)", _si(flops)
        )
    Console().print(table)


def _int_list(option: str, text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ResbenchError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ResbenchError(f"{option}: give at least one value")
    return values


def _si(n: int) -> str:
    """2 decimals of the largest unit that fits: 81.10M, 5.66G."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def main() -> None:
    """Entry point of the `resbench` script and `python -m resbench`."""
    try:
        app()
    except KeyboardInterrupt:  # a second Ctrl-C, outside any command's own handling
        sys.exit(130)
