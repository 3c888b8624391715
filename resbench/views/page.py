"""One self-contained HTML page of a sweep's results: to open anywhere, attach to CI, share.

Built from a results folder, it holds what `report`, `plot` and `check` show: the claims'
and baseline's verdicts with their intervals, the final metric against depth per variant, the
report's tables (mean ± std, n, ▲), the training curves, the gradient norm per layer where the
runs recorded it, the runs that did not end ok with their error, and where and by which code
the results were made, with the sweep as it ran.

Figures are inline SVG (`resbench.views.charts`), the style and the script are package files
(`resbench/views/assets/`) copied in: nothing is fetched when the page is opened, and with scripts
off every figure and table still reads. The script adds what helps to look: a tooltip at once,
archs shown or hidden in every figure, linear or log y axes, one metric at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.atomic import write_text
from resbench.views.charts import (
    Figure,
    Legend,
    curve_figures,
    depth_figures,
    landscape_figures,
    layer_figures,
)
from resbench.views.svg import panel_svg

if TYPE_CHECKING:
    import pandas as pd

    from resbench.analysis.verdicts import Outcome
    from resbench.store.folder import ResultsFolder

VERDICT_CLASSES = {"PASS": "pass", "FAIL": "fail", "INCONCLUSIVE": "inconclusive"}
LINEAR_LOG = [("linear", "linear"), ("log", "log")]
PROVENANCE_COLUMNS = (  # runs.csv columns saying where and with what each run was made
    ("resbench", "resbench"),
    ("code", "code (hash of the built-in model and training code)"),
    ("torch", "torch"),
    ("cpu_model", "CPU"),
    ("gpu", "GPU"),
    ("device", "device"),
)


def write_page(
    results: ResultsFolder,
    path: str | Path,
    metrics: Iterable[str] | None = None,
    outcomes: list[Outcome] | None = None,
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
    outcomes: list[Outcome] | None = None,
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
    data: dict[str, Any], notes: list[str], source: str, outcomes: list[Outcome] | None
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
    from resbench.views.charts import arch_hex

    colors = arch_hex(archs)
    boxes = "".join(
        f'<label><input type="checkbox" checked data-arch="{escape(a)}">'
        f'<span class="swatch" style="background:{colors[a]}"></span>{escape(a)}</label>'
        for a in archs
    )
    return (
        '<nav class="controls" hidden><span>archs shown:</span>'
        f'{boxes}<span class="hint">hover a point for its value and seeds</span></nav>'
    )


def claims_section(outcomes: list[Outcome] | None) -> str | None:
    """The verdicts of the sweep's claims (and of any baseline), with their numbers."""
    from resbench.analysis.verdicts import all_passed
    from resbench.views.text import check_summary, outcome_detail

    if not outcomes:
        return None
    rows = []
    for o in outcomes:
        verdict = f'<td class="verdict {VERDICT_CLASSES[o.verdict]}">{o.verdict}</td>'
        detail = escape(outcome_detail(o))
        note = f'<div class="note">{escape(o.note)}</div>' if o.note else ""
        rows.append(
            f'<tr data-kind="{escape(o.kind)}">{verdict}<td>{escape(o.text)}{note}</td>'
            f'<td class="numbers">{detail}</td></tr>'
        )
    summary = check_summary(outcomes)
    css = "pass" if all_passed(outcomes) else "fail"
    baseline = any(o.kind == "baseline" for o in outcomes)
    return _section(
        "claims",
        "Claims and baseline" if baseline else "Claims",
        f'<p class="verdict-line {css}">{escape(summary)}</p>'
        '<table class="claims"><thead><tr><th>result</th><th>statement</th><th>numbers '
        "(mean over seeds; interval of the difference)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>",
    )


def depth_section(runs: pd.DataFrame, metrics: list[str]) -> str:
    """The metric against depth, a figure per variant, for each metric of the report."""
    figures = [f for m in metrics for f in depth_figures(runs, m)]
    switch = (
        _switch("depth", "metric", [(m, m.replace("_", " ")) for m in metrics])
        if len(metrics) > 1
        else ""
    )
    intro = (
        "<p>Per arch: the mean over the seeds that ended ok (line), their min–max (band), "
        "each seed (dot); ▲ where a net is worse than a shallower one of its arch beyond the "
        "noise over seeds.</p>"
    )
    return _section(
        "depth",
        "By depth",
        intro
        + f'<div class="switches">{switch}{_switch("depth", "y", LINEAR_LOG, "y axis")}</div>'
        + _row(figures),
    )


def tables_section(data: dict[str, Any]) -> str:
    """The report's tables, as `resbench report` shows them."""
    from resbench.views.text import LEGEND, summary_rows, variant_title

    out = []
    for metric, summary in data["metrics"].items():
        for values, head, rows in summary_rows(summary):
            caption = f"{metric} by depth · mean ± std (n) {variant_title(values)}".rstrip()
            out.append(_table(caption, head, rows, {"data-metric": metric}))
    legend = f'<p class="legend-line">{escape(LEGEND)}</p>'
    return _section("tables", "Tables", f'<div class="row">{"".join(out)}</div>{legend}')


