"""Charts as inline SVG: axes, lines, bands and dots in data coordinates, drawn once in Python.

What `resbench.views.page` draws its figures with. An SVG chart is readable where scripts are off
and fetches nothing; each mark carries a `<title>` (the browser's own tooltip), and the page's
script only toggles what is shown. A panel whose y axis may be read either way is drawn twice,
linear and log, in two groups the page switches between (`data-y`); a log axis leaves out
what it cannot show (zeros) rather than drawing it at the edge.

Text that must wrap (titles, legends) is the page's HTML, not SVG: SVG cannot wrap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

MarkKind = Literal["line", "band", "dots", "triangles"]
MARGIN = (46, 10, 12, 36)  # left, right, top, bottom: room for the ticks and axis labels
FONT = 11  # px, the ticks' and axis labels'


@dataclass
class Mark:
    """One drawn thing in data coordinates: a line, a band (`y` to `y2`) or dots."""

    kind: MarkKind
    x: Sequence[float]
    y: Sequence[float]
    color: str
    y2: Sequence[float] = ()  # a band's upper edge
    width: float = 1.5  # a line's stroke, a dot's radius
    dash: str = ""
    opacity: float = 1.0
    tips: Sequence[str] = ()  # a tooltip per dot, or one for a whole line


@dataclass
class Series:
    """The marks that go together, shown and hidden as one (`attrs`: data-* to select it by)."""

    name: str
    marks: list[Mark]
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Panel:
    """One pair of axes and its series. `y_log` None: drawn both ways, linear shown first."""

    series: list[Series]
    x_label: str
    y_label: str
    x_log: bool = False
    y_log: bool | None = False
    x_ticks: Sequence[float] | None = None  # default: round numbers
    y_floor: float | None = 0.0  # a linear y axis starts here when no value is below it
    y_include: Sequence[float] = ()  # values the y axis spans too: panels that share it


@dataclass(frozen=True)
class Axis:
    """Maps data to pixels along one side, `start` to `end` (pixels may run backwards)."""

    low: float
    high: float
    start: float
    end: float
    log: bool

    def __call__(self, value: float) -> float:
        if self.log:
            value, low, high = math.log10(value), math.log10(self.low), math.log10(self.high)
        else:
            low, high = self.low, self.high
        share = 0.5 if high == low else (value - low) / (high - low)
        return self.start + share * (self.end - self.start)

    def shows(self, value: float) -> bool:
        return math.isfinite(value) and (value > 0 or not self.log)


def panel_svg(panel: Panel, width: int, height: int) -> str:
    """The panel as an `<svg>` element, scaled to its container's width."""
    ys = (panel.y_log,) if panel.y_log is not None else (False, True)
    groups = [_plot(panel, width, height, y_log) for y_log in ys]
    if len(groups) == 2:
        groups = [
            f'<g data-y="{s}">{g}</g>' for s, g in zip(("linear", "log"), groups, strict=True)
        ]
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" class="plot">{"".join(groups)}</svg>'
    )


def _plot(panel: Panel, width: int, height: int, y_log: bool) -> str:
    left, right, top, bottom = MARGIN
    xs = [v for s in panel.series for m in s.marks for v in m.x]
    ys = [*panel.y_include, *(v for s in panel.series for m in s.marks for v in (*m.y, *m.y2))]
    x = Axis(*_range(xs, panel.x_log, None), left, width - right, panel.x_log)
    y = Axis(*_range(ys, y_log, panel.y_floor), height - bottom, top, y_log)
    out = [_axes(panel, x, y, width, height)]
    for series in panel.series:
        attrs = "".join(f' {k}="{escape(v)}"' for k, v in series.attrs.items())
        marks = "".join(_mark(m, x, y) for m in series.marks)
        out.append(f'<g class="series"{attrs}>{marks}</g>')
    return "".join(out)


def _range(values: list[float], log: bool, floor: float | None) -> tuple[float, float]:
    """The axis' span: the values', padded; a log axis over the positive values only."""
    shown = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not shown:
        return (1.0, 10.0) if log else (0.0, 1.0)
    low, high = min(shown), max(shown)
    if log:
        if math.log10(high / low) >= 1.5:  # out to the powers of ten, which the ticks label
            return 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))
        pad = max(math.log10(high / low) * 0.05, 0.02)
        return low / 10**pad, high * 10**pad
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 0.5
    low = floor if floor is not None and low >= floor else low - pad
    return low, high + pad


