"""Statistics over seeds: Welch t intervals for differences of means.

Seeds are few (3 is typical), so the intervals use Student's t with the Welch-Satterthwaite
degrees of freedom rather than a normal approximation, and do not assume equal variances:
a deep plain net's seeds scatter far more than a shallow one's.

What that assumes: each group's mean is close to normally distributed. A deep plain net's
seeds are bimodal (a seed trains or gets stuck), which a t interval meets only roughly; its
variance grows with the mixture, so the interval widens, and `benchmarks/gate.py` measures the
false-alarm rate that results from real runs rather than trusting the assumption.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

LEVEL = 0.95  # the confidence of an interval, unless a caller needs another


@dataclass(frozen=True)
class Interval:
    """A difference of means (or a sum of them, weighted) and its confidence interval."""

    diff: float
    low: float
    high: float
    df: float
    level: float = LEVEL


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """Welch t interval for mean(a) - mean(b); each group needs at least two values."""
    return contrast_interval([(1.0, a), (-1.0, b)], level)


def contrast_interval(
    terms: Sequence[tuple[float, Sequence[float]]], level: float = LEVEL
) -> Interval:
    """Welch t interval for Σ weight · mean(values) over independent groups (`terms`).

    With weights (1, -1) it is the Welch interval of a difference; with (1, -1, -1, 1) the
    difference of two differences, such as the effect now against the effect in a reference.
    """
    from scipy.stats import t

    if any(len(values) < 2 for _, values in terms):
        raise ValueError("a Welch interval needs at least two values in each group")
    estimate = sum(w * statistics.fmean(values) for w, values in terms)
    parts = [w * w * _variance(values) / len(values) for w, values in terms]
    se = math.sqrt(sum(parts))
    if se == 0:
        # Every seed gave the same value in each group: the difference is known exactly.
        return Interval(estimate, estimate, estimate, math.inf, level)
    df = sum(parts) ** 2 / sum(p * p / (len(v) - 1) for p, (_, v) in zip(parts, terms, strict=True))
    half = float(t.ppf(0.5 + level / 2, df)) * se
    return Interval(estimate, estimate - half, estimate + half, df, level)


def welch_test(a: Sequence[float], b: Sequence[float], bound: float, above: bool) -> Welch:
    """The one-sided Welch t test of "mean(a) − mean(b) lies above `bound`" (or below): its
    p-value, standard error and degrees of freedom; each group needs two values."""
    from scipy.stats import t

    diff = statistics.fmean(a) - statistics.fmean(b)
    parts = [_variance(a) / len(a), _variance(b) / len(b)]
    se = math.sqrt(sum(parts))
    if se == 0:  # every seed the same in each group: the difference is known exactly
        shown = diff > bound if above else diff <= bound
        return Welch(diff, 0.0 if shown else 1.0, 0.0, math.inf, (0.0, 0.0))
    df = sum(parts) ** 2 / sum(p * p / (len(v) - 1) for p, v in zip(parts, (a, b), strict=True))
    score = (diff - bound) / se
    p = float(t.sf(score, df) if above else t.cdf(score, df))
    return Welch(diff, p, se, df, (_variance(a), _variance(b)))


@dataclass(frozen=True)
class Welch:
    """A one-sided Welch test: the difference of means, its p-value, standard error and
    degrees of freedom, and the groups' variances (s_a², s_b²)."""

    diff: float
    p: float
    se: float
    df: float
    variances: tuple[float, float]


def _variance(values: Sequence[float]) -> float:
    """The sample variance (n - 1): statistics.variance's exact fractions cost a gate's
    resampling (benchmarks/gate.py) far more than the last bit they win."""
    mean = statistics.fmean(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def one_sided(level: float) -> float:
    """The two-sided level whose interval has one-sided confidence `level` at either end."""
    return 2 * level - 1
