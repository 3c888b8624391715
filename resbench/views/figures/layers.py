"""Gradient norm against layer index (0 = input), on a log axis: per variant of the sweep a panel
per arch, a series per depth, solid at initialisation (step 0) and dashed at the end (each run's
last measured step).

Each line is the geometric mean over seeds at each layer (seeds averaged on the log axis the
figure has); zeros (a branch whose batch-norm scale starts at 0 has no gradient) and non-finite
values cannot be drawn on a log axis and are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resbench.views import style
from resbench.views.figures.model import Axis, Figure, Group, LegendEntry, Mark, Panel, Series

if TYPE_CHECKING:
    import pandas as pd

MOMENTS = (("init", "initialisation", False), ("end", "the end", True))  # role, said, dashed


def layers_figure(layers: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """Gradient norm against layer; a group per variant with gradient norms, a panel per arch
    with them."""
    from resbench.analysis.summary import arch_order, describe
    from resbench.models.registry import depth_unit
    from resbench.views.text import header_line

    unit = depth_unit(runs["family"])
    # A transformer's gradient norms are its blocks' (resbench.train.diagnostics)
    x_label = f"{'block' if unit == 'block' else 'weight layer'} (0 = input)"
    grads = layers[(layers["kind"] == "grad_norm") & (layers["value"] > 0)]
    last = grads.groupby("run_id")["step"].transform("max")
    moments = {
        "init": grads[grads["step"] == 0],
        "end": grads[(grads["step"] == last) & (last > 0)],
    }
    depths = sorted(set(runs["depth"]))
    colors = style.depth_colors(depths)
    groups = []
    for i, (title, variant) in enumerate(style.variants(runs)):
        panels = []
        for arch in arch_order(variant["arch"]):
            series = []
            for depth in depths:
                ids = variant["run_id"]
                if one := _series(moments, ids, arch, depth, unit, colors[depth]):
                    series.append(one)
            if series:
                x, y = Axis(x_label), Axis("gradient norm", "log")
                panels.append(Panel(f"{i}/{arch}", arch, series, x, y, keys={"arch": arch}))
        if not panels:
            continue
        shown = [d for d in depths if (variant["depth"] == d).any()]
        legend = [LegendEntry(f"{d} {unit}s", colors[d]) for d in shown]
        legend += [
            LegendEntry("at initialisation (solid)", style.GRAY),
            LegendEntry("at the end (dashed)", style.GRAY, "dashed"),
        ]
        groups.append(Group(title, panels, legend))
    return Figure("layers", "layers", header_line(describe(runs)), groups)


def _series(
    moments: dict[str, pd.DataFrame],
    run_ids: pd.Series,
    arch: str,
    depth: int,
    unit: str,
    color: str,
) -> Series | None:
    """One depth's lines in one arch's panel: a line per moment measured, or None."""
    import numpy as np

    marks = []
    for role, said, dashed in MOMENTS:
        frame = moments[role]
        seeds = frame[
            frame["run_id"].isin(run_ids) & (frame["arch"] == arch) & (frame["depth"] == depth)
        ]
        if seeds.empty:
            continue
        by_layer = seeds.groupby("layer")["value"]
        line = by_layer.apply(lambda v: float(np.exp(np.log(v).mean())))
        n = by_layer.size()
        name = f"{arch} · {depth} {unit}s · {said}"
        tips = [
            f"{name} · layer {layer}: gradient norm {value:.3g} "
            f"(geometric mean of {n[layer]} seeds)"
            for layer, value in line.items()
        ]
        xs, ys = [float(v) for v in line.index], [float(v) for v in line.values]
        marks.append(Mark("line", role, xs, ys, dashed=dashed, name=name, tips=tips))
    return Series(f"{depth} {unit}s", color, marks, {"depth": str(depth)}) if marks else None
