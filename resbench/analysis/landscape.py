"""The landscape of a metric along a swept key, each depth's best value on it, and the drift of
that best value with depth: the tables `resbench report --best-over` and the figures show.

The estimators and their intervals are `resbench.analysis.optimum`'s: the optimum interpolated
around the grid's lowest mean, in log2 of the key's value; the drift, the least-squares slope of
log2(optimum) against **log2 of the residual blocks L** (`blocks`: the rules of depth-μP are
stated in L, which is (D − 2)/2 in an mlp of depth D and 3n in a 6n+2 net), over the depths
whose landscape is clearly better than chance; both with expanded percentile intervals from
resampling seeds.

"Clearly better than chance": the upper end of the 95% t interval of the best value's mean
score lies below what a net that learned nothing scores (`chance`: a loss of ln(classes), an
error of 1 − 1/classes). A depth where it does not, or where no value has a finite mean (every
value diverged, or runs are missing at each), has no trainable value: the drift leaves it out
and says so. Where the dataset's classes are unknown (a user dataset), only the finite mean is
asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resbench.analysis import optimum as opt
from resbench.analysis.choice import numeric_values, others, scores
from resbench.analysis.summary import SEED_STATS, seed_stats
from resbench.analysis.variants import by_variant
from resbench.core.errors import ResbenchError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BLOCKS = "log2 residual blocks L"  # what the drift is a slope against
DEPTH = "log2 depth (this family's residual blocks are not known)"
LAYERS_PER_BLOCK = {"basic": 2, "bottleneck": 3}  # the weight layers of one residual block


def landscape(runs: pd.DataFrame, column: str, metric: str) -> pd.DataFrame:
    """Per variant, arch, depth and value of the key: run counts, and mean, std, min, max of
    `metric` over the ok runs (as `resbench.analysis.summary` counts them)."""
    import pandas as pd

    keys = [*others(runs, column), "arch", "depth", column]
    rows = []
    for key, group in runs.groupby(keys, sort=True, dropna=False):
        rows.append({**dict(zip(keys, key, strict=True)), **seed_stats(group, metric)})
    return pd.DataFrame(rows, columns=[*keys, *SEED_STATS])


# --------------------------------------------------------------------------- depth and chance


def blocks(family: Any, block: Any, depth: int) -> int | None:
    """The residual blocks L of a built-in family's net of `depth`: the depth itself where the
    family counts blocks (the transformer); (depth − 2) / layers per block where it counts
    weight layers (a stem, the blocks, a classifier); None for a family the registry does not
    hold (user code, whose depth may count anything)."""
    from resbench.models.registry import family_names, get_family

    if not isinstance(family, str) or family not in family_names():
        return None
    built = get_family(family)
    if built.user:
        return None
    if built.unit == "block":
        return depth
    per = LAYERS_PER_BLOCK.get(block if isinstance(block, str) else "basic")
    if per is None or depth <= 2 or (depth - 2) % per:
        return None
    return (depth - 2) // per


def chance(runs: pd.DataFrame, metric: str) -> float | None:
    """What a net that learned nothing scores on `metric`: ln(classes) for a loss, 1 − 1/classes
    for an error (uniform predictions); None where the metric is neither or the dataset does
    not say its classes without loading."""
    from resbench.data.registry import options_class

    if "dataset" not in runs or runs["dataset"].nunique() != 1:
        return None
    name = str(runs["dataset"].iloc[0])
    row = runs.iloc[0]
    fields = {
        c.removeprefix("dataset."): row[c]
        for c in runs.columns
        if c.startswith("dataset.") and row[c] == row[c]
    }
    try:
        classes = options_class(name).model_validate({**fields, "name": name}).num_classes()
    except Exception:  # a user dataset, or a column that does not read back: no chance level
        return None
    if classes is None or classes < 2:
        return None
    if metric.endswith("_loss"):
        return math.log(classes)
    return 1 - 1 / classes if metric.endswith("_error") else None


# --------------------------------------------------------------------------- the cube


@dataclass(frozen=True)
class ScoreCube:
    """One arch and variant's scores as an array [seed, depth, value] (NaN: no result; a
    diverged run as `resbench.analysis.choice.scores` values it), with each depth's residual
    blocks (None where unknown)."""

    seeds: tuple[int, ...]
    depths: tuple[int, ...]
    values: tuple[float, ...]
    scores: np.ndarray
    blocks: tuple[int | None, ...]

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
        family = _one(runs, "family")
        block = _one(runs, "model.block")
        return cls(seeds, depths, values, cube, tuple(blocks(family, block, d) for d in depths))

    @property
    def x(self) -> np.ndarray:
        """The grid in log2 of the key's value."""
        import numpy as np

        return np.log2(np.asarray(self.values))

    @property
    def axis(self) -> tuple[np.ndarray, str]:
        """(log2 L per depth, BLOCKS), or (log2 depth, DEPTH) where L is not known."""
        import numpy as np

        if all(b is not None and b > 0 for b in self.blocks):
            return np.log2(np.asarray(self.blocks, dtype=float)), BLOCKS
        return np.log2(np.asarray(self.depths, dtype=float)), DEPTH

    def optima(self, rows: np.ndarray | None = None) -> opt.Optimum:
        """Each depth's optimum in log2 of the value, from every seed or per resample of `rows`
        ([replicates, seed]): arrays [depth] or [replicates, depth]."""
        return opt.optimum(self.x, opt.seed_means(self.scores, rows))

    def resample(self, replicates: int = opt.REPLICATES, seed: int = 0) -> np.ndarray:
        return opt.resample(len(self.seeds), replicates, seed)


