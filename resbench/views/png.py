"""PNG figures of a sweep: final metric against depth, training curves (the paper's Figure 6),
and gradient norm against layer (from `train.diagnostics`); any number of archs, a panel per
variant of the sweep (batch norm, family, ...) so that different nets are never pooled.

Drawn on a bare matplotlib `Figure` (no pyplot, no GUI backend), so it works headless and
leaves no global state behind. Runs that did not end `ok` are never drawn as if they had:
the depth figure names them at the top of the axes, the curves figure in its legend.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.errors import ResbenchError
from resbench.views import style as figure_style
from resbench.views.style import arch_colors, depth_color, log_depths, not_shown

if TYPE_CHECKING:
    import pandas as pd

DPI = 150
DEPTH_SIZE = (7.0, 4.5)  # inches, per variant of the sweep: 1050 x 675 pixels at DPI
DEPTH_COLUMNS = 3  # panels in a row of the depth figure, then the next row
CURVES_SIZE = (12.0, 4.5)  # two archs: 1800 x 675
LAYERS_ROW_SIZE = (12.0, 3.6)  # per variant (family, batch norm, ...), two archs: 1800 x 540
LAYERS_TITLE_HEIGHT = 0.4  # inches above the rows for the sweep's header line
ARCH_PANEL_WIDTH = 3.5  # inches per arch beyond two, in the curves and layers figures
LEGEND_INSIDE = 4  # archs whose legend fits inside a depth panel; beyond, it goes below


def _depth_axis(ax: Any, depths: list[int], ticks: list[int], unit: str = "layer") -> None:
    """Depth on x, ticked at the depths run; logarithmic where the deepest net is more than
    LOG_DEPTHS times the shallowest (8, 20, 110 on a linear axis squeeze the shallow end)."""
    from matplotlib.ticker import NullLocator

    if log_depths(depths):
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(f"depth ({unit}s, log scale)")
    else:
        ax.set_xlabel(f"depth ({unit}s)")
    ax.set_xticks(ticks, [str(d) for d in ticks])


def _rows(fig: Any, variants: list[tuple[str, pd.DataFrame]], archs: int, **share: Any) -> Any:
    """A row of `archs` panels per variant, the variant said once above its row (a panel's
    title names only its arch): the axes, as a (variants, archs) array."""
    import numpy as np

    rows = fig.subfigures(len(variants), 1, squeeze=False)[:, 0]
    axes = []
    for row, (title, _) in zip(rows, variants, strict=True):
        if title:
            row.suptitle(title, fontsize="medium", fontweight="bold")
        axes.append(row.subplots(1, archs, squeeze=False, **share)[0])
    return np.array(axes)


def _width(archs: int, two: float) -> float:
    """The figure's width for a panel per arch: `two` for up to two archs, wider beyond."""
    return max(two, ARCH_PANEL_WIDTH * archs)


