"""The training curves (the paper's Figure 6): per variant of the sweep a panel per arch, a series
per depth, `metric` against step, train thin (running, over the minibatches since the previous
point) and test bold; each line the mean over the ok seeds. Each panel names the runs its
lines leave out."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from resbench.views import style
from resbench.views.figures.model import Axis, Figure, Group, LegendEntry, Mark, Panel, Series

if TYPE_CHECKING:
    import pandas as pd

WIDTHS = (("train", 1.0), ("test", 2.2))  # a split's line: thin while training, bold on test


def curves_figure(curves: pd.DataFrame, runs: pd.DataFrame, metric: str = "error") -> Figure:
    """`metric` against step: a group per variant, a panel per arch, a series per depth."""
    from resbench.analysis.summary import arch_order, describe
    from resbench.models.registry import depth_unit
    from resbench.views.text import header_line

    status = runs.set_index("run_id")["status"]
    points = curves[curves["metric"] == metric]
    points = points[points["run_id"].map(status) == "ok"]
    depths = sorted(set(runs["depth"]))
    colors = style.depth_colors(depths)
    unit = depth_unit(runs["family"])
    groups = []
    for i, (title, variant) in enumerate(style.variants(runs)):
        chosen = points[points["run_id"].isin(variant["run_id"])].sort_values(["step", "seed"])
        # Each line's points in one pass: (arch, depth, split) -> [(step, epoch, seeds' values)]
        at: dict[tuple, list] = {}
        for (arch, depth, split, step), g in chosen.groupby(["arch", "depth", "split", "step"]):
            at.setdefault((arch, depth, split), []).append(
                (step, g["epoch"].iloc[0], g["value"].tolist())
            )
        panels = []
        for arch in arch_order(variant["arch"]):
            series = []
            for depth in depths:
                lines = [
                    _line(at[arch, depth, split], f"{arch} · {depth} {unit}s", split, w, metric)
                    for split, w in WIDTHS
                    if (arch, depth, split) in at
                ]
                if not lines:
                    continue
                marks = lines
                keys = {"depth": str(depth)}
                series.append(Series(f"{depth} {unit}s", colors[depth], marks, keys))
            missing = style.not_shown(variant[variant["arch"] == arch])
            notes = [f"not shown: {missing}"] if missing else []
            x, y = Axis("step"), Axis(metric, low=0.0)
            panels.append(Panel(f"{i}/{arch}", arch, series, x, y, notes, {"arch": arch}))
        shown = [d for d in depths if (variant["depth"] == d).any()]
        legend = [LegendEntry(f"{d} {unit}s", colors[d]) for d in shown]
        legend += [
            LegendEntry("train: running, during training (thin)", style.GRAY, "thin"),
            LegendEntry("test (bold)", style.GRAY),
        ]
        groups.append(Group(title, panels, legend))
    return Figure("curves", "curves", header_line(describe(runs)), groups)


def _line(points: list, name: str, split: str, width: float, metric: str) -> Mark:
    """One split's line: the mean over the seeds at each step, each point saying its seeds."""
    xs, ys, tips = [], [], []
    for step, epoch, values in points:
        finite = [v for v in values if v == v]  # as pandas' mean: a NaN left out
        xs.append(float(step))
        ys.append(sum(finite) / len(finite) if finite else math.nan)
        tips.append(
            f"{name} · step {step} (epoch {epoch:g}): {split} {metric} {ys[-1]:.3f}, mean of "
            f"{len(values)} ok seeds ({', '.join(f'{v:.3f}' for v in values)})"
        )
    return Mark("line", split, xs, ys, width=width, name=f"{name} · {split}", tips=tips)
