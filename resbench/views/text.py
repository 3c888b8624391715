"""How summaries and check outcomes are shown: rich tables, GitHub markdown, CSV and JSON.

The same rows serve the terminal and markdown alike (`markdown_table` is the one markdown
table builder; the rows are `resbench.views.cells`' and `resbench.views.best_tables`'); the
numbers come from `resbench.analysis.summary` and `resbench.analysis.verdicts`. A table per
variant of the sweep; beyond two archs each cell on two lines, so that a sweep of every remedy
still reads at 80 columns.
"""

from __future__ import annotations

import json
import math
from functools import partial
from typing import TYPE_CHECKING, Any

from resbench.analysis.summary import arch_order, summarize
from resbench.analysis.variants import by_variant, summary_variants
from resbench.analysis.verdicts import all_passed, family_line
from resbench.core.names import markup
from resbench.views.best_tables import best_rows, best_tables
from resbench.views.cells import MAX_ARCH_COLUMNS, table_rows
from resbench.views.labels import NOTES, WORSE_MARK, justify, variant_title

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType
    from rich.table import Table

    from resbench.analysis.judging import Judgement

LEGEND = (
    f"{WORSE_MARK} worse than a shallower net of the same arch, beyond the noise over seeds · "
    "(n) ok runs"
)
RATIO_LEGEND = (
    "first ÷ last weight layer's (transformers: block's) gradient norm, geometric mean over "
    "seeds (n) · "
    "≪1 vanishing towards the input, ≫1 exploding"
)
VERDICT_BADGES = {"PASS": "✅ PASS", "FAIL": "❌ FAIL", "INCONCLUSIVE": "⚠️ INCONCLUSIVE"}
VERDICT_STYLES = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}
WHEN = ("init", "end")  # the moments of the gradient ratio tables


def markdown_table(header: list[str], rows: list[list[str]], numeric: bool = True) -> list[str]:
    """A GitHub markdown table's lines; `numeric` right-aligns the columns but the names."""
    cells = [[_markdown_cell(c) for c in row] for row in rows]
    right = [numeric and justify(name) == "right" for name in header]
    return [
        "| " + " | ".join(map(_markdown_cell, header)) + " |",
        "|" + "".join("---:|" if r else "---|" for r in right),
        *("| " + " | ".join(row) + " |" for row in cells),
    ]


def _markdown_cell(text: str) -> str:
    """A cell's text kept in its cell: a `|` would end it, a line break the row."""
    return " ".join(str(text).replace("|", "\\|").splitlines())


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
    parts += [f"{key} {info[key]}" for key in ("block", "init", "activation") if key in info]
    parts += [f"{info[u]} {u}" for u in ("epochs", "steps") if u in info]
    return " · ".join(p for p in parts if p)


def status_line(counts: dict[str, Any]) -> str:
    """e.g. '24 runs: 23 ok · 1 diverged · 0 failed · 6.9 min of training (sum of run times)'."""
    parts = [f"{v} {k}" for k, v in counts.items() if k not in ("runs", "seconds")]
    line = f"{counts['runs']} runs: " + " · ".join(parts)
    if not math.isnan(counts["seconds"]):
        line += f" · {_duration(counts['seconds'])} of training (sum of run times)"
    return line


def depth_tables(runs: pd.DataFrame, metric: str = "train_error") -> list[RenderableType]:
    """Per variant: each arch's mean ± std (n) of `metric` at each depth (and residual −
    plain); the last table carries the legend."""
    return summary_tables(summarize(runs, metric), metric)


def summary_tables(
    summary: pd.DataFrame, metric: str, best: dict[str, Any] | None = None
) -> list[RenderableType]:
    """`depth_tables` of a summary already made (`summarize(runs, metric)`, or with `best`,
    `resbench.analysis.best_of.best_summary`'s)."""
    return _rich_tables(table_rows(summary), _summary_title(metric, best), _legend(best))


