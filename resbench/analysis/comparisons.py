"""The claims that compare groups of seeds (an arch at a depth): degrades, holds, beats, reaches
(a difference of means against a bound, by Welch's t) and wins (the probability that one arch
beats another over seed pairs, by a stratified bootstrap).

Each gives an `Judgement` where nothing can be tested (runs missing, one seed), else a
`resbench.analysis.decision.Test` that the check's family decides: its p-value, and its
outcome at the level Holm gives it. Every two-group outcome also says how often a seed of one
group beats a seed of the other (`resbench.analysis.effects.improvement`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from resbench.analysis.decision import Test, seeds_for, three_way, two_sided, undecided
from resbench.analysis.effects import improvement
from resbench.analysis.judging import (
    DIVERGED_ERROR,
    Group,
    Judgement,
    best_group,
    depths_of,
    inconclusive,
)
from resbench.analysis.stats import Interval, welch_interval, welch_test

if TYPE_CHECKING:
    from resbench.sweep.claims import Beats, Claim, Degrades, Holds, Reaches, Wins

Judged = Judgement | Test


def scope(claim: Claim) -> str:
    """What a claim is about besides its archs: 'train_error', or 'train_error; batch_norm
    false' when it selects runs."""
    chosen = [f"{k.split('.')[-1]} {shown(v)}" for k, v in claim.where.items()]
    return "; ".join([claim.metric, *chosen])


def shown(value: object) -> str:
    """A `where:` value as the sweep file writes it: false, null, [0.01, 0.02]."""
    if isinstance(value, list):
        return f"[{', '.join(map(shown, value))}]"
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _too_few_depths(arch: str, depths: list[int], text: str) -> Judgement | None:
    """INCONCLUSIVE when a claim across depths has fewer than two depths of `arch` to compare."""
    if len(depths) >= 2:
        return None
    return inconclusive(text, f"needs two depths of {arch}; the results have {len(depths)}")


def degrades(claim: Degrades, by_key: dict[tuple[str, int], Group]) -> Judged:
    depths = depths_of(by_key, claim.arch)
    text = f"{claim.arch} degrades: deepest − best shallower ≥ {claim.min_gap:g} ({scope(claim)})"
    if too_few := _too_few_depths(claim.arch, depths, text):
        return too_few
    shallower = [by_key[(claim.arch, d)] for d in depths[:-1]]
    deepest = by_key[(claim.arch, depths[-1])]
    # Every shallower group must be whole: a missing seed could hide the best of them.
    for g in [*shallower, deepest]:
        if problem := g.problem():
            return inconclusive(text, problem, (deepest,))
    best = best_group(shallower)
    assert best is not None  # every shallower group is whole
    text = (
        f"{claim.arch} degrades: {deepest.label} − {best.label} (best shallower) "
        f"≥ {claim.min_gap:g} ({scope(claim)})"
    )
    return compare(text, deepest, best, at_least=claim.min_gap)


def holds(claim: Holds, by_key: dict[tuple[str, int], Group]) -> Judged:
    depths = depths_of(by_key, claim.arch)
    text = f"{claim.arch} holds: deepest − shallowest ≤ {claim.tolerance:g} ({scope(claim)})"
    if too_few := _too_few_depths(claim.arch, depths, text):
        return too_few
    deepest, shallowest = by_key[(claim.arch, depths[-1])], by_key[(claim.arch, depths[0])]
    text = (
        f"{claim.arch} holds: {deepest.label} − {shallowest.label} "
        f"≤ {claim.tolerance:g} ({scope(claim)})"
    )
    return compare(text, deepest, shallowest, at_most=claim.tolerance)


def beats(claim: Beats, by_key: dict[tuple[str, int], Group]) -> list[Judged]:
    shared = sorted(set(depths_of(by_key, claim.arch)) & set(depths_of(by_key, claim.than)))
    depths = list(claim.depths) or shared
    if not depths:
        text = f"{claim.arch} beats {claim.than} by ≥ {claim.min_gap:g} ({scope(claim)})"
        return [inconclusive(text, f"no depth has runs of both {claim.arch} and {claim.than}")]
    out: list[Judged] = []
    for depth in depths:
        winner = by_key.get((claim.arch, depth), Group(claim.arch, depth))
        loser = by_key.get((claim.than, depth), Group(claim.than, depth))
        text = (
            f"{claim.arch} beats {claim.than} at {depth}: {loser.label} − {winner.label} "
            f"≥ {claim.min_gap:g} ({scope(claim)})"
        )
        out.append(compare(text, loser, winner, at_least=claim.min_gap))
    return out