def _axes(panel: Panel, x: Axis, y: Axis, width: int, height: int) -> str:
    """The frame, grid lines, ticks and axis labels."""
    left, right, top, bottom = MARGIN
    out = [
        f'<rect class="frame" x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}"/>'
    ]
    x_ticks = panel.x_ticks if panel.x_ticks is not None else ticks(x.low, x.high, x.log)
    for value in x_ticks:
        if x.low <= value <= x.high:
            px = _f(x(value))
            out.append(f'<line class="grid" x1="{px}" x2="{px}" y1="{top}" y2="{y.start}"/>')
            out.append(f'<text class="tick" x="{px}" y="{_f(y.start + FONT + 3)}" ')
            out.append(f'text-anchor="middle">{tick_label(value)}</text>')
    for value in ticks(y.low, y.high, y.log):
        py = _f(y(value))
        out.append(f'<line class="grid" x1="{left}" x2="{x.end}" y1="{py}" y2="{py}"/>')
        out.append(f'<text class="tick" x="{left - 4}" y="{_f(y(value) + FONT / 3)}" ')
        out.append(f'text-anchor="end">{tick_label(value)}</text>')
    label_y = height - 4
    out.append(f'<text class="label" x="{_f((left + x.end) / 2)}" y="{label_y}" ')
    out.append(f'text-anchor="middle">{escape(_label(panel.x_label, x.log))}</text>')
    middle = _f((top + y.start) / 2)
    out.append(f'<text class="label" transform="translate(11 {middle}) rotate(-90)" ')
    out.append(f'text-anchor="middle">{escape(_label(panel.y_label, y.log))}</text>')
    return "".join(out)


def _label(text: str, log: bool) -> str:
    """'depth (layers, log scale)', 'gradient norm (log scale)'."""
    if not log:
        return text
    return text[:-1] + ", log scale)" if text.endswith(")") else text + " (log scale)"


def _mark(mark: Mark, x: Axis, y: Axis) -> str:
    style = f'stroke="{mark.color}"' if mark.kind == "line" else f'fill="{mark.color}"'
    if mark.opacity != 1:
        style += f' opacity="{mark.opacity:g}"'
    if mark.kind == "line":
        d = _path(mark.x, mark.y, x, y)
        if not d:
            return ""
        dash = f' stroke-dasharray="{mark.dash}"' if mark.dash else ""
        tip = _title(mark.tips[0]) if mark.tips else ""
        return (
            f'<path class="line" d="{d}" {style} stroke-width="{mark.width:g}"{dash}>{tip}</path>'
        )
    if mark.kind == "band":
        upper = [(a, b) for a, b in zip(mark.x, mark.y2, strict=True) if x.shows(a)]
        lower = [(a, b) for a, b in zip(mark.x, mark.y, strict=True) if x.shows(a)]
        if not upper or not all(y.shows(b) for _, b in upper + lower):
            return ""  # a band reaching zero has no log picture: the seeds' dots remain
        points = [*upper, *reversed(lower)]
        d = "M" + "L".join(f"{_f(x(a))},{_f(y(b))}" for a, b in points) + "Z"
        return f'<path class="band" d="{d}" {style}/>'
    out = []
    for i, (a, b) in enumerate(zip(mark.x, mark.y, strict=True)):
        if not (x.shows(a) and y.shows(b)):
            continue
        tip = _title(mark.tips[i]) if mark.tips else ""
        px, py = x(a), y(b)
        if mark.kind == "dots":
            out.append(f'<circle cx="{_f(px)}" cy="{_f(py)}" r="{mark.width:g}" {style}>')
            out.append(f"{tip}</circle>")
        else:  # an open triangle around the point, as the report's ▲
            r, low = mark.width, _f(py + mark.width * 0.7)
            d = f"M{_f(px)},{_f(py - r)}L{_f(px + r)},{low}L{_f(px - r)},{low}Z"
            out.append(f'<path class="worse" d="{d}" stroke="{mark.color}" fill="none">')
            out.append(f"{tip}</path>")
    return "".join(out)


def _path(xs: Sequence[float], ys: Sequence[float], x: Axis, y: Axis) -> str:
    """Path data through the points the axes show; a point they cannot show breaks the line."""
    d, pen = [], "M"
    for a, b in zip(xs, ys, strict=True):
        if x.shows(a) and y.shows(b):
            d.append(f"{pen}{_f(x(a))},{_f(y(b))}")
            pen = "L"
        else:
            pen = "M"
    return "".join(d)


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _f(value: float) -> str:
    """A pixel coordinate: a tenth of a pixel is finer than the eye, and keeps the file small."""
    return f"{value:.1f}".removesuffix(".0")


def ticks(low: float, high: float, log: bool) -> list[float]:
    """Round numbers from `low` to `high`: powers of ten on a log axis (with 2 and 5 between
    them when it spans less than two decades), else 1, 2 or 5 times a power of ten apart."""
    if high <= low:
        return [low]
    if log:
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        decades = [10.0**e for e in range(first, last + 1)]
        steps = (1, 2, 5) if last - first <= 2 else (1,)
        every = max(1, math.ceil((last - first) / 6))  # at most about six labels
        values = [d * s for i, d in enumerate(decades) if i % every == 0 for s in steps]
        return [v for v in values if low <= v <= high]
    raw = (high - low) / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= raw)
    start = math.ceil(low / step) * step
    count = int((high - start) / step + 1e-9) + 1
    return [round(start + i * step, 12) for i in range(count)]


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def tick_label(value: float) -> str:
    """'0.2', '20', or '10⁻⁶' for a power of ten far from 1."""
    if value > 0:
        exponent = math.log10(value)
        if abs(exponent) >= 4 and abs(exponent - round(exponent)) < 1e-9:
            return "10" + str(round(exponent)).translate(SUPERSCRIPT)
    return f"{value:.6g}"
