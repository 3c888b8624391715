"""Why depth fails, as figures of layers.csv (`resbench.train.diagnostics`): per group (a
variant of the sweep, and its family where the sweep mixes families) a panel per arch and a
series per depth, against the layer (0 = the stem's output, b = block b's):

- `profile_figure`: one per-layer kind, solid at initialisation and, for the signal, dashed at
  the end: the cosine between inputs, the activation RMS, a transformer's token spread, the
  input gradients' correlation (Schoenholz et al. 2017; Dong et al. 2021; Balduzzi et al. 2017);
- `jacobian_figure`: the input–output Jacobian's singular values at each layer, at
  initialisation: the rms bold, the largest and smallest thin (Pennington et al. 2017);
- `lesion_figure`: after training, the test error without each block, dots on a line, the
  intact net's dashed (Veit et al. 2016).

Each point is the mean over seeds: arithmetic on a linear axis, geometric on a log axis (over
the positive values: a zero has no place there and is left out). "At the end" is each run's
last measured step, of the runs that ended ok: a diverged run's last values are no end, and
the panel names the runs left out.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resbench.views import style
from resbench.views.figures.model import (
    Axis,
    Figure,
    Group,
    LegendEntry,
    Mark,
    Panel,
    Scale,
    Series,
)

if TYPE_CHECKING:
    import pandas as pd

LAYER_AXIS = "block (0 = the stem's output)"
NOTE_WIDTH = 40  # characters of a panel's note on one line
# Draws one depth's series in one arch's panel: (its runs, depth, colour, name) -> Series.
SeriesMaker = Callable[["pd.DataFrame", int, str, str], "Series | None"]


@dataclass(frozen=True)
class Profile:
    """A per-layer kind drawn against the layer: its figure's key, the y axis, and whether
    its end is drawn beside its initialisation."""

    key: str
    kind: str
    label: str
    scale: Scale = "linear"
    end: bool = True


PROFILES = (
    Profile("why-cosine", "sample_cosine", "cosine between inputs"),
    Profile("why-rms", "signal_rms", "activation rms", "log"),
    Profile("why-tokens", "token_spread", "token spread (0: collapsed)", "log"),
    Profile("why-correlation", "grad_correlation", "gradient correlation", end=False),
)
MOMENTS = (("init", "at init", False), ("end", "at the end", True))  # role, said, dashed


def why_groups(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The groups the why figures show apart: the sweep's variants, each split by family where
    the sweep mixes families (a plain convnet and a plain transformer share an arch's name)."""
    groups = []
    for title, variant in style.variants(runs):
        families = sorted(set(variant["family"])) if runs["family"].nunique() > 1 else [None]
        for family in families:
            mine = variant if family is None else variant[variant["family"] == family]
            named = " · ".join(t for t in (title, f"family {family}" if family else "") if t)
            groups.append((named, mine))
    return groups


def series_label(depth: int, family: str) -> str:
    """'26 layers', '12 blocks': what depth counts in `family`."""
    from resbench.models.registry import depth_unit

    return f"{depth} {depth_unit([family])}s"


def seed_mean(values: pd.Series, log: bool) -> float:
    """The mean over seeds of the finite values (geometric over the positive ones on a log
    axis), NaN when there is none."""
    import numpy as np

    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v) & ((v > 0) if log else True)]
    if not len(v):
        return math.nan
    return float(np.exp(np.log(v).mean())) if log else float(v.mean())


def seed_count(values: pd.Series, log: bool) -> int:
    """How many seeds `seed_mean` takes the mean of."""
    import numpy as np

    v = values.to_numpy(dtype=float)
    return int((np.isfinite(v) & ((v > 0) if log else True)).sum())


def moments(layers: pd.DataFrame, runs: pd.DataFrame, kind: str) -> dict[str, pd.DataFrame]:
    """The rows of `kind` at initialisation (step 0) and at the end (each run's last step after
    0, of the runs that ended ok)."""
    rows = layers[(layers["kind"] == kind) & (layers["layer"] >= 0)]
    ok = set(runs.loc[runs["status"] == "ok", "run_id"])
    last = rows.groupby("run_id")["step"].transform("max")
    end = rows[(rows["step"] == last) & (last > 0) & rows["run_id"].isin(ok)]
    return {"init": rows[rows["step"] == 0], "end": end}


