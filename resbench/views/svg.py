"""A panel of a figure (`resbench.views.figures.model`) as inline SVG: axes, lines, bands and
markers placed in Python, for the page (`resbench.views.html` lays the panels out).

An SVG chart is readable where scripts are off and fetches nothing; each mark carries a
`<title>` (the browser's own tooltip: a line's says what it is, each point's what it holds), and
the page's script only toggles what is shown. A panel whose y axis is linear is drawn twice,
linear and log, in two groups the page switches between (`data-y`); a log axis leaves out what
it cannot show (zeros) rather than drawing it at the edge. Each series is a group named by its
label (`data-series`) and each mark by its role (`data-mark`), so that a test can read back
what was drawn.

Text that must wrap (titles, legends) is the page's HTML, not SVG: SVG cannot wrap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from resbench.core.names import escape_html as escape
from resbench.views.figures.model import Axis as AxisData
from resbench.views.figures.model import Mark, Panel, axis_title

MARGIN = (46, 10, 12, 36)  # left, right, top, bottom: room for the ticks and axis labels
FONT = 11  # px, the ticks' and axis labels'
HOVER = 0.6  # a line's points, where it has no dots, are hover targets this much wider than it


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


def panel_svg(panel: Panel, width: int, height: int, shared: Sequence[float] = ()) -> str:
    """The panel as an `<svg>` element, scaled to its container's width; `shared`: values the y
    axis spans too (those of the panels it shares its y axis with)."""
    logs = (False, True) if panel.y.scale == "linear" else (True,)
    groups = [_plot(panel, width, height, log, shared) for log in logs]
    if len(groups) == 2:
        groups = [
            f'<g data-y="{s}">{g}</g>' for s, g in zip(("linear", "log"), groups, strict=True)
        ]
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" class="plot">{"".join(groups)}</svg>'
    )


def y_values(panel: Panel) -> list[float]:
    """Every y value a panel draws (for the panels that share its y axis)."""
    return [v for s in panel.series for m in s.marks for v in (*m.y, *m.y2)]


def _plot(panel: Panel, width: int, height: int, y_log: bool, shared: Sequence[float]) -> str:
    left, right, top, bottom = MARGIN
    xs = [v for s in panel.series for m in s.marks for v in m.x]
    x_log = panel.x.scale != "linear"
    x = Axis(*_range(xs, x_log, panel.x), left, width - right, x_log)
    y = Axis(*_range([*shared, *y_values(panel)], y_log, panel.y), height - bottom, top, y_log)
    out = [_axes(panel, x, y, width, height)]
    for series in panel.series:
        attrs = _attrs({"series": series.label, **series.keys})
        marks = "".join(_mark(m, m.color or series.color, x, y) for m in series.marks)
        out.append(f'<g class="series"{attrs}>{marks}</g>')
    return "".join(out)


def _range(values: list[float], log: bool, axis: AxisData) -> tuple[float, float]:
    """The axis' span: the values', padded, from the axis' low and to its high where no value
    lies beyond them (on a linear axis); a log axis over the positive values only, out to the
    powers of ten when its ticks are the round numbers that label them."""
    shown = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not shown:
        return (1.0, 10.0) if log else (0.0, 1.0)
    low, high = min(shown), max(shown)
    if log:
        if axis.ticks is None and math.log10(high / low) >= 1.5:
            return 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))
        pad = max(math.log10(high / low) * 0.05, 0.02)
        return low / 10**pad, high * 10**pad
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 0.5
    low = axis.low if axis.low is not None and low >= axis.low else low - pad
    high = axis.high if axis.high is not None and high <= axis.high else high + pad
    return low, high


def _axes(panel: Panel, x: Axis, y: Axis, width: int, height: int) -> str:
    """The frame, grid lines, ticks and axis labels."""
    left, right, top, bottom = MARGIN
    out = [
        f'<rect class="frame" x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}"/>'
    ]
    for value, text in _ticks(panel.x, x):
        px = _f(x(value))
        out.append(f'<line class="grid" x1="{px}" x2="{px}" y1="{top}" y2="{y.start}"/>')
        out.append(f'<text class="tick" x="{px}" y="{_f(y.start + FONT + 3)}" ')
        out.append(f'text-anchor="middle">{escape(text)}</text>')
    for value, text in _ticks(panel.y, y):
        py = _f(y(value))
        out.append(f'<line class="grid" x1="{left}" x2="{x.end}" y1="{py}" y2="{py}"/>')
        out.append(f'<text class="tick" x="{left - 4}" y="{_f(y(value) + FONT / 3)}" ')
        out.append(f'text-anchor="end">{escape(text)}</text>')
    label_y = height - 4
    x_title = axis_title(panel.x.label, panel.x.scale)
    out.append(f'<text class="label" x="{_f((left + x.end) / 2)}" y="{label_y}" ')
    out.append(f'text-anchor="middle">{escape(x_title)}</text>')
    y_title = axis_title(panel.y.label, "log" if y.log else "linear")
    middle = _f((top + y.start) / 2)
    out.append(f'<text class="label" transform="translate(11 {middle}) rotate(-90)" ')
    out.append(f'text-anchor="middle">{escape(y_title)}</text>')
    return "".join(out)


def _ticks(data: AxisData, axis: Axis) -> list[tuple[float, str]]:
    """The ticks inside the axis with what they say: the figure's, or round numbers."""
    if data.ticks is None or (axis.log and data.scale == "linear"):
        return [(v, tick_label(v)) for v in ticks(axis.low, axis.high, axis.log)]
    labels = data.tick_labels or [tick_label(v) for v in data.ticks]
    return [
        (v, text)
        for v, text in zip(data.ticks, labels, strict=True)
        if axis.low <= v <= axis.high and axis.shows(v)
    ]


