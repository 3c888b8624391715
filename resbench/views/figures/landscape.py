"""The depth-μP papers' figure: `metric` against a swept key, a panel per variant and arch, a
series per depth, each point the mean over the ok seeds; a star at each depth's best value (the
lowest mean, a diverged run the worst) and, under each panel's title, the drift of the best
value with depth with its interval from resampling seeds.

A numeric key (positive values) is drawn on a log2 axis; any other in the order of its values,
evenly spaced, and has no best value or drift. The y axis ends at `top`: a point above it is a
caret there, a value whose runs all diverged a cross.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resbench.core.errors import ResbenchError
from resbench.views import style
from resbench.views.figures.model import Axis, Figure, Group, LegendEntry, Mark, Panel, Series

if TYPE_CHECKING:
    import pandas as pd

TOP_ROOM = 1.04  # the y axis ends this far above the top, so that the marks there show whole


def landscape_figure(
    runs: pd.DataFrame,
    key: str,
    metric: str,
    replicates: int | None = None,
    best_and_drift: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Figure:
    """`metric` against the swept `key`; `best_and_drift`: `resbench.analysis.best_of.drift`'s
    frames where already made (else made here, with `replicates` resamplings)."""
    from resbench.analysis import best_of
    from resbench.analysis.summary import arch_order, describe, require_metric
    from resbench.analysis.variants import by_variant
    from resbench.models.registry import depth_unit
    from resbench.views.labels import variant_title
    from resbench.views.text import header_line

    if runs.empty:
        raise ResbenchError("no runs to plot: the runs table is empty")
    column = best_of.selection(runs, key, metric).key  # one-line errors before anything is drawn
    require_metric(runs, metric)
    numeric = best_of.numeric_values(runs, column)
    land = best_of.landscape(runs, column, metric)
    best, drift = best_and_drift or (None, None)
    if numeric and best is None:
        best, drift = best_of.drift(runs, column, metric, replicates or best_of.REPLICATES)
    values = sorted(set(land[column]), key=best_of._order)
    x = _x_axis(column, values, numeric)
    x_of = dict(zip(values, x.ticks or [], strict=True))
    top = _top(land, column, metric)
    y = Axis(f"{metric.replace('_', ' ')} (mean over ok seeds)", high=top * TOP_ROOM)
    depths = sorted(set(land["depth"]))
    colors = style.depth_colors(depths)
    unit = depth_unit(runs["family"])
    groups = []
    for i, (variant, group) in enumerate(by_variant(land, best_of.others(runs, column))):
        panels = []
        for arch in arch_order(group["arch"]):
            at = group[group["arch"] == arch]
            picks = _of(best, variant, arch)
            series = []
            for depth in depths:
                line = at[at["depth"] == depth].sort_values(column, key=_sort_key)
                if line.empty:
                    continue
                label = f"{depth} {unit}s"
                chosen = picks[picks["depth"] == depth] if picks is not None else None
                marks = _marks(line, chosen, x_of, (column, metric, top), f"{arch} · {label}")
                series.append(Series(label, colors[depth], marks, {"depth": str(depth)}))
            notes = _notes(_of(drift, variant, arch), _of(runs, variant, arch))
            panel = Panel(f"{i}/{arch}", arch, series, x, y, notes, {"arch": arch})
            panels.append(panel)
        shown = sorted(set(group["depth"]))
        legend = [LegendEntry(f"{d} {unit}s", colors[d]) for d in shown]
        if best is not None:
            legend.append(LegendEntry("best per depth (lowest mean)", style.GRAY, "star"))
        groups.append(Group(variant_title(variant), panels, legend))
    note = f"mean over {int(land['n'].max())} seeds; ✕ every seed diverged; ^ off the axes"
    title = header_line(describe(runs))
    return Figure("landscape", "landscape", title, groups, note, "depth", shared_y="figure")


def _x_axis(column: str, values: list[Any], numeric: bool) -> Axis:
    """A numeric key's values on a log2 axis; any other's evenly spaced, in their order."""
    from resbench.analysis.best_of import axis_value

    labels = [axis_value(v) for v in values]
    if numeric:
        return Axis(column, "log2", [float(v) for v in values], labels)
    return Axis(column, "linear", [float(i) for i in range(len(values))], labels)


def _marks(
    line: pd.DataFrame,
    best: pd.DataFrame | None,
    x_of: dict[Any, float],
    where: tuple[str, str, float],
    name: str,
) -> list[Mark]:
    """One depth's line (capped at `top`), its carets above the top, its crosses where every
    seed diverged and its star at the best value."""
    column, metric, top = where
    xs = [x_of[v] for v in line[column]]
    means = [float(v) for v in line["mean"]]
    tips = [
        f"{name} · {column} {_said(v)}: {metric} {y:.3f}, mean of {n} ok seeds"
        + (f" ({d} diverged)" if d else "")
        for v, y, n, d in zip(line[column], means, line["n_ok"], line["diverged"], strict=True)
    ]
    over = [(x, top) for x, y in zip(xs, means, strict=True) if y > top]
    gone = [(x, top) for x, n in zip(xs, line["n_ok"], strict=True) if n == 0]
    picked = [] if best is None else zip(best[column], best["score"], strict=True)
    stars = [
        (x_of[v], min(score, top), f"{name}: best {column} {_said(v)} ({metric} {score:.3f})")
        for v, score in picked
        if v == v and math.isfinite(score)
    ]
    capped = [min(y, top) if y == y else y for y in means]
    marks = [
        Mark("line", "mean", xs, capped, width=1.8, dots=2.5, name=name, tips=tips),
        Mark("carets", "above", [p[0] for p in over], [p[1] for p in over], width=5.5),
        Mark("crosses", "diverged", [p[0] for p in gone], [p[1] for p in gone], width=6),
        Mark("stars", "best", [s[0] for s in stars], [s[1] for s in stars], width=9,
             tips=[s[2] for s in stars]),
    ]  # fmt: skip
    return [m for m in marks if m.x]


def _notes(drift: pd.DataFrame | None, runs: pd.DataFrame | None) -> list[str]:
    """A panel's drift with its interval, and the runs its means leave out."""
    notes = []
    if drift is not None and len(drift) and math.isfinite(drift["drift"].iloc[0]):
        r = drift.iloc[0]
        spread = f" [{r['low']:+.2f}, {r['high']:+.2f}]" if math.isfinite(r["low"]) else ""
        notes.append(f"drift {r['drift']:+.2f}{spread} (n {r['n_seeds']} seeds)")
    if runs is not None and (missing := style.not_shown(runs)):
        notes.append(f"not shown: {missing}")
    return notes


def _of(frame: pd.DataFrame | None, variant: dict[str, Any], arch: str) -> pd.DataFrame | None:
    """The rows of `frame` (runs, best values or drifts) of one variant and arch."""
    from resbench.analysis.variants import of_variant

    return None if frame is None else of_variant(frame[frame["arch"] == arch], variant)


def _said(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _sort_key(column: pd.Series) -> pd.Series:
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().all() else column.astype(str)


def _top(land: pd.DataFrame, column: str, metric: str) -> float:
    """Where the y axis ends: errors at 1; other metrics a quarter above the worst of the lines'
    lowest means (a net that started exploded can show losses of 10^2 and more, which would
    flatten every line's valley)."""
    from resbench.analysis.summary import SEED_STATS

    means = land["mean"].dropna()
    if metric.endswith("_error") or means.empty:
        return 1.0
    lines = [c for c in land.columns if c not in (column, *SEED_STATS)]
    best = land.groupby(lines, dropna=False)["mean"].min()
    return float(min(means.max(), 1.25 * best.max()))