def reaches(claim: Reaches, by_key: dict[tuple[str, int], Group]) -> Judged:
    """Every depth from the best to `claim.depth` within the tolerance of the best: each one a
    test at the claim's level, passing only if all pass (an intersection–union test, whose
    p-value is the largest of theirs)."""
    depths = depths_of(by_key, claim.arch)
    text = f"{claim.arch} reaches {claim.depth}: within {claim.tolerance:g} of its best depth"
    text += f" ({scope(claim)})"
    if claim.depth not in depths:
        return inconclusive(text, f"no runs of {claim.arch}-{claim.depth}")
    whole = [by_key[(claim.arch, d)] for d in depths]
    for g in whole:
        if problem := g.problem():
            return inconclusive(text, problem, (g,))
    best = best_group(whole)
    assert best is not None  # every group is whole
    if claim.depth <= best.depth:
        return Judgement("claim", text, "PASS", (best,), note=f"the best depth is {best.depth}")
    steps: list[Judged] = []
    for d in (d for d in depths if best.depth < d <= claim.depth):
        group = by_key[(claim.arch, d)]
        shown_text = (
            f"{claim.arch} reaches {claim.depth}: {group.label} − {best.label} (best) "
            f"≤ {claim.tolerance:g} ({scope(claim)})"
        )
        steps.append(compare(shown_text, group, best, at_most=claim.tolerance))
    if untested := [s for s in steps if isinstance(s, Judgement)]:
        return untested[0]
    tests = [s for s in steps if isinstance(s, Test)]

    def judge(alpha: float, may_pass: bool) -> Judgement:
        outcomes = [t.judge(alpha, may_pass) for t in tests]
        # One depth shown beyond the tolerance fails the claim; else the first undecided.
        failed = [o for o in outcomes if o.verdict == "FAIL"]
        return next(iter(failed), next((o for o in outcomes if not o.passed), outcomes[-1]))

    return Test(max(t.p for t in tests), judge)


def wins(claim: Wins, by_key: dict[tuple[str, int], Group]) -> Judged:
    """P(a seed of arch scores below a seed of than, ties half) > at_least at the depth."""
    a = by_key.get((claim.arch, claim.depth), Group(claim.arch, claim.depth))
    b = by_key.get((claim.than, claim.depth), Group(claim.than, claim.depth))
    text = (
        f"{claim.arch} wins over {claim.than} at {claim.depth}: P({a.label} < {b.label}) "
        f"> {claim.at_least:g} ({scope(claim)})"
    )
    for g in (a, b):
        if problem := g.problem():
            return inconclusive(text, problem, (a, b))
    if a.n < 2 or b.n < 2:
        few = ", ".join(f"{g.label} has n={g.n}" for g in (a, b) if g.n < 2)
        return inconclusive(text, f"too few seeds for an interval ({few}; need ≥ 2)", (a, b))
    found = improvement(a.values, b.values)

    def judge(alpha: float, may_pass: bool) -> Judgement:
        level = two_sided(alpha)
        low, high = found.interval(level)
        verdict = three_way(low, high, claim.at_least, True, may_pass)
        notes = [_diverged(g) for g in (a, b) if g.diverged]
        if verdict == "INCONCLUSIVE":
            se, distance, n = found.se(), abs(found.point - claim.at_least), min(a.n, b.n)
            needed = seeds_for([n * se * se], distance, alpha, n + 1)
            notes.append(undecided(se, distance, alpha, f"{a.n}, {b.n}", needed, None))
        interval = Interval(found.point, low, high, math.nan, level)
        note = "; ".join([found.describe(a.label, b.label, level), *notes])
        return Judgement("claim", text, verdict, (a, b), found.point, interval, note)

    return Test(found.p_above(claim.at_least), judge)


def compare(
    text: str, a: Group, b: Group, at_least: float | None = None, at_most: float | None = None
) -> Judged:
    """mean(a) − mean(b) against a bound (at least, or at most), by its mean and its Welch
    interval at the level the family gives it."""
    for g in (a, b):
        if problem := g.problem():
            return inconclusive(text, problem, (a, b))
    diff = a.mean - b.mean
    notes = [_diverged(g) for g in (a, b) if g.diverged]
    if a.n < 2 or b.n < 2:
        few = ", ".join(f"{g.label} has n={g.n}" for g in (a, b) if g.n < 2)
        notes.insert(0, f"too few seeds for an interval ({few}; need ≥ 2)")
        return Judgement("claim", text, "INCONCLUSIVE", (a, b), diff, None, "; ".join(notes))
    above = at_least is not None
    bound = at_least if at_least is not None else at_most
    assert bound is not None
    test = welch_test(a.values, b.values, bound, above)
    effect = improvement(b.values, a.values)

    def judge(alpha: float, may_pass: bool) -> Judgement:
        interval = welch_interval(a.values, b.values, two_sided(alpha))
        verdict = three_way(interval.low, interval.high, bound, above, may_pass)
        extra = list(notes)
        mean_ok = diff > bound if above else diff <= bound
        if mean_ok and verdict != "PASS":
            edge = interval.low if above else interval.high
            extra.insert(0, f"the mean passes but the interval reaches {edge:+.3f}")
        if verdict == "INCONCLUSIVE":
            distance = abs(diff - bound)
            needed = seeds_for(test.variances, distance, alpha, max(a.n, b.n) + 1)
            seeds = f"{a.n}, {b.n}"
            extra.append(undecided(test.se, distance, alpha, seeds, needed, test.df))
        extra.append(effect.describe(b.label, a.label))
        return Judgement("claim", text, verdict, (a, b), diff, interval, "; ".join(extra))

    return Test(test.p, judge)


def _diverged(g: Group) -> str:
    return f"{g.label}: {g.diverged} diverged run(s) counted as error {DIVERGED_ERROR:.1f}"
