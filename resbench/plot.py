"""PNG figures of a sweep: final metric against depth, training curves (the paper's Figure 6),
and gradient norm against layer (from `train.diagnostics`); any number of archs, a panel per
variant of the sweep (batch norm, family, ...) so that different nets are never pooled.

Drawn on a bare matplotlib `Figure` (no pyplot, no GUI backend), so it works headless and
leaves no global state behind. Runs that did not end `ok` are never drawn as if they had:
the depth figure names them at the top of the axes, the curves figure in its legend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench import ResbenchError

if TYPE_CHECKING:
    import pandas as pd

DPI = 150
DEPTH_SIZE = (7.0, 4.5)  # inches, per variant of the sweep: 1050 x 675 pixels at DPI
DEPTH_COLUMNS = 3  # panels in a row of the depth figure, then the next row
CURVES_SIZE = (12.0, 4.5)  # two archs: 1800 x 675
LAYERS_ROW_SIZE = (12.0, 3.6)  # per variant (family, batch norm, ...), two archs: 1800 x 540
LAYERS_TITLE_HEIGHT = 0.4  # inches above the rows for the sweep's header line
ARCH_PANEL_WIDTH = 3.5  # inches per arch beyond two, in the curves and layers figures
ARCH_COLORS = {"plain": "tab:red", "residual": "tab:blue"}
OTHER_COLORS = ("tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
                "tab:cyan", "tab:gray")  # fmt: skip


def arch_colors(archs: list[str]) -> dict[str, str]:
    """A color per arch, the same in every panel: plain red, residual blue, others in turn."""
    others = [a for a in archs if a not in ARCH_COLORS]
    return {
        a: ARCH_COLORS.get(a) or OTHER_COLORS[others.index(a) % len(OTHER_COLORS)] for a in archs
    }


def _variants(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The sweep's variants: (title, their runs), or one untitled group when it has none."""
    from resbench.render import variant_title
    from resbench.variants import by_variant, variant_columns

    return [(variant_title(v), g) for v, g in by_variant(runs, variant_columns(runs))]


def _depth_color(j: int, depths: int) -> Any:
    """The colour of the j-th of `depths` depths: viridis without its palest end, which
    vanishes on white."""
    from matplotlib import colormaps

    return colormaps["viridis"](0.85 * j / max(depths - 1, 1))


def _width(archs: int, two: float) -> float:
    """The figure's width for a panel per arch: `two` for up to two archs, wider beyond."""
    return max(two, ARCH_PANEL_WIDTH * archs)


