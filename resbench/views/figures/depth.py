"""The final metric against depth: a panel per variant of the sweep, a series per arch — the
mean over the ok seeds (a line, a dot at each depth), their min–max (a band), each seed (a
dot), and ▲ where the report marks a net worse than a shallower one beyond the noise over seeds.
Runs that did not end ok are named in the legend, never drawn as if they had."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from resbench.core.errors import ResbenchError
from resbench.views import style
from resbench.views.figures.model import Axis, Figure, Group, LegendEntry, Mark, Panel, Series

if TYPE_CHECKING:
    import pandas as pd

WORSE = "worse than a shallower net of the same arch, beyond the noise over seeds"
WORSE_TIP = f"▲ {WORSE}"


def depth_figure(runs: pd.DataFrame, metric: str = "train_error") -> Figure:
    """`metric` against depth, a panel per variant, a series per arch with ok runs."""
    from resbench.analysis.summary import arch_order, describe, require_metric, summarize
    from resbench.models.registry import depth_unit
    from resbench.views.text import header_line

    if runs.empty:
        raise ResbenchError("no runs to plot: the runs table is empty")
    require_metric(runs, metric)  # a bad metric is refused before anything is drawn
    colors = style.arch_colors(arch_order(runs["arch"]))
    unit = depth_unit(runs["family"])
    scale = "log" if style.log_depths(sorted(set(runs["depth"]))) else "linear"
    groups = []
    for i, (title, variant) in enumerate(style.variants(runs)):
        summary = summarize(variant, metric)
        series, legend = [], []
        for arch in arch_order(variant["arch"]):
            at = variant[variant["arch"] == arch]
            label = f"{arch}, {at.groupby('depth').size().max()} seeds"
            if missing := style.not_shown(at):
                label += f"; not shown: {missing}"
            legend.append(LegendEntry(label, colors[arch], keys={"arch": arch}))
            means = summary[(summary["arch"] == arch) & (summary["n_ok"] > 0)]
            if marks := _marks(arch, at, means, metric, unit):
                series.append(Series(label, colors[arch], marks, {"arch": arch}))
        if any(m.role == "worse" for s in series for m in s.marks):
            legend.append(LegendEntry(WORSE, style.BLACK, "worse"))
        depths = sorted(set(summary["depth"]))
        x = Axis(f"depth ({unit}s)", scale, [float(d) for d in depths], [str(d) for d in depths])
        y = Axis(metric.replace("_", " "), low=0.0)
        groups.append(Group(title, [Panel(str(i), "", series, x, y)], legend))
    return Figure(
        "depth",
        f"depth-{metric}",
        header_line(describe(runs)),
        groups,
        legend_title="mean over ok seeds; band: min–max",
        shared_y="figure",
        keys={"metric": metric},
    )


def _marks(
    arch: str, runs: pd.DataFrame, means: pd.DataFrame, metric: str, unit: str
) -> list[Mark]:
    """One arch's band, seeds, means and ▲ (those with points)."""
    ok = runs.loc[runs["status"] == "ok", ["depth", "seed", metric]].sort_values("seed")
    rows = list(ok.itertuples(index=False, name=None))  # (depth, seed, value)
    seeds: dict[int, list[str]] = {}
    for depth, seed, value in rows:
        seeds.setdefault(depth, []).append(f"seed {seed} {_value(value)}")
    mean_tips = [
        f"{arch} · {r.depth} {unit}s: {_value(r.mean)}"
        + (f" ± {r.std:.3f}" if not math.isnan(r.std) else "")
        + f" (n {r.n_ok}) · min {_value(r.min)}, max {_value(r.max)} · {', '.join(seeds[r.depth])}"
        + (f" · {_problems(r)}" if _problems(r) else "")
        + (f" · {WORSE_TIP}" if r.worse else "")
        for r in means.itertuples()
    ]
    seed_tips = [f"{arch} · {d} {unit}s · seed {s}: {_value(v)}" for d, s, v in rows]
    worse = means[means["worse"]]  # the report's ▲, the same decision (analysis.judging.worse)
    depths = _floats(means["depth"])
    marks = [
        Mark("band", "min-max", depths, _floats(means["min"]), _floats(means["max"]),
             opacity=0.18),
        Mark("dots", "seeds", [float(r[0]) for r in rows], [float(r[2]) for r in rows],
             width=2.2, opacity=0.6, tips=seed_tips),
        Mark("line", "mean", depths, _floats(means["mean"]), width=2, dots=4,
             name=f"{arch}: mean over the ok seeds", tips=mean_tips),
        Mark("triangles", "worse", _floats(worse["depth"]), _floats(worse["mean"]),
             color=style.BLACK, width=8, tips=[WORSE_TIP] * len(worse)),
    ]  # fmt: skip
    return [m for m in marks if m.x]


def _floats(column: pd.Series) -> list[float]:
    return [float(v) for v in column]


def _value(v: float) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _problems(row: object) -> str:
    """'diverged 1/3': a summary row's runs that did not end ok."""
    n = row.n
    return ", ".join(
        f"{k} {getattr(row, k)}/{n}" for k in ("diverged", "failed") if getattr(row, k, 0)
    )
