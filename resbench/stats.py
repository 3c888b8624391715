"""Statistics over seeds: the Welch t interval for a difference of two means.

Seeds are few (3 is typical), so the interval uses Student's t with the Welch-Satterthwaite
degrees of freedom rather than a normal approximation, and does not assume equal variances:
a deep plain net's seeds scatter far more than a shallow one's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95

# Two-sided 95% quantiles of Student's t (the 0.975 point), for when scipy is missing.
# Fractional degrees of freedom round down, which widens the interval: never a false pass.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}  # fmt: skip


@dataclass(frozen=True)
class Interval:
    """mean(a) - mean(b) and its 95% confidence interval."""

    diff: float
    low: float
    high: float
    df: float


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def variance(values: Sequence[float]) -> float:
    """Sample variance (ddof 1)."""
    m = mean(values)
    return sum((v - m) ** 2 for v in values) / (len(values) - 1)


def t_quantile_975(df: float) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom."""
    try:
        from scipy.stats import t
    except ImportError:
        return t_table_975(df)
    return float(t.ppf(0.975, df))


def t_table_975(df: float) -> float:
    """The 0.975 quantile from a table, rounding `df` down (a wider, safe interval)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    return _T975[max(k for k in _T975 if k <= df)]


def welch_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """95% Welch t interval for mean(a) - mean(b); each group needs at least two values."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("a Welch interval needs at least two values in each group")
    diff = mean(a) - mean(b)
    va, vb = variance(a) / len(a), variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        # Every seed gave the same value in both groups: the difference is known exactly.
        return Interval(diff, diff, diff, math.inf)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_quantile_975(df) * se
    return Interval(diff, diff - half, diff + half, df)