def curves_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """The training curves (error against step), when curves.csv exists."""
    from resbench.core.errors import ResbenchError

    try:
        curves = results.curves
    except ResbenchError:
        return None
    figures = curve_figures(curves, runs)
    if not any(f.panels and any(p.panel.series for p in f.panels) for f in figures):
        return None
    return _section(
        "curves",
        "Training curves",
        "<p>Error against step, each line the mean over the seeds that ended ok; train: "
        "running over the minibatches since the previous point, test: the whole test set.</p>"
        + _switch("curves", "y", LINEAR_LOG, "y axis")
        + "".join(figure_html(f) for f in figures),
    )


def layers_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """Gradient norm per layer, when the runs recorded `train.diagnostics`."""
    if not results.runs_csv.with_name("layers.csv").is_file():
        return None
    figures = layer_figures(results.layers, runs)
    if not figures:
        return None
    return _section(
        "layers",
        "Gradient norm per layer",
        "<p>Each weight layer's gradient norm (0 = the input's), geometric mean over seeds, "
        "at initialisation and at the end: falling towards the input, it vanishes; rising, it "
        "explodes.</p>" + "".join(figure_html(f) for f in figures),
    )


def learning_rate_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """The learning-rate landscape, when the sweep sweeps train.lr: the final train loss
    against the rate, a line per depth, a panel per arch and variant, each depth's best rate
    marked; then the best rate at each depth and its drift with depth, with an interval from
    resampling seeds (`resbench report --best-over train.lr` shows the same)."""
    from resbench.analysis import best_of as axes
    from resbench.analysis.best_of import axis_value
    from resbench.analysis.variants import by_variant, of_variant, variant_columns
    from resbench.views.text import variant_title

    key, by = "train.lr", axes.DEFAULT_BY
    if key not in variant_columns(runs) or not axes.numeric_values(runs, key):
        return None
    within = [*axes.others(runs, key), "arch", "depth"]
    if runs.groupby(within, dropna=False)[key].nunique().max() < 2:
        return None  # a rate that only follows another field (remedies: batch norm's) is no axis
    best, drift = axes.drift(runs, key, by)
    figures = landscape_figures(runs, key, by, best)
    variants = axes.others(runs, key)
    depths = sorted(set(best["depth"]))
    head = ["arch", *map(str, depths), "drift [95% interval]", "seeds"]
    tables = []
    for values, group in by_variant(best, variants):
        rows = []
        for arch, at in group.groupby("arch", sort=False):
            chosen = dict(zip(at["depth"], at[key], strict=True))
            r = of_variant(drift[drift["arch"] == arch], values).iloc[0]
            spread = f" [{r['low']:+.2f}, {r['high']:+.2f}]" if _number(r["low"]) else ""
            rows.append(
                [
                    str(arch),
                    *(axis_value(chosen[x]) if _number(chosen.get(x)) else "—" for x in depths),
                    f"{r['drift']:+.2f}{spread}" if _number(r["drift"]) else "—",
                    str(r["n_seeds"]),
                ]
            )
        caption = f"best {key} by depth (lowest mean {by}) {variant_title(values)}".rstrip()
        tables.append(_table(caption, head, rows, {"data-kind": "best-lr"}))
    return _section(
        "landscape",
        "Learning rate and depth",
        f"<p>The mean final {escape(by.replace('_', ' '))} over the seeds that ended ok against "
        "the learning rate (log2), a line per depth (the depth-μP papers' figure); the large dot "
        "is each depth's best rate. Below, the "
        + escape(axes.drift_caption(drift, key, by))
        + " (none with fewer than 4 seeds).</p>"
        + _switch("landscape", "y", LINEAR_LOG, "y axis")
        + _row(figures)
        + f'<div class="row">{"".join(tables)}</div>',
    )


def problems_section(runs: pd.DataFrame) -> str | None:
    """The runs that did not end ok, each with its error line: results too, never dropped."""
    from resbench.analysis.variants import variant_columns
    from resbench.views.text import variant_title

    bad = runs[runs["status"] != "ok"]
    if bad.empty:
        return None
    variants = variant_columns(runs)
    rows = []
    for _, r in bad.sort_values(["arch", "depth", "seed"]).iterrows():
        variant = variant_title({c: r[c] for c in variants})
        rows.append(
            [
                r["run_id"],
                r["arch"],
                str(r["depth"]),
                str(r["seed"]),
                variant,
                r["status"],
                _error_line(r),
            ]
        )
    head = ["run", "arch", "depth", "seed", "variant", "status", "error"]
    if not variants:
        head.remove("variant")
        rows = [row[:4] + row[5:] for row in rows]
    return _section(
        "problems",
        f"Runs that did not end ok ({len(bad)} of {len(runs)})",
        _table("", head, rows, {"class": "problems"}, numeric=False),
    )


