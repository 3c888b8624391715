"""The report page's figures, from the results' frames: what `resbench.views.svg` draws.

The same figures as `resbench.views.png`'s PNGs, made to be looked into: the final metric against
depth (a panel per variant, a series per arch: mean, min–max band, each seed a dot, ▲ where
the report marks one), the training curves and the gradient norm per layer (a panel per arch,
a series per depth). Every point says on hover what it is: arch, depth, seed or the seeds
behind a mean, and the value. Runs that did not end ok are named, never drawn as if they had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from resbench.views import style as figure_style
from resbench.views.style import arch_colors, depth_color, log_depths, not_shown
from resbench.views.svg import Mark, Panel, Series

if TYPE_CHECKING:
    import pandas as pd

DEPTH_SIZE = (440, 300)  # pixels of the viewBox; the page scales them to its width
SMALL_SIZE = (330, 230)  # a panel of the curves and layers figures
WORSE = "worse than a shallower net of the same arch, beyond the noise over seeds"
WORSE_TIP = f"▲ {WORSE}"


@dataclass
class Legend:
    """A legend entry: a swatch (`line` solid, thin, dashed; or `worse`) and its label."""

    label: str
    color: str
    style: str = "line"
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class ChartPanel:
    title: str
    panel: Panel
    attrs: dict[str, str] = field(default_factory=dict)  # data-arch: hidden with its arch


@dataclass
class Figure:
    """A figure of the page: panels side by side, one legend, a caption (the variant)."""

    key: str
    caption: str
    panels: list[ChartPanel]
    legend: list[Legend]
    size: tuple[int, int]
    attrs: dict[str, str] = field(default_factory=dict)


def arch_hex(archs: list[str]) -> dict[str, str]:
    """The PNGs' colour of each arch, as CSS hex."""
    from matplotlib.colors import to_hex

    return {a: to_hex(c) for a, c in arch_colors(archs).items()}


def depth_hex(depths: list[int]) -> dict[int, str]:
    """The PNGs' colour of each depth (viridis), as CSS hex."""
    from matplotlib.colors import to_hex

    return {d: to_hex(depth_color(j, len(depths))) for j, d in enumerate(depths)}


def _value(v: float) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


# --------------------------------------------------------------------------- depth


def depth_figures(runs: pd.DataFrame, metric: str) -> list[Figure]:
    """Per variant: `metric` against depth, a series per arch."""
    from resbench.analysis.summary import arch_order, summarize

    colors = arch_hex(arch_order(runs["arch"]))
    depths = sorted(set(runs["depth"]))
    label = metric.replace("_", " ")
    ok_values = runs.loc[runs["status"] == "ok", metric].dropna()
    shared = [ok_values.min(), ok_values.max()] if len(ok_values) else []
    figures = []
    for i, (title, group) in enumerate(figure_style.variants(runs)):
        summary = summarize(group, metric)
        series, legend, marked = [], [], False
        for arch in arch_order(group["arch"]):
            arch_runs = group[group["arch"] == arch]
            s = summary[(summary["arch"] == arch) & (summary["n_ok"] > 0)]
            ok = arch_runs[arch_runs["status"] == "ok"]
            color = colors[arch]
            seeds = {
                depth: ", ".join(
                    f"seed {r.seed} {_value(getattr(r, metric))}" for r in g.itertuples()
                )
                for depth, g in ok.sort_values("seed").groupby("depth")
            }
            mean_tips = [
                f"{arch} · {r.depth} layers: {_value(r.mean)}"
                + (f" ± {r.std:.3f}" if not math.isnan(r.std) else "")
                + f" (n {r.n_ok}) · min {_value(r.min)}, max {_value(r.max)} · {seeds[r.depth]}"
                + (f" · {_problems(r)}" if _problems(r) else "")
                + (f" · {WORSE_TIP}" if r.worse else "")
                for r in s.itertuples()
            ]
            seed_tips = [
                f"{arch} · {r.depth} layers · seed {r.seed}: {_value(getattr(r, metric))}"
                for r in ok.itertuples()
            ]
            worse = s[s["worse"]]
            marks = [
                Mark("band", list(s["depth"]), list(s["min"]), color, y2=list(s["max"]),
                     opacity=0.16),
                Mark("line", list(s["depth"]), list(s["mean"]), color, width=2,
                     tips=[f"{arch}: mean over the ok seeds"]),
                Mark("dots", list(ok["depth"]), list(ok[metric]), color, width=2.2, opacity=0.55,
                     tips=seed_tips),
                Mark("dots", list(s["depth"]), list(s["mean"]), color, width=4, tips=mean_tips),
                Mark("triangles", list(worse["depth"]), list(worse["mean"]), "#000", width=8,
                     tips=[WORSE_TIP] * len(worse)),
            ]  # fmt: skip
            marked = marked or bool(len(worse))
            series.append(Series(arch, marks, {"data-arch": arch}))
            text = f"{arch}, {arch_runs.groupby('depth').size().max()} seeds"
            if missing := not_shown(arch_runs):
                text += f"; not shown: {missing}"
            legend.append(Legend(text, color, attrs={"data-arch": arch}))
        if marked:
            legend.append(Legend(WORSE, "#000", style="worse"))
        shown = sorted(set(group["depth"]))
        panel = Panel(
            series,
            "depth (layers)",
            label,
            x_log=log_depths(depths),
            y_log=None,
            x_ticks=shown,
            y_include=shared,
        )
        figures.append(
            Figure(
                f"depth-{metric}-{i}",
                title,
                [ChartPanel("", panel)],
                legend,
                DEPTH_SIZE,
                {"data-metric": metric},
            )
        )
    return figures


