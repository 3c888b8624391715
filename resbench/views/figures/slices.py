"""The loss around the trained weights (Li et al. 2018), as figures of layers.csv's
`loss_slice` and `loss_surface` points:

- `slice_figure`: the training loss against α along a filter-normalised direction, a panel per
  arch and a series per depth (per group of `resbench.views.figures.why.why_groups`), each
  point the geometric mean over the seeds with a finite loss there (log scale);
- `surface_figure`: the 2D surface as contour lines, a panel per arch and depth: the mean over
  seeds of the loss on the (α, β) grid, cut at the panel's own levels (evenly spaced in log
  above its lowest loss up to 100 times it, or its highest where lower; the panel says which),
  a colour per level from the lowest, and a star at the trained weights (α = β = 0).

The contours are found here (marching squares, a saddle cell resolved by its centre's mean), so
that both renderers draw the same lines: each level is one line broken where its pieces part.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from resbench.views import style
from resbench.views.figures.model import Axis, Figure, Group, LegendEntry, Mark, Panel, Series
from resbench.views.figures.why import (
    seed_count,
    seed_mean,
    series_label,
    why_figure,
    why_groups,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

LEVELS = 8  # contour levels of the surface
LEVEL_SPAN = 100.0  # the highest level at most this many times the lowest loss
ALPHA_DIGITS = 6  # α and β as recorded come from float32 (-1.49e-08 for 0): rounded to match
Point = tuple[float, float]


def slice_figure(layers: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """The training loss against α around the trained weights: a panel per arch, a series per
    depth (log scale)."""
    rows = layers[layers["kind"] == "loss_slice"].assign(x=lambda f: f["x"].round(ALPHA_DIGITS))

    def series(arch_runs: pd.DataFrame, depth: int, color: str, name: str) -> Series | None:
        mine = rows[rows["run_id"].isin(arch_runs["run_id"])]
        by_alpha = mine.groupby("x")["value"]
        means = by_alpha.apply(lambda v: seed_mean(v, True)).dropna()
        if means.empty:
            return None
        n = by_alpha.apply(lambda v: seed_count(v, True))
        tips = [
            f"{name}, α {a:+.3g}: training loss {v:.3g} ({n[a]} seeds)" for a, v in means.items()
        ]
        xs, ys = [float(a) for a in means.index], [float(v) for v in means.values]
        mark = Mark("line", "loss", xs, ys, dots=1.5, name=f"{name} · loss slice", tips=tips)
        return Series(name.split(" · ")[-1], color, [mark])

    y = Axis("training loss", "log")
    legend: list[LegendEntry] = []
    note = "after training, along one filter-normalised direction"
    figure = why_figure(runs, "why-slice", y, series, legend, note, "no slice")
    for _, panel in figure.panels():
        panel.x = Axis("α (step along the direction)")
    figure.keys = {"diagnostic": "loss_slice"}
    return figure


def surface_figure(layers: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """The 2D loss surface around the trained weights as contour lines: a panel per arch and
    depth, a colour per level (the panel's own levels, named under its title)."""
    from resbench.analysis.summary import arch_order, describe
    from resbench.views.text import header_line

    rows = layers[layers["kind"] == "loss_surface"]
    rows = rows.assign(x=rows["x"].round(ALPHA_DIGITS), y=rows["y"].round(ALPHA_DIGITS))
    colors = list(style.depth_colors(list(range(LEVELS))).values())
    legend = [
        LegendEntry("lowest level", colors[0]),
        LegendEntry(f"highest of {LEVELS} (log spaced)", colors[-1]),
        LegendEntry("the trained weights", style.BLACK, "star"),
    ]
    groups = []
    for i, (title, group) in enumerate(why_groups(runs)):
        family = str(group["family"].iloc[0])
        panels = []
        for arch in arch_order(group["arch"]):
            for depth in sorted(set(group.loc[group["arch"] == arch, "depth"])):
                ids = group.loc[(group["arch"] == arch) & (group["depth"] == depth), "run_id"]
                made = _mean_grid(rows[rows["run_id"].isin(ids)])
                if made is not None:
                    keys = {"arch": arch, "depth": str(depth)}
                    name = f"{arch} · {series_label(depth, family)}"
                    panel = _surface_panel(f"{i}/{arch}/{depth}", name, *made, colors)
                    panel.keys = keys
                    panels.append(panel)
        if panels:
            groups.append(Group(title, panels, legend))
    note = "after training, along two filter-normalised directions"
    figure = Figure("surface", "why-surface", header_line(describe(runs)), groups, note=note)
    figure.keys = {"diagnostic": "loss_surface"}
    return figure


def _surface_panel(key: str, name: str, grid: pd.DataFrame, n: int, colors: list[str]) -> Panel:
    """One net's contours at its own levels (a net's loss may lie wholly below another's lowest
    level), a star at the trained weights."""
    levels = contour_levels([grid])
    series = _contours(grid, levels, colors[: len(levels)], name)
    star = Mark("stars", "weights", [0.0], [0.0], width=5.0, tips=["the trained weights"])
    series.append(Series("the trained weights", style.BLACK, [star]))
    span = (min(grid.columns), max(grid.columns))
    x, y = Axis("α (direction 1)"), Axis("β (direction 2)", low=span[0], high=span[1])
    said = f"levels {levels[0]:.3g} to {levels[-1]:.3g}" if levels else "no level"
    return Panel(key, name, series, x, y, [f"mean of {n} seeds; {said}"])


def _mean_grid(rows: pd.DataFrame) -> tuple[pd.DataFrame, int] | None:
    """The mean loss over seeds at each (α, β) (rows α, columns β; a point where a seed's loss
    is not finite left out of its mean) and the seeds' count; None without a whole grid."""
    import numpy as np

    if rows.empty:
        return None
    finite = rows[np.isfinite(rows["value"].astype(float))]
    grid = finite.pivot_table("value", "x", "y", aggfunc="mean")
    if grid.isna().any().any() or min(grid.shape) < 2:
        return None
    return grid, rows["run_id"].nunique()


def contour_levels(grids: list[pd.DataFrame]) -> list[float]:
    """LEVELS losses evenly spaced in log between the lowest of `grids` and LEVEL_SPAN times it
    or their highest, both left out (a level at either would cut the grid in a point)."""
    import numpy as np

    values = np.concatenate([g.to_numpy(float).ravel() for g in grids]) if grids else []
    values = values[np.isfinite(values) & (values > 0)] if len(values) else values
    if not len(values):
        return []
    low, high = float(values.min()), float(min(values.max(), values.min() * LEVEL_SPAN))
    if high <= low:
        return [low]
    return [float(v) for v in np.geomspace(low, high, LEVELS + 2)[1:-1]]


def _contours(grid: pd.DataFrame, levels: list[float], colors: list[str], name: str) -> list:
    """A series per level that cuts the grid: its contour as one line, broken between pieces."""
    xs = [float(v) for v in grid.index]
    ys = [float(v) for v in grid.columns]
    z = grid.to_numpy(float)
    out = []
    for k, (level, color) in enumerate(zip(levels, colors, strict=True), 1):
        lines = contour_lines(xs, ys, z, level)
        if not lines:
            continue
        px, py = [], []
        for line in lines:
            if px:
                px.append(math.nan)
                py.append(math.nan)
            px += [p[0] for p in line]
            py += [p[1] for p in line]
        said = f"{name} · loss {level:.3g}"
        out.append(Series(f"level {k}", color, [Mark("line", "contour", px, py, name=said)]))
    return out


def contour_lines(
    xs: list[float], ys: list[float], z: np.ndarray, level: float
) -> list[list[Point]]:
    """Where the grid `z` (z[i, j] at xs[i], ys[j]) crosses `level`, as polylines (marching
    squares); a point on an edge is interpolated linearly between its two corners."""
    points: dict[tuple, Point] = {}

    def cross(a: tuple[int, int], b: tuple[int, int]) -> tuple:
        key = (min(a, b), max(a, b))
        if key not in points:
            (i, j), (k, m) = key
            t = (level - z[i, j]) / (z[k, m] - z[i, j])
            points[key] = (xs[i] + t * (xs[k] - xs[i]), ys[j] + t * (ys[m] - ys[j]))
        return key

    links: dict[tuple, list[tuple]] = {}
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]  # around the cell
            above = [z[c] >= level for c in corners]
            edges = [cross(corners[e], corners[(e + 1) % 4])
                     for e in range(4) if above[e] != above[(e + 1) % 4]]  # fmt: skip
            if len(edges) == 4:  # a saddle: the centre's side says which corners join
                centre = sum(z[c] for c in corners) / 4 >= level
                pairs = [(0, 1), (2, 3)] if centre == above[0] else [(3, 0), (1, 2)]
            else:
                pairs = [(0, 1)] if edges else []
            for a, b in pairs:
                links.setdefault(edges[a], []).append(edges[b])
                links.setdefault(edges[b], []).append(edges[a])
    return [[points[k] for k in path] for path in _chains(links)]


def _chains(links: dict[tuple, list[tuple]]) -> list[list[tuple]]:
    """The paths through a graph whose nodes have one or two neighbours: open ones from an end,
    then closed ones (their first node repeated last)."""
    seen: set[tuple] = set()
    paths = []
    starts = [k for k, v in links.items() if len(v) == 1] + list(links)
    for start in starts:
        if start in seen:
            continue
        path, node = [start], start
        seen.add(start)
        while True:
            ahead = [n for n in links[node] if n not in seen]
            if not ahead:
                if len(path) > 2 and start in links[node]:
                    path.append(start)  # a closed contour
                break
            node = ahead[0]
            seen.add(node)
            path.append(node)
        paths.append(path)
    return paths
