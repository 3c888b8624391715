"""The page's sections, each from the results' frames: the figures by depth, the tables, the
claims, the training curves, the gradient norm per layer, the learning rate's landscape, the
runs that did not end ok, and the provenance. A section the results have nothing for is None."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from resbench.core.names import escape_html as escape
from resbench.views.html import figure_html, number, row, section, switch, table

if TYPE_CHECKING:
    import pandas as pd

    from resbench.analysis.verdicts import Judgement
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


def claims_section(outcomes: list[Judgement] | None) -> str | None:
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
    return section(
        "claims",
        "Claims and baseline" if baseline else "Claims",
        f'<p class="verdict-line {css}">{escape(summary)}</p>'
        '<table class="claims"><thead><tr><th>result</th><th>statement</th><th>numbers '
        "(mean over seeds; interval of the difference)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>",
    )


def depth_section(runs: pd.DataFrame, metrics: list[str]) -> str:
    """The metric against depth, a figure per variant, for each metric of the report."""
    from resbench.views.figures.depth import depth_figure

    figures = [depth_figure(runs, m) for m in metrics]
    metric_switch = (
        switch("depth", "metric", [(m, m.replace("_", " ")) for m in metrics])
        if len(metrics) > 1
        else ""
    )
    intro = (
        "<p>Per arch: the mean over the seeds that ended ok (line), their min–max (band), "
        "each seed (dot); ▲ where a net is worse than a shallower one of its arch beyond the "
        "noise over seeds.</p>"
    )
    return section(
        "depth",
        "By depth",
        intro
        + f'<div class="switches">{metric_switch}{switch("depth", "y", LINEAR_LOG, "y axis")}</div>'
        + row(figures),
    )


def tables_section(data: dict[str, Any]) -> str:
    """The report's tables, as `resbench report` shows them."""
    from resbench.views.cells import summary_rows
    from resbench.views.labels import variant_title
    from resbench.views.text import LEGEND

    out = []
    for metric, summary in data["metrics"].items():
        for values, head, rows in summary_rows(summary):
            caption = f"{metric} by depth · mean ± std (n) {variant_title(values)}".rstrip()
            out.append(table(caption, head, rows, {"data-metric": metric}))
    legend = f'<p class="legend-line">{escape(LEGEND)}</p>'
    return section("tables", "Tables", f'<div class="row">{"".join(out)}</div>{legend}')


def curves_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """The training curves (error against step), when curves.csv exists."""
    from resbench.core.errors import ResbenchError
    from resbench.views.figures.curves import curves_figure

    try:
        curves = results.curves
    except ResbenchError:
        return None
    figure = curves_figure(curves, runs)
    if figure.empty:
        return None
    return section(
        "curves",
        "Training curves",
        "<p>Error against step, each line the mean over the seeds that ended ok; train: "
        "running over the minibatches since the previous point, test: the whole test set.</p>"
        + switch("curves", "y", LINEAR_LOG, "y axis")
        + figure_html(figure),
    )


def layers_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """Gradient norm per layer, when the runs recorded `train.diagnostics`."""
    if not results.runs_csv.with_name("layers.csv").is_file():
        return None
    from resbench.views.figures.layers import layers_figure

    figure = layers_figure(results.layers, runs)
    if figure.empty:
        return None
    return section(
        "layers",
        "Gradient norm per layer",
        "<p>Each weight layer's gradient norm (0 = the input's), geometric mean over seeds, "
        "at initialisation and at the end: falling towards the input, it vanishes; rising, it "
        "explodes.</p>" + figure_html(figure),
    )


def learning_rate_section(results: ResultsFolder, runs: pd.DataFrame) -> str | None:
    """The learning-rate landscape, when the sweep sweeps train.lr: the final train loss
    against the rate, a line per depth, a panel per arch and variant, each depth's best rate
    marked; then the best rate at each depth and its drift with depth, with an interval from
    resampling seeds (`resbench report --best-over train.lr` shows the same)."""
    from resbench.analysis import best_of as axes
    from resbench.analysis.best_of import axis_value
    from resbench.analysis.variants import by_variant, of_variant, variant_columns
    from resbench.views.figures.landscape import landscape_figure
    from resbench.views.labels import variant_title

    key, by = "train.lr", axes.BEST_BY
    if key not in variant_columns(runs) or not axes.numeric_values(runs, key):
        return None
    within = [*axes.others(runs, key), "arch", "depth"]
    if runs.groupby(within, dropna=False)[key].nunique().max() < 2:
        return None  # a rate that only follows another field (remedies: batch norm's) is no axis
    best, drift = axes.drift(runs, key, by)
    figure = landscape_figure(runs, key, by, best_and_drift=(best, drift))
    variants = axes.others(runs, key)
    depths = sorted(set(best["depth"]))
    head = ["arch", *map(str, depths), "drift [95% interval]", "seeds"]
    tables = []
    for values, group in by_variant(best, variants):
        rows = []
        for arch, at in group.groupby("arch", sort=False):
            chosen = dict(zip(at["depth"], at[key], strict=True))
            r = of_variant(drift[drift["arch"] == arch], values).iloc[0]
            spread = f" [{r['low']:+.2f}, {r['high']:+.2f}]" if number(r["low"]) else ""
            rows.append(
                [
                    str(arch),
                    *(axis_value(chosen[x]) if number(chosen.get(x)) else "—" for x in depths),
                    f"{r['drift']:+.2f}{spread}" if number(r["drift"]) else "—",
                    str(r["n_seeds"]),
                ]
            )
        caption = f"best {key} by depth (lowest mean {by}) {variant_title(values)}".rstrip()
        tables.append(table(caption, head, rows, {"data-kind": "best-lr"}))
    return section(
        "landscape",
        "Learning rate and depth",
        f"<p>The mean final {escape(by.replace('_', ' '))} over the seeds that ended ok against "
        "the learning rate (log2 scale), a line per depth (the depth-μP papers' figure); the star "
        "is each depth's best rate. Below, the "
        + escape(axes.drift_caption(drift, key, by))
        + " (none with fewer than 4 seeds).</p>"
        + switch("landscape", "y", LINEAR_LOG, "y axis")
        + row([figure])
        + f'<div class="row">{"".join(tables)}</div>',
    )


def problems_section(runs: pd.DataFrame) -> str | None:
    """The runs that did not end ok, each with its error line: results too, never dropped."""
    from resbench.analysis.variants import variant_columns
    from resbench.views.labels import variant_title

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
    return section(
        "problems",
        f"Runs that did not end ok ({len(bad)} of {len(runs)})",
        table("", head, rows, {"class": "problems"}, numeric=False),
    )


def _error_line(run: pd.Series) -> str:
    error = run.get("error")
    if isinstance(error, str) and error.strip():
        return error.strip().splitlines()[-1]
    if run["status"] == "diverged":  # found at a curve point, or by the final evaluation
        steps = run.get("steps")
        by = f" by step {int(steps)}" if number(steps) else ""
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
    return section("provenance", "Provenance", f"{mixed}<dl>{''.join(items)}</dl>{yaml}")


def _records_facts(results: ResultsFolder, run_ids: set[str]) -> tuple[list[str], list[str]]:
    """The runs' start times (sorted) and git commits, from their records where there are any."""
    if not results.runs_dir.is_dir():
        return [], []
    records = [r for r in results.records() if r.run_id in run_ids]
    started = sorted(r.started_at for r in records if r.started_at)
    commits = sorted({r.env["git"][:12] for r in records if r.env.get("git")})
    return started, commits
