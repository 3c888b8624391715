"""The tables of a swept key's best values: the best value at each depth with its drift, and the
depth each arch reaches, as rows that the terminal and markdown reports both show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resbench.analysis.best_of import axis_value, drift_caption, estimate_value
from resbench.analysis.variants import of_variant, summary_variants
from resbench.core.names import markup
from resbench.views.labels import justify, variant_title

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

EDGE_MARK = "◂"  # a best value at the edge of the grid: the optimum may lie beyond it


def best_rows(data: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """The axes' tables as (title, header, rows, note): the best value at each depth with its
    drift, and the depth each arch reaches."""
    out = []
    if "drift" in data:
        best, key = data["best_values"], data["best"]["key"]
        depths = sorted(set(best["depth"]))
        variants = summary_variants(data["drift"])
        header = (
            ["variant", "arch", *map(str, depths), "drift [95% CI]"]
            if variants
            else ["arch", *map(str, depths), "drift [95% CI]"]
        )
        rows = []
        for _, d in data["drift"].iterrows():
            values = {c: d[c] for c in variants}
            row = [variant_title(values)] if variants else []
            row.append(d["arch"])
            cells = {
                r["depth"]: r
                for _, r in of_variant(best[best["arch"] == d["arch"]], values).iterrows()
            }
            for depth in depths:
                r = cells.get(depth)
                row.append("" if r is None else _best_cell(r, key))
            row.append(_drift_cell(d))
            rows.append(row)
        caption = drift_caption(data["drift"], key, data["best"]["by"])
        note = f"{caption}; {EDGE_MARK} at the edge of the grid"
        out.append((f"best {key} by depth, and its drift", header, rows, note))
    if data.get("reach") is not None:
        table, tolerance = data["reach"]["table"], data["reach"]["tolerance"]
        variants = summary_variants(table)
        header = [*(["variant"] if variants else []), "arch", "best depth", "reaches"]
        rows = [
            [
                *([variant_title({c: r[c] for c in variants})] if variants else []),
                r["arch"],
                _depth_cell(r["best_depth"], r["best"], r["n"]),
                _depth_cell(r["reach"], r["reach_mean"], r["n"]) + _stopped(r),
            ]
            for _, r in table.iterrows()
        ]
        note = (
            f"reaches: the deepest depth up to which, from the best depth on, the mean train "
            f"error stays within {tolerance:g} of the best depth's (diverged runs count as 1.0)"
        )
        out.append(("the depth each arch reaches", header, rows, note))
    return out


def _best_cell(row: pd.Series, key: str) -> str:
    if row[key] != row[key]:
        return "—"
    shown = estimate_value(row["optimum"]) if "optimum" in row else axis_value(row[key])
    return shown + (f" {EDGE_MARK}" if row["at_edge"] else "")


def _drift_cell(row: pd.Series) -> str:
    if row["drift"] != row["drift"]:
        return "—"
    if row["low"] != row["low"]:
        return f"{row['drift']:+.2f} (n {row['n_seeds']}: too few seeds for an interval)"
    return f"{row['drift']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}] (n {row['n_seeds']})"


def _depth_cell(depth: Any, mean: float, n: int) -> str:
    if depth is None or depth != depth:
        return "—"
    return f"{int(depth)} ({mean:.3f}, n {n})"


def _stopped(row: pd.Series) -> str:
    return f"; {row['stopped_by']}" if row["stopped_by"] else ""


def best_tables(data: dict[str, Any]) -> list[RenderableType]:
    """The axes' tables for a terminal (none when the report has no axes)."""
    from rich.table import Table

    out: list[RenderableType] = []
    for title, header, rows, note in best_rows(data):
        table = Table(title=markup(title), caption=markup(note) if note else None)
        for name in header:
            table.add_column(markup(name), justify=justify(name), overflow="fold")
        for row in rows:
            table.add_row(*map(markup, row))
        out.append(table)
    return out
