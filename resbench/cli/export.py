"""`resbench export`: a sweep's results in another tool's format (TensorBoard's event files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resbench.cli.app import user_errors
from resbench.cli.options import ResultsPath
from resbench.core.names import shown

TensorBoardDir = Annotated[
    Path,
    typer.Option(
        "--tensorboard",
        help="Write TensorBoard event files here: a run each, its curves as scalars, its "
        'spec as hyper-parameters (needs pip install "resbench[tensorboard]").',
        show_default=False,
    ),
]


def export(
    results: ResultsPath = None,
    tensorboard: TensorBoardDir = ...,  # type: ignore[assignment]
) -> None:
    """Export a sweep's results to another tool's format: TensorBoard's event files.

    Each run is a TensorBoard run named arch-depth-seedN-RUNID (a folder's name: in an arch of
    other characters than letters, digits, '.', '_' and '-', they become '_' and a hash is
    added), with error/train, error/test, loss/train and loss/test against step, and its spec
    fields as hyper-parameters (the HParams view) with the final train and test error and loss
    as their metrics. An export into a folder that holds one replaces each run's events.

    Examples:

        resbench export results/quick --tensorboard tb/ && tensorboard --logdir tb/
    """
    from resbench.results import Results

    with user_errors():
        found = Results.open(results)
        typer.echo(f"wrote {len(found.runs)} runs to {shown(found.tensorboard(tensorboard))}")
