"""What a figure drew, read back from each renderer: the marks of a matplotlib `Figure` before it
is saved, and those of the page's SVG, parsed from its HTML and read in pixels, as a person reads
a chart against its ticks.

Both come out as {(panel, series, role): Drawn}: the panel's key, the series' label and the
mark's role, which `resbench.views.png` sets on each axes and artist (`get_gid`, `get_label`)
and `resbench.views.svg` writes on each panel, series and mark (`data-panel`, `data-series`,
`data-mark`). `differences` compares the two in the page's pixels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

TOLERANCE = 0.5  # pixels of the page's axes (~400 x 250): coordinates are written to 0.1 pixel
SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
Key = tuple[str, str, str]  # panel, series, role


@dataclass
class Drawn:
    """One mark: its kind ('line', 'band', 'points') and its points, in data units (PNG) or
    in pixels (the page)."""

    kind: str
    points: list[tuple[float, float]]


@dataclass
class Plot:
    """One panel of the page as drawn on its linear axes: ticks, axis labels, marks, texts."""

    ticks: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: {"x": [], "y": []})
    labels: list[str] = field(default_factory=list)
    marks: dict[Key, Drawn] = field(default_factory=dict)
    title: str = ""
    notes: list[str] = field(default_factory=list)
    caption: str = ""
    legend: list[str] = field(default_factory=list)

    def to_pixels(self, axis: str, values: list[float]) -> list[float]:
        """Data to pixels along `axis`, from the two ticks furthest apart."""
        ticks = self.ticks[axis]
        (p1, t1), (p2, t2) = ticks[0], ticks[-1]
        log = "log" in self.labels[0 if axis == "x" else 1]
        f = math.log10 if log else (lambda v: v)
        try:
            a, b = f(tick_value(t1)), f(tick_value(t2))
        except ValueError:  # names, not numbers: an axis of names puts the k-th at k
            a, b = 0.0, float(len(ticks) - 1)
        return [p1 + (f(v) - a) * (p2 - p1) / (b - a) for v in values]


def tick_value(text: str) -> float:
    """'0.2', '2^-6', '10⁻⁶' as numbers."""
    if "^" in text:
        base, exponent = text.split("^")
        return float(base) ** float(exponent)
    if "⁻" in text or any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹"):
        return 10.0 ** float(text[2:].translate(SUPERSCRIPT))
    return float(text)


# --------------------------------------------------------------------------- the PNG


def png_marks(fig: Any) -> dict[str, dict[Key, Drawn]]:
    """Per panel key: the marks matplotlib holds, in data units (non-finite points left out)."""
    from matplotlib.lines import Line2D

    out: dict[str, dict[Key, Drawn]] = {}
    for ax in fig.axes:
        if (panel := ax.get_gid()) is None:
            continue
        marks = out.setdefault(panel, {})
        for artist in [*ax.lines, *ax.collections]:
            key = (panel, artist.get_label(), artist.get_gid())
            if isinstance(artist, Line2D):
                kind = "line" if artist.get_linestyle() not in ("None", "none") else "points"
                points = [tuple(p) for p in artist.get_xydata()]
            else:  # a band: fill_between's polygon
                kind, points = "band", [tuple(p) for p in artist.get_paths()[0].vertices]
            finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
            marks[key] = Drawn(kind, finite)
    return out


def png_texts(fig: Any) -> dict[str, tuple[str, list[str]]]:
    """Per panel key: (its title, its legend's labels)."""
    return {
        ax.get_gid(): (ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()])
        for ax in fig.axes
        if ax.get_gid() is not None
    }


# --------------------------------------------------------------------------- the page


