"""PNG figures of a sweep: the figures of `resbench.views.figures` drawn with matplotlib.

Drawn on a bare matplotlib `Figure` (no pyplot, no GUI backend), so it works headless and leaves
no global state behind. The layout is this module's: the depth figure and the landscape as a
grid of panels (a panel per variant, or per variant and arch), the curves and gradient norms as
a row per variant with a panel per arch. What is drawn is the figure's data alone; each line,
band or marker carries its series' label and its role (`get_label`, `get_gid`) and each pair of
axes its panel's key, so that a test can read back what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.atomic import replacing
from resbench.core.errors import ResbenchError
from resbench.core.names import shown
from resbench.views.figures.model import Figure, LegendEntry, Mark, Panel, axis_title

if TYPE_CHECKING:
    import pandas as pd

DPI = 150
DEPTH_SIZE = (7.0, 4.5)  # inches, per variant of the sweep: 1050 x 675 pixels at DPI
DEPTH_COLUMNS = 3  # panels in a row of the depth figure, then the next row
CURVES_SIZE = (12.0, 4.5)  # two archs: 1800 x 675
LAYERS_ROW_SIZE = (12.0, 3.6)  # per variant (family, batch norm, ...), two archs: 1800 x 540
LAYERS_TITLE_HEIGHT = 0.4  # inches above the rows for the sweep's header line
LANDSCAPE_SIZE = (6.0, 4.5)  # inches per panel
SURFACE_SIZE = (4.0, 4.6)  # inches per panel of contours, its legend below it
SURFACE_COLUMNS = 4
ARCH_PANEL_WIDTH = 3.5  # inches per arch beyond two, in the curves and layers figures
LEGEND_INSIDE = 4  # archs whose legend fits inside a depth panel; beyond, it goes below
MARKER = 1.5  # a marker's size in points per unit of the figure's radius
SMALL_TICKS = 6  # beyond this many labelled ticks, their labels are small


@dataclass(frozen=True)
class Layout:
    """How a kind of figure is laid out: a grid of `size` panels, `columns(n)` wide, or a row
    of `size` per group (wider beyond two panels) below `title_height` inches of title;
    `legend_inside`: the series a legend holds inside its panel, beyond which it goes below."""

    size: tuple[float, float]
    grid: bool
    columns: Callable[[int], int] | None = None
    title_height: float = 0.0
    legend_inside: int | None = None


LAYOUTS = {
    "depth": Layout(DEPTH_SIZE, True, lambda n: min(n, DEPTH_COLUMNS), legend_inside=LEGEND_INSIDE),
    "landscape": Layout(LANDSCAPE_SIZE, True, lambda n: min(n, max(1, math.ceil(math.sqrt(n))))),
    "curves": Layout(CURVES_SIZE, False),
    "layers": Layout(LAYERS_ROW_SIZE, False, title_height=LAYERS_TITLE_HEIGHT),
    "surface": Layout(SURFACE_SIZE, True, lambda n: min(n, SURFACE_COLUMNS), legend_inside=0),
}


def plot_depth(runs: pd.DataFrame, path: str | Path, metric: str = "train_error") -> Path:
    """Final `metric` vs depth: per arch the mean over ok seeds, a min–max band, each seed a dot,
    and a triangle where the report shows ▲; a panel per variant of the sweep."""
    from resbench.views.figures.depth import depth_figure

    return _save(draw(depth_figure(runs, metric)), path)


def plot_curves(curves: pd.DataFrame, runs: pd.DataFrame, path: str | Path) -> Path:
    """Error vs step: a panel per arch (a row per variant), a colour per depth, thin train,
    bold test; each line the mean over the ok seeds."""
    from resbench.views.figures.curves import curves_figure

    figure = curves_figure(curves, runs)
    if figure.empty:
        raise ResbenchError("no curves of ok runs to plot")
    return _save(draw(figure), path)


def plot_layers(layers: pd.DataFrame, runs: pd.DataFrame, path: str | Path) -> Path:
    """Gradient norm vs layer index (0 = input), log scale: a row per variant, a panel per arch,
    a colour per depth; solid at initialisation, dashed at the end."""
    from resbench.views.figures.layers import layers_figure

    figure = layers_figure(layers, runs)
    if figure.empty:
        raise ResbenchError("no gradient norms to plot (train.diagnostics: [grad_norms])")
    return _save(draw(figure), path)


def plot_why(layers: pd.DataFrame, runs: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Why depth fails: a PNG per diagnostic the runs recorded, `why-<name>.png` in `folder`
    (`resbench.views.figures.diagnostics`)."""
    from resbench.views.figures.diagnostics import WHY_FIGURES, why_figures

    figures = why_figures(layers, runs)
    if not figures:
        kinds = ", ".join(kind for kind, _ in WHY_FIGURES.values())
        raise ResbenchError(
            f"no diagnostics of why depth fails to plot (train.diagnostics: {kinds})"
        )
    return [_save(draw(f), Path(folder) / f"why-{name}.png") for name, f in figures.items()]


