"""Regression against reference results: each (arch, depth) group's seeds against the
reference's as two samples, the effect's size one-sided, and where the two sides were made.

The reference is a sample of seeds, not a number to match: on another CPU model, thread count
or torch build the same spec is another draw. So a comparison fails only on evidence of a
change beyond the tolerance, and all of them together keep the false alarms of an unchanged
benchmark under `FAMILY_ALPHA` (docs/ci.md has the statistics and the measured rates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from resbench.analysis.judging import Group, Judgement, Verdict, groups, inconclusive, worse
from resbench.analysis.stats import contrast_interval, one_sided, welch_interval
from resbench.core.errors import ResbenchError
from resbench.store.tables import MACHINE_COLUMNS
from resbench.sweep.defaults import BASELINE_TOLERANCE

if TYPE_CHECKING:
    import pandas as pd

BASELINE_METRICS = ("train_error", "test_error")
EFFECT_METRIC = "train_error"
EFFECT_ARCHS = ("plain", "residual")  # the effect is the first's metric minus the second's
FAMILY_ALPHA = 0.05  # the false alarms of all the comparisons together


def compare_baseline(
    runs: pd.DataFrame,
    baseline: pd.DataFrame,
    tolerance: float = BASELINE_TOLERANCE,
    alpha: float = FAMILY_ALPHA,
) -> list[Judgement]:
    """Each (arch, depth) group against the reference's, as two samples over seeds, and the
    effect's size at the deepest depth both archs share.

    A group fails when it is `worse` than the reference by more than `tolerance`, or better by
    more: the benchmark changed, and the reference must be renewed deliberately. The effect
    (plain − residual train error) fails only when it shrank by more than `tolerance`. Each of
    the m comparisons runs at alpha / m (Bonferroni), so that an honest rerun — other seeds,
    another CPU, another thread count — fails at most `alpha` of the time in all, as far as the
    t intervals hold (docs/ci.md: measured on real runs).
    """
    _same_setup(runs, baseline)
    pairs, found = [], {}
    for metric in BASELINE_METRICS:
        if metric not in baseline.columns:
            continue
        found[metric] = now, ref = groups(runs, metric), groups(baseline, metric)
        pairs += [(metric, now.get(key, Group(*key)), group) for key, group in ref.items()]
    level = 1 - alpha / (len(pairs) + 1)  # the +1: the effect
    out = [_against_reference(m, now, ref, tolerance, level) for m, now, ref in pairs]
    effect = found.get(EFFECT_METRIC) or (
        groups(runs, EFFECT_METRIC),
        groups(baseline, EFFECT_METRIC),
    )
    out.append(_effect(*effect, tolerance, level))
    return out


def _against_reference(
    metric: str, current: Group, reference: Group, tolerance: float, level: float
) -> Judgement:
    """Did this group's mean change by more than `tolerance`, beyond the noise over seeds?"""
    text = f"{current.label} {metric}: no change beyond ±{tolerance:g} from the reference"
    for g, where in ((current, "results"), (reference, "reference")):
        if problem := _unjudged(g):
            return inconclusive(text, f"{where}: {problem}", (current, reference), "baseline")
    interval = welch_interval(current.values, reference.values, level)
    note, verdict = "", cast(Verdict, "PASS")
    if worse(current, reference, tolerance, level):
        note, verdict = "worse than the reference", "FAIL"
    elif worse(reference, current, tolerance, level):
        note, verdict = "better than the reference: if meant, renew it (docs/ci.md)", "FAIL"
    elif abs(interval.diff) > tolerance:
        note = "the mean moved more, but within the noise over seeds"
    return Judgement("baseline", text, verdict, (current, reference), interval.diff, interval, note)


def _effect(
    now: dict[tuple[str, int], Group],
    ref: dict[tuple[str, int], Group],
    tolerance: float,
    level: float,
) -> Judgement:
    """Did the effect at the deepest shared depth shrink by more than `tolerance`? One-sided:
    (plain − residual) now minus the same in the reference (their `EFFECT_METRIC` groups), its
    upper bound at `level`."""
    first, second = EFFECT_ARCHS
    shared = sorted({d for a, d in ref if a == first} & {d for a, d in ref if a == second})
    text = f"effect ({first} − {second} {EFFECT_METRIC}): shrank by no more than {tolerance:g}"
    if not shared:
        return inconclusive(text, "the reference has no depth with both archs", (), "baseline")
    depth = shared[-1]
    text = text.replace("effect", f"effect at {depth}", 1)
    sides = []
    for where, by_key in (("results", now), ("reference", ref)):
        pair = [by_key.get((arch, depth), Group(arch, depth)) for arch in EFFECT_ARCHS]
        if problem := _unjudged(*pair):
            return inconclusive(text, f"{where}: {problem}", (), "baseline")
        sides.append(pair)
    (p_now, r_now), (p_ref, r_ref) = sides
    terms = [(1.0, p_now.values), (-1.0, r_now.values), (-1.0, p_ref.values), (1.0, r_ref.values)]
    interval = contrast_interval(terms, one_sided(level))
    shrank = interval.diff < -tolerance and interval.high < -tolerance
    note = f"gap {p_now.mean - r_now.mean:.3f} now, {p_ref.mean - r_ref.mean:.3f} in the reference"
    verdict: Verdict = "FAIL" if shrank else "PASS"
    return Judgement("baseline", text, verdict, (), interval.diff, interval, note)


def _unjudged(*gs: Group) -> str | None:
    """Why groups cannot be compared as samples (runs missing, fewer than two values), or None."""
    for g in gs:
        if problem := g.problem():
            return problem
    if few := [f"{g.label} has n={g.n}" for g in gs if g.n < 2]:
        return f"too few seeds for an interval ({', '.join(few)}; need ≥ 2)"
    return None


def _same_setup(runs: pd.DataFrame, baseline: pd.DataFrame) -> None:
    """Refuse to compare runs with a reference of another dataset or family of nets."""
    for column in ("dataset", "family"):
        if column in runs.columns and column in baseline.columns:
            now, ref = set(runs[column].dropna()), set(baseline[column].dropna())
            if now != ref:
                raise ResbenchError(
                    f"the baseline is for {column} {', '.join(map(str, sorted(ref)))}; "
                    f"the results are {', '.join(map(str, sorted(now)))}"
                )


def machine_note(runs: pd.DataFrame, baseline: pd.DataFrame) -> str | None:
    """One line when the results and the reference come from other CPU or GPU models, thread
    counts or torch builds, or when either side does not say; None when they match."""
    now, ref = _machine(runs), _machine(baseline)
    differ = [k for k in now if k in ref and now[k] != ref[k]]
    unknown = [side for side, m in (("results", now), ("reference", ref)) if "cpu_model" not in m]
    draw = "another draw from the same population, not the same numbers, and no failure by itself"
    if differ:
        where = "; ".join(f"{k} {now[k]} here, {ref[k]} in the reference" for k in differ)
        return f"other hardware or software than the reference ({where}): {draw}"
    if unknown:
        sides = " and the ".join(unknown)
        verb = "was" if unknown == ["reference"] else "were"
        return (
            f"where the {sides} {verb} made is not recorded (older results): from another CPU "
            f"model, thread count or torch build, results are {draw}"
        )
    return None


def _machine(runs: pd.DataFrame) -> dict[str, str]:
    """What runs.csv says of where the runs were made: column -> its distinct values."""
    out = {}
    for column in (*MACHINE_COLUMNS, "device"):
        if column in runs.columns:
            values = sorted({str(v) for v in runs[column].dropna() if str(v)})
            if values:
                out[column] = " / ".join(values)
    return out