def _problems(row: object) -> str:
    """'diverged 1/3': a summary row's runs that did not end ok."""
    n = row.n
    return ", ".join(
        f"{k} {getattr(row, k)}/{n}" for k in ("diverged", "failed") if getattr(row, k, 0)
    )


# --------------------------------------------------------------------------- curves


def curve_figures(curves: pd.DataFrame, runs: pd.DataFrame, metric: str = "error") -> list[Figure]:
    """Per variant: `metric` (train: running, thin; test: bold) against step, a panel per arch
    and a series per depth; each line the mean over the ok seeds."""
    from resbench.analysis.summary import arch_order

    status = runs.set_index("run_id")["status"]
    points = curves[curves["metric"] == metric]
    points = points[points["run_id"].map(status) == "ok"]
    depths = sorted(set(runs["depth"]))
    colors = depth_hex(depths)
    figures = []
    for i, (title, group) in enumerate(figure_style.variants(runs)):
        chosen = points[points["run_id"].isin(group["run_id"])]
        panels = []
        for arch in arch_order(group["arch"]):
            arch_runs = group[group["arch"] == arch]
            series = []
            for depth in depths:
                seeds = chosen[(chosen["arch"] == arch) & (chosen["depth"] == depth)]
                if seeds.empty:
                    continue
                marks = []
                for split, width in (("train", 1.0), ("test", 2.2)):
                    at = seeds[seeds["split"] == split].sort_values("seed").groupby("step")
                    line = at["value"].mean()
                    epochs = at["epoch"].first()
                    tips = [
                        f"{arch} · {depth} layers · step {step} (epoch {epochs[step]:g}): "
                        f"{split} {metric} {value:.3f}, mean of {len(at.get_group(step))} ok "
                        f"seeds ({', '.join(f'{v:.3f}' for v in at.get_group(step)['value'])})"
                        for step, value in line.items()
                    ]
                    xs, ys, color = list(line.index), list(line.values), colors[depth]
                    name = f"{arch} · {depth} layers · {split}"
                    marks.append(Mark("line", xs, ys, color, width=width, tips=[name]))
                    marks.append(Mark("dots", xs, ys, color, width=width + 0.6, tips=tips))
                series.append(Series(f"{depth}", marks, {"data-depth": str(depth)}))
            missing = not_shown(arch_runs)
            panel_title = arch + (f" · not shown: {missing}" if missing else "")
            panel = Panel(series, "step", metric, y_log=None)
            panels.append(ChartPanel(panel_title, panel, {"data-arch": arch}))
        shared = chosen.groupby(["arch", "depth", "split", "step"])["value"].mean()
        for p in panels:  # along a variant's row, as the PNG's panels
            p.panel.y_include = [shared.min(), shared.max()] if len(shared) else []
        legend = [Legend(f"{d} layers", colors[d]) for d in depths if (group["depth"] == d).any()]
        legend += [
            Legend("train: running, during training (thin)", "#666", style="thin"),
            Legend("test (bold)", "#666"),
        ]
        figures.append(Figure(f"curves-{i}", title, panels, legend, SMALL_SIZE))
    return figures


# --------------------------------------------------------------------------- layers


