"""A sweep's other axes: the best value of a swept key (the learning rate, say) per arch, depth
and variant; the landscape of a metric along that key; the drift of the best value with
depth; and the depth each arch reaches.

The best of k noisy means flatters the figure it is chosen by. So where a sweep has at least
`HELD_OUT_FROM` seeds, the value is chosen on the first half of them (in seed order) and the
figures are reported on the others; with fewer, the choice and the figures come from the same
seeds, and `Selection.describe` says so.

How runs that did not end `ok` count, as in `resbench.analysis.verdicts`: to choose, a diverged run
is the worst value there is (error 1.0, loss +∞), so a value at which a seed diverged is chosen only
when every value did; a value with runs missing (failed, oom, killed) among the seeds it is
chosen on is not a candidate. The drift is the least-squares slope of log2(best value) against
log2(depth): 0 when the best value transfers across depth, −1 when it halves with each doubling
of depth. Its interval comes from resampling seeds (a seed's runs at every value and depth
together) and choosing again.

Pure functions over the runs table (`resbench.store.tables.load_runs`); rendering is
`resbench.views.text`'s and `resbench.views.png`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resbench.analysis.judging import DIVERGED_ERROR, groups
from resbench.analysis.summary import (
    SEED_STATS,
    describe,
    require_metric,
    seed_stats,
    status_counts,
    summarize,
)
from resbench.analysis.variants import by_variant, variant_columns
from resbench.core.errors import ResbenchError
from resbench.sweep.defaults import BEST_BY, REACH_TOLERANCE

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

HELD_OUT_FROM = 4  # seeds from which the choice is made on half and the figures on the rest
REPLICATES = 2000  # seed resamplings behind a drift's interval
# Fewer seeds give no drift interval: 3 seeds have only 10 distinct resamplings.
INTERVAL_FROM = 4
LEVEL = 0.95


# --------------------------------------------------------------------------- the key


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
    score on the seeds it was chosen on, their number, the candidates, and how many were left
    out for runs missing."""
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
        row.update(
            {
                sel.key: best,
                "score": means.get(best, math.nan) if best is not None else math.nan,
                "n_choose": int(group["seed"].nunique()),
                "candidates": int(group[sel.key].nunique()),
                "skipped": skipped,
            }
        )
        rows.append(row)
    columns = [*keys, sel.key, "score", "n_choose", "candidates", "skipped"]
    return pd.DataFrame(rows, columns=columns)


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


# --------------------------------------------------------------------------- the landscape


def landscape(runs: pd.DataFrame, column: str, metric: str) -> pd.DataFrame:
    """Per variant, arch, depth and value of the key: run counts, and mean, std, min, max of
    `metric` over the ok runs (as `resbench.analysis.summary` counts them)."""
    import pandas as pd

    keys = [*others(runs, column), "arch", "depth", column]
    rows = []
    for key, group in runs.groupby(keys, sort=True, dropna=False):
        rows.append({**dict(zip(keys, key, strict=True)), **seed_stats(group, metric)})
    return pd.DataFrame(rows, columns=[*keys, *SEED_STATS])


# --------------------------------------------------------------------------- the drift


