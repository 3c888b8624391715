"""A figure as data: what the PNG (`resbench.views.png`) and the page (`resbench.views.svg`,
`resbench.views.html`) both draw.

A figure holds a group per variant of the sweep, a group its panels (a pair of axes each, an
arch's or the variant's), a panel its series (what a legend entry names: an arch, a depth), and
a series its marks, in data coordinates. The builders (`depth`, `curves`, `layers`,
`landscape`, `why`, `slices`) decide everything shown: which runs a line leaves out and the
note that says so, each axis' scale, ticks and labels, the colours, the hover texts. A renderer
only draws, and names each mark by its panel's key, its series' label and its role, so that
what the two drew can be compared (tests/test_figures.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Scale = Literal["linear", "log", "log2"]
MarkKind = Literal["line", "band", "dots", "triangles", "stars", "crosses", "carets"]
Swatch = Literal["line", "thin", "dashed", "worse", "star"]
Kind = Literal["depth", "curves", "layers", "landscape", "surface"]


@dataclass
class Axis:
    """One axis: its label and scale, its ticks (data units; None: round numbers, the
    renderer's) and what they say (None: the values)."""

    label: str
    scale: Scale = "linear"
    ticks: list[float] | None = None
    tick_labels: list[str] | None = None
    low: float | None = None  # the axis starts here unless a value lies below (0: an error)
    high: float | None = None  # it ends here unless a value lies above (a landscape's cap)


def axis_title(label: str, scale: Scale) -> str:
    """'depth (layers, log scale)', 'gradient norm (log scale)', 'train.lr (log2 scale)'."""
    if scale == "linear":
        return label
    note = "log2 scale" if scale == "log2" else "log scale"
    return f"{label[:-1]}, {note})" if label.endswith(")") else f"{label} ({note})"


@dataclass
class Mark:
    """One drawn thing: a line (with a dot at each point where `dots`), a band from `y` to `y2`,
    or a marker at each point (dots, open triangles, stars, crosses, carets)."""

    kind: MarkKind
    role: str  # what it shows ('mean', 'seeds', 'test', 'best', ...): unique in its series
    x: list[float]
    y: list[float]
    y2: list[float] = field(default_factory=list)
    color: str = ""  # '': the series'
    width: float = 1.5  # a line's stroke, a marker's radius
    dots: float = 0.0  # the radius of a line's dots (0: none)
    dashed: bool = False
    opacity: float = 1.0
    name: str = ""  # what a whole line is, on hover
    tips: list[str] = field(default_factory=list)  # what each point is, on hover


@dataclass
class Series:
    """Marks that go together, shown and hidden as one: an arch's, or a depth's."""

    label: str  # names it in both renderers; unique within its panel
    color: str  # CSS hex
    marks: list[Mark]
    keys: dict[str, str] = field(default_factory=dict)  # what it is: {"arch": ...}, {"depth": ...}


@dataclass
class Panel:
    """One pair of axes."""

    key: str  # unique within its figure
    title: str
    series: list[Series]
    x: Axis
    y: Axis
    notes: list[str] = field(default_factory=list)  # lines under the title: runs left out, drift
    keys: dict[str, str] = field(default_factory=dict)


@dataclass
class LegendEntry:
    label: str
    color: str
    swatch: Swatch = "line"
    keys: dict[str, str] = field(default_factory=dict)


@dataclass
class Group:
    """A variant of the sweep: its title ('' when the sweep has none), panels and legend."""

    title: str
    panels: list[Panel]
    legend: list[LegendEntry]


@dataclass
class Figure:
    """A figure of a sweep: `kind` picks its layout in a renderer; `shared_y`, whether every
    panel shares the y axis or only those of a group."""

    kind: Kind
    key: str
    title: str  # what the sweep is (its header line)
    groups: list[Group]
    note: str = ""  # a line under the title
    legend_title: str = ""
    shared_y: Literal["figure", "group"] = "group"
    keys: dict[str, str] = field(default_factory=dict)  # what it shows: {"metric": ...}

    def panels(self) -> Iterator[tuple[Group, Panel]]:
        for group in self.groups:
            for panel in group.panels:
                yield group, panel

    @property
    def empty(self) -> bool:
        return not any(m.x for _, p in self.panels() for s in p.series for m in s.marks)