def profile_figure(layers: pd.DataFrame, runs: pd.DataFrame, profile: Profile) -> Figure:
    """`profile.kind` against the layer: a panel per arch, a series per depth, a line per
    moment (the end dashed)."""
    at = moments(layers, runs, profile.kind)
    if not profile.end:
        at = {"init": at["init"]}
    log = profile.scale != "linear"

    def series(arch_runs: pd.DataFrame, depth: int, color: str, name: str) -> Series | None:
        marks = []
        for role, said, dashed in MOMENTS:
            if role not in at:
                continue
            mine = at[role][at[role]["run_id"].isin(arch_runs["run_id"])]
            by_layer = mine.groupby("layer")["value"]
            means = by_layer.apply(lambda v: seed_mean(v, log)).dropna()
            if means.empty:
                continue
            n = by_layer.apply(lambda v: seed_count(v, log))
            what = f"{name} · {said}"
            # Short: a page holds one per layer, depth, arch and moment
            tips = [f"{what}, layer {layer}: {value:.3g} ({n[layer]} seeds)"
                    for layer, value in means.items()]  # fmt: skip
            xs, ys = [float(v) for v in means.index], [float(v) for v in means.values]
            marks.append(Mark("line", role, xs, ys, dashed=dashed, name=what, tips=tips))
        return Series(name.split(" · ")[-1], color, marks) if marks else None

    y = Axis(profile.label, profile.scale)
    legend = [LegendEntry("at initialisation (solid)", style.GRAY)]
    if profile.end:
        legend.append(LegendEntry("at the end (dashed)", style.GRAY, "dashed"))
    note = "" if profile.end else "at initialisation"
    gone = "left out at the end" if profile.end else ""
    figure = why_figure(runs, profile.key, y, series, legend, note, gone)
    figure.keys = {"diagnostic": profile.kind}
    return figure