def plot_landscape(
    runs: pd.DataFrame, key: str, metric: str, path: str | Path, replicates: int | None = None
) -> Path:
    """`metric` against the swept `key`: a panel per arch and variant, a line per depth, each
    depth's best value starred, the drift of the best value in each panel's title."""
    from resbench.views.figures.landscape import landscape_figure

    return _save(draw(landscape_figure(runs, key, metric, replicates)), path)


# --------------------------------------------------------------------------- drawing


def draw(figure: Figure) -> Any:
    """The figure as a matplotlib `Figure`, laid out for its kind."""
    layout = LAYOUTS[figure.kind]
    fig, cells, first = _grid(figure, layout) if layout.grid else _rows(figure, layout)
    low, high = _y_limits(figure)
    for group, panel, ax in cells:
        ax.set_gid(panel.key)
        for series in panel.series:
            for mark in series.marks:
                artist = _mark(ax, mark, mark.color or series.color)
                artist.set_gid(mark.role)
                artist.set_label(series.label)
        _axes(ax, panel)
        title = [panel.title, group.title] if layout.grid else [panel.title]
        title = "\n".join([" · ".join(t for t in title if t), *panel.notes]).strip()
        ax.set_title(title, fontsize="medium" if layout.grid else None)
        _legend(ax, group.legend, figure.legend_title, layout, len(figure.groups) > 1)
    for ax in [ax for _, _, ax in cells]:  # shared axes: once all are drawn, so none is cut off
        ax.set_ylim(bottom=low, top=high)
    for ax, panel in first:
        ax.set_ylabel(axis_title(panel.y.label, panel.y.scale))
    fig.suptitle("\n".join(t for t in (figure.title, figure.note) if t), fontsize="medium")
    return fig


