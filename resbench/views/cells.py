"""A summary's cells ('0.012 ± 0.003 (3) ▲') and its tables' rows, for the terminal, markdown
and the page alike: with one or two archs a row per depth and a column per arch (and residual −
plain); with more, a row per arch and a column per depth."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from resbench.analysis.best_of import axis_value
from resbench.analysis.summary import arch_order
from resbench.analysis.variants import by_variant, summary_variants
from resbench.views.labels import NOTES, WORSE_MARK

if TYPE_CHECKING:
    import pandas as pd

MAX_ARCH_COLUMNS = 2  # beyond this many archs, tables turn: a row per arch
TableRows = list[tuple[dict[str, Any], list[str], list[list[str]]]]  # (variant, header, rows)


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
    text += _chosen(row)
    notes = _notes(row)
    return text + (sep + notes if notes else "")


def compact_cell(row: pd.Series, sep: str = NOTES) -> str:
    """'0.012 ▲', then after `sep` '± 0.003 (3)', then the runs that did not end ok."""
    mark = f" {WORSE_MARK}" if row.get("worse", False) else ""
    if row["n_ok"] == 0:
        lines = [f"—{mark}"]
    else:
        spread = "" if math.isnan(row["std"]) else f"± {row['std']:.3f} "
        lines = [f"{row['mean']:.3f}{mark}", f"{spread}({row['n_ok']}){_chosen(row)}"]
    notes = _notes(row)
    return sep.join(lines + ([notes] if notes else []))


def _chosen(row: pd.Series) -> str:
    """' @ 2^-7': the value of a swept key the row's figures were chosen at, if any."""
    value = row.get("chosen")
    return "" if value is None or value != value else f" @ {axis_value(value)}"


def _notes(row: pd.Series) -> str:
    """'diverged 1/3, failed 1/3': the runs of a cell that did not end ok; and where the seeds
    split in two, their median, the figure to read."""
    notes = [f"{k} {row[k]}/{row['n']}" for k in ("diverged", "failed") if row.get(k, 0)]
    if row.get("split", False):
        notes.append(f"seeds split: median {row['median']:.3f}")
    return ", ".join(notes)


def _diff_cell(cells: dict[str, pd.Series]) -> str:
    """residual − plain of the means, when both have one."""
    plain, residual = cells.get("plain"), cells.get("residual")
    if plain is None or residual is None or not (plain["n_ok"] and residual["n_ok"]):
        return ""
    return f"{residual['mean'] - plain['mean']:+.3f}"


Cells = Callable[["pd.Series"], str]
Rows = tuple[list[str], list[list[str]]]  # the header, the rows


def _by_depth(summary: pd.DataFrame, archs: list[str], cell: Cells) -> Rows:
    """A row per depth, a column per arch (and residual − plain when both are there)."""
    both = {"plain", "residual"} <= set(archs)
    header = ["depth", *archs, *(["res − plain"] if both else [])]
    rows = []
    for depth, group in summary.groupby("depth", sort=True):
        cells = {row["arch"]: row for _, row in group.iterrows()}
        row = [str(depth), *(cell(cells[a]) if a in cells else "" for a in archs)]
        rows.append(row + ([_diff_cell(cells)] if both else []))
    return header, rows


def _by_arch(summary: pd.DataFrame, archs: list[str], cell: Cells) -> Rows:
    """A row per arch, a column per depth."""
    depths = sorted(set(summary["depth"]))
    cells = {(r["arch"], r["depth"]): r for _, r in summary.iterrows()}
    rows = [[a, *(cell(cells[(a, d)]) if (a, d) in cells else "" for d in depths)] for a in archs]
    return ["arch", *map(str, depths)], rows


def table_rows(summary: pd.DataFrame, markdown: bool = False) -> TableRows:
    """Per variant of the sweep: (its values, the header, the rows)."""
    out = []
    for values, group in by_variant(summary, summary_variants(summary)):
        archs = arch_order(group["arch"])
        if len(archs) <= MAX_ARCH_COLUMNS:
            layout, cell = _by_depth, partial(format_cell, sep=" · " if markdown else NOTES)
        else:  # markdown has no width to keep to: one line per cell there
            layout, cell = _by_arch, partial(format_cell, sep=" · ") if markdown else compact_cell
        header, rows = layout(group, archs, cell)
        out.append((values, header, rows))
    return out


def summary_rows(summary: pd.DataFrame) -> TableRows:
    """Per variant: (its values, the header, the rows) as the markdown report has them, a cell
    on one line, the runs that did not end ok after ' · ' (the HTML page's tables)."""
    return table_rows(summary, markdown=True)
