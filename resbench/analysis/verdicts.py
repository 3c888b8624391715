"""Checks on a sweep's runs: its `expect:` claims, and regression against reference results.

Pure functions from runs to `Judgement`s; the command line renders them and sets the exit code.
How runs are valued, and what "worse" means, is `resbench.analysis.judging`'s, shared with the
comparison with reference results (`resbench.analysis.baseline`).

A claim passes only if the difference of means passes *and* its 95% Welch t interval lies
wholly on the passing side; a group with fewer than two valued runs has no interval, and the
claim is INCONCLUSIVE. Anything but PASS fails the check.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resbench.analysis.baseline import BASELINE_TOLERANCE, compare_baseline
from resbench.analysis.judging import (
    DIVERGED_ERROR,
    Group,
    Judgement,
    JudgementKind,
    Verdict,
    best_group,
    depths_of,
    groups,
    inconclusive,
    worse,
)
from resbench.analysis.stats import Interval, welch_interval
from resbench.analysis.variants import select_runs, variant_columns
from resbench.core.errors import ResbenchError
from resbench.train.run_result import FINISHED

if TYPE_CHECKING:
    import pandas as pd

    from resbench.sweep.claims import Beats, Claim, Degrades, Drift, DriftsLess, Holds, Reaches


def all_passed(outcomes: list[Judgement]) -> bool:
    return bool(outcomes) and all(o.passed for o in outcomes)


def outcomes_frame(outcomes: list[Judgement]) -> pd.DataFrame:
    """The outcomes as a table (a row each): kind, verdict, what was judged, the difference of
    means and its 95% interval, and any note."""
    import pandas as pd

    rows = [
        {
            "kind": o.kind,
            "verdict": o.verdict,
            "statement": o.text,
            "diff": o.diff,
            "low": o.interval.low if o.interval else None,
            "high": o.interval.high if o.interval else None,
            "note": o.note,
        }
        for o in outcomes
    ]
    return pd.DataFrame(
        rows, columns=["kind", "verdict", "statement", "diff", "low", "high", "note"]
    )


# --------------------------------------------------------------------------- worse


# --------------------------------------------------------------------------- completeness


def completeness(runs: pd.DataFrame) -> Judgement:
    """Did every run finish (ok or diverged)? Missing results make the whole check inconclusive,
    even where no claim touches them: a gate must not pass on a sweep that did not run."""
    counts = runs["status"].value_counts()
    missing = {s: int(n) for s, n in counts.items() if s not in FINISHED}
    text = f"every run finished ({len(runs)} runs)"
    summary = f"{int(counts.get('ok', 0))} ok, {int(counts.get('diverged', 0))} diverged"
    if not missing:
        return Judgement("runs", text, "PASS", note=summary)
    labels = runs[~runs["status"].isin(FINISHED)]
    which = ", ".join(f"{a}-{d} seed {s}" for a, d, s in labels[["arch", "depth", "seed"]].values)
    got = ", ".join(f"{n} {s}" for s, n in missing.items())
    note = f"{summary}, {got} ({which}); rerun: resbench run --retry-failed"
    return Judgement("runs", text, "INCONCLUSIVE", note=note)


# --------------------------------------------------------------------------- claims


def evaluate_claims(
    runs: pd.DataFrame,
    claims: list[Claim],
    best_over: str | None = None,
    best_by: str = "train_loss",
) -> list[Judgement]:
    """One outcome per claim (per depth for `beats`), each on the runs its `where` selects;
    `best_over` (and `best_by`) for the claims that name no best_over of their own."""
    out: list[Judgement] = []
    for claim in claims:
        if best_over and hasattr(claim, "best_over") and claim.best_over is None:
            claim = claim.model_copy(update={"best_over": best_over, "best_by": best_by})
        chosen = select_runs(runs, claim.where)
        if claim.claim in ("drift", "drifts_less"):
            out.append(_drift_claim(claim, runs, chosen))
            continue
        picked = ""
        if claim.best_over:
            chosen, picked = _at_best(chosen, claim.best_over, claim.best_by)
        archs = [claim.arch, *([claim.than] if claim.claim == "beats" else [])]
        if mixed := variant_columns(chosen[chosen["arch"].isin(archs)]):
            # Pooling the seeds of different nets would judge neither: say which to pick.
            text = f"{claim.claim}: {' vs '.join(archs)} ({_scope(claim)})"
            note = (
                f"the runs of one depth differ in {', '.join(mixed)}: narrow the claim with where:"
            )
            out.append(inconclusive(text, note))
            continue
        by_key = groups(chosen, claim.metric)
        if claim.claim == "degrades":
            outcomes = [_degrades(claim, by_key)]
        elif claim.claim == "holds":
            outcomes = [_holds(claim, by_key)]
        elif claim.claim == "reaches":
            outcomes = [_reaches(claim, by_key)]
        else:
            outcomes = _beats(claim, by_key)
        out += [_noted(o, picked) for o in outcomes]
    return out


def _at_best(runs: pd.DataFrame, key: str, by: str) -> tuple[pd.DataFrame, str]:
    """Each arch, depth and variant at its best value of `key` (`resbench.analysis.best_of`), and a
    note saying how it was chosen."""
    from resbench.analysis import best_of as axes  # built on this module's groups

    sel = axes.selection(runs, key, by)
    seeds = f"seeds {axes._seeds(sel.choose_seeds)}"
    how = (
        f"held-out seeds {axes._seeds(sel.report_seeds)}"
        if sel.held_out
        else f"the same {len(sel.report_seeds)} seeds"
    )
    note = f"each at its best {sel.key} by {by} on {seeds}, judged on {how}"
    return axes.best_runs(runs, sel, axes.choices(runs, sel)), note


def _noted(outcome: Judgement, note: str) -> Judgement:
    if not note:
        return outcome
    from dataclasses import replace

    return replace(outcome, note="; ".join(n for n in (note, outcome.note) if n))


def _scope(claim: Claim) -> str:
    """What a claim is about besides its archs: 'train_error', or 'train_error; batch_norm
    false' when it selects runs."""
    chosen = [f"{k.split('.')[-1]} {_shown(v)}" for k, v in claim.where.items()]
    return "; ".join([claim.metric, *chosen])