def jacobian_figure(layers: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """The Jacobian's singular values against the layer at initialisation: a panel per arch, a
    series per depth, its rms bold and its largest and smallest thin (log scale)."""
    init = {k: moments(layers, runs, k)["init"] for k in ("jacobian_sv_rms", "jacobian_sv_max",
                                                         "jacobian_sv_min")}  # fmt: skip

    def series(arch_runs: pd.DataFrame, depth: int, color: str, name: str) -> Series | None:
        marks = []
        for kind, role, width, opacity in (
            ("jacobian_sv_rms", "rms", 2.0, 1.0),
            ("jacobian_sv_max", "max", 0.8, 0.7),
            ("jacobian_sv_min", "min", 0.8, 0.7),
        ):
            mine = init[kind][init[kind]["run_id"].isin(arch_runs["run_id"])]
            by_layer = mine.groupby("layer")["value"]
            means = by_layer.apply(lambda v: seed_mean(v, True)).dropna()
            if means.empty:
                continue
            n = by_layer.apply(lambda v: seed_count(v, True))
            tips = [f"{name}, layer {layer}: {role} σ {value:.3g} ({n[layer]} seeds)"
                    for layer, value in means.items()]  # fmt: skip
            xs, ys = [float(v) for v in means.index], [float(v) for v in means.values]
            what = f"{name} · {role} σ"
            marks.append(Mark("line", role, xs, ys, width=width, opacity=opacity, name=what,
                              tips=tips))  # fmt: skip
        return Series(name.split(" · ")[-1], color, marks) if marks else None

    y = Axis("singular value σ of ∂h/∂x", "log")
    legend = [
        LegendEntry("rms σ (bold)", style.GRAY),
        LegendEntry("largest and smallest σ (thin)", style.GRAY, "thin"),
    ]
    figure = why_figure(runs, "why-jacobian", y, series, legend, "at initialisation", "")
    figure.keys = {"diagnostic": "jacobian"}
    return figure


def lesion_figure(layers: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """After training, the test error without each block against the block: a panel per arch,
    a series per depth, the intact net's error dashed across its blocks."""
    rows = layers[layers["kind"].isin(["lesion_error", "intact_error"])]

    def series(arch_runs: pd.DataFrame, depth: int, color: str, name: str) -> Series | None:
        mine = rows[rows["run_id"].isin(arch_runs["run_id"])]
        lesions = mine[mine["kind"] == "lesion_error"].groupby("layer")["value"]
        intact = mine[mine["kind"] == "intact_error"]["value"]
        means = lesions.apply(lambda v: seed_mean(v, False)).dropna()
        if means.empty:
            return None
        n = lesions.apply(lambda v: seed_count(v, False))
        blocks = list(range(1, int(means.index.max()) + 1))
        # A block not measured (a plain block that changes shape) breaks the line.
        ys = [float(means.get(b, math.nan)) for b in blocks]
        tips = [
            f"{name}, block {b} removed: test error {y:.3g} ({n[b]} seeds)"
            if b in means.index
            else ""
            for b, y in zip(blocks, ys, strict=True)
        ]
        xs = [float(b) for b in blocks]
        what = f"{name} · a block removed"
        marks = [Mark("line", "lesion", xs, ys, dots=2.5, name=what, tips=tips)]
        whole = seed_mean(intact, False)
        if math.isfinite(whole):
            said = f"{name} · intact: test error {whole:.3g} ({seed_count(intact, False)} seeds)"
            ends = [xs[0], xs[-1]]
            marks.append(Mark("line", "intact", ends, [whole, whole], dashed=True, name=said))
        return Series(name.split(" · ")[-1], color, marks)

    y = Axis("test error", low=0.0)
    legend = [
        LegendEntry("without block b (dots)", style.GRAY),
        LegendEntry("intact (dashed)", style.GRAY, "dashed"),
    ]
    figure = why_figure(runs, "why-lesions", y, series, legend, "after training", "not lesioned")
    for _, panel in figure.panels():
        panel.x = Axis("block removed")
    figure.keys = {"diagnostic": "lesions"}
    return figure


def log_ticks(values: list[float]) -> list[float] | None:
    """Ticks for a log axis over `values` that spans too little for powers of ten to label it:
    1, 2 and 5 times them where two or more lie inside, else round numbers evenly spaced; None
    (the renderer's powers of ten) over two decades or more."""
    shown = [v for v in values if math.isfinite(v) and v > 0]
    if not shown:
        return None
    low, high = min(shown), max(shown)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last - first > 2:
        return None
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if low <= t <= high]
    if len(ticks) >= 2:
        return ticks
    if high == low:  # one value: a tick either side within the renderers' padding
        return [float(f"{low * f:.3g}") for f in (0.97, 1.0, 1.03)]
    step = 10 ** math.floor(math.log10((high - low) / 4))
    step *= next(m for m in (1, 2, 5, 10) if (high - low) / (step * m) <= 5)
    start = math.ceil(low / step)
    count = int(high / step + 1e-9) - start + 1
    return [round((start + i) * step, 12) for i in range(count)]


def why_figure(
    runs: pd.DataFrame,
    key: str,
    y: Axis,
    make: SeriesMaker,
    moments_legend: list[LegendEntry],
    note: str,
    gone_note: str,
) -> Figure:
    """A figure of a group per `why_groups`, a panel per arch with a series per depth that
    `make` draws; `gone_note`, where set, names the runs that did not end ok after it."""
    from resbench.analysis.summary import arch_order, describe
    from resbench.views.text import header_line

    depths = sorted(set(runs["depth"]))
    colors = style.depth_colors(depths)
    groups = []
    for i, (title, group) in enumerate(why_groups(runs)):
        family = str(group["family"].iloc[0])
        panels, shown = [], []
        for arch in arch_order(group["arch"]):
            mine = group[group["arch"] == arch]
            series = []
            for depth in sorted(set(mine["depth"])):
                label = series_label(depth, family)
                at = mine[mine["depth"] == depth]
                if one := make(at, depth, colors[depth], f"{arch} · {label}"):
                    one.keys = {"depth": str(depth)}
                    series.append(one)
                    shown += [depth] if depth not in shown else []
            if series:
                gone = style.not_shown(mine) if gone_note else ""
                # On lines a panel's width holds: a title does not wrap in the PNG
                notes = textwrap.wrap(f"{gone_note}: {gone}", NOTE_WIDTH) if gone else []
                x = Axis(LAYER_AXIS)
                panels.append(Panel(f"{i}/{arch}", arch, series, x, y, notes, {"arch": arch}))
        if panels:
            if y.scale != "linear":
                values = [v for p in panels for s in p.series for m in s.marks for v in m.y]
                group_y = Axis(y.label, y.scale, log_ticks(values), low=y.low, high=y.high)
                for panel in panels:
                    panel.y = group_y
            legend = [LegendEntry(series_label(d, family), colors[d]) for d in sorted(shown)]
            groups.append(Group(title, panels, legend + moments_legend))
    return Figure("layers", key, header_line(describe(runs)), groups, note=note)
