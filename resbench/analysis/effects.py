"""Effect sizes and robust summaries of seeds, beside the mean ± std.

- **The probability of improvement** P(A < B): over every pair of a seed of A and a seed of B,
  how often A's metric is the lower (ties count half); the Mann–Whitney U statistic divided by
  n_A·n_B. It says how often one arch beats another, not by how much (rliable's "probability
  of improvement": Agarwal et al. 2021, Deep Reinforcement Learning at the Edge of the
  Statistical Precipice). Its interval is Newcombe's score interval (2006, "Confidence
  intervals for an effect size measure based on the Mann–Whitney statistic", part 2, method 5):
  the values θ that a score test with the Hanley–McNeil variance, its group sizes averaged,
  does not reject. rliable's stratified bootstrap (each group's seeds resampled on their own,
  `stratified_bootstrap`) was measured beside it (`benchmarks/coverage.py`,
  docs/statistics.md): it closes on the point where every pair agrees, covering a true P of 0.98
  in 17-71% of draws at 4-16 seeds, while the score interval covers 93-98% everywhere measured.
- **The median and the interquartile mean** (the mean of the middle half, rliable's IQM), and
  whether a group's seeds **split** into two humps (a deep plain net that trains on some seeds
  and sticks on others), where the mean describes no seed and those are the figures to read:
  the best division of the sorted values into two groups of at least two seeds leaves less of
  the spread within the groups than it does in 95% of normal samples of the same n (a test of
  one hump at 5%, its critical values simulated once per n with a fixed seed), and the two
  groups' means lie a tenth of the mean or more apart (a split that matters: errors near chance
  come in steps of one example, and cluster at 0.897 and 0.900 beyond any normal).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resbench.analysis.optimum import LEVEL, REPLICATES

if TYPE_CHECKING:
    import numpy as np

SPLIT_FROM = 4  # seeds: two humps of two at least
SPLIT_LEVEL = 0.05  # how often one normal hump is called split
SPLIT_GAP = 0.1  # the humps' means at least this share of the mean apart, to matter


@dataclass(frozen=True)
class Improvement:
    """P(A < B) over seed pairs and the groups' sizes; its interval and tests are Newcombe's."""

    point: float
    n: tuple[int, int]

    def variance(self, theta: float) -> float:
        """The Hanley–McNeil variance of the estimate were P = θ, with Newcombe's averaged
        group size N = (n_A + n_B)/2 in both correction terms."""
        m, k = self.n
        size = (m + k) / 2
        spread = (1 - theta) / (2 - theta) + theta / (1 + theta)
        return theta * (1 - theta) / (m * k) * (1 + (size - 1) * spread)

    def interval(self, level: float = LEVEL) -> tuple[float, float]:
        """The θ a two-sided score test at `level` does not reject: (P̂ − θ)² ≤ z²·V(θ)."""
        from scipy.optimize import brentq
        from scipy.stats import norm

        if min(self.n) < 2:
            return math.nan, math.nan
        z = float(norm.ppf(0.5 + level / 2))

        def outside(theta: float) -> float:
            return (self.point - theta) ** 2 - z * z * self.variance(theta)

        # The score's bound is 0 at P̂ itself, and also at 0 and 1 where V vanishes: the
        # brackets stop short of both ends.
        edge = 1e-9
        inside = min(max(self.point, edge), 1 - edge)
        low = 0.0 if outside(edge) <= 0 else brentq(outside, edge, inside)
        high = 1.0 if outside(1 - edge) <= 0 else brentq(outside, inside, 1 - edge)
        return float(low), float(high)

    def p_above(self, bound: float) -> float:
        """The one-sided score test's p-value for "P(A < B) > bound"."""
        from scipy.stats import norm

        if min(self.n) < 2:
            return math.nan
        spread = math.sqrt(self.variance(bound))
        if spread == 0:
            return 0.0 if self.point > bound else 1.0
        return float(norm.sf((self.point - bound) / spread))

    def se(self) -> float:
        return math.sqrt(self.variance(self.point))

    def describe(self, a: str, b: str, level: float = LEVEL) -> str:
        """'P(residual-56 < plain-56) 1.00 [0.83, 1.00] over 64 seed pairs (n 8, 8)'."""
        low, high = self.interval(level)
        spread = f" [{low:.2f}, {high:.2f}]" if low == low else ""
        pairs = f"{self.n[0] * self.n[1]} seed pairs (n {self.n[0]}, {self.n[1]})"
        return f"P({a} < {b}) {self.point:.2f}{spread} over {pairs}"