class PageReader(HTMLParser):
    """The panels of the figures whose id starts with `prefix`, on their linear axes."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.plots: dict[str, Plot] = {}
        self.text: list[str] | None = None  # the text being read, and where it goes
        self.caption, self.legend = "", []

    def context(self, name: str) -> str | None:
        return next((a[name] for _, a in reversed(self.stack) if name in a), None)

    def inside(self) -> bool:
        figure = self.context("id")
        return bool(figure and figure.startswith(self.prefix)) and self.context("data-y") != "log"

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = {k: v or "" for k, v in attrs}
        self.stack.append((tag, attrs))
        if tag == "figure":
            self.caption, self.legend = "", []
        self.element(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.element(tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass
        if self.text is not None and tag in ("text", "h4", "p", "figcaption", "li"):
            self.done("".join(self.text).strip(), tag)
        if tag == "figure":
            for plot in self.plots.values():
                plot.caption = plot.caption or self.caption
                plot.legend = plot.legend or self.legend

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def element(self, tag: str, attrs: dict[str, str]) -> None:
        if not self.inside():
            return
        panel = self.context("data-panel")
        css = attrs.get("class", "")
        if (
            tag in ("figcaption", "li")
            or (tag == "h4" and panel)
            or css in ("note", "tick", "label")
        ):
            self.text = []
            self.reading = (tag, css, panel)
            return
        if panel is None:
            return
        plot = self.plots.setdefault(panel, Plot())
        if tag == "line" and css == "grid":
            vertical = attrs["x1"] == attrs["x2"]
            self.pending = ("x", float(attrs["x1"])) if vertical else ("y", float(attrs["y1"]))
            return
        series, role = (
            self.context("data-series"),
            attrs.get("data-mark") or self.context("data-mark"),
        )
        if series is None or role is None:
            return  # a line's hover dots: the line itself is read from its path
        key = (panel, series, role)
        if tag == "path" and "data-mark" in attrs:  # a line or a band
            points = _path_points(attrs["d"])
            plot.marks[key] = Drawn("band" if css == "band" else "line", points)
        elif tag in ("circle", "path"):  # a marker of a group of them
            drawn = plot.marks.setdefault(key, Drawn("points", []))
            drawn.points.append(_centre(tag, css, attrs))

    def done(self, text: str, tag: str) -> None:
        what, css, panel = self.reading
        self.text = None
        if what == "figcaption":
            self.caption = text
        elif what == "li":
            self.legend.append(text)
        elif panel is not None:
            plot = self.plots.setdefault(panel, Plot())
            if css == "tick":
                axis, pixel = self.pending
                plot.ticks[axis].append((pixel, text))
            elif css == "label":
                plot.labels.append(text)
            elif what == "h4":
                plot.title = text
            elif css == "note":
                plot.notes.append(text)


def page_plots(html: str, prefix: str) -> dict[str, Plot]:
    """Per panel key: what the page drew of the figures whose id starts with `prefix`."""
    reader = PageReader(prefix)
    reader.feed(html)
    return reader.plots


def _path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]


def _centre(tag: str, css: str, attrs: dict[str, str]) -> tuple[float, float]:
    """Where a marker stands: a circle's centre; a triangle's apex is its radius above it."""
    if tag == "circle":
        return float(attrs["cx"]), float(attrs["cy"])
    points = _path_points(attrs["d"])
    if css in ("worse", "caret"):
        (x, y), r = points[0], (points[1][0] - points[2][0]) / 2
        return x, y + r
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )  # a star's or a cross's points lie evenly around it


# --------------------------------------------------------------------------- comparing


def differences(png: dict[str, dict[Key, Drawn]], page: dict[str, Plot]) -> list[str]:
    """What one renderer drew and the other did not, or drew elsewhere (in the page's pixels)."""
    out = []
    if set(png) != set(page):
        out.append(f"panels: PNG {sorted(png)}, page {sorted(page)}")
    for panel in sorted(set(png) & set(page)):
        plot, marks = page[panel], png[panel]
        for key in sorted(set(marks) | set(plot.marks)):
            if key not in plot.marks or key not in marks:
                out.append(f"{key}: drawn only {'in the PNG' if key in marks else 'on the page'}")
                continue
            ours, theirs = marks[key], plot.marks[key]
            xs = plot.to_pixels("x", [p[0] for p in ours.points])
            ys = plot.to_pixels("y", [p[1] for p in ours.points])
            mine = _shape(ours.kind, list(zip(xs, ys, strict=True)))
            drawn = _shape(theirs.kind, theirs.points)
            if ours.kind != theirs.kind or not _close(mine, drawn):
                out.append(f"{key}: PNG {ours.kind} {mine}, page {theirs.kind} {drawn}")
    return out


def _shape(kind: str, points: list[tuple[float, float]]) -> list[tuple[float, ...]]:
    """A line's points in order; markers' sorted; a band as (x, low, high) along x."""
    if kind == "line":
        return points
    if kind == "points":
        return sorted(points)
    columns: list[list[tuple[float, float]]] = []
    for x, y in sorted(points):
        if columns and abs(x - columns[-1][0][0]) < TOLERANCE:
            columns[-1].append((x, y))
        else:
            columns.append([(x, y)])
    return [(c[0][0], min(y for _, y in c), max(y for _, y in c)) for c in columns]


def _close(a: list[tuple[float, ...]], b: list[tuple[float, ...]]) -> bool:
    return len(a) == len(b) and all(
        abs(u - v) <= TOLERANCE
        for p, q in zip(a, b, strict=True)
        for u, v in zip(p, q, strict=True)
    )
