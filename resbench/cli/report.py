"""`resbench report`: a sweep's tables over seeds, as text, markdown, CSV, JSON or one HTML page."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from resbench.cli.app import user_errors
from resbench.cli.options import BestBy, BestOver, ResultsPaths
from resbench.core.names import markup, shown
from resbench.sweep.defaults import BEST_BY, REACH_TOLERANCE


class ReportFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


Metrics = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        "--metric",
        "-m",
        help="A runs.csv column to tabulate; repeat for several.",
        show_default="train_error and test_error",
    ),
]
Format = Annotated[
    ReportFormat,
    typer.Option(
        "--format",
        "-f",
        help="markdown suits a PR comment or $GITHUB_STEP_SUMMARY; html writes one "
        "self-contained page (figures, tables, claims, provenance) to a file.",
    ),
]
Output = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--output",
        "-o",
        help="With --format html: the page's file (default report.html beside runs.csv).",
        show_default=False,
    ),
]
Layers = Annotated[
    bool,
    typer.Option(
        "--layers",
        help="Instead: the first ÷ last layer's gradient norm at initialisation and at the "
        "end, then the tables of why depth fails where recorded (from layers.csv; needs "
        "train.diagnostics).",
    ),
]
ReachTolerance = Annotated[
    float,
    typer.Option(help="The depth an arch reaches: train error within this of its best depth's."),
]


def report(
    results: ResultsPaths = None,
    metric: Metrics = None,
    fmt: Format = ReportFormat.table,
    output: Output = None,
    layers: Layers = False,
    best_over: BestOver = None,
    best_by: BestBy = BEST_BY,
    reach_tolerance: ReachTolerance = REACH_TOLERANCE,
) -> None:
    """Tabulate a sweep: per depth and arch, the metric's mean ± std over seeds (n ok runs).

    ▲ marks a net that is worse than a shallower one of the same arch: the degradation.
    Runs that diverged or failed are named beside the mean ("diverged 1/3"), never averaged in.

    With --layers: per depth and arch, the first weight layer's gradient norm divided by the
    last's, at step 0 and at the end (geometric mean over seeds): ≪1 the gradient vanishes on
    its way to the input, ≫1 it explodes. A table per variant when the sweep varies more than
    depth and arch (family, batch norm, ...). Then, where the runs recorded them, the tables of
    why depth fails (docs/why.md), per arch and depth: the last block's signal at
    initialisation and at the end (activation rms, cosine between inputs, a transformer's token
    cosine and spread), its Jacobian's singular values and gradient correlation at
    initialisation, what removing one block adds to the test error, the loss slices' shape, and
    the test error without each block.

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
    from resbench.results import Results

    with user_errors():
        reports = []
        for ref in results or [None]:
            found = Results.open(ref)
            data = found.report(metric, best_over, best_by, reach_tolerance)
            data["notes"] = [*found.table_notes(), *data["notes"]]
            reports.append((str(found.runs_csv), data))
    _print_reports(reports, fmt)


def _print_reports(reports: list[tuple[str, dict[str, Any]]], fmt: ReportFormat) -> None:
    """Each results folder's report data, (runs.csv, data), in the format asked for."""
    from resbench.views.text import report_frame, report_json, report_markdown

    if fmt is ReportFormat.json:
        typer.echo(report_json(reports))
    elif fmt is ReportFormat.csv:
        import pandas as pd

        frame = pd.concat([report_frame(data, source) for source, data in reports])
        frame.to_csv(sys.stdout, index=False, float_format="%.6g")
    elif fmt is ReportFormat.markdown:
        typer.echo("\n".join(report_markdown(data, source) for source, data in reports))
    else:
        from rich.console import Console

        from resbench.views.text import header_line, report_tables, status_line

        console = Console()
        for source, data in reports:
            console.print(
                f"[bold]{markup(header_line(data['header']))}[/]\n[dim]{markup(source)}[/]"
            )
            for note in data["notes"]:
                console.print(f"[yellow]note:[/] {markup(note)}", soft_wrap=True)
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
            typer.echo(f"wrote {shown(Results.open(ref).html(output, metrics))}")


def _report_layers(results: list[Path] | None, fmt: ReportFormat) -> None:
    """`report --layers`: the gradient-norm ratio tables of each results directory, then the
    why tables where its runs recorded those diagnostics."""
    from rich.console import Console

    from resbench.analysis.summary import describe
    from resbench.results import Results
    from resbench.views.text import header_line, ratio_markdown, ratio_tables
    from resbench.views.why_tables import why_markdown, why_records, why_rich, why_tables

    with user_errors():
        reports = []
        for ref in results or [None]:
            found = Results.open(ref)
            why = found.why_tables()
            ratios = found.layer_ratios() if _has_gradients(found) or not why else None
            reports.append((str(found.runs_csv), found.runs, ratios, why))
    if fmt in (ReportFormat.csv, ReportFormat.json):
        import pandas as pd

        frames = [r.assign(results=s) for s, _, r, _ in reports if r is not None]
        frames += [f for s, _, _, w in reports for f in why_records(w, s)]
        if fmt is ReportFormat.csv:
            frame = pd.concat(frames, ignore_index=True)
            frame.to_csv(sys.stdout, index=False, float_format="%.6g")
        else:  # each table's rows with its own columns
            rows = [r for f in frames for r in json.loads(f.to_json(orient="records"))]
            typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
    elif fmt is ReportFormat.markdown:
        for source, _, ratios, why in reports:
            text = ratio_markdown(ratios, source) if ratios is not None else ""
            typer.echo("\n".join([text, *why_markdown(why_tables(why))]).strip("\n") + "\n")
    else:
        console = Console()
        for source, runs, ratios, why in reports:
            console.print(
                f"[bold]{markup(header_line(describe(runs)))}[/]\n[dim]{markup(source)}[/]"
            )
            tables = ratio_tables(ratios) if ratios is not None else []
            for table in [*tables, *why_rich(why_tables(why))]:
                console.print(table)


def _has_gradients(found: Any) -> bool:
    """Whether the runs of `found` recorded gradient norms (the ratio tables' data)."""
    return bool((found.layers["kind"] == "grad_norm").any())
