"""The best value of a swept key (the learning rate, say) per arch, depth and variant: the key
checked against the runs, the seeds it is chosen on, and the runs that then report each arch
at its best.

The best of k noisy means flatters the figure it is chosen by. So where a sweep has at least
`HELD_OUT_FROM` seeds, the value is chosen on the first half of them (in seed order) and the
figures are reported on the others; with fewer, the choice and the figures come from the same
seeds, and `Selection.describe` says so.

Runs that did not end `ok` count by one rule, here and in the landscape and drift
(`resbench.analysis.landscape`): a diverged run is the worst value there is (error 1.0, loss
+∞), so a value at which a seed diverged is chosen only when every value did; a value with runs
missing (failed, oom, killed) among the seeds asked is no candidate. A depth where no value has
a finite mean has no best value: the drift leaves it out and says so; a claim, which must judge
the net somewhere, takes the smallest value there (ties go to the smaller), and `choices` says
why in its `why` column.

Pure functions over the runs table (`resbench.store.tables.load_runs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resbench.analysis.judging import DIVERGED_ERROR
from resbench.analysis.summary import require_metric, summarize
from resbench.analysis.variants import variant_columns
from resbench.core.errors import ResbenchError
from resbench.sweep.defaults import BEST_BY

if TYPE_CHECKING:
    import pandas as pd

HELD_OUT_FROM = 4  # seeds from which the choice is made on half and the figures on the rest


def require_key(runs: pd.DataFrame, key: str) -> str:
    """The runs.csv column of swept `key`; a one-line error unless the sweep sweeps it within
    some arch and depth (a key zipped with depth or arch leaves nothing to choose)."""
    from resbench.store.tables import column_of

    column = column_of(key)
    swept = variant_columns(runs)
    shown = ", ".join(swept) or "nothing but depth, arch and seed"
    if column in ("depth", "arch", "seed", "run_id"):
        raise ResbenchError(f"{key}: the best of depth, arch or seed is not taken (swept: {shown})")
    if column not in runs or runs[column].nunique(dropna=False) < 2:
        raise ResbenchError(f"{key}: not swept by these runs, no best to take (swept: {shown})")
    if column not in swept:
        raise ResbenchError(
            f"{key}: one value per depth and arch in these runs, nothing to choose (swept: {shown})"
        )
    return column


def others(runs: pd.DataFrame, column: str) -> list[str]:
    """The sweep's variants besides the key's column."""
    return [c for c in variant_columns(runs) if c != column]


def numeric_values(runs: pd.DataFrame, column: str) -> bool:
    """Do the key's values form a positive numeric axis (for a log axis and a drift)?"""
    import pandas as pd

    values = pd.to_numeric(runs[column], errors="coerce")
    return bool(values.notna().all() and (values > 0).all())


# --------------------------------------------------------------------------- valuing runs


def scores(runs: pd.DataFrame, metric: str) -> pd.Series:
    """Each run's value for choosing: the metric of an ok run; for a diverged one the worst
    there is (error 1.0, anything else +∞); NaN for a run with no result (failed, oom, ...)."""
    import numpy as np

    worst = DIVERGED_ERROR if metric.endswith("_error") else math.inf
    ok = (runs["status"] == "ok") & runs[metric].notna()
    out = runs[metric].where(ok, np.nan).astype(float)
    return out.mask(runs["status"] == "diverged", worst)


# --------------------------------------------------------------------------- the best value


@dataclass(frozen=True)
class Selection:
    """How a best value is chosen: by which metric, on which seeds; the figures on which."""

    key: str  # the runs.csv column, e.g. train.lr
    by: str
    choose_seeds: tuple[int, ...]
    report_seeds: tuple[int, ...]

    @property
    def held_out(self) -> bool:
        return not set(self.choose_seeds) & set(self.report_seeds)

    def describe(self) -> str:
        """One line: what was chosen, how, and whether the figures are held out from it."""
        what = f"{self.key} chosen per arch, depth and variant by the lowest mean {self.by}"
        if self.held_out:
            return (
                f"{what} on seeds {_seeds(self.choose_seeds)}; figures from seeds "
                f"{_seeds(self.report_seeds)}, held out from the choice"
            )
        return (
            f"{what}; the choice and the figures come from the same {len(self.report_seeds)} "
            f"seeds (fewer than {HELD_OUT_FROM}: the figures flatter the chosen value)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "by": self.by,
            "choose_seeds": list(self.choose_seeds),
            "report_seeds": list(self.report_seeds),
            "held_out": self.held_out,
            "note": self.describe(),
        }