def _one(runs: pd.DataFrame, column: str) -> Any:
    """The column's one value in these runs, else None."""
    if column not in runs or runs[column].nunique(dropna=True) != 1:
        return None
    return runs[column].dropna().iloc[0]


# --------------------------------------------------------------------------- the drift


@dataclass(frozen=True)
class Drift:
    """One arch and variant's drift: the slope over the depths kept, its resampled values, and
    the depths left out with why."""

    cube: ScoreCube
    kept: tuple[int, ...]  # indices into cube.depths
    left_out: tuple[str, ...]  # "no trainable value at depth 66 (...)"
    slope: float
    samples: np.ndarray  # per resample (NaN: a resample with no optimum at a kept depth)
    against: str
    chance: float | None  # what a net that learned nothing scores; None: not known

    def interval(self, level: float = opt.LEVEL) -> tuple[float, float]:
        if len(self.cube.seeds) < opt.INTERVAL_FROM:
            return math.nan, math.nan
        return opt.percentile_interval(self.samples, len(self.cube.seeds), level)

    def note(self) -> str:
        """What the slope is against, what was left out, and the resamples without one."""
        parts = [f"slope against {self.against} over depths "]
        parts[0] += ", ".join(str(self.cube.depths[j]) for j in self.kept) or "none"
        parts += self.left_out
        lost = int((self.samples != self.samples).sum())
        if lost:
            parts.append(f"{lost} of {len(self.samples)} resamples found no optimum at a depth")
        return "; ".join(parts)


def trainable(cube: ScoreCube, level_chance: float | None, by: str) -> list[str | None]:
    """Per depth, why it has no trainable value (None where it has one): no finite mean, or a
    best mean not clearly below chance (module docstring)."""
    import numpy as np
    from scipy.stats import t

    best = cube.optima()
    out: list[str | None] = []
    for j, depth in enumerate(cube.depths):
        i = int(best.index[j])
        if i < 0:
            out.append(f"no trainable value at depth {depth} (no value has a finite mean {by})")
            continue
        at = cube.scores[:, j, i]
        mean = float(at.mean())
        upper = mean  # one seed: no interval, the mean itself
        if len(at) > 1:
            spread = float(np.std(at, ddof=1)) / math.sqrt(len(at))
            upper += float(t.ppf(0.5 + opt.LEVEL / 2, len(at) - 1)) * spread
        if level_chance is not None and not upper < level_chance:
            out.append(
                f"no trainable value at depth {depth} (best mean {by} {mean:.3f}, 95% upper "
                f"bound {upper:.3f}, not clearly below chance {level_chance:.3f})"
            )
        else:
            out.append(None)
    return out


def drift_of(
    cube: ScoreCube, by: str, level_chance: float | None, rows: np.ndarray | None = None
) -> Drift:
    """The drift of `cube` over its trainable depths, resampled by `rows` (none: no interval)."""
    import numpy as np

    why = trainable(cube, level_chance, by)
    kept = tuple(j for j, w in enumerate(why) if w is None)
    u, against = cube.axis
    slope = float(opt.slopes(u[list(kept)], cube.optima().estimate[list(kept)]))
    samples = np.array([])
    if rows is not None and len(cube.seeds) >= opt.INTERVAL_FROM:
        samples = opt.slopes(u[list(kept)], cube.optima(rows).estimate[:, list(kept)])
    left_out = tuple(w for w in why if w is not None)
    return Drift(cube, kept, left_out, slope, samples, against, level_chance)