@dataclass(frozen=True)
class ScoreCube:
    """One arch and variant's scores as an array [seed, depth, value] (NaN: no result)."""

    seeds: tuple[int, ...]
    depths: tuple[int, ...]
    values: tuple[float, ...]
    scores: np.ndarray

    @classmethod
    def of(cls, runs: pd.DataFrame, column: str, by: str) -> ScoreCube:
        import numpy as np

        frame = runs.assign(
            _score=scores(runs, by).to_numpy(), _value=runs[column].astype(float).to_numpy()
        )
        seeds = tuple(sorted(int(s) for s in frame["seed"].unique()))
        depths = tuple(sorted(int(d) for d in frame["depth"].unique()))
        values = tuple(sorted(float(v) for v in frame["_value"].unique()))
        cube = np.full((len(seeds), len(depths), len(values)), np.nan)
        for s, d, v, score in frame[["seed", "depth", "_value", "_score"]].itertuples(index=False):
            cube[seeds.index(int(s)), depths.index(int(d)), values.index(float(v))] = score
        return cls(seeds, depths, values, cube)

    def best(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The index of the best value at each depth from the mean over the seeds `rows` (all,
        or per replicate: shape [replicates, seeds]); -1 where no value has a finite mean."""
        import numpy as np

        cube = self.scores if rows is None else self.scores[rows]  # [..., seed, depth, value]
        with np.errstate(invalid="ignore"):
            means = np.nanmean(cube, axis=-3)  # seeds without a result are left out
        finite = np.isfinite(means)
        index = np.argmin(np.where(finite, means, np.inf), axis=-1)
        return np.where(finite.any(axis=-1), index, -1)

    def slopes(self, best: np.ndarray) -> np.ndarray:
        """The least-squares slope of log2(best value) on log2(depth), per row of `best`
        (depths without a best are left out; NaN with fewer than two)."""
        import numpy as np

        x = np.log2(np.asarray(self.depths, dtype=float))
        y = np.log2(np.asarray(self.values))[np.maximum(best, 0)]
        w = (best >= 0).astype(float)
        n = w.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = (w * x).sum(axis=-1) / n
            my = (w * y).sum(axis=-1) / n
            dx = x - mx[..., None]
            cov = (w * dx * (y - my[..., None])).sum(axis=-1)
            var = (w * dx * dx).sum(axis=-1)
            return np.where((n >= 2) & (var > 0), cov / var, np.nan)

    def resample(self, replicates: int = REPLICATES, seed: int = 0) -> np.ndarray:
        """Seed indices drawn with replacement: [replicates, seeds]."""
        import numpy as np

        rng = np.random.default_rng(seed)
        return rng.integers(0, len(self.seeds), size=(replicates, len(self.seeds)))


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of bootstrap `samples` (NaNs left out)."""
    import numpy as np

    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def drift_interval(cube: ScoreCube, replicates: int = REPLICATES) -> tuple[float, float]:
    """The 95% interval of the drift from resampling seeds; NaN with too few seeds."""
    if len(cube.seeds) < INTERVAL_FROM:
        return math.nan, math.nan
    return interval(cube.slopes(cube.best(cube.resample(replicates))))


def drift(
    runs: pd.DataFrame, column: str, by: str, replicates: int = REPLICATES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(best values, drifts): per variant, arch and depth the best value of `column` by the
    mean of `by` over every seed (and whether it lies at the edge of the grid, where the
    optimum may lie beyond); per variant and arch the drift, its interval from `replicates`
    seed resamplings and how often each resampling's best moved."""
    import numpy as np
    import pandas as pd

    if not numeric_values(runs, column):
        raise ResbenchError(f"{column}: a drift needs positive numeric values")
    variants = others(runs, column)
    best_rows, drift_rows = [], []
    for values, group in by_variant(runs, variants):
        for arch, at in group.groupby("arch", sort=True):
            cube = ScoreCube.of(at, column, by)
            best = cube.best()
            for j, depth in enumerate(cube.depths):
                i = int(best[j])
                best_rows.append(
                    {
                        **values,
                        "arch": arch,
                        "depth": depth,
                        column: cube.values[i] if i >= 0 else math.nan,
                        "score": float(np.nanmean(cube.scores[:, j, i])) if i >= 0 else math.nan,
                        "at_edge": i in (0, len(cube.values) - 1),
                    }
                )
            slope = float(cube.slopes(best))
            low, high = drift_interval(cube, replicates)
            drift_rows.append(
                {
                    **values,
                    "arch": arch,
                    "drift": slope,
                    "low": low,
                    "high": high,
                    "n_seeds": len(cube.seeds),
                    "depths": len(cube.depths),
                    "values": len(cube.values),
                }
            )
    best_columns = [*variants, "arch", "depth", column, "score", "at_edge"]
    drift_columns = [*variants, "arch", "drift", "low", "high", "n_seeds", "depths", "values"]
    return pd.DataFrame(best_rows, columns=best_columns), pd.DataFrame(
        drift_rows, columns=drift_columns
    )


# --------------------------------------------------------------------------- reach


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


# --------------------------------------------------------------------------- a whole report


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