def _summary_title(metric: str, best: dict[str, Any] | None) -> str:
    if best is None:
        return f"{metric} by depth · mean ± std (n)"
    return f"{metric} by depth at each arch's best {best['key']} · mean ± std (n) @ {best['key']}"


def _legend(best: dict[str, Any] | None) -> str:
    return LEGEND if best is None else f"{LEGEND}\n{best['note']}"


def report_tables(data: dict[str, Any]) -> list[RenderableType]:
    """A report's tables for a terminal: each metric's, then the axes' (`best_tables`)."""
    out: list[RenderableType] = []
    for metric, summary in data["metrics"].items():
        out += summary_tables(summary, metric, data.get("best"))
    return out + best_tables(data)


def _rich_tables(
    groups: list[tuple[dict[str, Any], list[str], list[list[str]]]], title: str, legend: str
) -> list[RenderableType]:
    """A rich table per variant, the variant's values in bold above it (as a title they would
    wrap to the table's width); the last table carries the legend."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    out: list[RenderableType] = []
    for i, (values, header, rows) in enumerate(groups):
        caption = legend if i == len(groups) - 1 else None
        # As wide as its title and legend, which would wrap in a table of few columns.
        width = max(len(title), *map(len, (caption or "").splitlines() or [""])) + 4
        table = Table(
            title=markup(title), caption=markup(caption) if caption else None, min_width=width
        )
        for name in header:
            table.add_column(markup(name), justify=justify(name))
        for row in rows:
            table.add_row(*(_marked(c) for c in row))
        out.append(Group(Text(variant_title(values), style="bold"), table) if values else table)
    return out


def _marked(cell: str) -> str:
    # The mark is the point of the table: make it stand out, and dim the status notes.
    # A cell's lines are split by NOTES: its numbers first, then the notes of runs gone wrong.
    lines = markup(cell).replace(WORSE_MARK, f"[bold red]{WORSE_MARK}[/]").split(NOTES)
    notes = [x for x in lines[1:] if x.startswith(("diverged", "failed"))]
    return "\n".join([x for x in lines if x not in notes] + [f"[yellow]{n}[/]" for n in notes])


# --------------------------------------------------------------------------- whole reports


def report_markdown(data: dict[str, Any], source: str = "") -> str:
    """The report as GitHub markdown: fit for a PR comment or $GITHUB_STEP_SUMMARY."""
    lines = [f"### resbench report: {header_line(data['header'])}", ""]
    if source:
        lines += [f"`{source}`", ""]
    if data.get("notes"):
        lines += [*(f"> {note}  " for note in data["notes"]), ""]
    best = data.get("best")
    for metric, summary in data["metrics"].items():
        for values, header, rows in table_rows(summary, markdown=True):
            title = _summary_title(f"**{metric}**", best)
            title = f"{title} {variant_title(values)}".rstrip()
            lines += [title, "", *markdown_table(header, rows), ""]
    lines += [LEGEND, ""]
    if best is not None:
        lines += [best["note"], ""]
    for title, header, rows, note in best_rows(data):
        lines += [f"**{title}**", "", *markdown_table(header, rows), "", note, ""]
    lines += [status_line(data["status"]), ""]
    return "\n".join(lines)


def report_frame(data: dict[str, Any], source: str = "") -> pd.DataFrame:
    """The summaries as one tidy frame (the CSV format): one row per (metric, depth, arch)."""
    import pandas as pd

    frames = []
    for metric, summary in data["metrics"].items():
        frame = summary.rename(columns=_chosen_name(data))
        frame.insert(0, "metric", metric)
        frame.insert(0, "sweep", data["header"].get("sweep", ""))
        frame.insert(0, "results", source)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def report_json(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """A JSON list, one object per results directory; missing numbers are null."""
    out = []
    for source, data in reports:
        rename = _chosen_name(data)
        metrics = {m: _records(s.rename(columns=rename)) for m, s in data["metrics"].items()}
        effects = {m: _records(f) for m, f in data.get("effects", {}).items()}
        status = {k: _json_value(v) for k, v in data["status"].items()}
        axes = {k: _records(data[k]) for k in AXES_FRAMES if k in data}
        if data.get("reach") is not None:
            axes["reach"] = {**data["reach"], "table": _records(data["reach"]["table"])}
        out.append(
            {"results": source, **data, "status": status, "metrics": metrics, **axes}
            | {"effects": effects}
        )
    return json.dumps(out, indent=1)


AXES_FRAMES = ("choices", "landscape", "best_values", "drift")  # frames of `axes_report`


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _chosen_name(data: dict[str, Any]) -> dict[str, str]:
    """The summaries' `chosen` column under the swept key's own name (e.g. train.lr)."""
    return {"chosen": data["best"]["key"]} if data.get("best") else {}


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
    """Per variant: (its values, the header, the rows): a row per depth with init and end per
    arch, or with more archs, a row per arch and moment with a column per depth."""
    out = []
    for values, group in by_variant(ratios, summary_variants(ratios)):
        archs = arch_order(group["arch"])
        cells = {(r["arch"], r["depth"]): r for _, r in group.iterrows()}
        depths = sorted(set(group["depth"]))

        cell = partial(_ratio_at, cells, sep=sep)
        if len(archs) <= MAX_ARCH_COLUMNS:
            header = ["depth", *(f"{a} {when}" for a in archs for when in WHEN)]
            rows = [[str(d), *(cell(a, d, w) for a in archs for w in WHEN)] for d in depths]
        else:  # a row per arch and moment, a column per depth: readable at 80 columns
            header = ["arch", "at", *map(str, depths)]
            rows = [
                [a if w == "init" else "", w, *(cell(a, d, w) for d in depths)]
                for a in archs
                for w in WHEN
            ]
        out.append((values, header, rows))
    return out


def _ratio_at(
    cells: dict[tuple[str, int], pd.Series], arch: str, depth: int, when: str, sep: str
) -> str:
    r = cells.get((arch, depth))
    return "" if r is None else _ratio_cell(r, when, sep)


def ratio_tables(ratios: pd.DataFrame) -> list[RenderableType]:
    """One rich table per variant: each arch's ratio at init and end at each depth; the last
    one carries the legend."""
    groups = _ratio_rows(ratios, sep=NOTES)
    return _rich_tables(groups, "gradient norm, first ÷ last layer", RATIO_LEGEND)


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


def outcome_detail(o: Judgement) -> str:
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


def check_summary(outcomes: list[Judgement]) -> str:
    """e.g. 'check FAILED: 3 passed, 1 failed, 1 inconclusive'."""
    counts = {v: sum(o.verdict == v for o in outcomes) for v in ("PASS", "FAIL", "INCONCLUSIVE")}
    ok = all_passed(outcomes)
    line = (
        f"check {'passed' if ok else 'FAILED'}: {counts['PASS']} passed, {counts['FAIL']} failed, "
        f"{counts['INCONCLUSIVE']} inconclusive"
    )
    family = family_line(outcomes)
    return f"{line} · {family}" if family else line


def check_markdown(outcomes: list[Judgement], title: str = "") -> str:
    """The outcomes as a GitHub markdown table, for $GITHUB_STEP_SUMMARY or a PR comment."""
    lines = [f"### resbench check{': ' + title if title else ''}", ""]
    rows = [[VERDICT_BADGES[o.verdict], o.text, outcome_detail(o), o.note] for o in outcomes]
    lines += markdown_table(["result", "statement", "numbers", "note"], rows, numeric=False)
    lines += ["", f"**{check_summary(outcomes)}**", ""]
    return "\n".join(lines)


def check_grid(outcomes: list[Judgement]) -> Table:
    """The outcomes for a terminal: the verdict, then the statement with its numbers below."""
    from rich.table import Table

    # A grid keeps wrapped text indented under its statement, clear of the verdicts.
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for o in outcomes:
        lines = [
            markup(o.text),
            *(f"[dim]{markup(x)}[/]" for x in (outcome_detail(o), o.note) if x),
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
