"""Statistics over seeds: the Welch t interval for a difference of two means.

Seeds are few (3 is typical), so the interval uses Student's t with the Welch-Satterthwaite
degrees of freedom rather than a normal approximation, and does not assume equal variances:
a deep plain net's seeds scatter far more than a shallow one's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """mean(a) - mean(b) and its 95% confidence interval."""

    diff: float
    low: float
    high: float
    df: float


def welch_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """95% Welch t interval for mean(a) - mean(b); each group needs at least two values."""
    from scipy.stats import t

    if len(a) < 2 or len(b) < 2:
        raise ValueError("a Welch interval needs at least two values in each group")
    diff = statistics.fmean(a) - statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        # Every seed gave the same value in both groups: the difference is known exactly.
        return Interval(diff, diff, diff, math.inf)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(t.ppf(0.975, df)) * se
    return Interval(diff, diff - half, diff + half, df)