def _error_line(run: pd.Series) -> str:
    error = run.get("error")
    if isinstance(error, str) and error.strip():
        return error.strip().splitlines()[-1]
    if run["status"] == "diverged":  # found at a curve point, or by the final evaluation
        steps = run.get("steps")
        by = f" by step {int(steps)}" if _number(steps) else ""
        return f"the training loss was not finite{by}"
    return ""


def provenance_section(results: ResultsFolder, runs: pd.DataFrame) -> str:
    """Where, when and by which code the results were made, and the sweep as it ran."""
    from resbench.analysis.summary import code_notes
    from resbench.core.version import VERSION as __version__

    items = []
    for column, label in PROVENANCE_COLUMNS:
        if column not in runs or runs[column].isna().all():
            if column != "gpu":  # no GPU on any run: said by `device`
                items.append(f"<dt>{escape(label)}</dt><dd>not recorded</dd>")
            continue
        counts = runs[column].fillna("not recorded").astype(str).value_counts()
        shown = "; ".join(
            f"{escape(v)}" + (f" ({n} runs)" if len(counts) > 1 else "") for v, n in counts.items()
        )
        items.append(f"<dt>{escape(label)}</dt><dd>{shown}</dd>")
    started, commits = _records_facts(results, set(runs["run_id"]))
    if started:
        items.append(f"<dt>runs started</dt><dd>{escape(started[0])} to {escape(started[-1])}</dd>")
    if commits:
        items.append(f"<dt>git commit</dt><dd>{escape(', '.join(commits))}</dd>")
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    items.append(f"<dt>page built</dt><dd>{built} by resbench {escape(__version__)}</dd>")
    mixed = "".join(f'<p class="note">{escape(n)}</p>' for n in code_notes(runs))
    sweep = results.sweep_text
    yaml = (
        f"<details open><summary>the sweep as it ran (sweep.yaml)</summary>"
        f'<pre class="sweep">{escape(sweep)}</pre></details>'
        if sweep
        else "<p>no sweep.yaml was kept beside these results.</p>"
    )
    return _section("provenance", "Provenance", f"{mixed}<dl>{''.join(items)}</dl>{yaml}")


def _records_facts(results: ResultsFolder, run_ids: set[str]) -> tuple[list[str], list[str]]:
    """The runs' start times (sorted) and git commits, from their records where there are any."""
    if not results.runs_dir.is_dir():
        return [], []
    records = [r for r in results.records() if r.run_id in run_ids]
    started = sorted(r.started_at for r in records if r.started_at)
    commits = sorted({r.env["git"][:12] for r in records if r.env.get("git")})
    return started, commits


# --------------------------------------------------------------------------- pieces


def _row(figures: list[Figure]) -> str:
    """Figures side by side, as many as the page's width holds."""
    return f'<div class="row">{"".join(figure_html(f) for f in figures)}</div>'


def figure_html(figure: Figure) -> str:
    """A figure: its caption, its panels side by side (titles above), its legend."""
    width, height = figure.size
    panels = []
    for p in figure.panels:
        title = f"<h4>{escape(p.title)}</h4>" if p.title else ""
        panels.append(
            f'<div class="panel"{_attrs(p.attrs)}>{title}{panel_svg(p.panel, width, height)}</div>'
        )
    caption = f"<figcaption>{escape(figure.caption)}</figcaption>" if figure.caption else ""
    return (
        f'<figure class="chart" id="{escape(figure.key)}"{_attrs(figure.attrs)}>{caption}'
        f'<div class="panels">{"".join(panels)}</div>{legend_html(figure.legend)}</figure>'
    )


def legend_html(entries: list[Legend]) -> str:
    items = "".join(
        f'<li{_attrs(e.attrs)}><span class="key {e.style}" style="--c:{e.color}"></span>'
        f"{escape(e.label)}</li>"
        for e in entries
    )
    return f'<ul class="legend">{items}</ul>'


def _table(
    caption: str,
    head: list[str],
    rows: list[list[str]],
    attrs: dict[str, str] | None = None,
    numeric: bool = True,
) -> str:
    from resbench.views.text import WORSE_MARK

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
    table = f"<table{_attrs(attrs)}><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table>"
    # A caption above, as wide as it needs: a <caption> would wrap to the table's width.
    return (
        f'<div class="table"><p class="caption">{escape(caption)}</p>{table}</div>'
        if caption
        else table
    )


def _switch(section: str, name: str, options: list[tuple[str, str]], label: str = "") -> str:
    """Radio buttons that set `data-<name>` on their section (the script obeys them; they are
    hidden until it runs)."""
    buttons = "".join(
        f'<label><input type="radio" name="{section}-{name}" value="{escape(v)}"'
        f'{" checked" if i == 0 else ""} data-switch="{name}">{escape(text)}</label>'
        for i, (v, text) in enumerate(options)
    )
    return f'<div class="switch" hidden><span>{escape(label or name)}:</span>{buttons}</div>'


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>\n'


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())


def _number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