def _shown(value: object) -> str:
    """A `where:` value as the sweep file writes it: false, null, [0.01, 0.02]."""
    if isinstance(value, list):
        return f"[{', '.join(map(_shown, value))}]"
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _too_few_depths(arch: str, depths: list[int], text: str) -> Judgement | None:
    """INCONCLUSIVE when a claim across depths has fewer than two depths of `arch` to compare."""
    if len(depths) >= 2:
        return None
    return inconclusive(text, f"needs two depths of {arch}; the results have {len(depths)}")


def _degrades(claim: Degrades, by_key: dict[tuple[str, int], Group]) -> Judgement:
    depths = depths_of(by_key, claim.arch)
    text = f"{claim.arch} degrades: deepest − best shallower ≥ {claim.min_gap:g} ({_scope(claim)})"
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
        f"≥ {claim.min_gap:g} ({_scope(claim)})"
    )
    return _compare(text, deepest, best, at_least=claim.min_gap)


def _holds(claim: Holds, by_key: dict[tuple[str, int], Group]) -> Judgement:
    depths = depths_of(by_key, claim.arch)
    text = f"{claim.arch} holds: deepest − shallowest ≤ {claim.tolerance:g} ({_scope(claim)})"
    if too_few := _too_few_depths(claim.arch, depths, text):
        return too_few
    deepest, shallowest = by_key[(claim.arch, depths[-1])], by_key[(claim.arch, depths[0])]
    text = (
        f"{claim.arch} holds: {deepest.label} − {shallowest.label} "
        f"≤ {claim.tolerance:g} ({_scope(claim)})"
    )
    return _compare(text, deepest, shallowest, at_most=claim.tolerance)


