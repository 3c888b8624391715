"""`resbench plot`: a sweep's figures as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from resbench.cli.app import user_errors
from resbench.cli.options import BestBy, BestOver, ResultsPath
from resbench.core.names import shown
from resbench.sweep.defaults import BEST_BY

DepthPng = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--out", "-o", help="PNG of the final metric against depth.", show_default=False),
]
CurvesPng = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--curves", help="PNG of the training curves (error vs step).", show_default=False
    ),
]
Metric = Annotated[str, typer.Option("--metric", "-m", help="What the depth figure shows.")]
Layers = Annotated[
    bool,
    typer.Option(
        "--layers",
        help="Draw gradient norm vs layer instead of the depth figure, to -o (default "
        "layers.png beside runs.csv); needs train.diagnostics.",
    ),
]
Why = Annotated[
    bool,
    typer.Option(
        "--why",
        help="Draw why depth fails instead of the depth figure: a PNG per diagnostic the runs "
        "recorded (why-cosine.png, why-jacobian.png, why-lesions.png, ...) in the folder -o "
        "names (default: beside runs.csv).",
    ),
]
LandscapePng = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        help="With --best-over: PNG of the landscape.",
        show_default="landscape.png beside runs.csv",
    ),
]


def plot(
    results: ResultsPath = None,
    out: DepthPng = None,
    curves: CurvesPng = None,
    metric: Metric = "train_error",
    layers: Layers = False,
    why: Why = False,
    best_over: BestOver = None,
    best_by: BestBy = BEST_BY,
    landscape: LandscapePng = None,
) -> None:
    """Draw the sweep: (a) final metric vs depth, one line per arch, a band over seeds;
    (b) error vs step per depth, plain and residual side by side, thin train, bold test;
    (c) with --layers, gradient norm vs layer index (log scale), a line per depth, plain and
    residual side by side: solid at initialisation, dashed at the end; (d) with --why, why depth
    fails (docs/why.md), a PNG per diagnostic recorded: the cosine between inputs, activation
    scale and token spread per layer (solid at initialisation, dashed at the end), the
    Jacobian's singular values and the gradients' correlation per layer at initialisation, the
    test error without each block, the loss slice and the loss surface's contours.

    With neither -o nor --curves, (a) and (b) go beside runs.csv as depth.png and curves.png.
    With --best-over KEY, each figure shows each arch at its best value of KEY, and the
    landscape (--best-by against KEY, a line per depth) goes to --landscape.

    Examples:

        resbench plot                        # depth.png, curves.png beside runs.csv

        resbench plot results/quick -o depth.png

        resbench plot results/quick --curves fig6.png

        resbench plot results/gradients --layers -o gradients.png

        resbench plot results/reference/why --why -o why-figures

        resbench plot results/transfer --best-over train.lr --best-by train_loss
    """
    from resbench.core.errors import ResbenchError
    from resbench.results import Results

    with user_errors():
        found = Results.open(results)
        best = {"best_over": best_over, "best_by": best_by}  # the figures: each at its best
        if best_over is not None:
            typer.echo(f"wrote {shown(found.plot_landscape(best_over, best_by, landscape))}")
        if layers and why:
            raise ResbenchError("--layers and --why: one at a time (-o names its file or folder)")
        if layers:
            typer.echo(f"wrote {shown(found.plot_layers(out, **best))}")
            return
        if why:
            if out is not None and out.suffix.lower() == ".png":
                raise ResbenchError(f"-o {out}: with --why, -o names a folder for its PNGs")
            for path in found.plot_why(out, **best):
                typer.echo(f"wrote {shown(path)}")
            return
        both = out is None and curves is None
        if curves is not None or both:
            found.curves  # noqa: B018 - a missing curves.csv fails first, before any figure
        if out is not None or both:
            typer.echo(f"wrote {shown(found.plot_depth(out, metric, **best))}")
        if curves is not None or both:
            typer.echo(f"wrote {shown(found.plot_curves(curves, **best))}")
