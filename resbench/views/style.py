"""What every figure shares, so that one arch or depth looks the same in each: colours, when a
depth axis is logarithmic, the variants a figure shows apart, and the note naming the runs a
line leaves out (used by the builders of `resbench.views.figures`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ARCH_COLORS = {"plain": "tab:red", "residual": "tab:blue"}
OTHER_COLORS = ("tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
                "tab:cyan", "tab:gray")  # fmt: skip
LOG_DEPTHS = 4.0  # a depth axis is logarithmic when its deepest net is this many times the first
GRAY = "#666666"  # the swatches of what a line's style means (thin, dashed), whatever its colour
BLACK = "#000000"  # marks over the lines' colours: ▲, the stars' edges


def arch_colors(archs: list[str]) -> dict[str, str]:
    """A colour per arch as CSS hex, the same in every panel: plain red, residual blue, others
    in turn."""
    from matplotlib.colors import to_hex

    others = [a for a in archs if a not in ARCH_COLORS]
    return {
        a: to_hex(ARCH_COLORS.get(a) or OTHER_COLORS[others.index(a) % len(OTHER_COLORS)])
        for a in archs
    }


def depth_colors(depths: list[int]) -> dict[int, str]:
    """A colour per depth as CSS hex: viridis without its palest end, which vanishes on white."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    viridis = colormaps["viridis"]
    return {d: to_hex(viridis(0.85 * j / max(len(depths) - 1, 1))) for j, d in enumerate(depths)}


def log_depths(depths: list[int]) -> bool:
    """Whether a depth axis should be logarithmic: 8, 20 and 110 layers on a linear one squeeze
    the shallow nets together."""
    return bool(depths) and max(depths) / max(min(depths), 1) > LOG_DEPTHS


def variants(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The sweep's variants: (title, their runs), or one untitled group when it has none."""
    from resbench.analysis.variants import by_variant, variant_columns
    from resbench.views.labels import variant_title

    return [(variant_title(v), g) for v, g in by_variant(runs, variant_columns(runs))]


def not_shown(runs: pd.DataFrame) -> str:
    """'1 diverged at 56, 2 failed at 110': the runs a line leaves out, named."""
    bad = runs[runs["status"] != "ok"].groupby(["depth", "status"]).size()
    return ", ".join(f"{n} {status} at {depth}" for (depth, status), n in bad.items())