def _beats(claim: Beats, by_key: dict[tuple[str, int], Group]) -> list[Judgement]:
    shared = sorted(set(depths_of(by_key, claim.arch)) & set(depths_of(by_key, claim.than)))
    depths = list(claim.depths) or shared
    if not depths:
        text = f"{claim.arch} beats {claim.than} by ≥ {claim.min_gap:g} ({_scope(claim)})"
        return [inconclusive(text, f"no depth has runs of both {claim.arch} and {claim.than}")]
    out = []
    for depth in depths:
        winner = by_key.get((claim.arch, depth), Group(claim.arch, depth))
        loser = by_key.get((claim.than, depth), Group(claim.than, depth))
        text = (
            f"{claim.arch} beats {claim.than} at {depth}: {loser.label} − {winner.label} "
            f"≥ {claim.min_gap:g} ({_scope(claim)})"
        )
        out.append(_compare(text, loser, winner, at_least=claim.min_gap))
    return out


def _reaches(claim: Reaches, by_key: dict[tuple[str, int], Group]) -> Judgement:
    depths = depths_of(by_key, claim.arch)
    text = f"{claim.arch} reaches {claim.depth}: within {claim.tolerance:g} of its best depth"
    text += f" ({_scope(claim)})"
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
    outcome = None
    for d in (d for d in depths if best.depth < d <= claim.depth):
        group = by_key[(claim.arch, d)]
        shown = (
            f"{claim.arch} reaches {claim.depth}: {group.label} − {best.label} (best) "
            f"≤ {claim.tolerance:g} ({_scope(claim)})"
        )
        outcome = _compare(shown, group, best, at_most=claim.tolerance)
        if not outcome.passed:
            return outcome
    assert outcome is not None
    return outcome


def _drift_claim(claim: Drift | DriftsLess, runs: pd.DataFrame, chosen: pd.DataFrame) -> Judgement:
    """A drift claim: the slope of log2(best value) on log2(depth), with its 95% interval from
    resampling seeds (`resbench.analysis.best_of`); for drifts_less, |drift| − |drift of than|."""
    from resbench.analysis import best_of as axes  # built on this module's groups

    sides = [(claim.arch, chosen)]
    if claim.claim == "drifts_less":
        where = claim.than_where or claim.where
        sides.append((claim.than, select_runs(runs, where)))
    if claim.claim == "drifts_less":
        text = f"{claim.arch} drifts less than {claim.than}: |drift| − |drift of {claim.than}| < 0"
    elif claim.within is not None:
        text = f"{claim.arch} drifts within ±{claim.within:g}"
    else:
        text = f"{claim.arch} drifts by at least {claim.at_least:g}"
    text += f": best {claim.over} by {claim.metric} ({_drift_scope(claim)})"
    cubes = []
    for arch, side in sides:
        side = side[side["arch"] == arch]
        if side.empty:
            return inconclusive(text, f"no runs of {arch}")
        column = axes.require_key(side, claim.over)
        if mixed := axes.others(side, column):
            note = f"the runs of {arch} differ in {', '.join(mixed)}: narrow the claim with where:"
            return inconclusive(text, note)
        cubes.append(axes.ScoreCube.of(side, column, claim.metric))
    if few := [c for c in cubes if len(c.seeds) < axes.INTERVAL_FROM]:
        note = f"too few seeds for an interval (n {len(few[0].seeds)}; need ≥ {axes.INTERVAL_FROM})"
        return inconclusive(text, note)
    rows = cubes[0].resample()
    slopes, samples = [], []
    for i, cube in enumerate(cubes):
        if i and cube.seeds != cubes[0].seeds:
            rows = cube.resample(seed=i)  # other seeds: resampled on their own
        slopes.append(float(cube.slopes(cube.best())))
        samples.append(cube.slopes(cube.best(rows)))
    notes = [_best_per_depth(cube) for cube in cubes]
    if claim.claim == "drift":
        low, high = axes.interval(samples[0])
        diff = slopes[0]
        # The slope itself and its interval must both pass, as a difference of means does.
        if claim.within is not None:
            passed = abs(diff) <= claim.within and -claim.within <= low and high <= claim.within
        else:
            assert claim.at_least is not None
            beyond = high <= -claim.at_least or low >= claim.at_least
            passed = abs(diff) >= claim.at_least and beyond
    else:
        low, high = axes.interval(abs(samples[0]) - abs(samples[1]))
        diff = abs(slopes[0]) - abs(slopes[1])
        passed = diff < 0 and high < 0
    if any(map(math.isnan, (diff, low, high))):
        return inconclusive(text, "fewer than two depths with a best value; " + "; ".join(notes))
    verdict: Verdict = "PASS" if passed else "FAIL"
    interval = Interval(diff, low, high, math.nan)
    return Judgement("claim", text, verdict, (), diff, interval, "; ".join(notes))


