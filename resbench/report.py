"""Summaries of a sweep's runs: statistics over seeds per (depth, arch), and how to show them.

Means are over the runs that ended `ok`. Runs that diverged or failed are counted and named
beside the mean ("diverged 1/3"), never averaged in and never dropped silently.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from resbench.check import Outcome

DEFAULT_METRICS = ("train_error", "test_error")
# The runs.csv columns that make sense per (depth, arch); named when a metric is unknown.
METRICS = (
    "train_error", "test_error", "train_loss", "test_loss", "samples_per_s", "gflops", "mfu",
    "flops_per_sample", "params", "train_seconds", "eval_seconds", "seconds", "epochs", "steps",
)  # fmt: skip
WORSE_MARK = "▲"
LEGEND = f"{WORSE_MARK} worse than a shallower net of the same arch · (n) ok runs"
DIGITS = 3  # shown precision: differences below it are ties, not degradation


def summarize(runs: pd.DataFrame, metric: str = "train_error") -> pd.DataFrame:
    """Per (depth, arch): run counts, and mean, std, min, max of `metric` over the ok runs.

    `worse` marks the degradation: the mean exceeds that of a shallower depth of the same arch
    by at least the shown precision (whether that is more than noise is for `check` to say).
    """
    import pandas as pd

    check_metric(runs, metric)
    rows = []
    for (depth, arch), group in runs.groupby(["depth", "arch"], sort=True):
        ok = group[group["status"] == "ok"][metric].dropna()
        diverged = int((group["status"] == "diverged").sum())
        rows.append(
            {
                "depth": int(depth),
                "arch": arch,
                "n": len(group),
                "n_ok": len(ok),
                "diverged": diverged,
                "failed": len(group) - len(ok) - diverged,
                "mean": ok.mean() if len(ok) else math.nan,
                "std": ok.std(ddof=1) if len(ok) > 1 else math.nan,
                "min": ok.min() if len(ok) else math.nan,
                "max": ok.max() if len(ok) else math.nan,
            }
        )
    summary = pd.DataFrame(
        rows,
        columns=["depth", "arch", "n", "n_ok", "diverged", "failed", "mean", "std", "min", "max"],
    )
    summary["worse"] = _worse_than_shallower(summary)
    return summary


def _worse_than_shallower(summary: pd.DataFrame) -> list[bool]:
    """Per row: is the mean above the lowest mean of a shallower depth of the same arch?"""
    best: dict[str, float] = {}  # arch -> lowest mean among the shallower depths
    worse = dict.fromkeys(summary.index, False)
    for i, row in summary.sort_values("depth", kind="stable").iterrows():
        shallower = best.get(row["arch"], math.inf)
        worse[i] = bool(round(row["mean"], DIGITS) > round(shallower, DIGITS))  # NaN: False
        if not math.isnan(row["mean"]):
            best[row["arch"]] = min(shallower, row["mean"])
    return [worse[i] for i in summary.index]


def check_metric(runs: pd.DataFrame, metric: str) -> None:
    """Raise a one-line error unless `metric` is a numeric result column of `runs`."""
    from pandas.api.types import is_numeric_dtype

    from resbench import ResbenchError

    def numeric(column: str) -> bool:  # all missing (no ok run) counts: it shows as a dash
        return column in runs and (is_numeric_dtype(runs[column]) or runs[column].isna().all())

    valid = [c for c in METRICS if numeric(c)]
    if not numeric(metric):
        raise ResbenchError(f"unknown metric {metric!r} (valid: {', '.join(valid)})")


# --------------------------------------------------------------------------- header and status


def describe(runs: pd.DataFrame) -> dict[str, str]:
    """What was measured, from the runs themselves: sweep, dataset, family, options that matter."""
    out: dict[str, str] = {}
    for key in ("sweep", "dataset", "family", "width"):
        if key in runs:
            out[key] = _values(runs[key])
    if "model.batch_norm" in runs:
        out["batch_norm"] = _values(runs["model.batch_norm"].map(_truthy))
    if "model.shortcut" in runs:
        out["shortcut"] = _values(runs["model.shortcut"])
    if "model.zero_init_residual" in runs and runs["model.zero_init_residual"].map(_truthy).any():
        out["zero_init_residual"] = _values(runs["model.zero_init_residual"].map(_truthy))
    for unit in ("epochs", "steps"):
        column = runs.get(f"train.{unit}")
        if column is not None and column.notna().any():
            out[unit] = _values(column.dropna().astype(int))
    return out


def header_line(info: dict[str, str]) -> str:
    """e.g. 'quick · mnist1d · conv1d width 8 · batch_norm · shortcut A · 15 epochs'."""
    parts = [info.get("sweep", "?"), info.get("dataset", "?")]
    parts.append(f"{info.get('family', '?')} width {info['width']}" if "width" in info else "")
    if "batch_norm" in info:
        parts.append({"True": "batch_norm", "False": "no batch_norm"}.get(info["batch_norm"], ""))
    if "shortcut" in info:
        parts.append(f"shortcut {info['shortcut']}")
    if info.get("zero_init_residual") == "True":
        parts.append("zero_init_residual")
    parts += [f"{info[u]} {u}" for u in ("epochs", "steps") if u in info]
    return " · ".join(p for p in parts if p)


def status_counts(runs: pd.DataFrame) -> dict[str, Any]:
    """Runs by status (ok, diverged, failed always; oom, killed when present) and compute time."""
    counts = runs["status"].value_counts()
    out: dict[str, Any] = {"runs": len(runs)}
    for status in ("ok", "diverged", "failed", "oom", "killed"):
        if status in ("ok", "diverged", "failed") or counts.get(status, 0):
            out[status] = int(counts.get(status, 0))
    other = len(runs) - sum(v for k, v in out.items() if k != "runs")
    if other:
        out["other"] = other
    out["seconds"] = float(runs["seconds"].sum()) if "seconds" in runs else math.nan
    return out


def status_line(counts: dict[str, Any]) -> str:
    """e.g. '24 runs: 23 ok · 1 diverged · 0 failed · 6.9 min of training (sum of run times)'."""
    parts = [f"{v} {k}" for k, v in counts.items() if k not in ("runs", "seconds")]
    line = f"{counts['runs']} runs: " + " · ".join(parts)
    if not math.isnan(counts["seconds"]):
        line += f" · {_duration(counts['seconds'])} of training (sum of run times)"
    return line


# --------------------------------------------------------------------------- cells and tables


def format_cell(row: pd.Series, mark: bool = True, sep: str = "\n") -> str:
    """'0.012 ± 0.003 (3) ▲', with the runs that did not end ok named after `sep`."""
    if row["n_ok"] == 0:
        text = "—"
    elif math.isnan(row["std"]):
        text = f"{row['mean']:.3f} ({row['n_ok']})"
    else:
        text = f"{row['mean']:.3f} ± {row['std']:.3f} ({row['n_ok']})"
    if mark and row.get("worse", False):
        text += f" {WORSE_MARK}"
    notes = [f"{k} {row[k]}/{row['n']}" for k in ("diverged", "failed") if row.get(k, 0)]
    return text + (sep + ", ".join(notes) if notes else "")


def _diff_cell(cells: dict[str, pd.Series]) -> str:
    """residual − plain of the means, when both have one."""
    plain, residual = cells.get("plain"), cells.get("residual")
    if plain is None or residual is None or not (plain["n_ok"] and residual["n_ok"]):
        return ""
    return f"{residual['mean'] - plain['mean']:+.3f}"


def _rows(summary: pd.DataFrame, sep: str) -> tuple[list[str], list[list[str]]]:
    archs = [a for a in ("plain", "residual") if a in set(summary["arch"])]
    archs += sorted(set(summary["arch"]) - set(archs))
    both = {"plain", "residual"} <= set(archs)
    header = ["depth", *archs, *(["res − plain"] if both else [])]
    rows = []
    for depth, group in summary.groupby("depth", sort=True):
        cells = {row["arch"]: row for _, row in group.iterrows()}
        row = [str(depth), *(format_cell(cells[a], sep=sep) if a in cells else "" for a in archs)]
        rows.append(row + ([_diff_cell(cells)] if both else []))
    return header, rows


def depth_table(runs: pd.DataFrame, metric: str = "train_error") -> Table:
    """Rows: depth; columns: each arch's mean ± std (n) of `metric`, and residual − plain."""
    from rich.table import Table

    header, rows = _rows(summarize(runs, metric), sep="\n")
    table = Table(title=f"{metric} by depth · mean ± std (n)", caption=LEGEND)
    for name in header:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*(_marked(c) for c in row))
    return table


