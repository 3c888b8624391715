"""The drift claims: `drift` (the best value of a swept key moves with depth by at most, or at
least, a bound) and `drifts_less` (one net's drift is smaller than another's), judged on the
drift of `resbench.analysis.landscape`, the slope of log2(optimum) against log2 of the residual
blocks L over the depths that train, with its expanded percentile interval from resampling
seeds at the level the family gives the claim (`resbench.analysis.decision`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resbench.analysis import landscape as land
from resbench.analysis.comparisons import Judged, shown
from resbench.analysis.decision import Test, seeds_for, two_sided, undecided
from resbench.analysis.judging import Judgement, Verdict, inconclusive
from resbench.analysis.optimum import INTERVAL_FROM, p_value, percentile_interval
from resbench.analysis.stats import Interval
from resbench.analysis.variants import select_runs

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from resbench.sweep.claims import Drift, DriftsLess


def drift_claim(claim: Drift | DriftsLess, runs: pd.DataFrame, chosen: pd.DataFrame) -> Judged:
    """A drift claim on the runs it selects; for drifts_less, |drift| − |drift of than|."""
    from resbench.analysis.choice import others, require_key

    sides = [(claim.arch, chosen)]
    if claim.claim == "drifts_less":
        sides.append((claim.than, select_runs(runs, claim.than_where or claim.where)))
    text = _text(claim)
    found = []
    for i, (arch, side) in enumerate(sides):
        side = side[side["arch"] == arch]
        if side.empty:
            return inconclusive(text, f"no runs of {arch}")
        column = require_key(side, claim.over)
        if mixed := others(side, column):
            note = f"the runs of {arch} differ in {', '.join(mixed)}: narrow the claim with where:"
            return inconclusive(text, note)
        cube = land.ScoreCube.of(side, column, claim.metric)
        if len(cube.seeds) < INTERVAL_FROM:
            note = f"too few seeds for an interval (n {len(cube.seeds)}; need ≥ {INTERVAL_FROM})"
            return inconclusive(text, note)
        # The same resamples where the seeds are the same: what the seeds share travels along.
        same = i and found and cube.seeds == found[0].cube.seeds
        rows = cube.resample(seed=0 if (same or not i) else i)
        found.append(land.drift_of(cube, claim.metric, land.chance(side, claim.metric), rows))
    notes = "; ".join(f"{_optima(d)}; {d.note()}" for d in found)
    if any(math.isnan(d.slope) for d in found):
        return inconclusive(text, "fewer than two depths with a trainable best value; " + notes)
    n = min(len(d.cube.seeds) for d in found)
    if claim.claim == "drifts_less":
        diff = abs(found[0].slope) - abs(found[1].slope)
        samples = abs(found[0].samples) - abs(found[1].samples)
        return _judged(text, diff, samples, n, notes, _less())
    bound = claim.within if claim.within is not None else claim.at_least
    assert bound is not None
    rule = _within(bound) if claim.within is not None else _at_least(bound)
    return _judged(text, found[0].slope, found[0].samples, n, notes, rule)


Rule = tuple[Any, Any, Any]  # (p-value from samples, n), (verdict from interval), (distance)


def _within(w: float) -> Rule:
    def p(s: np.ndarray, n: int) -> float:
        return max(p_value(s, n, -w, "above"), p_value(s, n, w, "below"))

    def verdict(est: float, low: float, high: float) -> tuple[bool, bool]:
        return abs(est) <= w and -w <= low and high <= w, high < -w or low > w

    return p, verdict, lambda est: abs(w - abs(est))


def _at_least(a: float) -> Rule:
    def p(s: np.ndarray, n: int) -> float:
        return min(p_value(s, n, -a, "below"), p_value(s, n, a, "above"))

    def verdict(est: float, low: float, high: float) -> tuple[bool, bool]:
        return abs(est) >= a and (high <= -a or low >= a), -a < low and high < a

    return p, verdict, lambda est: abs(abs(est) - a)


def _less() -> Rule:
    def p(s: np.ndarray, n: int) -> float:
        return p_value(s, n, 0.0, "below")

    def verdict(est: float, low: float, high: float) -> tuple[bool, bool]:
        return est < 0 and high < 0, low > 0

    return p, verdict, abs


def _judged(text: str, est: float, samples: np.ndarray, n: int, notes: str, rule: Rule) -> Test:
    p_of, verdict_of, distance_of = rule

    def judge(alpha: float, may_pass: bool) -> Judgement:
        level = two_sided(alpha)
        low, high = percentile_interval(samples, n, level)
        shown_, against = verdict_of(est, low, high)
        verdict: Verdict = "FAIL" if against else "INCONCLUSIVE"
        if shown_ and may_pass:
            verdict = "PASS"
        note = notes
        if verdict == "INCONCLUSIVE":
            se = float(samples[~(samples != samples)].std(ddof=1))
            distance = distance_of(est)
            needed = seeds_for([n * se * se], distance, alpha, n + 1)
            note += "; " + undecided(se, distance, alpha, str(n), needed, n - 1)
        interval = Interval(est, low, high, math.nan, level)
        return Judgement("claim", text, verdict, (), est, interval, note)

    return Test(p_of(samples, n), judge)


def _text(claim: Drift | DriftsLess) -> str:
    if claim.claim == "drifts_less":
        text = f"{claim.arch} drifts less than {claim.than}: |drift| − |drift of {claim.than}| < 0"
    elif claim.within is not None:
        text = f"{claim.arch} drifts within ±{claim.within:g}"
    else:
        text = f"{claim.arch} drifts by at least {claim.at_least:g}"
    parts = [f"{k.split('.')[-1]} {shown(v)}" for k, v in claim.where.items()]
    if claim.claim == "drifts_less" and claim.than_where:
        than = [f"{k.split('.')[-1]} {shown(v)}" for k, v in claim.than_where.items()]
        parts.append(f"than: {', '.join(than)}")
    scope = "; ".join(parts) or claim.metric
    return text + f": best {claim.over} by {claim.metric} ({scope})"


def _optima(found: land.Drift) -> str:
    """'optimum at 6: 2^-6.12, 10: 2^-6.20, ... (n 16 seeds)'."""
    import numpy as np

    best = found.cube.optima()
    shown_ = ", ".join(
        f"{d}: {'—' if np.isnan(e) else f'2^{e:.2f}'}"
        for d, e in zip(found.cube.depths, best.estimate, strict=True)
    )
    return f"optimum at {shown_} (n {len(found.cube.seeds)} seeds)"
