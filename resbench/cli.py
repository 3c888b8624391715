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
    from resbench.sweep import RunSpec, Sweep

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
    ray = "ray"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class ReportFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


class CheckFormat(str, Enum):
    table = "table"
    markdown = "markdown"


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
    from resbench.executors import check_available, make_executor
    from resbench.progress import SweepView
    from resbench.store import Store
    from resbench.sweep import dump_sweep, expand, load_sweep, parse_overrides, resolve

    console = Console(stderr=True, quiet=quiet)
    with user_errors():
        overrides = parse_overrides(set_ or [])
        if device:
            overrides["train.device"] = device.value
        spec_sweep = load_sweep(sweep, overrides)
        if data_dir or download:
            root = str(data_dir) if data_dir else None
            overrides |= file_overrides(spec_sweep.dataset, root, download)
            spec_sweep = load_sweep(sweep, overrides)
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


def _finish(runs_csv: Path, curves_csv: Path, console: Console) -> None:
    from rich.console import Console

    from resbench.report import depth_table
    from resbench.store import RETRYABLE, load_runs

    runs = load_runs(runs_csv)
    if not runs.empty:
        Console().print(depth_table(runs))
    layers_csv = runs_csv.with_name("layers.csv")  # written only when runs recorded diagnostics
    shown = [runs_csv, curves_csv] + ([layers_csv] if layers_csv.exists() else [])
    console.print("results: " + "  ".join(map(str, shown)))
    broken = runs[runs["status"].isin(RETRYABLE)] if not runs.empty else runs
    if len(broken):
        typer.echo(
            f"{len(broken)} run(s) failed; see the error column of {runs_csv}, "
            "then rerun with --retry-failed",
            err=True,
        )
        raise typer.Exit(1)


RESULTS_HELP = (
    "A results directory or its runs.csv (default: the most recently written results/SWEEP/)."
)


@app.command()
def report(
    results: Annotated[
        Optional[list[Path]],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Argument(help=RESULTS_HELP + " Several: one report each.", show_default=False),
    ] = None,
    metric: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--metric",
            "-m",
            help="A runs.csv column to tabulate; repeat for several.",
            show_default="train_error and test_error",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="markdown suits a PR comment or $GITHUB_STEP_SUMMARY."),
    ] = ReportFormat.table,
    layers: Annotated[
        bool,
        typer.Option(
            "--layers",
            help="Instead: the first ÷ last layer's gradient norm at initialisation and at the "
            "end (from layers.csv; needs train.diagnostics).",
        ),
    ] = False,
) -> None:
    """Tabulate a sweep: per depth and arch, the metric's mean ± std over seeds (n ok runs).

    ▲ marks a net that is worse than a shallower one of the same arch: the degradation.
    Runs that diverged or failed are named beside the mean ("diverged 1/3"), never averaged in.

    With --layers: per depth and arch, the first weight layer's gradient norm divided by the
    last's, at step 0 and at the end (geometric mean over seeds): ≪1 the gradient vanishes on
    its way to the input, ≫1 it explodes. A table per variant when the sweep varies more than
    depth and arch (family, batch norm, ...).

    Examples:

        resbench report                     # the newest results/SWEEP/

        resbench report results/quick -m train_loss

        resbench report --format markdown >> "$GITHUB_STEP_SUMMARY"

        resbench run gradients && resbench report --layers
    """
    if layers:
        _report_layers(results, fmt)
        return
    import sys

    from rich.console import Console
    from rich.markup import escape

    from resbench.report import (
        DEFAULT_METRICS,
        depth_table,
        header_line,
        report_data,
        report_frame,
        report_json,
        report_markdown,
        status_line,
    )
    from resbench.store import find_results, load_runs

    metrics = tuple(metric or DEFAULT_METRICS)
    with user_errors():
        reports = []
        for ref in results or [None]:
            csv = find_results(ref)
            runs = load_runs(csv)
            reports.append((str(csv), runs, report_data(runs, metrics)))
    if fmt is ReportFormat.json:
        typer.echo(report_json([(source, data) for source, _, data in reports]))
    elif fmt is ReportFormat.csv:
        import pandas as pd

        frame = pd.concat([report_frame(data, source) for source, _, data in reports])
        frame.to_csv(sys.stdout, index=False, float_format="%.6g")
    elif fmt is ReportFormat.markdown:
        typer.echo("\n".join(report_markdown(data, source) for source, _, data in reports))
    else:
        console = Console()
        for source, runs, data in reports:
            console.print(
                f"[bold]{escape(header_line(data['header']))}[/]\n[dim]{escape(source)}[/]"
            )
            for m in metrics:
                console.print(depth_table(runs, m))
            console.print(status_line(data["status"]), highlight=False)


