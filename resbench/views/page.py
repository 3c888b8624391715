"""One self-contained HTML page of a sweep's results: to open anywhere, attach to CI, share.

Built from a results folder, it holds what `report`, `plot` and `check` show: the claims'
and baseline's verdicts with their intervals, the final metric against depth per variant, the
report's tables (mean ± std, n, ▲), the training curves, the gradient norm per layer and why
depth fails (`resbench.views.page_why`) where the runs recorded them, the runs that did not end
ok with their error, and where and by which code the results were made, with the sweep as it
ran.

Figures are inline SVG (`resbench.views.figures`, drawn by `resbench.views.svg`; the sections
are `resbench.views.page_sections`), the style and the script are package files
(`resbench/views/assets/`) copied in: nothing is fetched when the page is opened, and with scripts
off every figure and table still reads. The script adds what helps to look: a tooltip at once,
archs shown or hidden in every figure, linear or log y axes, one metric at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.atomic import write_text
from resbench.core.names import escape_html as escape
from resbench.views.page_sections import (
    claims_section,
    curves_section,
    depth_section,
    layers_section,
    learning_rate_section,
    problems_section,
    provenance_section,
    tables_section,
)
from resbench.views.page_why import why_section

if TYPE_CHECKING:
    from resbench.analysis.verdicts import Judgement
    from resbench.store.folder import ResultsFolder


def write_page(
    results: ResultsFolder,
    path: str | Path,
    metrics: Iterable[str] | None = None,
    outcomes: list[Judgement] | None = None,
    notes: Iterable[str] = (),
) -> Path:
    """Write the page of `results` to `path` (atomically); `outcomes`: a check's verdicts,
    `notes`: lines to show above everything (what the tables lack, another machine, ...)."""
    path = Path(path)
    write_text(path, build_page(results, metrics, outcomes, notes))
    return path


def build_page(
    results: ResultsFolder,
    metrics: Iterable[str] | None = None,
    outcomes: list[Judgement] | None = None,
    notes: Iterable[str] = (),
) -> str:
    """The page of `results` as one HTML document."""
    from resbench.analysis.best_of import axes_report
    from resbench.analysis.summary import arch_order

    data = axes_report(results.runs, metrics)
    runs = results.runs
    title = f"resbench report: {data['header'].get('sweep', results.path.name)}"
    sections = [
        depth_section(runs, list(data["metrics"])),
        tables_section(data),
        claims_section(outcomes),
        curves_section(results, runs),
        layers_section(results, runs),
        why_section(results, runs),
        learning_rate_section(results, runs),
        problems_section(runs),
        provenance_section(results, runs),
    ]
    body = [
        header(data, [*notes, *data["notes"]], str(results.runs_csv), outcomes),
        arch_controls(arch_order(runs["arch"])),
        *(s for s in sections if s),
    ]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_asset('page.css')}</style></head>\n"
        f"<body>\n{''.join(body)}\n"
        f"<script>{_asset('page.js')}</script>\n</body></html>\n"
    )


def _asset(name: str) -> str:
    return files("resbench.views").joinpath("assets", name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- sections


def header(
    data: dict[str, Any], notes: list[str], source: str, outcomes: list[Judgement] | None
) -> str:
    """What the sweep is, how its runs ended, the verdict in one line, what the tables lack."""
    from resbench.analysis.verdicts import all_passed
    from resbench.views.text import check_summary, header_line, status_line

    sweep = escape(data["header"].get("sweep", ""))
    out = [
        f"<header><h1>resbench report: {sweep}</h1>",
        f'<p class="what">{escape(header_line(data["header"]))}</p>',
        f'<p class="status">{escape(status_line(data["status"]))}</p>',
    ]
    if outcomes:
        summary = check_summary(outcomes)
        css = "pass" if all_passed(outcomes) else "fail"
        out.append(f'<p class="verdict-line {css}"><a href="#claims">{escape(summary)}</a></p>')
    out.append(f'<p class="source"><code>{escape(source)}</code></p>')
    out += [f'<p class="note">{escape(n)}</p>' for n in notes]
    return "\n".join([*out, "</header>"])


def arch_controls(archs: list[str]) -> str:
    """A checkbox per arch, shown and obeyed only when the script runs (hidden until then)."""
    from resbench.views.style import arch_colors

    colors = arch_colors(archs)
    boxes = "".join(
        f'<label><input type="checkbox" checked data-arch="{escape(a)}">'
        f'<span class="swatch" style="background:{colors[a]}"></span>{escape(a)}</label>'
        for a in archs
    )
    return (
        '<nav class="controls" hidden><span>archs shown:</span>'
        f'{boxes}<span class="hint">hover a point for its value and seeds</span></nav>'
    )