def wins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[i, j]: 1 where a[i] < b[j], ½ where equal, 0 where above."""
    import numpy as np

    a, b = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[None, :]
    return (a < b) + 0.5 * (a == b)


def improvement(a: Sequence[float], b: Sequence[float]) -> Improvement:
    """P(A < B) over the seed pairs of `a` and `b`."""
    import numpy as np

    return Improvement(float(wins(np.asarray(a), np.asarray(b)).mean()), (len(a), len(b)))


def stratified_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    replicates: int = REPLICATES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """rliable's interval for P(A < B): each group's seeds resampled on their own, the
    percentile ends (measured against `Improvement.interval`, not used by the checks)."""
    import numpy as np

    table = wins(np.asarray(a), np.asarray(b))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(a), size=(replicates, len(a)))
    cols = rng.integers(0, len(b), size=(replicates, len(b)))
    samples = table[rows[:, :, None], cols[:, None, :]].mean(axis=(1, 2))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def iqm(values: Sequence[float]) -> float:
    """The interquartile mean: the mean of the middle half (a quarter cut from each end)."""
    from scipy.stats import trim_mean

    return float(trim_mean(values, 0.25)) if len(values) else math.nan


def _split_statistic(ordered: np.ndarray) -> np.ndarray:
    """Per row of sorted values [..., n]: the largest share of the spread that a division into
    a lower and an upper group of at least two explains (between-group over total squares)."""
    import numpy as np

    n = ordered.shape[-1]
    total = ((ordered - ordered.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
    cuts = np.arange(2, n - 1)  # the lower group's size
    sums = np.cumsum(ordered, axis=-1)[..., cuts - 1]
    grand = ordered.sum(axis=-1, keepdims=True)
    low_mean, high_mean = sums / cuts, (grand - sums) / (n - cuts)
    between = cuts * (n - cuts) / n * (high_mean - low_mean) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, between.max(axis=-1) / total, 0.0)


@functools.lru_cache(maxsize=64)
def split_threshold(n: int, level: float = SPLIT_LEVEL, draws: int = 20000) -> float:
    """The split statistic that normal samples of `n` exceed with probability `level`."""
    import numpy as np

    rng = np.random.default_rng(n)  # fixed per n: the same threshold every time
    sample = np.sort(rng.standard_normal((draws, n)), axis=-1)
    return float(np.quantile(_split_statistic(sample), 1 - level))


def split(values: Sequence[float]) -> bool:
    """Do the seeds fall into two humps (module docstring), a tenth of the mean or more apart?
    Never under SPLIT_FROM seeds."""
    import numpy as np

    if len(values) < SPLIT_FROM:
        return False
    ordered = np.sort(np.asarray(values, dtype=float))
    if not _split_statistic(ordered) > split_threshold(len(values)):
        return False
    # The humps of the best division, which the statistic found: are they far enough apart to
    # matter (discrete errors near chance cluster at 0.897 and 0.900, beyond any normal)?
    n = len(ordered)
    cuts = np.arange(2, n - 1)
    between = [c * (n - c) * (ordered[c:].mean() - ordered[:c].mean()) ** 2 for c in cuts]
    cut = int(cuts[int(np.argmax(between))])
    return bool(ordered[cut:].mean() - ordered[:cut].mean() > SPLIT_GAP * abs(ordered.mean()))
