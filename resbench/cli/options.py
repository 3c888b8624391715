"""The argument and options that the commands reading a results folder share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

_RESULTS_HELP = (
    "A results directory or its runs.csv (default: the most recently written results/SWEEP/)."
)

# `check`, `plot` and `export` read one results folder; `report` reads one or several.
ResultsPath = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Argument(help=_RESULTS_HELP, show_default=False),
]
ResultsPaths = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Argument(help=_RESULTS_HELP + " Several: one report each.", show_default=False),
]
BestOver = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="A swept key (e.g. train.lr): each arch, depth and variant at its best value of it, "
        "the lowest mean --best-by (chosen on half the seeds from 4 on).",
        show_default=False,
    ),
]
BestBy = Annotated[
    str, typer.Option(help="With --best-over: the metric whose lowest mean is the best.")
]