def plot_depth(runs: pd.DataFrame, path: str | Path, metric: str = "train_error") -> Path:
    """Final `metric` vs depth: per arch the mean over ok seeds, a min–max band, each seed a dot,
    and a triangle where the report shows ▲ (worse than a shallower net, beyond noise); a panel
    per variant of the sweep."""
    from matplotlib.figure import Figure

    from resbench.models.registry import depth_unit
    from resbench.render import header_line
    from resbench.summary import arch_order, check_metric, describe, summarize

    if runs.empty:
        raise ResbenchError("no runs to plot: the runs table is empty")
    check_metric(runs, metric)  # a bad metric is refused before anything is drawn
    variants = _variants(runs)
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
            if missing := _not_shown(arch_runs):
                label += f"; not shown: {missing}"
            color = colors[arch]
            ax.plot(s["depth"], s["mean"], "o-", color=color, lw=2, label=label)
            ax.fill_between(s["depth"], s["min"], s["max"], color=color, alpha=0.2, lw=0)
            ok = arch_runs[arch_runs["status"] == "ok"]
            ax.plot(ok["depth"], ok[metric], ".", color=color, alpha=0.6, ms=5)
            worse = s[s["worse"]]  # the report's ▲, the same decision (resbench.check.worse)
            ax.plot(worse["depth"], worse["mean"], "^", color="black", mfc="none", ms=12)
            marked = marked or bool(len(worse))
        ax.set_xticks(sorted(set(summary["depth"])))
        ax.set_xlabel(f"depth ({depth_unit(runs['family'])}s)")
        ax.grid(alpha=0.3)
        if marked:  # one legend entry for the markers
            label = "worse than a shallower net, beyond noise"
            ax.plot([], [], "^", color="black", mfc="none", ms=12, label=label)
        small = "small" if len(variants) == 1 else "x-small"
        ax.legend(loc="best", title="mean over ok seeds; band: min–max", fontsize=small)
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

    from resbench.render import header_line
    from resbench.summary import arch_order, describe

    status = runs.set_index("run_id")["status"]
    errors = curves[curves["metric"] == "error"].copy()
    errors["status"] = errors["run_id"].map(status)
    ok = errors[errors["status"] == "ok"]
    if ok.empty:
        raise ResbenchError("no curves of ok runs to plot")
    depths = sorted(set(runs["depth"]))
    archs, variants = arch_order(runs["arch"]), _variants(runs)
    width, height = CURVES_SIZE
    size = (_width(len(archs), width), height * len(variants))
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = fig.subplots(len(variants), len(archs), sharey=True, squeeze=False)
    widths = [
        Line2D([], [], color="gray", lw=0.9, label="train (thin)"),
        Line2D([], [], color="gray", lw=2.2, label="test (bold)"),
    ]
    for row, (title, group) in zip(axes, variants, strict=True):
        chosen = ok[ok["run_id"].isin(group["run_id"])]
        for ax, arch in zip(row, archs, strict=True):
            if not (group["arch"] == arch).any():
                ax.axis("off")  # this variant has no runs of this arch
                continue
            for j, depth in enumerate(depths):
                color = _depth_color(j, len(depths))
                seeds = chosen[(chosen["arch"] == arch) & (chosen["depth"] == depth)]
                at = group[(group["arch"] == arch) & (group["depth"] == depth)]
                missing = _not_shown(at, at_depth=False)
                label = f"{depth}" + (f" (not shown: {missing})" if missing else "")
                for split, lw in (("train", 0.9), ("test", 2.2)):
                    line = seeds[seeds["split"] == split].groupby("step")["value"].mean()
                    test_label = label if split == "test" and len(at) else None  # one per depth
                    ax.plot(line.index, line.values, color=color, lw=lw, label=test_label)
            ax.set_title(" · ".join(t for t in (arch, title) if t))
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

    from resbench.models.registry import depth_unit
    from resbench.render import header_line, variant_title
    from resbench.summary import arch_order, describe
    from resbench.variants import variant_columns

    # A transformer's gradient norms are its blocks' (resbench.diagnostics)
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
    axes = fig.subplots(len(groups), len(archs), sharey="row", squeeze=False)
    styles = [
        Line2D([], [], color="gray", ls="-", label="initialisation"),
        Line2D([], [], color="gray", ls="--", label="end"),
    ]
    for row, (key, group) in zip(axes, groups, strict=True):
        title = variant_title(dict(zip(variants, key, strict=True)))  # keys of a list: tuples
        group = group.droplevel(variants) if variants else group
        for ax, arch in zip(row, archs, strict=True):
            if arch not in group.index.get_level_values("arch"):
                ax.axis("off")  # this variant has no runs of this arch
                continue
            for j, depth in enumerate(depths):
                color = _depth_color(j, len(depths))
                for when, style in (("init", "-"), ("end", "--")):
                    if (arch, depth, when) not in group.index.droplevel("layer"):
                        continue
                    line = group.loc[(arch, depth, when)]
                    label = str(depth) if when == "init" else None  # one legend entry per depth
                    ax.plot(line.index, line.values, style, color=color, lw=1.5, label=label)
            ax.set_yscale("log")
            ax.set_title(" · ".join(t for t in (arch, title) if t))
            ax.set_xlabel(f"{unit} (0 = input)")
            ax.grid(alpha=0.3, which="both")
            handles, _ = ax.get_legend_handles_labels()
            ax.legend(handles=handles + styles, title="depth", fontsize="small", loc="best")
        row[0].set_ylabel("gradient norm")
    fig.suptitle(header_line(describe(runs)), fontsize="medium")
    return _save(fig, path)


def _not_shown(runs: pd.DataFrame, at_depth: bool = True) -> str:
    """'1 diverged at 56, 2 failed at 110': the runs a line leaves out, named."""
    bad = runs[runs["status"] != "ok"].groupby(["depth", "status"]).size()
    where = (lambda depth: f" at {depth}") if at_depth else (lambda depth: "")
    return ", ".join(f"{n} {status}{where(depth)}" for (depth, status), n in bad.items())


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ResbenchError(f"{path}: the figure is written as PNG; name a .png file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path
