"""Lan–DeMets alpha spending for a two-sided group-sequential test: how much error each side
may have spent by a given information fraction, and the boundaries that spend it.

Lan & DeMets 1983 ("Discrete sequential boundaries for clinical trials", Biometrika
70:659–663): a spending function α(t) fixes the error spent by information fraction t, so the
looks need not be planned. Pocock-type α·ln(1 + (e − 1)t) spends early; O'Brien–Fleming-type
2 − 2Φ(z₁₋α/₂ / √t) keeps the last look near the fixed test. The boundaries are computed on the z
scale by numerical integration of the statistic's joint law at the looks (a Brownian motion
observed at t_1 < t_2 < ...; Jennison & Turnbull 2000, *Group Sequential Methods with
Applications to Clinical Trials*, ch. 19), and checked against simulation in
tests/test_sequential.py. What is decided with them is `resbench.analysis.sequential`'s.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

ALPHA = 0.025  # each side's error over all looks, one-sided: the fixed rule's 95% interval
GRID = 301  # points of the numerical integration per look (odd, for Simpson's rule)
SPENDING = ("pocock", "obrien_fleming")


def spent(t: float, alpha: float = ALPHA, spending: str = "pocock") -> float:
    """The error one side may have spent by information fraction `t` (Lan–DeMets)."""
    from scipy.stats import norm

    t = min(max(t, 0.0), 1.0)
    if spending == "pocock":
        return alpha * math.log(1 + (math.e - 1) * t)
    if spending == "obrien_fleming":
        return 0.0 if t == 0 else float(2 * norm.sf(norm.isf(alpha / 2) / math.sqrt(t)))
    raise ValueError(f"unknown spending function {spending!r}")


@lru_cache(maxsize=4096)
def z_bounds(
    fractions: tuple[float, ...], alpha: float = ALPHA, spending: str = "pocock"
) -> tuple[float, ...]:
    """The z-scale boundaries ±c_k of looks at increasing information `fractions`, such that
    under the null the statistic first leaves (−c, c) upwards at look k with probability
    spent(t_k) − spent(t_{k−1}) (and downwards likewise)."""
    import numpy as np
    from scipy.optimize import brentq
    from scipy.stats import norm

    bounds: list[float] = []
    # W(t) = Z·√t, a Brownian motion: its sub-density on the continuation region so far.
    grid = np.zeros(1)
    density = np.ones(1)
    weights = np.ones(1)  # at t = 0, W = 0 with probability 1
    before = spent_before = 0.0
    for t in fractions:
        if not before < t <= 1 + 1e-12:
            raise ValueError(f"information fractions must increase within (0, 1]: {fractions}")
        step = spent(t, alpha, spending) - spent_before
        sd = math.sqrt(t - before)
        mass = density * weights
        c = math.inf
        if step > 0:
            c = float(brentq(_excess_exit, 0.0, 40.0, args=(mass, grid, sd, math.sqrt(t), step)))
        edge = min(c, 12.0) * math.sqrt(t)
        new = np.linspace(-edge, edge, GRID)
        density = mass @ norm.pdf((new[None, :] - grid[:, None]) / sd) / sd
        grid, weights = new, _simpson(new)
        bounds.append(c)
        before, spent_before = t, spent_before + step
    return tuple(bounds)


def _excess_exit(c: float, mass: Any, grid: Any, sd: float, root_t: float, step: float) -> float:
    """P(W leaves above c·√t at this look, having stayed in before) − what may be spent."""
    from scipy.stats import norm

    return float(mass @ norm.sf((c * root_t - grid) / sd)) - step


def _simpson(grid: Any) -> Any:
    """Simpson's weights on an evenly spaced grid of an odd number of points."""
    import numpy as np

    weights = np.ones(len(grid))
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return weights * (grid[1] - grid[0]) / 3


def nominal_level(
    fractions: tuple[float, ...], spending: str = "pocock", alpha: float = ALPHA
) -> float:
    """The two-sided level of the Welch interval at the last of looks at `fractions`, each side
    spending `alpha` over all looks."""
    from scipy.stats import norm

    return 1 - 2 * float(norm.sf(z_bounds(fractions, alpha, spending)[-1]))


def information(n_a: int, n_b: int, n_max: int) -> float:
    """The information fraction of a difference of means of n_a and n_b seeds, of n_max each
    at the most."""
    return min(1.0, (2 / n_max) / (1 / n_a + 1 / n_b))
