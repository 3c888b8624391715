"""The depth each arch reaches: from its best depth on, the deepest depth up to which every
depth's mean train error stays within a tolerance of the best depth's."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resbench.analysis.judging import groups
from resbench.analysis.summary import require_metric
from resbench.analysis.variants import by_variant, variant_columns
from resbench.sweep.defaults import REACH_TOLERANCE

if TYPE_CHECKING:
    import pandas as pd


def reach(
    runs: pd.DataFrame, metric: str = "train_error", tolerance: float = REACH_TOLERANCE
) -> pd.DataFrame:
    """Per variant and arch: the best depth (lowest mean `metric`, a diverged run counted as
    error 1.0) and the depth it reaches: the deepest depth up to which, from the best one on,
    every depth's mean stays within `tolerance` of the best's. A depth with runs missing ends
    the reach (it cannot be judged)."""
    import pandas as pd

    require_metric(runs, metric)
    variants = variant_columns(runs)
    rows = []
    for values, group in by_variant(runs, variants):
        by_key = groups(group, metric)
        for arch in sorted({a for a, _ in by_key}):
            depths = sorted(d for a, d in by_key if a == arch)
            judged = [d for d in depths if by_key[(arch, d)].problem() is None]
            row: dict[str, Any] = {**values, "arch": arch, "best_depth": None, "best": math.nan}
            row.update({"reach": None, "reach_mean": math.nan, "stopped_by": ""})
            if judged:
                best = min(judged, key=lambda d: (by_key[(arch, d)].mean, d))
                row["best_depth"], row["best"] = best, by_key[(arch, best)].mean
                reached = best
                for d in depths[depths.index(best) + 1 :]:
                    g = by_key[(arch, d)]
                    if g.problem() is not None:
                        row["stopped_by"] = f"runs missing at {d}"
                        break
                    if g.mean - row["best"] > tolerance:
                        break
                    reached = d
                row["reach"], row["reach_mean"] = reached, by_key[(arch, reached)].mean
            row["n"] = min((by_key[(arch, d)].n for d in depths), default=0)
            rows.append(row)
    columns = [*variants, "arch", "best_depth", "best", "reach", "reach_mean", "stopped_by", "n"]
    return pd.DataFrame(rows, columns=columns)