def layer_figures(layers: pd.DataFrame, runs: pd.DataFrame) -> list[Figure]:
    """Per variant: gradient norm against layer (log), a panel per arch, a series per depth:
    solid at initialisation, dashed at the end; geometric means over seeds."""
    import numpy as np

    from resbench.analysis.summary import arch_order

    grads = layers[(layers["kind"] == "grad_norm") & (layers["value"] > 0)]
    if grads.empty:
        return []
    last = grads.groupby("run_id")["step"].transform("max")
    depths = sorted(set(runs["depth"]))
    colors = depth_hex(depths)
    figures = []
    for i, (title, group) in enumerate(figure_style.variants(runs)):
        mine = grads[grads["run_id"].isin(group["run_id"])]
        at = {
            "initialisation": mine[mine["step"] == 0],
            "end": mine[(mine["step"] == last[mine.index]) & (last[mine.index] > 0)],
        }
        panels = []
        for arch in arch_order(group["arch"]):
            series = []
            for depth in depths:
                marks = []
                for when, frame in at.items():
                    seeds = frame[(frame["arch"] == arch) & (frame["depth"] == depth)]
                    if seeds.empty:
                        continue
                    by_layer = seeds.groupby("layer")["value"]
                    line = by_layer.apply(lambda v: float(np.exp(np.log(v).mean())))
                    n = by_layer.size()
                    tips = [
                        f"{arch} · {depth} layers · {when} · layer {layer}: gradient norm "
                        f"{value:.3g} (geometric mean of {n[layer]} seeds)"
                        for layer, value in line.items()
                    ]
                    dash = "" if when == "initialisation" else "5 3"
                    xs, ys, color = list(line.index), list(line.values), colors[depth]
                    name = f"{arch} · {depth} layers · {when}"
                    marks.append(Mark("line", xs, ys, color, dash=dash, tips=[name]))
                    marks.append(Mark("dots", xs, ys, color, width=1.6, tips=tips))
                if marks:
                    series.append(Series(f"{depth}", marks, {"data-depth": str(depth)}))
            if series:
                panel = Panel(series, "weight layer (0 = input)", "gradient norm", y_log=True)
                panels.append(ChartPanel(arch, panel, {"data-arch": arch}))
        if not panels:
            continue
        legend = [Legend(f"{d} layers", colors[d]) for d in depths if (group["depth"] == d).any()]
        legend += [
            Legend("at initialisation (solid)", "#666"),
            Legend("at the end (dashed)", "#666", style="dashed"),
        ]
        figures.append(Figure(f"layers-{i}", title, panels, legend, SMALL_SIZE))
    return figures


# --------------------------------------------------------------------------- landscape


def landscape_figures(
    runs: pd.DataFrame, key: str, by: str, best: pd.DataFrame | None = None
) -> list[Figure]:
    """The depth-μP papers' figure, per variant: `by` against the swept `key` (log axis), a
    panel per arch, a series per depth, each point the mean over the ok seeds; `best` (from
    `resbench.analysis.best_of.drift`) marks each depth's best value with a large dot."""
    from resbench.analysis import best_of as axes
    from resbench.analysis.summary import arch_order
    from resbench.analysis.variants import by_variant
    from resbench.views.labels import variant_title

    land = axes.landscape(runs, key, by)
    land = land[land["mean"].notna()]
    depths = sorted(set(land["depth"]))
    colors = depth_hex(depths)
    # The axis is log2 of the value, ticked in whole octaves: 2^-7 reads better than 0.0078125.
    ticks = sorted({math.log2(float(v)) for v in land[key]})
    figures = []
    for i, (values, group) in enumerate(by_variant(land, axes.others(runs, key))):
        panels = []
        for arch in arch_order(group["arch"]):
            at = group[group["arch"] == arch]
            chosen = _best_of(best, values, arch)
            series = []
            for depth in depths:
                line = at[at["depth"] == depth].sort_values(key)
                if line.empty:
                    continue
                rates = [float(v) for v in line[key]]
                xs = [math.log2(v) for v in rates]
                ys = [float(v) for v in line["mean"]]
                tips = [
                    f"{arch} · {depth} layers · {key} {v:g}: {by} {y:.3f}, mean of {n} ok seeds"
                    + (f" ({d} diverged)" if d else "")
                    for v, y, n, d in zip(rates, ys, line["n_ok"], line["diverged"], strict=True)
                ]
                name = f"{arch} · {depth} layers"
                marks = [
                    Mark("line", xs, ys, colors[depth], tips=[name]),
                    Mark("dots", xs, ys, colors[depth], width=2.2, tips=tips),
                ]
                if (v := chosen.get(depth)) is not None and v in rates:
                    y = ys[rates.index(v)]
                    tip = [f"{name}: best {key} {v:g} ({by} {y:.3f})"]
                    x = [math.log2(v)]
                    marks.append(Mark("dots", x, [y], colors[depth], width=5.0, tips=tip))
                series.append(Series(f"{depth}", marks, {"data-depth": str(depth)}))
            label = f"log2 {key}"
            panel = Panel(series, label, by.replace("_", " "), y_log=None, x_ticks=ticks)
            panels.append(ChartPanel(arch, panel, {"data-arch": arch}))
        legend = [Legend(f"{d} layers", colors[d]) for d in depths if (group["depth"] == d).any()]
        legend.append(Legend(f"large dot: the best {key.split('.')[-1]}", "#666"))
        figures.append(Figure(f"landscape-{i}", variant_title(values), panels, legend, SMALL_SIZE))
    return figures


def _best_of(best: pd.DataFrame | None, values: dict[str, object], arch: str) -> dict[int, float]:
    """depth -> the best value of one arch and variant, from
    `resbench.analysis.best_of.drift`'s frame."""
    from resbench.analysis.variants import of_variant

    if best is None or best.empty:
        return {}
    rows = of_variant(best[best["arch"] == arch], values)
    key = [c for c in best.columns if c not in (*values, "arch", "depth", "score", "at_edge")]
    return {int(d): float(v) for d, v in zip(rows["depth"], rows[key[0]], strict=True) if v == v}