def _report_layers(results: list[Path] | None, fmt: ReportFormat) -> None:
    """`report --layers`: the gradient-norm ratio tables of each results directory."""
    from rich.console import Console
    from rich.markup import escape

    from resbench.report import (
        describe,
        header_line,
        layer_ratios,
        ratio_markdown,
        ratio_tables,
    )
    from resbench.store import find_results, load_layers, load_runs

    with user_errors():
        reports = []
        for ref in results or [None]:
            csv = find_results(ref)
            runs = load_runs(csv)
            reports.append((str(csv), runs, layer_ratios(load_layers(csv), runs)))
    if fmt in (ReportFormat.csv, ReportFormat.json):
        import pandas as pd

        frame = pd.concat([r.assign(results=s) for s, _, r in reports], ignore_index=True)
        if fmt is ReportFormat.csv:
            frame.to_csv(sys.stdout, index=False, float_format="%.6g")
        else:
            typer.echo(frame.to_json(orient="records", indent=1))
    elif fmt is ReportFormat.markdown:
        typer.echo("\n".join(ratio_markdown(ratios, source) for source, _, ratios in reports))
    else:
        console = Console()
        for source, runs, ratios in reports:
            console.print(
                f"[bold]{escape(header_line(describe(runs)))}[/]\n[dim]{escape(source)}[/]"
            )
            for table in ratio_tables(ratios):
                console.print(table)


@app.command()
def plot(
    results: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help=RESULTS_HELP, show_default=False),
    ] = None,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--out", "-o", help="PNG of the final metric against depth.", show_default=False
        ),
    ] = None,
    curves: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--curves", help="PNG of the training curves (error vs step).", show_default=False
        ),
    ] = None,
    metric: Annotated[str, typer.Option("--metric", "-m", help="What the depth figure shows.")] = (
        "train_error"
    ),
    layers: Annotated[
        bool,
        typer.Option(
            "--layers",
            help="Draw gradient norm vs layer instead of the depth figure, to -o (default "
            "layers.png beside runs.csv); needs train.diagnostics.",
        ),
    ] = False,
) -> None:
    """Draw the sweep: (a) final metric vs depth, one line per arch, a band over seeds;
    (b) error vs step per depth, plain and residual side by side, thin train, bold test;
    (c) with --layers, gradient norm vs layer index (log scale), a line per depth, plain and
    residual side by side: solid at initialisation, dashed at the end.

    With neither -o nor --curves, (a) and (b) go beside runs.csv as depth.png and curves.png.

    Examples:

        resbench plot                        # depth.png, curves.png beside runs.csv

        resbench plot results/quick -o depth.png

        resbench plot results/quick --curves fig6.png

        resbench plot results/gradients --layers -o gradients.png
    """
    from resbench.plot import plot_curves, plot_depth, plot_layers
    from resbench.store import find_results, load_curves, load_layers, load_runs

    with user_errors():
        csv = find_results(results)
        runs = load_runs(csv)
        layers_out = None
        if layers:
            layers_out, out = out or csv.with_name("layers.png"), None
        elif out is None and curves is None:
            out, curves = csv.with_name("depth.png"), csv.with_name("curves.png")
        curve_frame = load_curves(csv) if curves is not None else None  # missing: fail first
        layer_frame = load_layers(csv) if layers_out is not None else None
        if layers_out is not None:
            typer.echo(f"wrote {plot_layers(layer_frame, runs, layers_out)}")
        if out is not None:
            typer.echo(f"wrote {plot_depth(runs, out, metric)}")
        if curves is not None:
            typer.echo(f"wrote {plot_curves(curve_frame, runs, curves)}")