def _marked(cell: str) -> str:
    from rich.markup import escape

    # The mark is the point of the table: make it stand out, and dim the status notes.
    text = escape(cell).replace(WORSE_MARK, f"[bold red]{WORSE_MARK}[/]")
    first, _, notes = text.partition("\n")
    return f"{first}\n[yellow]{notes}[/]" if notes else first


# --------------------------------------------------------------------------- whole reports


def report_data(runs: pd.DataFrame, metrics: tuple[str, ...] = DEFAULT_METRICS) -> dict[str, Any]:
    """Everything a report shows, as plain data (the JSON format, and the source of the others)."""
    from resbench import ResbenchError

    if runs.empty:
        raise ResbenchError("no runs to report: the runs table is empty")
    for metric in metrics:
        check_metric(runs, metric)
    return {
        "header": describe(runs),
        "status": status_counts(runs),
        "metrics": {m: summarize(runs, m) for m in metrics},
    }


def report_markdown(data: dict[str, Any], source: str = "") -> str:
    """The report as GitHub markdown: fit for a PR comment or $GITHUB_STEP_SUMMARY."""
    lines = [f"### resbench report: {header_line(data['header'])}", ""]
    if source:
        lines += [f"`{source}`", ""]
    for metric, summary in data["metrics"].items():
        header, rows = _rows(summary, sep=" · ")
        lines += [f"**{metric}** by depth · mean ± std (n)", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---:|" * len(header))
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    lines += [LEGEND, "", status_line(data["status"]), ""]
    return "\n".join(lines)


def report_frame(data: dict[str, Any], source: str = "") -> pd.DataFrame:
    """The summaries as one tidy frame (the CSV format): one row per (metric, depth, arch)."""
    import pandas as pd

    frames = []
    for metric, summary in data["metrics"].items():
        frame = summary.copy()
        frame.insert(0, "metric", metric)
        frame.insert(0, "sweep", data["header"].get("sweep", ""))
        frame.insert(0, "results", source)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def report_json(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """A JSON list, one object per results directory; missing numbers are null."""
    out = []
    for source, data in reports:
        metrics = {
            m: [{k: _json_value(v) for k, v in row.items()} for row in s.to_dict("records")]
            for m, s in data["metrics"].items()
        }
        status = {k: _json_value(v) for k, v in data["status"].items()}
        out.append({"results": source, **data, "status": status, "metrics": metrics})
    return json.dumps(out, indent=1)


# --------------------------------------------------------------------------- gradient flow

RATIO_COLUMNS = ["depth", "arch", "n", "diverged", "n_init", "init", "n_end", "end"]
RATIO_LEGEND = (
    "first ÷ last weight layer's gradient norm, geometric mean over seeds (n) · "
    "≪1 vanishing towards the input, ≫1 exploding"
)


def variant_columns(runs: pd.DataFrame) -> list[str]:
    """The spec columns, besides depth, arch and seed, whose values differ between runs."""
    from resbench.sweep import EXECUTION_FIELDS

    where = {f"{section}.{key}" for section, key in EXECUTION_FIELDS}
    spec = ["dataset", "family", "width"] + [c for c in runs.columns if "." in c]
    return [c for c in spec if c in runs and c not in where and runs[c].nunique() > 1]


def layer_ratios(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, depth and arch: the first weight layer's gradient norm over the last's, at
    initialisation (step 0) and at the end (each run's last measured step after step 0).

    A ratio is a factor, so seeds are averaged geometrically (the mean of log ratios): one seed
    at 100 and one at 0.01 make 1, not 50. A run whose ratio is missing, zero or not finite
    there (it diverged, say) is left out of that mean and of its n; `diverged` counts the runs
    that diverged.
    """
    import numpy as np
    import pandas as pd

    from resbench import ResbenchError

    grads = layers[layers["kind"] == "grad_norm"]
    if grads.empty:
        raise ResbenchError("no gradient norms recorded (train.diagnostics: [grad_norms])")
    last_layer = grads.groupby("run_id")["layer"].transform("max")
    first = grads[grads["layer"] == 0].set_index(["run_id", "step"])["value"]
    last = grads[grads["layer"] == last_layer].set_index(["run_id", "step"])["value"]
    ratio = (first / last).reset_index(name="ratio")
    ratio["log"] = np.log10(ratio["ratio"].where(ratio["ratio"] > 0))
    ratio["log"] = ratio["log"].where(np.isfinite(ratio["log"]))
    last_step = ratio.groupby("run_id")["step"].transform("max")
    at = {
        "init": ratio[ratio["step"] == 0],
        "end": ratio[(ratio["step"] == last_step) & (last_step > 0)],
    }
    variants = variant_columns(runs)
    keys = [*variants, "depth", "arch"]
    out = runs[["run_id", *keys, "status"]].drop_duplicates("run_id")
    for name, frame in at.items():
        out = out.merge(frame[["run_id", "log"]].rename(columns={"log": name}), how="left")
    rows = []
    for key, group in out.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key, strict=True))
        row["n"], row["diverged"] = len(group), int((group["status"] == "diverged").sum())
        for name in at:
            logs = group[name].dropna()
            row[f"n_{name}"] = len(logs)
            row[name] = 10 ** logs.mean() if len(logs) else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[*variants, *RATIO_COLUMNS])


def variant_title(variant: dict[str, Any]) -> str:
    """e.g. 'family mlp · batch_norm False', or '' when nothing but depth and arch varies."""
    return " · ".join(f"{k.split('.')[-1]} {v}" for k, v in variant.items())


def _ratio_cell(row: pd.Series, when: str, sep: str) -> str:
    """'0.134 (3)'; at the end, runs that diverged are named after `sep`."""
    n, value = row[f"n_{when}"], row[when]
    text = "—" if n == 0 or math.isnan(value) else f"{value:.3g} ({n})"
    if when == "end" and row["diverged"]:
        text += f"{sep}diverged {row['diverged']}/{row['n']}"
    return text


def _ratio_rows(
    ratios: pd.DataFrame, sep: str
) -> list[tuple[dict[str, Any], list[str], list[list[str]]]]:
    """Per variant: (its values, the header, the rows: depth, then init and end per arch)."""
    variants = [c for c in ratios.columns if c not in RATIO_COLUMNS]
    groups = ratios.groupby(variants, sort=True, dropna=False) if variants else [((), ratios)]
    out = []
    for key, group in groups:
        values = dict(zip(variants, key, strict=True))  # grouped by a list: keys are tuples
        archs = [a for a in ("plain", "residual") if a in set(group["arch"])]
        archs += sorted(set(group["arch"]) - set(archs))
        header = ["depth", *(f"{a} {when}" for a in archs for when in ("init", "end"))]
        rows = []
        for depth, at_depth in group.groupby("depth", sort=True):
            cells = {r["arch"]: r for _, r in at_depth.iterrows()}
            row = [str(depth)]
            for arch in archs:
                r = cells.get(arch)
                for when in ("init", "end"):
                    row.append("" if r is None else _ratio_cell(r, when, sep))
            rows.append(row)
        out.append((values, header, rows))
    return out


def ratio_tables(ratios: pd.DataFrame) -> list[Table]:
    """One rich table per variant: rows depth, columns each arch's ratio at init and end; the
    last one carries the legend."""
    from rich.table import Table

    tables = []
    groups = _ratio_rows(ratios, sep="\n")
    for i, (values, header, rows) in enumerate(groups):
        title = "gradient norm, first ÷ last layer"
        if values:
            title += f" · {variant_title(values)}"
        caption = RATIO_LEGEND if i == len(groups) - 1 else None
        table = Table(*header, title=title, caption=caption)
        for column in table.columns:
            column.justify = "right"
        for row in rows:
            table.add_row(*(_marked(cell) for cell in row))
        tables.append(table)
    return tables


def ratio_markdown(ratios: pd.DataFrame, source: str = "") -> str:
    """The ratio tables as GitHub markdown."""
    lines = ["### resbench report: gradient flow", ""]
    if source:
        lines += [f"`{source}`", ""]
    for values, header, rows in _ratio_rows(ratios, sep=" · "):
        lines += [f"**first ÷ last layer's gradient norm** {variant_title(values)}".rstrip(), ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---:|" * len(header))
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    lines += [RATIO_LEGEND, ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- check outcomes

VERDICT_BADGES = {"PASS": "✅ PASS", "FAIL": "❌ FAIL", "INCONCLUSIVE": "⚠️ INCONCLUSIVE"}


def outcome_detail(o: Outcome) -> str:
    """The numbers behind a verdict: '0.771 vs 0.008 (n 3, 3) · diff +0.762 · 95% CI […]'."""
    parts = []
    if len(o.groups) == 2 and all(g.n for g in o.groups):
        a, b = o.groups
        if o.kind == "baseline":
            parts.append(f"now {a.mean:.3f} (n {a.n}) · reference {b.mean:.3f} (n {b.n})")
        else:
            parts.append(f"{a.mean:.3f} vs {b.mean:.3f} (n {a.n}, {b.n})")
    if o.diff is not None:
        parts.append(f"diff {o.diff:+.3f}")
    if o.interval is not None:
        parts.append(f"95% CI [{o.interval.low:+.3f}, {o.interval.high:+.3f}]")
    return " · ".join(parts)


def check_summary(outcomes: list[Outcome]) -> str:
    """e.g. 'check FAILED: 3 passed, 1 failed, 1 inconclusive'."""
    counts = {v: sum(o.verdict == v for o in outcomes) for v in ("PASS", "FAIL", "INCONCLUSIVE")}
    ok = bool(outcomes) and counts["PASS"] == len(outcomes)
    return (
        f"check {'passed' if ok else 'FAILED'}: {counts['PASS']} passed, {counts['FAIL']} failed, "
        f"{counts['INCONCLUSIVE']} inconclusive"
    )


def check_markdown(outcomes: list[Outcome], title: str = "") -> str:
    """The outcomes as a GitHub markdown table, for $GITHUB_STEP_SUMMARY or a PR comment."""
    lines = [f"### resbench check{': ' + title if title else ''}", ""]
    lines += ["| result | statement | numbers | note |", "|---|---|---|---|"]
    for o in outcomes:
        cells = [VERDICT_BADGES[o.verdict], o.text, outcome_detail(o), o.note]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", f"**{check_summary(outcomes)}**", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def _values(column: pd.Series) -> str:
    """A column's distinct values, '8' or '8, 16' when it was swept."""
    return ", ".join(str(v) for v in sorted(set(column.dropna()), key=str))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
