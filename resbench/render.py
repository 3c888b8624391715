"""How summaries and check outcomes are shown: rich tables, GitHub markdown, CSV and JSON.

The same rows serve the terminal and markdown alike (`markdown_table` is the one markdown
table builder); the numbers come from `resbench.summary` and `resbench.check`.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from resbench.summary import RATIO_COLUMNS, arch_order, summarize

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from resbench.check import Outcome

WORSE_MARK = "▲"
LEGEND = (
    f"{WORSE_MARK} worse than a shallower net of the same arch, beyond the noise over seeds · "
    "(n) ok runs"
)
RATIO_LEGEND = (
    "first ÷ last weight layer's gradient norm, geometric mean over seeds (n) · "
    "≪1 vanishing towards the input, ≫1 exploding"
)
VERDICT_BADGES = {"PASS": "✅ PASS", "FAIL": "❌ FAIL", "INCONCLUSIVE": "⚠️ INCONCLUSIVE"}
VERDICT_STYLES = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}


def markdown_table(header: list[str], rows: list[list[str]], numeric: bool = True) -> list[str]:
    """A GitHub markdown table's lines; `numeric` right-aligns the columns."""
    cells = [[c.replace("|", "\\|") for c in row] for row in rows]
    return [
        "| " + " | ".join(header) + " |",
        "|" + ("---:|" if numeric else "---|") * len(header),
        *("| " + " | ".join(row) + " |" for row in cells),
    ]


# --------------------------------------------------------------------------- header and status


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
    archs = arch_order(summary["arch"])
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


def report_markdown(data: dict[str, Any], source: str = "") -> str:
    """The report as GitHub markdown: fit for a PR comment or $GITHUB_STEP_SUMMARY."""
    lines = [f"### resbench report: {header_line(data['header'])}", ""]
    if source:
        lines += [f"`{source}`", ""]
    for metric, summary in data["metrics"].items():
        header, rows = _rows(summary, sep=" · ")
        lines += [f"**{metric}** by depth · mean ± std (n)", ""]
        lines += [*markdown_table(header, rows), ""]
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
        archs = arch_order(group["arch"])
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
        lines += [*markdown_table(header, rows), ""]
    lines += [RATIO_LEGEND, ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- check outcomes


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
        level = f"{100 * o.interval.level:.1f}".removesuffix(".0")
        parts.append(f"{level}% CI [{o.interval.low:+.3f}, {o.interval.high:+.3f}]")
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
    rows = [[VERDICT_BADGES[o.verdict], o.text, outcome_detail(o), o.note] for o in outcomes]
    lines += markdown_table(["result", "statement", "numbers", "note"], rows, numeric=False)
    lines += ["", f"**{check_summary(outcomes)}**", ""]
    return "\n".join(lines)


def check_grid(outcomes: list[Outcome]) -> Table:
    """The outcomes for a terminal: the verdict, then the statement with its numbers below."""
    from rich.markup import escape
    from rich.table import Table

    # A grid keeps wrapped text indented under its statement, clear of the verdicts.
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for o in outcomes:
        lines = [
            escape(o.text),
            *(f"[dim]{escape(x)}[/]" for x in (outcome_detail(o), o.note) if x),
        ]
        grid.add_row(f"[{VERDICT_STYLES[o.verdict]}]{o.verdict}[/]", "\n".join(lines))
    return grid


# --------------------------------------------------------------------------- helpers


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
