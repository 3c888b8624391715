"""`resbench check`: whether a sweep's claims hold over its seeds, and against reference results."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from resbench.cli.app import user_errors
from resbench.cli.options import BestBy, BestOver, ResultsPath
from resbench.core.names import markup, shown
from resbench.sweep.defaults import BASELINE_TOLERANCE, BEST_BY

if TYPE_CHECKING:
    from resbench.analysis.judging import Judgement


class CheckFormat(str, Enum):
    table = "table"
    markdown = "markdown"


Baseline = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option(
        help="Reference results (a runs.csv or its directory) to compare against.",
        show_default=False,
    ),
]
Tolerance = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="Baseline: the change of a mean (either way), or shrinkage of the effect, that "
        "counts as a regression once it is beyond the noise over seeds.",
    ),
]
Format = Annotated[
    CheckFormat, typer.Option("--format", "-f", help="markdown suits $GITHUB_STEP_SUMMARY.")
]
Html = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--html",
        help="Also write the page of what was judged (figures, tables, these verdicts) "
        "to this file, e.g. a CI artifact.",
        show_default=False,
    ),
]


def check(
    results: ResultsPath = None,
    baseline: Baseline = None,
    tolerance: Tolerance = BASELINE_TOLERANCE,
    fmt: Format = CheckFormat.table,
    html: Html = None,
    best_over: BestOver = None,
    best_by: BestBy = BEST_BY,
) -> None:
    """Check the sweep's `expect:` claims (from the sweep.yaml beside runs.csv) over its seeds,
    and with --baseline, regression against reference results.

    Each claim is a one-sided test of its bound, and the claims are judged together (Holm's
    step-down: passing any false one has a 2.5% chance at most), each with its interval at its
    own level. PASS: the interval lies wholly on the passing side of the bound; FAIL: wholly on
    the other side; INCONCLUSIVE: it holds the bound (the note says what the seeds could detect
    and about how many would decide it), or the claim cannot be tested (fewer than two seeds in
    a group, a failed run). A diverged run counts as error 1.0. Drift claims judge the slope of
    the best value of a swept key against log2 of the residual blocks, with its
    seed-resampling interval. With --best-over KEY, the claims that name no best_over of their
    own are judged at each arch's best value of KEY.

    Exit 0: every verdict PASS; 1: any FAIL or INCONCLUSIVE; 2: bad input; 3: a place that
    cannot be written (--html on a read-only or full disk).

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

    with user_errors():
        found = Results.open(results)
        reference = Results.open(baseline, role="baseline") if baseline is not None else None
        judgements = found.check(reference, tolerance, best_over, best_by)
        notes = [*found.table_notes(), *code_notes(found.runs)]
        machine = machine_note(found.runs, reference.runs) if reference is not None else None
        notes += [machine] if machine else []
        if html is not None:  # the page says the rest itself
            page = found.html(html, outcomes=judgements, notes=[machine] if machine else [])
    _print_verdicts(judgements, notes, fmt, str(found.runs_csv))
    if html is not None:
        typer.echo(f"wrote {shown(page)}", err=fmt is CheckFormat.markdown)  # stdout: the markdown
    if not all_passed(judgements):
        raise typer.Exit(1)


def _print_verdicts(
    judgements: list[Judgement], notes: list[str], fmt: CheckFormat, source: str
) -> None:
    """The verdicts, then the notes (one line each), as a table or markdown."""
    from resbench.views.text import check_grid, check_markdown, check_summary

    if fmt is CheckFormat.markdown:
        typer.echo(check_markdown(judgements, source) + "".join(f"\n{n}\n" for n in notes))
        return
    from rich.console import Console

    console = Console(highlight=False)
    console.print(check_grid(judgements))
    for note in notes:
        console.print(f"[dim]{markup(note)}[/]", soft_wrap=True)  # one line each
    console.print(check_summary(judgements))