def _drift_scope(claim: Drift | DriftsLess) -> str:
    parts = [f"{k.split('.')[-1]} {_shown(v)}" for k, v in claim.where.items()]
    if claim.claim == "drifts_less" and claim.than_where:
        than = [f"{k.split('.')[-1]} {_shown(v)}" for k, v in claim.than_where.items()]
        parts.append(f"than: {', '.join(than)}")
    return "; ".join(parts) or claim.metric


def _best_per_depth(cube: Any) -> str:
    """'best at 6: 2^-7, 10: 2^-7, ... (n 8 seeds)'."""
    from resbench.analysis.best_of import axis_value

    best = cube.best()
    shown = ", ".join(
        f"{d}: {axis_value(cube.values[i]) if i >= 0 else '—'}"
        for d, i in zip(cube.depths, best, strict=True)
    )
    return f"best at {shown} (n {len(cube.seeds)} seeds)"


def _compare(
    text: str,
    a: Group,
    b: Group,
    at_least: float | None = None,
    at_most: float | None = None,
    kind: JudgementKind = "claim",
) -> Judgement:
    """Judge mean(a) - mean(b) against a bound, by its mean and by its 95% interval."""
    for g in (a, b):
        if problem := g.problem():
            return inconclusive(text, problem, (a, b), kind)
    diff = a.mean - b.mean
    notes = [
        f"{g.label}: {g.diverged} diverged run(s) counted as error {DIVERGED_ERROR:.1f}"
        for g in (a, b)
        if g.diverged
    ]
    if a.n < 2 or b.n < 2:
        few = ", ".join(f"{g.label} has n={g.n}" for g in (a, b) if g.n < 2)
        notes.insert(0, f"too few seeds for an interval ({few}; need ≥ 2)")
        return Judgement(kind, text, "INCONCLUSIVE", (a, b), diff, None, "; ".join(notes))
    interval = welch_interval(a.values, b.values)
    if at_least is not None:
        passed, mean_ok, edge = worse(a, b, by=at_least), diff > at_least, interval.low
    else:
        assert at_most is not None
        mean_ok, edge = diff <= at_most, interval.high
        passed = mean_ok and interval.high <= at_most
    if mean_ok and not passed:
        notes.insert(0, f"the mean passes but the interval reaches {edge:+.3f}")
    verdict: Verdict = "PASS" if passed else "FAIL"
    return Judgement(kind, text, verdict, (a, b), diff, interval, "; ".join(notes))


# --------------------------------------------------------------------------- everything


def check(
    runs: pd.DataFrame,
    claims: list[Claim],
    baseline: pd.DataFrame | None = None,
    tolerance: float = BASELINE_TOLERANCE,
    best_over: str | None = None,
    best_by: str = "train_loss",
) -> list[Judgement]:
    """Completeness, the claims (those without a best_over of their own at each arch's best
    value of `best_over`, when given), then the baseline; an error when there is nothing to
    check."""
    if not claims and baseline is None:
        raise ResbenchError(
            "nothing to check: the sweep has no expect: claims and no --baseline was given"
        )
    if runs.empty:
        raise ResbenchError("nothing to check: the results have no runs")
    if best_over is not None:
        from resbench.analysis import best_of as axes

        axes.selection(runs, best_over, best_by)  # a bad key or metric: one line, before all
    out = [completeness(runs), *evaluate_claims(runs, claims, best_over, best_by)]
    if baseline is not None:
        out += compare_baseline(runs, baseline, tolerance)
    return out
