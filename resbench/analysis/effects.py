"""Effect sizes and robust summaries of seeds, beside the mean ± std.

- **The probability of improvement** P(A < B): over every pair of a seed of A and a seed of B,
  how often A's metric is the lower (ties count half); the Mann–Whitney U statistic divided by
  n_A·n_B. It says how often one arch beats another, not by how much (rliable's "probability
  of improvement": Agarwal et al. 2021, Deep Reinforcement Learning at the Edge of the
  Statistical Precipice). Its interval comes from a stratified bootstrap: each group's seeds
  resampled on their own, as rliable does, with the expanded percentile ends of
  `resbench.analysis.optimum.tail` at the smaller group's n. Where every pair agrees the
  resamples agree too and the interval closes on the point: the bootstrap cannot see past its
  sample, and `benchmarks/coverage.py` measures how often that misleads (docs/statistics.md).
- **The median and the interquartile mean** (the mean of the middle half, rliable's IQM), and
  whether a group's seeds **split** into two humps (a deep plain net that trains on some seeds
  and sticks on others), where the mean describes no seed and those are the figures to read:
  the best division of the sorted values into two groups of at least two seeds leaves less of
  the spread within the groups than it does in 95% of normal samples of the same n (a test of
  one hump at 5%, its critical values simulated once per n with a fixed seed).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resbench.analysis.optimum import LEVEL, REPLICATES, p_value, percentile_interval

if TYPE_CHECKING:
    import numpy as np

SPLIT_FROM = 4  # seeds: two humps of two at least
SPLIT_LEVEL = 0.05  # how often one normal hump is called split


@dataclass(frozen=True)
class Improvement:
    """P(A < B) over seed pairs, its stratified-bootstrap interval and resamples."""

    point: float
    low: float
    high: float
    n: tuple[int, int]
    samples: np.ndarray

    def p_above(self, bound: float) -> float:
        """The one-sided p-value of "P(A < B) > bound", matching the interval."""
        return p_value(self.samples, min(self.n), bound, "above")

    def describe(self, a: str, b: str) -> str:
        """'P(residual-56 < plain-56) 1.00 [1.00, 1.00] over 64 seed pairs (n 8, 8)'."""
        spread = f" [{self.low:.2f}, {self.high:.2f}]" if self.low == self.low else ""
        pairs = f"{self.n[0] * self.n[1]} seed pairs (n {self.n[0]}, {self.n[1]})"
        return f"P({a} < {b}) {self.point:.2f}{spread} over {pairs}"


def wins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[i, j]: 1 where a[i] < b[j], ½ where equal, 0 where above."""
    import numpy as np

    a, b = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[None, :]
    return (a < b) + 0.5 * (a == b)


def improvement(
    a: Sequence[float],
    b: Sequence[float],
    replicates: int = REPLICATES,
    level: float = LEVEL,
    seed: int = 0,
) -> Improvement:
    """P(A < B) with its stratified-bootstrap interval (no interval under two seeds a side)."""
    import numpy as np

    table = wins(np.asarray(a), np.asarray(b))
    n = (len(a), len(b))
    point = float(table.mean())
    if min(n) < 2:
        return Improvement(point, math.nan, math.nan, n, np.array([]))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n[0], size=(replicates, n[0]))
    cols = rng.integers(0, n[1], size=(replicates, n[1]))
    # Resample A's rows and B's columns of the table: each group's seeds on their own.
    samples = table[rows[:, :, None], cols[:, None, :]].mean(axis=(1, 2))
    low, high = percentile_interval(samples, min(n), level)
    return Improvement(point, low, high, n, samples)


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
    """Do the seeds fall into two humps (module docstring)? Never under SPLIT_FROM seeds."""
    import numpy as np

    if len(values) < SPLIT_FROM:
        return False
    ordered = np.sort(np.asarray(values, dtype=float))
    return bool(_split_statistic(ordered) > split_threshold(len(values)))
