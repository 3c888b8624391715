"""A sweep's other axes in one report: each arch at its best value of a swept key
(`resbench.analysis.choice`), the landscape along that key with each depth's best value and
its drift with depth (`resbench.analysis.landscape`), and the depth each arch reaches
(`resbench.analysis.reach`).

The names the views use from those modules are here too, so a view asks one module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from resbench.analysis.choice import (
    BEST_BY,
    HELD_OUT_FROM,
    Selection,
    _order,
    _seeds,
    axis_value,
    best_of,
    best_runs,
    best_summary,
    choices,
    estimate_value,
    numeric_values,
    others,
    require_key,
    scores,
    selection,
)
from resbench.analysis.landscape import (
    BLOCKS,
    ScoreCube,
    blocks,
    chance,
    drift,
    drift_caption,
    landscape,
)
from resbench.analysis.optimum import INTERVAL_FROM, LEVEL, REPLICATES
from resbench.analysis.reach import REACH_TOLERANCE, reach
from resbench.analysis.summary import describe, improvements, require_metric, status_counts
from resbench.core.errors import ResbenchError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BEST_BY",
    "BLOCKS",
    "HELD_OUT_FROM",
    "INTERVAL_FROM",
    "LEVEL",
    "REACH_TOLERANCE",
    "REPLICATES",
    "ScoreCube",
    "Selection",
    "_order",
    "_seeds",
    "axes_report",
    "axis_value",
    "best_of",
    "best_runs",
    "best_summary",
    "blocks",
    "chance",
    "choices",
    "drift",
    "drift_caption",
    "estimate_value",
    "landscape",
    "numeric_values",
    "others",
    "reach",
    "require_key",
    "scores",
    "selection",
]  # fmt: skip


def axes_report(
    runs: pd.DataFrame,
    metrics: Iterable[str] | None = None,
    best_over: str | None = None,
    best_by: str = BEST_BY,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """`resbench.analysis.summary.report_data` with the axes: with `best_over`, every summary at
    each arch's best value (the chosen value in its `chosen` column), the selection, the landscape,
    the best value per depth and its drift; and always, where the runs have two depths or
    more, the depth each arch reaches (train error within `tolerance` of its best depth)."""
    from resbench.analysis.summary import DEFAULT_METRICS, code_notes, report_data

    metrics = tuple(metrics or DEFAULT_METRICS)
    tolerance = REACH_TOLERANCE if tolerance is None else tolerance
    if tolerance < 0:
        raise ResbenchError(f"reach tolerance must be >= 0 (got {tolerance})")
    if best_over is None:
        data = report_data(runs, metrics)
        data["reach"] = _reach_or_none(runs, tolerance)
        return data
    sel = selection(runs, best_over, best_by)
    for metric in metrics:
        require_metric(runs, metric)
    chosen = choices(runs, sel)
    best = best_runs(runs, sel, chosen)
    data: dict[str, Any] = {
        "header": describe(runs),
        "status": status_counts(runs),  # every run of the sweep, chosen or not
        "metrics": {m: best_summary(runs, sel, chosen, m) for m in metrics},
        "effects": {m: improvements(best, m) for m in metrics},
        "best": sel.as_dict(),
        "notes": code_notes(runs),
    }
    data["choices"] = chosen
    data["landscape"] = landscape(runs, sel.key, best_by)
    if numeric_values(runs, sel.key):
        data["best_values"], data["drift"] = drift(runs, sel.key, best_by)
    data["reach"] = _reach_or_none(best, tolerance)
    return data


def _reach_or_none(runs: pd.DataFrame, tolerance: float) -> dict[str, Any] | None:
    if runs["depth"].nunique() < 2 or "train_error" not in runs:
        return None
    return {
        "metric": "train_error",
        "tolerance": tolerance,
        "table": reach(runs, tolerance=tolerance),
    }