def _mark(mark: Mark, color: str, x: Axis, y: Axis) -> str:
    role = f' data-mark="{escape(mark.role)}"'
    opacity = f' opacity="{mark.opacity:g}"' if mark.opacity != 1 else ""
    if mark.kind == "line":
        d = _path(mark.x, mark.y, x, y)
        if not d:
            return ""
        dash = ' stroke-dasharray="5 3"' if mark.dashed else ""
        tip = _title(mark.name) if mark.name else ""
        line = (
            f'<path class="line"{role} d="{d}" stroke="{color}"{opacity} '
            f'stroke-width="{mark.width:g}"{dash}>{tip}</path>'
        )
        radius = mark.dots or (mark.width + HOVER if mark.tips else 0)
        dots = Mark("dots", mark.role, mark.x, mark.y, width=radius, tips=mark.tips)
        return line + (_points(dots, color, x, y) if radius else "")
    if mark.kind == "band":
        upper = [(a, b) for a, b in zip(mark.x, mark.y2, strict=True) if x.shows(a)]
        lower = [(a, b) for a, b in zip(mark.x, mark.y, strict=True) if x.shows(a)]
        if not upper or not all(y.shows(b) for _, b in upper + lower):
            return ""  # a band reaching zero has no log picture: the seeds' dots remain
        points = [*upper, *reversed(lower)]
        d = "M" + "L".join(f"{_f(x(a))},{_f(y(b))}" for a, b in points) + "Z"
        return f'<path class="band"{role} d="{d}" fill="{color}"{opacity}/>'
    return f"<g{role}{opacity}>{_points(mark, color, x, y)}</g>"


def _points(mark: Mark, color: str, x: Axis, y: Axis) -> str:
    """A marker at each point the axes show, with its tooltip."""
    out = []
    r = mark.width
    for i, (a, b) in enumerate(zip(mark.x, mark.y, strict=True)):
        if not (x.shows(a) and y.shows(b)):
            continue
        tip = _title(mark.tips[i]) if mark.tips else ""
        if mark.kind == "dots":
            out.append(f'<circle cx="{_f(x(a))}" cy="{_f(y(b))}" r="{r:g}" fill="{color}">')
            out.append(f"{tip}</circle>")
            continue
        shape, css, paint = _SHAPES[mark.kind]
        d = shape(x(a), y(b), r)
        out.append(f'<path class="{css}" d="{d}" {paint}="{color}">{tip}</path>')
    return "".join(out)


def _triangle(px: float, py: float, r: float) -> str:
    """A triangle pointing up, around the point."""
    low = _f(py + r * 0.7)
    return f"M{_f(px)},{_f(py - r)}L{_f(px + r)},{low}L{_f(px - r)},{low}Z"


def _star(px: float, py: float, r: float) -> str:
    """A five-pointed star around the point."""
    corners = [
        (px + s * math.sin(math.pi * k / 5), py - s * math.cos(math.pi * k / 5))
        for k, s in zip(range(10), [r, r * 0.45] * 5, strict=True)
    ]
    return "M" + "L".join(f"{_f(a)},{_f(b)}" for a, b in corners) + "Z"


def _cross(px: float, py: float, r: float) -> str:
    a, b, c, d = _f(px - r), _f(px + r), _f(py - r), _f(py + r)
    return f"M{a},{c}L{b},{d}M{a},{d}L{b},{c}"


# a marker's shape, its class (page.css) and what its colour paints: open triangles for ▲
# (worse than a shallower net), filled ones for ^ (above the axes)
_SHAPES = {
    "triangles": (_triangle, "worse", "stroke"),
    "carets": (_triangle, "caret", "fill"),
    "stars": (_star, "star", "fill"),
    "crosses": (_cross, "cross", "stroke"),
}


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


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' data-{k}="{escape(v)}"' for k, v in attrs.items())


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
