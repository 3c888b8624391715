"""Checks on a sweep's runs: its `expect:` claims, and regression against reference results.

Pure functions from runs to `Judgement`s; the command line renders them and sets the exit code.
How runs are valued, and what "worse" means, is `resbench.analysis.judging`'s, shared with the
comparison with reference results (`resbench.analysis.baseline`).

Each claim is a one-sided test; the claims of one check are decided together, Holm–Bonferroni
at 2.5% a side for the family, each shown with its interval at its own level
(`resbench.analysis.decision`). A claim passes when its interval lies wholly on the passing side
of its bound, fails when it lies wholly on the other side, and is INCONCLUSIVE when it holds the
bound (saying what its seeds could detect, and how many would likely decide it) or when it
cannot be tested (a group with runs missing, or fewer than two valued runs). Anything but PASS
fails the check. The comparisons themselves are `resbench.analysis.comparisons`' and
`resbench.analysis.drift_claims`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resbench.analysis import comparisons as compare
from resbench.analysis.baseline import BASELINE_TOLERANCE, compare_baseline
from resbench.analysis.decision import Test, decide, family_line
from resbench.analysis.drift_claims import drift_claim
from resbench.analysis.judging import Judgement, groups, inconclusive
from resbench.analysis.variants import select_runs, variant_columns
from resbench.core.errors import ResbenchError
from resbench.train.run_result import FINISHED

if TYPE_CHECKING:
    import pandas as pd

    from resbench.sweep.claims import Claim

__all__ = ["all_passed", "check", "completeness", "evaluate_claims", "family_line"]


def all_passed(outcomes: list[Judgement]) -> bool:
    return bool(outcomes) and all(o.passed for o in outcomes)


def outcomes_frame(outcomes: list[Judgement]) -> pd.DataFrame:
    """The outcomes as a table (a row each): kind, verdict, what was judged, the difference of
    means (or the statistic claimed) and its interval with the interval's level, and any note."""
    import pandas as pd

    rows = [
        {
            "kind": o.kind,
            "verdict": o.verdict,
            "statement": o.text,
            "diff": o.diff,
            "low": o.interval.low if o.interval else None,
            "high": o.interval.high if o.interval else None,
            "level": o.interval.level if o.interval else None,
            "note": o.note,
        }
        for o in outcomes
    ]
    columns = ["kind", "verdict", "statement", "diff", "low", "high", "level", "note"]
    return pd.DataFrame(rows, columns=columns)


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
    `best_over` (and `best_by`) for the claims that name no best_over of their own. The tested
    ones are decided together (`resbench.analysis.decision.decide`)."""
    judged: list[Judgement | Test | list[Judgement | Test]] = []
    for claim in claims:
        if best_over and hasattr(claim, "best_over") and claim.best_over is None:
            claim = claim.model_copy(update={"best_over": best_over, "best_by": best_by})
        judged.append(_judge(claim, runs))
    return decide(judged)


def claim_tests(claim: Claim, runs: pd.DataFrame) -> list[Judgement | Test]:
    """One claim's tests before the family decides (per depth for `beats`), or the outcome of
    one that cannot be tested."""
    found = _judge(claim, runs)
    return found if isinstance(found, list) else [found]


def _judge(claim: Claim, runs: pd.DataFrame) -> Judgement | Test | list[Judgement | Test]:
    """One claim's test (or tests, or untestable outcome), before the family decides."""
    chosen = select_runs(runs, claim.where)
    if claim.claim in ("drift", "drifts_less"):
        return drift_claim(claim, runs, chosen)
    picked = ""
    if claim.best_over:
        chosen, picked = _at_best(chosen, claim.best_over, claim.best_by)
    archs = [claim.arch, *([claim.than] if claim.claim in ("beats", "wins") else [])]
    if mixed := variant_columns(chosen[chosen["arch"].isin(archs)]):
        # Pooling the seeds of different nets would judge neither: say which to pick.
        text = f"{claim.claim}: {' vs '.join(archs)} ({compare.scope(claim)})"
        note = f"the runs of one depth differ in {', '.join(mixed)}: narrow the claim with where:"
        return inconclusive(text, note)
    by_key = groups(chosen, claim.metric)
    if claim.claim == "degrades":
        found: list[Judgement | Test] = [compare.degrades(claim, by_key)]
    elif claim.claim == "holds":
        found = [compare.holds(claim, by_key)]
    elif claim.claim == "reaches":
        found = [compare.reaches(claim, by_key)]
    elif claim.claim == "wins":
        found = [compare.wins(claim, by_key)]
    else:
        found = compare.beats(claim, by_key)
    return [_noted(o, picked) for o in found]


def _at_best(runs: pd.DataFrame, key: str, by: str) -> tuple[pd.DataFrame, str]:
    """Each arch, depth and variant at its best value of `key` (`resbench.analysis.choice`), and
    a note saying how it was chosen, and where a depth had no best value to choose."""
    from resbench.analysis import choice

    sel = choice.selection(runs, key, by)
    seeds = f"seeds {choice._seeds(sel.choose_seeds)}"
    how = (
        f"held-out seeds {choice._seeds(sel.report_seeds)}"
        if sel.held_out
        else f"the same {len(sel.report_seeds)} seeds"
    )
    chosen = choice.choices(runs, sel)
    note = f"each at its best {sel.key} by {by} on {seeds}, judged on {how}"
    gaps = sorted({f"{w}: judged at the smallest" for w in chosen["why"] if w})
    return choice.best_runs(runs, sel, chosen), "; ".join([note, *gaps])


def _noted(item: Judgement | Test, note: str) -> Judgement | Test:
    """`item` with `note` before its own (a test: on the outcome it will give)."""
    if not note:
        return item
    from dataclasses import replace

    if isinstance(item, Test):
        judge = item.judge
        return Test(item.p, lambda alpha, may_pass: _noted(judge(alpha, may_pass), note))
    return replace(item, note="; ".join(n for n in (note, item.note) if n))


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
        from resbench.analysis.choice import selection

        selection(runs, best_over, best_by)  # a bad key or metric: one line, before all
    out = [completeness(runs), *evaluate_claims(runs, claims, best_over, best_by)]
    if baseline is not None:
        out += compare_baseline(runs, baseline, tolerance)
    return out