def plot_depth(runs: pd.DataFrame, path: str | Path, metric: str = "train_error") -> Path:
    """Final `metric` vs depth: per arch the mean over ok seeds, a min–max band, each seed a dot,
    and a triangle where the report shows ▲ (worse than a shallower net, beyond noise); a panel
    per variant of the sweep."""
    from matplotlib.figure import Figure

    from resbench.analysis.summary import arch_order, check_metric, describe, summarize
    from resbench.models.registry import depth_unit
    from resbench.views.text import header_line

    if runs.empty:
        raise ResbenchError("no runs to plot: the runs table is empty")
    check_metric(runs, metric)  # a bad metric is refused before anything is drawn
    variants = figure_style.variants(runs)
    colors = arch_colors(arch_order(runs["arch"]))
    width, height = DEPTH_SIZE
    columns = min(len(variants), DEPTH_COLUMNS)
    rows = -(-len(variants) // columns)
    fig = Figure(figsize=(width * columns, height * rows), dpi=DPI, layout="constrained")
    grid = fig.subplots(rows, columns, sharey=True, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(variants) :]:
        ax.axis("off")  # the last row's spare panels
    for ax, (title, group) in zip(axes, variants, strict=False):
        summary = summarize(group, metric)
        marked = False
        for arch in arch_order(group["arch"]):
            arch_runs = group[group["arch"] == arch]
            s = summary[(summary["arch"] == arch) & (summary["n_ok"] > 0)]
            label = f"{arch}, {arch_runs.groupby('depth').size().max()} seeds"
            if missing := not_shown(arch_runs):
                label += f"; not shown: {missing}"
            color = colors[arch]
            ax.plot(s["depth"], s["mean"], "o-", color=color, lw=2, label=label)
            ax.fill_between(s["depth"], s["min"], s["max"], color=color, alpha=0.2, lw=0)
            ok = arch_runs[arch_runs["status"] == "ok"]
            ax.plot(ok["depth"], ok[metric], ".", color=color, alpha=0.6, ms=5)
            worse = s[
                s["worse"]
            ]  # the report's ▲, the same decision (resbench.analysis.judging.worse)
            ax.plot(worse["depth"], worse["mean"], "^", color="black", mfc="none", ms=12)
            marked = marked or bool(len(worse))
        unit = depth_unit(runs["family"])
        _depth_axis(ax, sorted(set(runs["depth"])), sorted(set(summary["depth"])), unit)
        ax.grid(alpha=0.3)
        if marked:  # one legend entry for the markers
            label = "worse than a shallower net, beyond noise"
            ax.plot([], [], "^", color="black", mfc="none", ms=12, label=label)
        small = "small" if len(variants) == 1 else "x-small"
        where: dict[str, Any] = {"loc": "best"}
        if len(arch_order(group["arch"])) > LEGEND_INSIDE:  # below: it would hide lines
            where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.14), "ncols": 2}
        ax.legend(title="mean over ok seeds; band: min–max", fontsize=small, **where)
        if title:
            ax.set_title(title, fontsize="medium")
    axes[0].set_ylim(bottom=0)  # shared: once all panels are drawn, so none is cut off
    for row in grid:
        row[0].set_ylabel(metric.replace("_", " "))
    fig.suptitle(header_line(describe(runs)), fontsize="medium")
    return _save(fig, path)