def _seeds(seeds: tuple[int, ...]) -> str:
    return ", ".join(map(str, seeds))


def selection(runs: pd.DataFrame, key: str, by: str = BEST_BY) -> Selection:
    """Check `key` and `by` against the runs (one-line errors), and split the seeds."""
    if runs.empty:
        raise ResbenchError("no runs to choose from: the runs table is empty")
    column = require_key(runs, key)
    require_metric(runs, by)
    seeds = tuple(sorted(int(s) for s in runs["seed"].unique()))
    if len(seeds) >= HELD_OUT_FROM:
        half = len(seeds) // 2
        return Selection(column, by, seeds[:half], seeds[half:])
    return Selection(column, by, seeds, seeds)


def choices(runs: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """Per variant, arch and depth: the chosen value (under the key's own name), its mean
    score on the seeds it was chosen on, their number, the candidates, how many were left out
    for runs missing, and `why` the choice is no best value ('' where it is one)."""
    import pandas as pd

    variants = others(runs, sel.key)
    keys = [*variants, "arch", "depth"]
    chosen = runs[runs["seed"].isin(sel.choose_seeds)]
    chosen = chosen.assign(_score=scores(chosen, sel.by).to_numpy())
    rows = []
    for key, group in chosen.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key, strict=True))
        means, skipped = {}, 0
        for value, at in group.groupby(sel.key, sort=True, dropna=False):
            if at["_score"].isna().any():
                skipped += 1  # runs missing: cannot be judged on these seeds
            else:
                means[value] = float(at["_score"].mean())
        best = min(means, key=lambda v: (means[v], _order(v))) if means else None
        score = means.get(best, math.nan) if best is not None else math.nan
        row.update(
            {
                sel.key: best,
                "score": score,
                "n_choose": int(group["seed"].nunique()),
                "candidates": int(group[sel.key].nunique()),
                "skipped": skipped,
                "why": _no_best(row["depth"], means, skipped, sel.by),
            }
        )
        rows.append(row)
    columns = [*keys, sel.key, "score", "n_choose", "candidates", "skipped", "why"]
    return pd.DataFrame(rows, columns=columns)


def _no_best(depth: Any, means: dict[Any, float], skipped: int, by: str) -> str:
    """Why a depth has no best value ('' where it has one), as the drift says it."""
    worst = DIVERGED_ERROR if by.endswith("_error") else math.inf
    if any(m < worst for m in means.values()):
        return ""
    if means:
        return f"no trainable value at depth {depth}: every value diverged (the worst {by})"
    return f"no value at depth {depth} has every run ({skipped} with runs missing)"


def _order(value: Any) -> Any:
    """Ties go to the smaller value (numbers by size, anything else by name)."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def best_runs(runs: pd.DataFrame, sel: Selection, chosen: pd.DataFrame) -> pd.DataFrame:
    """The runs that report each arch at its best: at the chosen value, on the report seeds.
    The key's column is left out: it now follows the arch and depth, not a variant."""
    keys = [*others(runs, sel.key), "arch", "depth", sel.key]
    picked = chosen.dropna(subset=[sel.key])[keys]
    out = runs[runs["seed"].isin(sel.report_seeds)].merge(picked, on=keys, how="inner")
    return out.drop(columns=[sel.key])


def best_summary(
    runs: pd.DataFrame, sel: Selection, chosen: pd.DataFrame, metric: str
) -> pd.DataFrame:
    """`summarize` of each arch at its best, with the chosen value in a `chosen` column."""
    summary = summarize(best_runs(runs, sel, chosen), metric)
    on = [c for c in summary.columns if c in chosen.columns and c not in ("n",)]
    picked = chosen[[*on, sel.key]].rename(columns={sel.key: "chosen"})
    return summary.merge(picked, on=on, how="left")


def best_of(runs: pd.DataFrame, key: str, by: str = BEST_BY) -> pd.DataFrame:
    """The runs that show each arch, depth and variant at its best value of `key`."""
    sel = selection(runs, key, by)
    return best_runs(runs, sel, choices(runs, sel))


def axis_value(value: Any) -> str:
    """A value of a swept key, short: 2^-7 for a power of two below 1/4, else 3 digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if 0 < value < 0.25 and math.log2(value).is_integer():
        return f"2^{int(math.log2(value))}"
    return f"{value:.3g}"


def estimate_value(value: float) -> str:
    """An estimate of a key's value, off the grid: 2^-6.29 below 1/4 (rates), else 3 digits."""
    if value != value or value <= 0:
        return "—"
    return f"2^{math.log2(value):.2f}" if value < 0.25 else f"{value:.3g}"
