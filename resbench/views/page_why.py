"""The page's section on why depth fails, where the runs recorded its diagnostics
(`train.diagnostics`: signal, jacobian, grad_correlation, lesions, loss_slice, loss_surface):
per arch and depth, the figures of `resbench.views.figures.diagnostics` each with a sentence
saying what it measures and whose measurement it is, and the tables of `report --layers`
(`resbench.views.why_tables`)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from resbench.views.html import figure_html, table

if TYPE_CHECKING:
    import pandas as pd

    from resbench.store.folder import ResultsFolder
    from resbench.views.figures.model import Figure
    from resbench.views.why_tables import WhyTable

# (heading, the figures, the tables' kinds) of each part of the section, in order
PARTS = (
    ("The signal, at initialisation and at the end", ("cosine", "rms", "tokens"), ("signal",)),
    ("The Jacobian and the gradients, at initialisation", ("jacobian", "correlation"),
     ("spectrum",)),
    ("Lesions, after training", ("lesions",), ("trained", "lesions")),
    ("The loss around the trained weights", ("slice", "surface"), ("slices",)),
)  # fmt: skip
INTRO = (
    "Why a net trains or not at depth, measured per arch and depth: at initialisation, how the "
    "signal and its gradients propagate through the layers; after training, what each block "
    "contributes and how the loss looks around the weights found. A line is the mean over "
    "seeds (geometric on a log axis); the tables hold the last block's values and n."
)


def why_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """The section, or None where the runs recorded none of these diagnostics."""
    if not results.runs_csv.with_name("layers.csv").is_file():
        return None
    from resbench.analysis.why_report import why_report
    from resbench.views.figures.diagnostics import why_figures
    from resbench.views.why_tables import why_tables

    layers = results.layers
    figures = why_figures(layers, runs)
    tables = why_tables(why_report(layers, runs))
    if not figures and not tables:
        return None
    parts = [f"<p>{escape(INTRO)}</p>"]
    for heading, names, kinds in PARTS:
        shown = [(n, figures[n]) for n in names if n in figures]
        mine = [t for t in tables if t.kind in kinds]
        if shown or mine:
            parts.append(_part(heading, shown, mine))
    return f'<section id="why"><h2>Why depth fails</h2>{"".join(parts)}</section>\n'


def _part(heading: str, figures: list[tuple[str, Figure]], tables: list[WhyTable]) -> str:
    """One part: each figure after its sentence, then its tables (the per-block lesion tables
    folded, being long), each kind's legend after its last table."""
    from resbench.views.figures.diagnostics import WHY_FIGURES
    from resbench.views.why_tables import LEGENDS

    out = [f"<h3>{escape(heading)}</h3>"]
    for name, figure in figures:
        out.append(f'<p class="why-what">{escape(WHY_FIGURES[name][1])}</p>')
        out.append(figure_html(figure))
    for kind in dict.fromkeys(t.kind for t in tables):
        html = "".join(_table(t) for t in tables if t.kind == kind)
        legend = f'<p class="legend-line">{escape(LEGENDS[kind])}</p>'
        block = f'<div class="row">{html}</div>{legend}'
        if kind == "lesions":
            summary = "the test error without each block, per depth"
            block = f"<details><summary>{escape(summary)}</summary>{block}</details>"
        out.append(block)
    return "".join(out)


def _table(t: WhyTable) -> str:
    from resbench.views.labels import variant_title

    caption = f"{t.title} {variant_title(t.variant)}".rstrip()
    return table(caption, t.header, t.rows, {"data-kind": f"why-{t.kind}"})
