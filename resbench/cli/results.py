"""`resbench report`, `plot` and `check`: what a results directory shows and whether it holds."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from resbench.cli.app import user_errors


class ReportFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


class CheckFormat(str, Enum):
    table = "table"
    markdown = "markdown"


RESULTS_HELP = (
    "A results directory or its runs.csv (default: the most recently written results/SWEEP/)."
)


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
        typer.Option(
            "--format",
            "-f",
            help="markdown suits a PR comment or $GITHUB_STEP_SUMMARY; html writes one "
            "self-contained page (figures, tables, claims, provenance) to a file.",
        ),
    ] = ReportFormat.table,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--output",
            "-o",
            help="With --format html: the page's file (default report.html beside runs.csv).",
            show_default=False,
        ),
    ] = None,
    layers: Annotated[
        bool,
        typer.Option(
            "--layers",
            help="Instead: the first ÷ last layer's gradient norm at initialisation and at the "
            "end (from layers.csv; needs train.diagnostics).",
        ),
    ] = False,
    best_over: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="A swept key (e.g. train.lr): show each arch, depth and variant at its best "
            "value, with the landscape's best value per depth and its drift.",
            show_default=False,
        ),
    ] = None,
    best_by: Annotated[
        str, typer.Option(help="With --best-over: the metric whose lowest mean is the best.")
    ] = "train_loss",
    reach_tolerance: Annotated[
        float,
        typer.Option(
            help="The depth an arch reaches: train error within this of its best depth's."
        ),
    ] = 0.05,
) -> None:
    """Tabulate a sweep: per depth and arch, the metric's mean ± std over seeds (n ok runs).

    ▲ marks a net that is worse than a shallower one of the same arch: the degradation.
    Runs that diverged or failed are named beside the mean ("diverged 1/3"), never averaged in.

    With --layers: per depth and arch, the first weight layer's gradient norm divided by the
    last's, at step 0 and at the end (geometric mean over seeds): ≪1 the gradient vanishes on
    its way to the input, ≫1 it explodes. A table per variant when the sweep varies more than
    depth and arch (family, batch norm, ...).

    With --best-over KEY: each arch, depth and variant at its best value of the swept KEY (the
    lowest mean --best-by), chosen on half the seeds and reported on the other half from 4
    seeds on (on the same seeds with fewer, as the table says); then the best value at each
    depth over all seeds and its drift (the slope of log2 best on log2 depth, with a 95%
    interval from resampling seeds). Every report ends with the depth each arch reaches.

    Examples:

        resbench report                     # the newest results/SWEEP/

        resbench report results/quick -m train_loss

        resbench report --format markdown >> "$GITHUB_STEP_SUMMARY"

        resbench run gradients && resbench report --layers

        resbench report results/remedies --format html -o remedies.html

        resbench report results/transfer --best-over train.lr --best-by train_loss
    """
    if fmt is ReportFormat.html or output is not None:
        _report_html(results, metric, fmt, output, layers)
        return
    if layers:
        _report_layers(results, fmt)
        return
    import sys

    from rich.console import Console
    from rich.markup import escape

    from resbench.results import Results
    from resbench.views.text import (
        header_line,
        report_frame,
        report_json,
        report_markdown,
        report_tables,
        status_line,
    )

    with user_errors():
        reports = []
        for ref in results or [None]:
            found = Results.open(ref)
            data = found.report(metric, best_over, best_by, reach_tolerance)
            data["notes"] = [*found.table_notes(), *data["notes"]]
            reports.append((str(found.runs_csv), data))
    if fmt is ReportFormat.json:
        typer.echo(report_json(reports))
    elif fmt is ReportFormat.csv:
        import pandas as pd

        frame = pd.concat([report_frame(data, source) for source, data in reports])
        frame.to_csv(sys.stdout, index=False, float_format="%.6g")
    elif fmt is ReportFormat.markdown:
        typer.echo("\n".join(report_markdown(data, source) for source, data in reports))
    else:
        console = Console()
        for source, data in reports:
            console.print(
                f"[bold]{escape(header_line(data['header']))}[/]\n[dim]{escape(source)}[/]"
            )
            for note in data["notes"]:
                console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
            for table in report_tables(data):
                console.print(table)
            console.print(status_line(data["status"]), highlight=False)


def _report_html(
    results: list[Path] | None,
    metrics: list[str] | None,
    fmt: ReportFormat,
    output: Path | None,
    layers: bool,
) -> None:
    """`report --format html`: a page per results directory (its gradient figure included)."""
    from resbench import ResbenchError
    from resbench.results import Results

    with user_errors():
        if fmt is not ReportFormat.html:
            raise ResbenchError("--output: only for --format html (the others print)")
        if layers:
            raise ResbenchError("--layers: the html page draws the gradient norms by itself")
        if output is not None and len(results or [None]) > 1:
            raise ResbenchError("--output: one file for one results directory; name one")
        for ref in results or [None]:
            typer.echo(f"wrote {Results.open(ref).html(output, metrics)}")


def _report_layers(results: list[Path] | None, fmt: ReportFormat) -> None:
    """`report --layers`: the gradient-norm ratio tables of each results directory."""
    from rich.console import Console
    from rich.markup import escape

    from resbench.analysis.summary import describe
    from resbench.results import Results
    from resbench.views.text import header_line, ratio_markdown, ratio_tables

    with user_errors():
        reports = []
        for ref in results or [None]:
            found = Results.open(ref)
            reports.append((str(found.runs_csv), found.runs, found.layer_ratios()))
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
    best_over: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="A swept key (e.g. train.lr): draw each arch at its best value, and the "
            "landscape (--best-by against the key, a line per depth) to --landscape.",
            show_default=False,
        ),
    ] = None,
    best_by: Annotated[
        str, typer.Option(help="With --best-over: the metric whose lowest mean is the best.")
    ] = "train_loss",
    landscape: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="With --best-over: PNG of the landscape.",
            show_default="landscape.png beside runs.csv",
        ),
    ] = None,
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

        resbench plot results/transfer --best-over train.lr --best-by train_loss
    """
    from resbench.results import Results

    with user_errors():
        found = Results.open(results)
        best = {"best_over": best_over, "best_by": best_by}  # the figures: each at its best
        if best_over is not None:
            typer.echo(f"wrote {found.plot_landscape(best_over, best_by, landscape)}")
        if layers:
            typer.echo(f"wrote {found.plot_layers(out, **best)}")
            return
        both = out is None and curves is None
        if curves is not None or both:
            found.curves  # noqa: B018 - a missing curves.csv fails first, before any figure
        if out is not None or both:
            typer.echo(f"wrote {found.plot_depth(out, metric, **best)}")
        if curves is not None or both:
            typer.echo(f"wrote {found.plot_curves(curves, **best)}")


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
        typer.Option(
            min=0.0,
            help="Baseline: the change of a mean (either way), or shrinkage of the effect, that "
            "counts as a regression once it is beyond the noise over seeds.",
        ),
    ] = 0.05,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="markdown suits $GITHUB_STEP_SUMMARY.")
    ] = CheckFormat.table,
    html: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--html",
            help="Also write the page of what was judged (figures, tables, these verdicts) "
            "to this file, e.g. a CI artifact.",
            show_default=False,
        ),
    ] = None,
    best_over: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="A swept key (e.g. train.lr): judge the claims that name no best_over of their "
            "own at each arch's best value of it.",
            show_default=False,
        ),
    ] = None,
    best_by: Annotated[
        str, typer.Option(help="With --best-over: the metric whose lowest mean is the best.")
    ] = "train_loss",
) -> None:
    """Check the sweep's `expect:` claims (from the sweep.yaml beside runs.csv) over its seeds,
    and with --baseline, regression against reference results.

    A claim passes when the difference of means passes and its 95% Welch t interval does too.
    Fewer than two seeds in a group is INCONCLUSIVE; a diverged run counts as error 1.0; a
    failed run makes its group INCONCLUSIVE. A sweep with a seed budget (seeds:) is judged by
    the sequential rule its rounds stopped on (docs/seeds.md), each claim saying so. Exit 0:
    all pass; 1: any fail or is inconclusive; 2: bad input. Drift claims (the best value of a
    swept key against depth) pass when the slope and its 95% seed-resampling interval do.

    The baseline compares each (arch, depth) group's seeds with the reference's as two samples
    and fails only on evidence of a change beyond --tolerance; the effect (plain − residual at
    the deepest depth) fails only if it shrank. The comparisons share a 5% false-alarm rate, so
    results from another CPU, thread count or torch build (another draw, said in one line)
    pass when nothing changed. docs/ci.md has the statistics and the measured rates.

    Examples:

        resbench check                      # the newest results/SWEEP/

        resbench check results/ci --baseline results/reference/ci --tolerance 0.05

        resbench check results/ci -f markdown >> "$GITHUB_STEP_SUMMARY"

        resbench check results/ci --baseline results/reference/ci --html ci-report.html

        resbench check results/remedies-lr --best-over train.lr
    """
    from resbench.analysis.baseline import machine_note
    from resbench.analysis.summary import code_notes
    from resbench.analysis.verdicts import all_passed
    from resbench.results import Results
    from resbench.views.text import check_grid, check_markdown, check_summary

    with user_errors():
        found = Results.open(results)
        reference = Results.open(baseline, role="baseline") if baseline is not None else None
        outcomes = found.check(reference, tolerance, best_over, best_by)
        notes = [*found.table_notes(), *code_notes(found.runs)]
        machine = machine_note(found.runs, reference.runs) if reference is not None else None
        notes += [machine] if machine else []
        if html is not None:  # the page says the rest itself
            page = found.html(html, outcomes=outcomes, notes=[machine] if machine else [])
    if fmt is CheckFormat.markdown:
        typer.echo(
            check_markdown(outcomes, str(found.runs_csv)) + "".join(f"\n{n}\n" for n in notes)
        )
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(highlight=False)
        console.print(check_grid(outcomes))
        for note in notes:
            console.print(f"[dim]{escape(note)}[/]", soft_wrap=True)  # one line each
        console.print(check_summary(outcomes))
    if html is not None:
        typer.echo(f"wrote {page}", err=fmt is CheckFormat.markdown)  # stdout: the markdown
    if not all_passed(outcomes):
        raise typer.Exit(1)


def export(
    results: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help=RESULTS_HELP, show_default=False),
    ] = None,
    tensorboard: Annotated[
        Path,
        typer.Option(
            "--tensorboard",
            help="Write TensorBoard event files here: a run each, its curves as scalars, its "
            'spec as hyper-parameters (needs pip install "resbench[tensorboard]").',
            show_default=False,
        ),
    ] = ...,  # type: ignore[assignment]
) -> None:
    """Export a sweep's results to another tool's format: TensorBoard's event files.

    Each run is a TensorBoard run named arch-depth-seedN-RUNID, with error/train, error/test,
    loss/train and loss/test against step, and its spec fields as hyper-parameters (the HParams
    view) with the final train and test error and loss as their metrics.

    Examples:

        resbench export results/quick --tensorboard tb/ && tensorboard --logdir tb/
    """
    from resbench.results import Results

    with user_errors():
        found = Results.open(results)
        typer.echo(f"wrote {len(found.runs)} runs to {found.tensorboard(tensorboard)}")
