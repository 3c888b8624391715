"""How a check decides its claims together: each claim a one-sided test, the claims of one
check controlled as a family (Holm–Bonferroni), and for a claim left undecided, what its seeds
could have detected and roughly how many would decide it.

**One claim, alone**, passes when its interval at 95% (two-sided) lies wholly on the passing
side of its bound: a one-sided test at 2.5%, `CLAIMS_ALPHA`. It fails when the interval lies
wholly on the other side (the evidence is against it), and is INCONCLUSIVE when the interval
holds the bound: neither it nor its opposite is shown.

**The claims of a check** are judged together, so that the chance of passing any false claim
stays at 2.5% however many a sweep makes (Holm 1979, a step-down Bonferroni valid whatever the
claims' dependence): the m tested claims in order of p-value, the i-th (from 0) at level
2.5%/(m − i), until the first that does not pass; it and every later one cannot pass. Each
verdict shows its interval at its own level (a 97.5% CI for 1.25% a side) and says its rank.
A claim that could not be tested (runs missing, one seed) is INCONCLUSIVE outside the family.

**Undecided claims.** The smallest difference beyond the bound that the test would detect with
80% power at these seeds and this level, (z₁₋α + z₀.₈)·se with t quantiles where the test has
them, and the seeds a group that would likely (80%) decide it if the true difference is the one
seen: the smallest n with (t₁₋α + t₀.₈)·√((s_A² + s_B²)/n) ≤ δ for a difference of means
(Welch's degrees of freedom at n), the bootstrap's or the score's spread scaled as 1/√n for the
others. A planning figure, not a promise: the difference seen is itself
noisy, and more seeds may decide either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from resbench.analysis.judging import Judgement
from resbench.analysis.stats import LEVEL

CLAIMS_ALPHA = (1 - LEVEL) / 2  # one-sided, for the whole family of a check's claims
POWER = 0.8  # of "the smallest difference it could detect"
MOST_SEEDS = 10_000  # beyond this, "no number of seeds is likely to decide it"


@dataclass(frozen=True)
class Test:
    """A claim's test before the family sets its level: the one-sided p-value of "the claim
    is false", and the outcome at a one-sided level α (`may_pass` False: Holm has stopped)."""

    p: float
    judge: Callable[[float, bool], Judgement]


def decide(items: list[Judgement | Test | list[Judgement | Test]]) -> list[Judgement]:
    """The outcomes in order, the tests among them decided together by Holm's step-down."""
    flat: list[Judgement | Test] = []
    for item in items:
        flat += item if isinstance(item, list) else [item]
    tests = [i for i, item in enumerate(flat) if isinstance(item, Test) and item.p == item.p]
    m = len(tests)
    ranked = sorted(tests, key=lambda i: flat[i].p)  # type: ignore[union-attr]
    passing = True
    out = list(flat)
    for rank, i in enumerate(ranked):
        test = flat[i]
        assert isinstance(test, Test)
        alpha = CLAIMS_ALPHA / (m - rank)
        passing = passing and test.p <= alpha
        outcome = test.judge(alpha, passing)
        out[i] = _noted(outcome, holm_note(rank, m, alpha, test.p, passing))
    for i, item in enumerate(out):
        if isinstance(item, Test):  # a test without a p-value: nothing to decide
            out[i] = item.judge(CLAIMS_ALPHA, False)
    return [o for o in out if isinstance(o, Judgement)]


def holm_note(rank: int, m: int, alpha: float, p: float, passing: bool) -> str:
    """'level 1.25% a side (Holm, 1st of 2 claims by p 0.0003)'."""
    where = f"{_ordinal(rank + 1)} of {m} claims by p {p:.2g}" if m > 1 else "the one claim"
    note = f"level {100 * alpha:.3g}% a side (Holm, {where})"
    if not passing and p <= alpha:
        note += "; a claim before it was not shown, so this one cannot pass"
    return note


def family_line(outcomes: list[Judgement]) -> str | None:
    """What `resbench check` says of the family, or None when it judged no claim by a test."""
    m = sum("(Holm, " in o.note for o in outcomes)
    looked = sum("(Bonferroni, " in o.note for o in outcomes)  # a seed budget's, over its looks
    if not m + looked:
        return None
    how = "Holm–Bonferroni" if m else "Bonferroni, over all their looks"
    return (
        f"the {m + looked} tested claim(s) are judged together ({how}): passing any false one "
        f"has a {100 * CLAIMS_ALPHA:.3g}% chance at most; each shows its interval at its own level"
    )


def two_sided(alpha: float) -> float:
    """The two-sided level whose interval has one-sided level `alpha` at either end."""
    return 1 - 2 * alpha


def three_way(low: float, high: float, bound: float, above: bool, may_pass: bool) -> str:
    """PASS, FAIL or INCONCLUSIVE of a claim that the value lies above (or below) `bound`, from
    its interval."""
    shown, against = (low > bound, high < bound) if above else (high <= bound, low > bound)
    if shown and may_pass:
        return "PASS"
    return "FAIL" if against else "INCONCLUSIVE"


def undecided(
    se: float, distance: float, alpha: float, seeds: str, needed: float | None, df: float | None
) -> str:
    """'undecided at n 3, 3: it detects (80% power) a difference 0.21 beyond the bound; about
    14 seeds a group would likely decide it'."""
    from scipy.stats import norm, t

    if df is not None and math.isfinite(df):
        k = float(t.ppf(1 - alpha, df) + t.ppf(POWER, df))
    else:
        k = float(norm.ppf(1 - alpha) + norm.ppf(POWER))
    text = f"undecided at n {seeds}: it detects ({100 * POWER:.0f}% power) a difference "
    text += f"{k * se:.3g} beyond the bound"
    if distance == 0:
        return text + "; the mean sits on the bound: no number of seeds is likely to decide it"
    if needed is None or not math.isfinite(needed):
        return text + f"; not even {MOST_SEEDS} seeds a group would likely decide it"
    return text + f"; about {math.ceil(needed)} seeds a group would likely decide it"


def seeds_for(variances: Sequence[float], distance: float, alpha: float, now: int) -> float | None:
    """The seeds a group (from `now` on) at which a one-sided test at `alpha` has 80% power
    against a true `distance` from the bound, the groups' variances as these seeds show them:
    the smallest n with (t₁₋α + t₀.₈)·√(Σ s²/n) ≤ distance, Welch's degrees of freedom at n
    (n − 1 for one group's). None when the distance is 0 or beyond MOST_SEEDS."""
    from scipy.stats import t

    total = sum(variances)
    if distance <= 0 or not math.isfinite(total) or total <= 0:
        return None if distance <= 0 else float(now)

    def powered(n: int) -> bool:
        if len(variances) > 1:
            df = total**2 / sum(v * v / (n - 1) for v in variances if v > 0)
        else:
            df = n - 1
        return (t.ppf(1 - alpha, df) + t.ppf(POWER, df)) * math.sqrt(total / n) <= distance

    # The left side falls as n grows (both quantiles with the degrees of freedom, and 1/√n):
    # a bisection finds the smallest n a scan would.
    low, high = max(now, 2), MOST_SEEDS
    if not powered(high):
        return None
    if powered(low):
        return float(low)
    while high - low > 1:  # powered(high), not powered(low)
        mid = (low + high) // 2
        low, high = (low, mid) if powered(mid) else (mid, high)
    return float(high)


def _noted(outcome: Judgement, note: str) -> Judgement:
    return replace(outcome, note="; ".join(n for n in (outcome.note, note) if n))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
