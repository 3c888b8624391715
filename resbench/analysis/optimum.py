"""The best value of a swept key as a continuous estimate, its drift with depth, and the seed
bootstrap behind their intervals: array arithmetic, no frames (`resbench.analysis.landscape`
builds the tables from it).

**The optimum at one depth.** The mean score over seeds at each value of the key (a grid, in
log2 for a rate) has its lowest point at grid index k. A parabola through the means at k − 1,
k and k + 1 puts the optimum at its vertex (Brent's three-point formula, any spacing); the
vertex of three points whose middle one is lowest lies between the outer two, and the estimate
is held there. Where the parabola cannot be drawn the estimate is the grid value itself and
says so (`interpolated` False):
- at the grid's edge (k first or last): the optimum may lie beyond, and nothing here can say
  how far; a bootstrap interval of such a depth reaches no further than the edge;
- beside a value with no finite mean (a diverged run there, counted +∞, or runs missing).
A flat minimum (two equal lowest means) puts the estimate halfway between them: ties go to
the smaller value as grid index, and the parabola through the tie is symmetric about its middle.
A landscape with two separate valleys is read around its lowest grid point only: resampled
seeds may find the other valley, and the interval then spans both, as it should.

**Gaps.** One rule, for choosing and for the drift: a value whose mean cannot be formed from
every seed asked (a run missing) is no candidate; a diverged run scores +∞ (loss) or 1.0
(error), so a value where a seed diverged is the worst; a depth where no value has a finite
mean has no best value.

**The drift** is the least-squares slope of log2(estimated optimum) against log2 of the
residual blocks L (`resbench.analysis.landscape.blocks`), over the depths it is computed at:
0 when the best value transfers across depth, −½ for a rate that falls as 1/√L.

**Intervals** come from resampling seeds with replacement (a seed's runs at every value and
depth together, so that whatever a seed shares across them travels with it), estimating again
in each resample and taking the percentiles. Their coverage is measured by simulation
(`benchmarks/coverage.py`, docs/statistics.md), not assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

LEVEL = 0.95  # two-sided: each end at 2.5%, as the claims' Welch intervals
REPLICATES = 2000  # seed resamplings behind an interval
# Fewer seeds give no interval: 3 seeds have only 10 distinct resamplings.
INTERVAL_FROM = 4
RESOLVED = 10  # resamples beyond a bound from which their count gives its p-value


@dataclass(frozen=True)
class Optimum:
    """Per row of a [..., value] array of means: the estimated optimum (in the grid's units, NaN
    where no value has a finite mean), the grid index of the lowest mean (−1: none), and
    whether the estimate is interpolated (False: the grid value, at an edge or beside a gap)."""

    estimate: np.ndarray
    index: np.ndarray
    interpolated: np.ndarray


def optimum(x: np.ndarray, means: np.ndarray) -> Optimum:
    """The optimum of each row of `means` [..., len(x)] over the increasing grid `x`: the
    vertex of the parabola through the lowest mean and its neighbours, refined by the cubic
    through four points where the grid has them (the module's docstring says when)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    finite = np.isfinite(means)
    has = finite.any(axis=-1)
    k = np.argmin(np.where(finite, means, np.inf), axis=-1)  # the first of equal lowest means
    last = len(x) - 1

    def at(i: np.ndarray) -> np.ndarray:
        return np.take_along_axis(means, np.clip(i, 0, last)[..., None], axis=-1)[..., 0]

    f0, fb, fa = at(k), at(k - 1), at(k + 1)
    inner = has & (k > 0) & (k < last) & np.isfinite(fb) & np.isfinite(fa)
    x0, xb, xa = x[k], x[np.clip(k - 1, 0, last)], x[np.clip(k + 1, 0, last)]
    db, da = x0 - xb, x0 - xa
    with np.errstate(invalid="ignore", divide="ignore"):
        num = db * db * (f0 - fa) - da * da * (f0 - fb)
        den = db * (f0 - fa) - da * (f0 - fb)
        vertex = np.clip(x0 - 0.5 * num / den, xb, xa)
    inner &= np.isfinite(vertex)
    # The fourth point lies beyond the lower neighbour, on the side where the optimum is.
    first = np.where(fa < fb, k - 1, k - 2)
    cubic = _cubic_minimum(x, means, np.clip(first, 0, max(last - 3, 0)), x0, xb, xa)
    fits = inner & (first >= 0) & (first + 3 <= last) & np.isfinite(cubic)
    for j in range(4):  # every one of the four means must be there
        fits &= np.isfinite(at(first + j))
    estimate = np.where(fits, cubic, np.where(inner, vertex, x0))
    return Optimum(np.where(has, estimate, np.nan), np.where(has, k, -1), inner)


def _cubic_minimum(
    x: np.ndarray, means: np.ndarray, first: np.ndarray, x0: np.ndarray, xb: np.ndarray,
    xa: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The local minimum of the cubic through the means at first..first+3, where it lies
    between xb and xa (NaN where it does not, or where the window is not on the grid)."""
    import numpy as np

    if len(x) < 4:
        return np.full(first.shape, np.nan)
    window = first[..., None] + np.arange(4)
    t = x[window] - x0[..., None]  # offsets from the lowest point: a well-conditioned system
    y = np.take_along_axis(means, window, axis=-1)
    usable = np.isfinite(y).all(axis=-1)
    system = np.stack([t**3, t**2, t, np.ones_like(t)], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        y = np.where(usable[..., None], y, 0.0)
        a, b, c, _ = np.moveaxis(np.linalg.solve(system, y[..., None])[..., 0], -1, 0)
        # p'(t) = 3a t² + 2b t + c; its root (−b + √D) / 3a has p'' = 2√D > 0: the minimum,
        # written as −c / (b + √D) to stay exact as a → 0 (a parabola).
        disc = b * b - 3 * a * c
        t_min = -c / (b + np.sqrt(np.maximum(disc, 0.0)))
        real = (disc >= 0) & usable
        inside = real & (t_min >= xb - x0) & (t_min <= xa - x0)
    return np.where(inside, x0 + t_min, np.nan)


def slopes(u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares slope of `y` [..., depth] on `u` [depth], per row; NaN where a row has
    a NaN or fewer than two distinct u."""
    import numpy as np

    u = np.asarray(u, dtype=float)
    if len(u) < 2 or np.ptp(u) == 0:
        return np.full(y.shape[:-1], np.nan)
    du = u - u.mean()
    return (y * du).sum(axis=-1) / (du * du).sum()


def seed_means(scores: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """The mean over seeds of `scores` [seed, ...], or per resample of `rows` [replicates, seed]
    ([replicates, ...]): NaN where a seed asked has no result, +∞ where one diverged."""
    import numpy as np

    picked = scores if rows is None else scores[rows]
    with np.errstate(invalid="ignore"):
        return picked.mean(axis=-scores.ndim)


def resample(seeds: int, replicates: int = REPLICATES, seed: int = 0) -> np.ndarray:
    """Seed indices drawn with replacement: [replicates, seeds]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(0, seeds, size=(replicates, seeds))


def tail(n: int, level: float = LEVEL) -> float:
    """The percentile each end of an interval over `n` seeds is taken at: Hesterberg's expanded
    percentile interval (2015), Φ(√(n/(n−1)) · t₍n−1₎((1 − level)/2)) for a nominal
    (1 − level)/2, which undoes the plain percentile interval's narrowness at few seeds (a
    bootstrap's spread is the sample's, short by √((n−1)/n), and a normal quantile stands where
    a t quantile belongs)."""
    from scipy.stats import norm, t

    return float(norm.cdf(math.sqrt(n / (n - 1)) * t.ppf((1 - level) / 2, n - 1)))


def percentile_interval(samples: np.ndarray, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The expanded percentile interval at `level` of bootstrap `samples` resampled from `n`
    seeds (NaNs, resamples with no estimate, left out)."""
    import numpy as np

    finite = samples[~np.isnan(samples)]
    if not len(finite) or n < 2:
        return math.nan, math.nan
    end = 100 * tail(n, level)
    low, high = np.percentile(finite, [end, 100 - end])
    return float(low), float(high)


def p_value(samples: np.ndarray, n: int, bound: float, side: str) -> float:
    """The one-sided p-value that matches `percentile_interval`: the smallest α at which the
    expanded interval at level 1 − 2α lies wholly `side` ("above" or "below") of `bound`.

    From q, the share of resamples on the wrong side of the bound, by inverting the expansion:
    α = T₍n−1₎(Φ⁻¹(q) / √(n/(n−1))). Where fewer than `RESOLVED` resamples lie there, the
    count cannot tell a small q from a tiny one (and a family of claims asks for tiny levels):
    q is then read from the normal with the resamples' mean and spread.
    """
    import numpy as np
    from scipy.stats import norm, t

    finite = samples[~np.isnan(samples)]
    if not len(finite) or n < 2:
        return math.nan
    wrong = int(((finite <= bound) if side == "above" else (finite >= bound)).sum())
    q = wrong / len(finite)
    if wrong < RESOLVED:
        spread = float(finite.std(ddof=1))
        gap = float(finite.mean()) - bound
        gap = gap if side == "above" else -gap
        q = float(norm.sf(gap / spread)) if spread > 0 else (0.0 if gap > 0 else 1.0)
    q = min(max(q, 0.0), 1.0)
    return float(t.cdf(norm.ppf(q) / math.sqrt(n / (n - 1)), n - 1)) if 0 < q < 1 else q