def _grid(figure: Figure, layout: Layout) -> tuple[Any, list, list]:
    """Every panel in a grid, `layout.columns(n)` wide, sharing y where the figure says."""
    from matplotlib.figure import Figure as Canvas

    cells = [(g, p) for g, p in figure.panels()]
    n = max(len(cells), 1)
    columns = layout.columns(n) if layout.columns else n
    rows = -(-n // columns)
    width, height = layout.size
    fig = Canvas(figsize=(width * columns, height * rows), dpi=DPI, layout="constrained")
    share = figure.shared_y == "figure"
    grid = fig.subplots(rows, columns, sharey=share, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(cells) :]:
        ax.axis("off")  # the last row's spare panels
    first = [(grid[r][0], cells[r * columns][1]) for r in range(rows)]
    return fig, [(g, p, ax) for (g, p), ax in zip(cells, axes, strict=False)], first


def _rows(figure: Figure, layout: Layout) -> tuple[Any, list, list]:
    """A row per group, its title said once above it, a column per arch (or panel key): a
    group without some arch leaves its place empty."""
    from matplotlib.figure import Figure as Canvas

    columns: list[str] = []
    for _, panel in figure.panels():
        if (name := panel.keys.get("arch", panel.title)) not in columns:
            columns.append(name)
    width, height = layout.size
    size = (max(width, ARCH_PANEL_WIDTH * len(columns)), height * len(figure.groups))
    size = (size[0], size[1] + layout.title_height)
    fig = Canvas(figsize=size, dpi=DPI, layout="constrained")
    rows = fig.subfigures(max(len(figure.groups), 1), 1, squeeze=False)[:, 0]
    cells, first = [], []
    for row, group in zip(rows, figure.groups, strict=False):
        if group.title:
            row.suptitle(group.title, fontsize="medium", fontweight="bold")
        axes = row.subplots(1, max(len(columns), 1), squeeze=False, sharey=True)[0]
        placed = {p.keys.get("arch", p.title): p for p in group.panels}
        for ax, name in zip(axes, columns, strict=True):
            if name in placed:
                cells.append((group, placed[name], ax))
            else:
                ax.axis("off")  # this variant has no panel of this arch
        if group.panels:
            first.append((axes[0], group.panels[0]))
    return fig, cells, first


def _mark(ax: Any, mark: Mark, color: str) -> Any:
    """One mark on `ax`: the artist drawn."""
    size = mark.width * MARKER
    if mark.kind == "band":
        return ax.fill_between(mark.x, mark.y, mark.y2, color=color, alpha=mark.opacity, lw=0)
    if mark.kind == "line":
        (line,) = ax.plot(
            mark.x, mark.y, color=color, lw=mark.width, ls="--" if mark.dashed else "-",
            marker="o" if mark.dots else None, ms=mark.dots * MARKER, alpha=mark.opacity,
        )  # fmt: skip
        return line
    styles = {
        "dots": {"marker": "o", "mew": 0},
        "triangles": {"marker": "^", "mfc": "none", "mew": 1.2},
        "stars": {"marker": "*", "mec": "black", "mew": 0.6},
        "crosses": {"marker": "x", "mew": 2},
        "carets": {"marker": "^", "mew": 0},
    }
    (line,) = ax.plot(
        mark.x, mark.y, ls="none", color=color, ms=size, alpha=mark.opacity, **styles[mark.kind]
    )
    return line


def _axes(ax: Any, panel: Panel) -> None:
    """Scales, ticks, labels and grid of one panel."""
    from matplotlib.ticker import NullLocator

    for axis, set_scale, set_ticks, set_label, which in (
        (panel.x, ax.set_xscale, ax.set_xticks, ax.set_xlabel, ax.xaxis),
        (panel.y, ax.set_yscale, ax.set_yticks, None, ax.yaxis),
    ):
        if axis.scale != "linear":
            set_scale("log", base=2 if axis.scale == "log2" else 10)
            if axis.ticks is not None:
                which.set_minor_locator(NullLocator())  # the ticks given, not log's minor ones
        if axis.ticks is not None:
            labels = axis.tick_labels or [f"{t:g}" for t in axis.ticks]
            small = {"fontsize": "small"} if len(axis.ticks) > SMALL_TICKS else {}
            set_ticks(axis.ticks, labels, **small)
        if set_label is not None:
            set_label(axis_title(axis.label, axis.scale))
    ax.grid(alpha=0.3, which="both" if panel.y.scale != "linear" else "major")


def _legend(ax: Any, entries: list[LegendEntry], title: str, layout: Layout, many: bool) -> None:
    """The group's legend in each of its panels; below the panel where it would hide lines,
    smaller where the figure has many panels."""
    from matplotlib.lines import Line2D

    swatches = {
        "line": {"lw": 2},
        "thin": {"lw": 0.9},
        "dashed": {"lw": 1.5, "ls": "--"},
        "worse": {"ls": "none", "marker": "^", "mfc": "none", "ms": 12},
        "star": {"ls": "none", "marker": "*", "mec": "black", "ms": 12},
    }
    handles = [Line2D([], [], color=e.color, label=e.label, **swatches[e.swatch]) for e in entries]
    where: dict[str, Any] = {"loc": "best"}
    inside = layout.legend_inside
    if inside is not None and sum(e.swatch == "line" for e in entries) > inside:
        where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.14), "ncols": 2}
    size = "x-small" if many and inside is not None else "small"
    ax.legend(handles=handles, title=title or None, fontsize=size, **where)


def _y_limits(figure: Figure) -> tuple[float | None, float | None]:
    """Where the y axes start and end: the panels' low and high, unless a value lies beyond."""
    values = [
        v
        for _, p in figure.panels()
        for s in p.series
        for m in s.marks
        for v in (*m.y, *m.y2)
        if v == v
    ]
    lows = {p.y.low for _, p in figure.panels()}
    highs = {p.y.high for _, p in figure.panels()}
    low, high = (lows.pop() if len(lows) == 1 else None), (highs.pop() if len(highs) == 1 else None)
    if low is not None and values and min(values) < low:
        low = None
    if high is not None and values and max(values) > high:
        high = None
    return low, high


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ResbenchError(f"{shown(path)}: the figure is written as PNG; name a .png file")
    with replacing(path, ".png") as tmp:  # whole or not at all, on a full disk too
        fig.savefig(tmp, format="png", dpi=DPI)
    return path