def plot_curves(curves: pd.DataFrame, runs: pd.DataFrame, path: str | Path) -> Path:
    """Error vs step: a panel per arch (a row per variant), a color per depth, thin train,
    bold test. Each line is the mean over the ok seeds at each step."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from resbench.analysis.summary import arch_order, describe
    from resbench.views.text import header_line

    status = runs.set_index("run_id")["status"]
    errors = curves[curves["metric"] == "error"].copy()
    errors["status"] = errors["run_id"].map(status)
    ok = errors[errors["status"] == "ok"]
    if ok.empty:
        raise ResbenchError("no curves of ok runs to plot")
    depths = sorted(set(runs["depth"]))
    archs, variants = arch_order(runs["arch"]), figure_style.variants(runs)
    width, height = CURVES_SIZE
    size = (_width(len(archs), width), height * len(variants))
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = _rows(fig, variants, len(archs), sharey=True)
    widths = [
        Line2D([], [], color="gray", lw=0.9, label="train (thin)"),
        Line2D([], [], color="gray", lw=2.2, label="test (bold)"),
    ]
    for row, (_, group) in zip(axes, variants, strict=True):
        chosen = ok[ok["run_id"].isin(group["run_id"])]
        for ax, arch in zip(row, archs, strict=True):
            if not (group["arch"] == arch).any():
                ax.axis("off")  # this variant has no runs of this arch
                continue
            for j, depth in enumerate(depths):
                color = depth_color(j, len(depths))
                seeds = chosen[(chosen["arch"] == arch) & (chosen["depth"] == depth)]
                at = group[(group["arch"] == arch) & (group["depth"] == depth)]
                missing = not_shown(at, at_depth=False)
                label = f"{depth}" + (f" (not shown: {missing})" if missing else "")
                for split, lw in (("train", 0.9), ("test", 2.2)):
                    line = seeds[seeds["split"] == split].groupby("step")["value"].mean()
                    test_label = label if split == "test" and len(at) else None  # one per depth
                    ax.plot(line.index, line.values, color=color, lw=lw, label=test_label)
            ax.set_title(arch)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            handles, _ = ax.get_legend_handles_labels()
            ax.legend(handles=handles + widths, title="depth", fontsize="small", loc="best")
        row[0].set_ylabel("error (train: running, during training)")
        row[0].set_ylim(bottom=0)  # shared along the row
    fig.suptitle(header_line(describe(runs)), fontsize="medium")
    return _save(fig, path)


def plot_layers(layers: pd.DataFrame, runs: pd.DataFrame, path: str | Path) -> Path:
    """Gradient norm vs layer index (0 = input), log scale: a row per variant of the sweep, a
    panel per arch, a color per depth; solid at initialisation (step 0), dashed at the end
    (each run's last measured step).

    Each line is the geometric mean over seeds at each layer; zeros (a branch whose batch-norm
    scale starts at 0 has no gradient) and non-finite values cannot be drawn on a log axis and
    are left out.
    """
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from resbench.analysis.summary import arch_order, describe
    from resbench.analysis.variants import variant_columns
    from resbench.models.registry import depth_unit
    from resbench.views.labels import variant_title
    from resbench.views.text import header_line

    # A transformer's gradient norms are its blocks' (resbench.train.diagnostics)
    unit = "block" if depth_unit(runs["family"]) == "block" else "weight layer"

    grads = layers[(layers["kind"] == "grad_norm") & (layers["value"] > 0)]
    if grads.empty:
        raise ResbenchError("no gradient norms to plot (train.diagnostics: [grad_norms])")
    variants = variant_columns(runs)
    grads = grads.merge(runs[["run_id", *variants]].drop_duplicates("run_id"), on="run_id")
    last = grads.groupby("run_id")["step"].transform("max")
    points = pd.concat(
        [
            grads[grads["step"] == 0].assign(when="init"),
            grads[(grads["step"] == last) & (last > 0)].assign(when="end"),
        ]
    )
    # Seeds averaged on the log axis the figure has.
    lines = points.groupby([*variants, "arch", "depth", "when", "layer"])["value"].apply(
        lambda v: float(np.exp(np.log(v).mean()))
    )
    groups = list(lines.groupby(variants, sort=True)) if variants else [((), lines)]
    depths, archs = sorted(set(runs["depth"])), arch_order(runs["arch"])
    width, row_height = LAYERS_ROW_SIZE
    height = row_height * len(groups) + LAYERS_TITLE_HEIGHT
    fig = Figure(figsize=(_width(len(archs), width), height), dpi=DPI, layout="constrained")
    titles = [variant_title(dict(zip(variants, k, strict=True))) for k, _ in groups]
    axes = _rows(fig, [(t, runs) for t in titles], len(archs), sharey=True)
    styles = [
        Line2D([], [], color="gray", ls="-", label="initialisation"),
        Line2D([], [], color="gray", ls="--", label="end"),
    ]
    for row, (_, group) in zip(axes, groups, strict=True):
        group = group.droplevel(variants) if variants else group
        for ax, arch in zip(row, archs, strict=True):
            if arch not in group.index.get_level_values("arch"):
                ax.axis("off")  # this variant has no runs of this arch
                continue
            for j, depth in enumerate(depths):
                color = depth_color(j, len(depths))
                for when, style in (("init", "-"), ("end", "--")):
                    if (arch, depth, when) not in group.index.droplevel("layer"):
                        continue
                    line = group.loc[(arch, depth, when)]
                    label = str(depth) if when == "init" else None  # one legend entry per depth
                    ax.plot(line.index, line.values, style, color=color, lw=1.5, label=label)
            ax.set_yscale("log")
            ax.set_title(arch)
            ax.set_xlabel(f"{unit} (0 = input)")
            ax.grid(alpha=0.3, which="both")
            handles, _ = ax.get_legend_handles_labels()
            ax.legend(handles=handles + styles, title="depth", fontsize="small", loc="best")
        row[0].set_ylabel("gradient norm")
    fig.suptitle(header_line(describe(runs)), fontsize="medium")
    return _save(fig, path)


def plot_landscape(
    runs: pd.DataFrame, key: str, metric: str, path: str | Path, replicates: int | None = None
) -> Path:
    """`metric` against the swept `key` (log2 axis for a numeric one), as the depth-μP papers
    draw it: a panel per arch and variant, a line per depth, each point the mean over the ok
    seeds, a star at each depth's best value (the lowest mean, a diverged run the worst), and
    the drift of the best value with its interval from resampling seeds. A value whose runs
    all diverged is an ✕ at the top; points above the axes' top, a ^ there."""
    import numpy as np
    from matplotlib.figure import Figure

    from resbench.analysis import best_of as axes
    from resbench.analysis.best_of import axis_value
    from resbench.analysis.summary import arch_order, check_metric, describe
    from resbench.analysis.variants import by_variant, of_variant
    from resbench.views.labels import variant_title
    from resbench.views.text import header_line

    if runs.empty:
        raise ResbenchError("no runs to plot: the runs table is empty")
    sel = axes.selection(runs, key, metric)  # one-line errors before anything is drawn
    check_metric(runs, metric)
    column, numeric = sel.key, axes.numeric_values(runs, sel.key)
    land = axes.landscape(runs, column, metric)
    best, drift = (
        axes.drift(runs, column, metric, replicates or axes.REPLICATES) if numeric else (None, None)
    )
    variants = axes.others(runs, column)
    panels = [
        (values, arch, group[group["arch"] == arch])
        for values, group in by_variant(land, variants)
        for arch in arch_order(group["arch"])
    ]
    columns = min(len(panels), max(1, math.ceil(math.sqrt(len(panels)))))
    rows = -(-len(panels) // columns)
    width, height = LANDSCAPE_SIZE
    fig = Figure(figsize=(width * columns, height * rows), dpi=DPI, layout="constrained")
    grid = fig.subplots(rows, columns, squeeze=False, sharey=True)
    axes_list = list(grid.flat)
    for ax in axes_list[len(panels) :]:
        ax.axis("off")
    depths = sorted(set(land["depth"]))
    ticks = sorted(set(land[column]), key=axes._order)
    x_of = {v: (math.log2(float(v)) if numeric else i) for i, v in enumerate(ticks)}
    top = _landscape_top(land, column, metric)
    for ax, (values, arch, panel) in zip(axes_list, panels, strict=False):
        for j, depth in enumerate(depths):
            line = panel[panel["depth"] == depth].sort_values(column, key=_sort_key)
            if line.empty:
                continue
            color = depth_color(j, len(depths))
            x = np.array([x_of[v] for v in line[column]])
            y = line["mean"].to_numpy(dtype=float)
            label = f"{depth}"
            if (diverged := int(line["diverged"].sum())) or int(line["failed"].sum()):
                label += f" ({diverged} diverged)" if diverged else ""
            ax.plot(x, np.minimum(y, top), "o-", color=color, lw=1.8, ms=4, label=label)
            over = y > top
            ax.plot(x[over], np.full(over.sum(), top), "^", color=color, ms=8)
            gone = line["n_ok"].to_numpy() == 0
            ax.plot(x[gone], np.full(gone.sum(), top), "x", color=color, ms=9, mew=2)
            if best is not None:
                at = of_variant(best[(best["arch"] == arch) & (best["depth"] == depth)], values)
                for v, score in zip(at[column], at["score"], strict=True):
                    if v == v and np.isfinite(score):
                        ax.plot(x_of[v], min(score, top), "*", color=color, ms=15, mec="black")
        title = " · ".join(t for t in (arch, variant_title(values)) if t)
        if drift is not None:
            d = of_variant(drift[drift["arch"] == arch], values)
            if len(d) and np.isfinite(d["drift"].iloc[0]):
                r = d.iloc[0]
                spread = f" [{r['low']:+.2f}, {r['high']:+.2f}]" if np.isfinite(r["low"]) else ""
                title += f"\ndrift {r['drift']:+.2f}{spread} (n {r['n_seeds']} seeds)"
        ax.set_title(title, fontsize="medium")
        ax.set_xticks([x_of[v] for v in ticks], [axis_value(v) for v in ticks], fontsize="small")
        ax.set_xlabel(column + (" (log2 axis)" if numeric else ""))
        ax.set_ylim(top=top * 1.04)
        ax.grid(alpha=0.3)
        ax.legend(title="depth", fontsize="small", loc="best")
    for row in grid:
        row[0].set_ylabel(f"{metric.replace('_', ' ')} (mean over ok seeds)")
    stars = "★ best per depth (lowest mean); " if best is not None else ""
    note = f"mean over {int(land['n'].max())} seeds; {stars}✕ every seed diverged; ^ off the axes"
    fig.suptitle(f"{header_line(describe(runs))}\n{note}", fontsize="medium")
    return _save(fig, path)


def _sort_key(column: pd.Series) -> pd.Series:
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().all() else column.astype(str)


def _landscape_top(land: pd.DataFrame, column: str, metric: str) -> float:
    """Where the landscape's y axis ends: errors at 1; other metrics a quarter above the worst
    of the lines' lowest means (a net that started exploded can show losses of 10^2 and more,
    which would flatten every line's valley)."""
    from resbench.analysis.summary import SEED_STATS

    means = land["mean"].dropna()
    if metric.endswith("_error") or means.empty:
        return 1.0
    lines = [c for c in land.columns if c not in (column, *SEED_STATS)]
    best = land.groupby(lines, dropna=False)["mean"].min()
    return float(min(means.max(), 1.25 * best.max()))


LANDSCAPE_SIZE = (6.0, 4.5)  # inches per panel


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ResbenchError(f"{path}: the figure is written as PNG; name a .png file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path