def drift_caption(drift_frame: pd.DataFrame, key: str, by: str) -> str:
    """What the best-value table and its drift are, in one paragraph, with the depths each
    drift leaves out."""
    n = int(drift_frame["n_seeds"].max()) if len(drift_frame) else 0
    against = BLOCKS if (drift_frame["against"] == BLOCKS).all() else "log2 L (or log2 depth)"
    text = (
        f"best {key}: the optimum of the mean {by} over all {n} seeds, interpolated around the "
        f"grid's best; drift: the slope of its log2 against {against}, over the depths "
        "clearly better than chance, with a 95% expanded percentile interval from resampling "
        "seeds"
    )
    left = [n for note in drift_frame["note"] for n in note.split("; ") if n.startswith("no ")]
    return "; ".join([text, *dict.fromkeys(left)])


def drift(
    runs: pd.DataFrame, column: str, by: str, replicates: int = opt.REPLICATES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(best values, drifts). Per variant, arch and depth: the grid's best value of `column` by
    the mean `by` over every seed (under the key's name) and that mean, whether it lies at the
    grid's edge (the optimum may lie beyond), the interpolated optimum with its interval, the
    residual blocks and whether the depth counts as trainable. Per variant and arch: the drift
    with its interval from `replicates` seed resamplings, and a note saying what it is a slope
    against and which depths it leaves out."""
    import pandas as pd

    if not numeric_values(runs, column):
        raise ResbenchError(f"{column}: a drift needs positive numeric values")
    variants = others(runs, column)
    level_chance = chance(runs, by)
    best_rows, drift_rows = [], []
    for values, group in by_variant(runs, variants):
        for arch, at in group.groupby("arch", sort=True):
            cube = ScoreCube.of(at, column, by)
            rows = cube.resample(replicates)
            found = drift_of(cube, by, level_chance, rows)
            best_rows += _best_rows({**values, "arch": arch}, cube, column, found, rows)
            low, high = found.interval()
            drift_rows.append(
                {
                    **values,
                    "arch": arch,
                    "drift": found.slope,
                    "low": low,
                    "high": high,
                    "n_seeds": len(cube.seeds),
                    "depths": len(found.kept),
                    "values": len(cube.values),
                    "against": found.against,
                    "note": found.note(),
                }
            )
    keys = [*variants, "arch"]
    best_columns = [*keys, "depth", "blocks", column, "score", "at_edge", "optimum", "optimum_low"]
    best_columns += ["optimum_high", "interpolated", "trainable", "chance"]
    drift_columns = [*keys, "drift", "low", "high", "n_seeds", "depths", "values", "against"]
    best = pd.DataFrame(best_rows, columns=best_columns).astype({"chance": float})
    return best, pd.DataFrame(drift_rows, columns=[*drift_columns, "note"])


def _best_rows(
    key: dict[str, Any], cube: ScoreCube, column: str, found: Drift, rows: np.ndarray
) -> list[dict[str, Any]]:
    """The best-values table's rows of one cube (`drift`'s docstring)."""
    import numpy as np

    best = cube.optima()
    resampled = cube.optima(rows).estimate if len(cube.seeds) >= opt.INTERVAL_FROM else None
    out = []
    for j, depth in enumerate(cube.depths):
        i = int(best.index[j])
        low = high = math.nan
        if resampled is not None and i >= 0:
            low, high = opt.percentile_interval(resampled[:, j], len(cube.seeds))
        out.append(
            {
                **key,
                "depth": depth,
                "blocks": cube.blocks[j],
                column: cube.values[i] if i >= 0 else math.nan,
                "score": float(np.mean(cube.scores[:, j, i])) if i >= 0 else math.nan,
                "at_edge": i in (0, len(cube.values) - 1),
                "optimum": 2 ** float(best.estimate[j]) if i >= 0 else math.nan,
                "optimum_low": 2**low,
                "optimum_high": 2**high,
                "interpolated": bool(best.interpolated[j]),
                "trainable": j in found.kept,
                "chance": found.chance,
            }
        )
    return out
