"""The page's pieces of HTML: a figure of `resbench.views.figures` (a `<figure>` per group,
its panels in SVG side by side, its legend), tables, switches and sections."""

from __future__ import annotations

import math
from typing import Any

from resbench.core.names import escape_html as escape
from resbench.views.figures.model import Figure, LegendEntry
from resbench.views.svg import panel_svg, y_values

SIZES = {"depth": (440, 300)}  # pixels of a panel's viewBox; the page scales them to its width
SMALL_SIZE = (330, 230)  # a panel of the other figures


def figure_html(figure: Figure) -> str:
    """A `<figure>` per group of `figure` (id: the figure's key and the group's index), each
    with its caption (the variant), its panels side by side (titles above) and its legend."""
    width, height = SIZES.get(figure.kind, SMALL_SIZE)
    everywhere = [v for _, p in figure.panels() for v in y_values(p)]
    out = []
    for i, group in enumerate(figure.groups):
        shared = everywhere if figure.shared_y == "figure" else []
        shared = shared or [v for p in group.panels for v in y_values(p)]
        panels = []
        for p in group.panels:
            title = f"<h4>{escape(p.title)}</h4>" if p.title else ""
            notes = "".join(f'<p class="note">{escape(n)}</p>' for n in p.notes)
            attrs = attributes({"data-panel": p.key, **{f"data-{k}": v for k, v in p.keys.items()}})
            svg = panel_svg(p, width, height, shared)
            panels.append(f'<div class="panel"{attrs}>{title}{notes}{svg}</div>')
        caption = f"<figcaption>{escape(group.title)}</figcaption>" if group.title else ""
        note = f'<p class="legend-line">{escape(figure.note)}</p>' if figure.note else ""
        attrs = attributes({f"data-{k}": v for k, v in figure.keys.items()})
        out.append(
            f'<figure class="chart" id="{escape(figure.key)}-{i}"{attrs}>{caption}'
            f'<div class="panels">{"".join(panels)}</div>{legend_html(group.legend)}{note}'
            "</figure>"
        )
    return "".join(out)


def legend_html(entries: list[LegendEntry]) -> str:
    items = "".join(
        f"<li{attributes({f'data-{k}': v for k, v in e.keys.items()})}>"
        f'<span class="key {e.swatch}" style="--c:{e.color}"></span>{escape(e.label)}</li>'
        for e in entries
    )
    return f'<ul class="legend">{items}</ul>'


def row(figures: list[Figure]) -> str:
    """Figures side by side, as many as the page's width holds."""
    return f'<div class="row">{"".join(figure_html(f) for f in figures)}</div>'


def table(
    caption: str,
    head: list[str],
    rows: list[list[str]],
    attrs: dict[str, str] | None = None,
    numeric: bool = True,
) -> str:
    """A table with its caption above it; in a `numeric` one, ' · ' starts a cell's notes."""
    from resbench.views.labels import WORSE_MARK

    def cell(text: str, i: int) -> str:
        tag = "th" if i == 0 else "td"
        parts = [escape(p) for p in text.split(" · ")] if numeric else [escape(text)]
        first = parts[0].replace(WORSE_MARK, f'<span class="worse">{WORSE_MARK}</span>')
        notes = "".join(f'<div class="note">{p}</div>' for p in parts[1:])
        return f"<{tag}>{first}{notes}</{tag}>"

    thead = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(cell(c, i) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    css = "numbers" if numeric else ""
    attrs = dict(attrs or {})
    attrs["class"] = " ".join(c for c in (attrs.get("class", ""), css) if c)
    html = f"<table{attributes(attrs)}><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table>"
    # A caption above, as wide as it needs: a <caption> would wrap to the table's width.
    return (
        f'<div class="table"><p class="caption">{escape(caption)}</p>{html}</div>'
        if caption
        else html
    )


def switch(section: str, name: str, options: list[tuple[str, str]], label: str = "") -> str:
    """Radio buttons that set `data-<name>` on their section (the script obeys them; they are
    hidden until it runs)."""
    buttons = "".join(
        f'<label><input type="radio" name="{section}-{name}" value="{escape(v)}"'
        f'{" checked" if i == 0 else ""} data-switch="{name}">{escape(text)}</label>'
        for i, (v, text) in enumerate(options)
    )
    return f'<div class="switch" hidden><span>{escape(label or name)}:</span>{buttons}</div>'


def section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>\n'


def attributes(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())


def number(value: Any) -> bool:
    """Whether `value` is a finite number."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
