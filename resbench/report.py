"""Summaries of a sweep's runs: statistics over seeds per (depth, arch), and how to show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table


def summarize(runs: pd.DataFrame, metric: str = "train_error") -> pd.DataFrame:
    """Per (depth, arch): n runs, n ok, mean, std and min/max of `metric` over the ok runs.

    Runs that did not end `ok` are counted (`n` vs `n_ok`, `diverged`) and never averaged in.
    """
    import pandas as pd

    rows = []
    for (depth, arch), group in runs.groupby(["depth", "arch"], sort=True):
        ok = group[group["status"] == "ok"][metric].dropna()
        rows.append(
            {
                "depth": depth,
                "arch": arch,
                "n": len(group),
                "n_ok": len(ok),
                "diverged": int((group["status"] == "diverged").sum()),
                "mean": ok.mean() if len(ok) else float("nan"),
                "std": ok.std(ddof=1) if len(ok) > 1 else float("nan"),
                "min": ok.min() if len(ok) else float("nan"),
                "max": ok.max() if len(ok) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def format_cell(row: pd.Series) -> str:
    """'0.012 ± 0.003 (3)', with the runs that did not end ok named."""
    import math

    if row["n_ok"] == 0:
        text = "—"
    elif math.isnan(row["std"]):
        text = f"{row['mean']:.3f} (n={row['n_ok']})"
    else:
        text = f"{row['mean']:.3f} ± {row['std']:.3f} (n={row['n_ok']})"
    if row["n_ok"] < row["n"]:
        bad = row["n"] - row["n_ok"]
        kind = "diverged" if row["diverged"] == bad else "not ok"
        text += f" {kind} {bad}/{row['n']}"
    return text


def depth_table(runs: pd.DataFrame, metric: str = "train_error") -> Table:
    """Rows: depth; columns: each arch's mean ± std over seeds of `metric`."""
    from rich.table import Table

    summary = summarize(runs, metric)
    archs = sorted(summary["arch"].unique())
    table = Table(title=f"{metric} by depth (mean ± std over seeds)")
    table.add_column("depth", justify="right")
    for arch in archs:
        table.add_column(arch, justify="right")
    for depth, group in summary.groupby("depth", sort=True):
        cells = {row["arch"]: format_cell(row) for _, row in group.iterrows()}
        table.add_row(str(depth), *(cells.get(a, "") for a in archs))
    return table