@app.command()
def check(
    results: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help=RESULTS_HELP, show_default=False),
    ] = None,
    baseline: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="Reference results (a runs.csv or its directory) to compare against.",
            show_default=False,
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(min=0.0, help="Baseline: how far a mean or the effect may move."),
    ] = 0.05,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="markdown suits $GITHUB_STEP_SUMMARY.")
    ] = CheckFormat.table,
) -> None:
    """Check the sweep's `expect:` claims (from the sweep.yaml beside runs.csv) over its seeds,
    and with --baseline, regression against reference results.

    A claim passes when the difference of means passes and its 95% Welch t interval does too.
    Fewer than two seeds in a group is INCONCLUSIVE; a diverged run counts as error 1.0; a
    failed run makes its group INCONCLUSIVE. Exit 0: all pass; 1: any fail or is inconclusive;
    2: bad input.

    Examples:

        resbench check                      # the newest results/SWEEP/

        resbench check results/ci --baseline results/reference/ci --tolerance 0.05

        resbench check results/ci -f markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from resbench.check import all_passed
    from resbench.check import check as run_checks
    from resbench.report import check_markdown, check_summary, outcome_detail
    from resbench.store import find_results, load_runs
    from resbench.sweep import load_sweep

    with user_errors():
        csv = find_results(results)
        runs = load_runs(csv)
        sweep_file = csv.with_name("sweep.yaml")
        claims = list(load_sweep(sweep_file).expect) if sweep_file.is_file() else []
        reference = (
            load_runs(find_results(baseline, role="baseline")) if baseline is not None else None
        )
        outcomes = run_checks(runs, claims, reference, tolerance)
    if fmt is CheckFormat.markdown:
        typer.echo(check_markdown(outcomes, str(csv)))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        # A grid keeps wrapped text indented under its statement, clear of the verdicts.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        style = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}
        for o in outcomes:
            lines = [
                escape(o.text),
                *(f"[dim]{escape(x)}[/]" for x in (outcome_detail(o), o.note) if x),
            ]
            grid.add_row(f"[{style[o.verdict]}]{o.verdict}[/]", "\n".join(lines))
        console = Console(highlight=False)
        console.print(grid)
        console.print(check_summary(outcomes))
    if not all_passed(outcomes):
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
def schema(
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", "-o", help="Write to this file instead of standard output."),
    ] = None,
) -> None:
    """Print the JSON Schema of sweep files, for editors that complete and check YAML.

    With the YAML language server (VS Code's YAML extension, and others), a first line
    `# yaml-language-server: $schema=sweep.schema.json` in a sweep file points at it.

    Examples:

        resbench schema -o sweep.schema.json
    """
    from resbench.sweep import schema_json

    text = schema_json()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}", err=True)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="The sweep's name; writes NAME.yaml.")] = "my-sweep",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter sweep, NAME.yaml (and sweep.schema.json beside it), to edit.

    Examples:

        resbench init depth-lr && resbench run depth-lr.yaml --dry-run
    """
    from resbench.sweep import starter_sweep

    with user_errors():
        path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
        if path.exists() and not force:
            raise ResbenchError(f"{path}: exists; choose another name or pass --force")
        path.write_text(starter_sweep(path.stem))
        schema_path = path.parent / "sweep.schema.json"
        if not schema_path.exists():
            from resbench.sweep import schema_json

            schema_path.write_text(schema_json())
    typer.echo(f"wrote {path}; try: resbench run {path} --dry-run")


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
    from resbench.families import FAMILIES
    from resbench.models import size_table

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
