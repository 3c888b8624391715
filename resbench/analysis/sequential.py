"""Seeds until decided: the claims of a sweep with a seed budget (`seeds: {min, max}`), judged
by a test that stays valid however often it looks, and the seeds each group gets.

The rule is a two-sided group-sequential test with Lan–DeMets alpha spending (Lan & DeMets
1983, "Discrete sequential boundaries for clinical trials", Biometrika 70:659–663). Each claim
compares two groups of seeds, mean(a) − mean(b) against its bound (a `degrades` or `beats`
claim's min_gap, a `holds` claim's tolerance). At each look the Welch t interval of the
difference is taken at a level the spending function allows: a claim is decided PASS when the
interval lies wholly on its passing side, decided FAIL when it lies wholly on the other side
(its opposite is shown), and is undecided otherwise; an undecided claim's groups get the next
seeds. At the maximum, an undecided claim is INCONCLUSIVE, as the fixed rule says of it. The
claims of a sweep are one family, as `resbench check` holds them (`resbench.analysis.decision`):
each of its m tested statements spends α = 2.5%/m a side over all its looks (Bonferroni, so that
passing any false one has a 2.5% chance at most; Holm's step-down would need one p-value per
claim, which a sequential test gives only by ordering its sample space, not done here). With
min = max there is one look, and the rule is Bonferroni's over the fixed rule's intervals.

- Spending: Pocock-type α·ln(1 + (e − 1)t) by default, which spends early and so decides a clear
  claim at the minimum; O'Brien–Fleming-type 2 − 2Φ(z₁₋α/₂ / √t), which keeps the last look near
  the fixed test. t, the information fraction, is 1/(1/n_a + 1/n_b) over its value at the maximum.
- Boundaries: on the z scale, by numerical integration of the sequential statistic's joint law
  (a Brownian motion observed at the looks; Jennison & Turnbull 2000, *Group Sequential Methods
  with Applications to Clinical Trials*, ch. 19).
- Unknown variances: each look's z boundary becomes a nominal level, and the Welch t interval at
  that level is used (Jennison & Turnbull 2000, ch. 11, the significance-level approach).

What it assumes: seeds are independent; each group's mean is close to normal (a deep plain
net's seeds are bimodal, which a t interval meets only roughly); the information grows as
1/(1/n_a + 1/n_b), as with equal variances; when looks happen depends on other claims through
the groups they share, not on this claim's own trend. `benchmarks/seeds.py` measures the error
rates on real runs instead of trusting these, and `tests/test_sequential.py` on simulated ones.

Pure functions of a runs table (`resbench.store.tables.read_runs`): `replay` replays the rounds
from the minimum, so a folder's records alone say what was decided, what was added and why,
and what is still to run; the runner's rounds (`resbench.runner`) and `resbench check` both ask
it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from resbench.analysis.decision import CLAIMS_ALPHA
from resbench.analysis.decision import Test as FixedTest
from resbench.analysis.judging import Judgement, Verdict
from resbench.analysis.spending import information, nominal_level
from resbench.analysis.stats import welch_interval
from resbench.analysis.variants import IDENTITY_SPEC_COLUMNS, select_runs
from resbench.core.errors import ResbenchError

if TYPE_CHECKING:
    import pandas as pd

    from resbench.sweep.claims import Claim
    from resbench.sweep.seed_budget import SeedBudget

GroupKey = tuple[Hashable, ...]


# --------------------------------------------------------------------------- one look


@dataclass(frozen=True)
class Look:
    """One look at one claim: its information fraction, the interval, what it decided."""

    fraction: float
    outcome: Judgement
    decided: bool
    why: str  # what it decided, in a few words


def judge(
    outcome: Judgement,
    above: bool,
    bound: float,
    fractions: tuple[float, ...],
    spending: str,
    last: bool,
    family: int = 1,
) -> Look:
    """Judge a claim's fixed-rule `outcome` (its two groups) at the last look of `fractions`:
    `above` when the claim is mean(a) − mean(b) > bound, else ≤ bound. `last`: no seeds will
    come, so an undecided claim is INCONCLUSIVE for good. `family`: the tested statements of the
    sweep, among which each side's 2.5% is shared over all looks (Bonferroni)."""
    a, b = outcome.groups
    alpha = CLAIMS_ALPHA / family
    level = nominal_level(fractions, spending, alpha)
    interval = welch_interval(a.values, b.values, level)
    if above:
        passed, refuted = interval.low > bound, interval.high < bound
    else:
        passed, refuted = interval.high <= bound, interval.low > bound
    look = len(fractions)
    n = f"n {a.n}, {b.n}; information {fractions[-1]:.2f}"
    if passed or refuted:
        verdict: Verdict = "PASS" if passed else "FAIL"
        what = "shown" if passed else "its opposite shown"
        note = f"decided at look {look} ({n}): {what}"
    elif last:
        verdict, note = "INCONCLUSIVE", f"undecided at the maximum, look {look} ({n})"
    else:
        verdict, note = "INCONCLUSIVE", f"undecided at look {look} ({n})"
    judged = Judgement(
        outcome.kind,
        outcome.text,
        verdict,
        outcome.groups,
        interval.diff,
        interval,
        f"{note}; {_rule(spending, alpha, family)}",
    )
    return Look(fractions[-1], judged, passed or refuted or last, note)


def _rule(spending: str, alpha: float, family: int) -> str:
    name = "Pocock" if spending == "pocock" else "O'Brien–Fleming"
    which = f"{family} claims" if family > 1 else "the one claim"
    return (
        f"seeds until decided: {100 * alpha:.3g}% a side over all looks (Bonferroni, {which}), "
        f"{name}-type α-spending (resbench.analysis.sequential)"
    )


# --------------------------------------------------------------------------- the rounds


@dataclass
class Test:
    """One statement of a claim (a `beats` claim makes one per depth) through its looks."""

    claim: Claim
    index: int  # of the claim, in the sweep's expect:
    part: int
    looks: list[Look] = field(default_factory=list)
    blocked: Judgement | None = None  # the fixed rule could not judge it: runs missing, ...
    groups: frozenset[GroupKey] = frozenset()

    @property
    def decided(self) -> bool:
        return self.blocked is not None or bool(self.looks and self.looks[-1].decided)

    def outcome(self, complete: bool) -> Judgement | None:
        """Its verdict now: decided, or INCONCLUSIVE while seeds are still to come."""
        if self.blocked is not None:
            return self.blocked
        if not self.looks:
            return None
        last = self.looks[-1].outcome
        if not complete and not self.decided:
            return replace(last, note=f"{last.note}; more seeds to run (resbench run)")
        return last


@dataclass(frozen=True)
class Round:
    """What one round added: seeds per group, and the undecided claims that asked for them."""

    number: int
    added: dict[GroupKey, tuple[int, int]]  # group -> (seeds before, seeds after)
    why: tuple[str, ...]


@dataclass
class Replay:
    """The rounds of a seed budget replayed over a folder's records."""

    budget: SeedBudget
    seeds: dict[GroupKey, int]  # each group's seeds so far: 0..n-1
    tests: list[Test]
    rounds: list[Round]
    missing: dict[GroupKey, list[int]]  # seeds the current round needs that have no record
    labels: dict[GroupKey, str]

    @property
    def complete(self) -> bool:
        return not self.missing

    def outcomes(self) -> list[Judgement]:
        """Each claim's verdict; with every round run, an undecided claim has its groups at
        the maximum and is INCONCLUSIVE."""
        out = []
        for test in self.tests:
            outcome = test.outcome(self.complete)
            if outcome is None:
                continue
            if self.complete and not test.decided:
                note = outcome.note.replace("undecided at look", "undecided at the maximum, look")
                outcome = replace(outcome, verdict="INCONCLUSIVE", note=note)
            out.append(outcome)
        return out


def group_keys(runs: pd.DataFrame) -> list[GroupKey]:
    """Each run's group: its arch, depth and every other spec column but the seed and where it
    ran (`EXECUTION_FIELDS`), as a tuple (NaN as None)."""
    from resbench.sweep.schema import EXECUTION_FIELDS

    where = {f"{section}.{key}" for section, key in EXECUTION_FIELDS}
    spec = [*IDENTITY_SPEC_COLUMNS, "arch", "depth", *(c for c in runs.columns if "." in c)]
    columns = [c for c in spec if c in runs.columns and c not in where]
    cells = runs[columns].astype(object)
    cells = cells.where(cells.notna(), None)
    return [tuple(row) for row in cells.itertuples(index=False, name=None)]


def replay(runs: pd.DataFrame, claims: list[Claim], budget: SeedBudget) -> Replay:
    """Replay the rounds from `budget.min` seeds a group over the recorded `runs`: judge the
    claims at each round's look, give the undecided claims' groups `budget.step` more seeds,
    and stop where every claim is decided or has its groups at `budget.max`, or where a round
    needs runs that are not recorded (`Replay.missing`)."""
    runs = runs[runs["seed"].between(0, budget.max - 1)]
    runs = runs.assign(_group=_object_column(group_keys(runs), len(runs)))
    present: dict[GroupKey, set[int]] = {}
    for key, seed in zip(runs["_group"], runs["seed"], strict=True):
        present.setdefault(key, set()).add(int(seed))
    labels = _labels(runs)
    seeds = {key: min(budget.min, budget.max) for key in present}
    tests: list[Test] = []
    rounds: list[Round] = []
    family: int | None = None
    while True:
        missing = {k: [s for s in range(n) if s not in present[k]] for k, n in seeds.items()}
        missing = {k: m for k, m in missing.items() if m}
        if missing:
            return Replay(budget, seeds, tests, rounds, missing, labels)
        now = runs[[s < seeds[k] for k, s in zip(runs["_group"], runs["seed"], strict=True)]]
        tests, family = _look(now, claims, budget, seeds, tests, family)
        added, why = {}, []
        for test in tests:
            if test.decided:
                continue
            grow = [k for k in sorted(test.groups, key=str) if seeds[k] < budget.max]
            for key in grow:
                after = min(seeds[key] + budget.step, budget.max)
                added[key] = (seeds[key], max(after, added.get(key, (0, 0))[1]))
            if grow and test.looks:
                why.append(f"{test.looks[-1].outcome.text}: {test.looks[-1].why}")
        if not added:
            return Replay(budget, seeds, tests, rounds, {}, labels)
        for key, (_, after) in added.items():
            seeds[key] = after
        rounds.append(Round(len(rounds) + 2, added, tuple(dict.fromkeys(why))))


def _look(
    runs: pd.DataFrame,
    claims: list[Claim],
    budget: SeedBudget,
    seeds: dict[GroupKey, int],
    tests: list[Test],
    family: int | None,
) -> tuple[list[Test], int]:
    """One look at every undecided claim on `runs` (each group at its seeds so far), and the
    family: the statements testable at the first look, fixed from then on."""
    from resbench.analysis.verdicts import claim_tests

    known = {(t.index, t.part): t for t in tests}
    out: list[Test] = []
    pending: list[tuple[Test, Judgement]] = []
    for index, claim in enumerate(claims):
        mine = [t for t in tests if t.index == index]
        if mine and all(t.decided for t in mine):
            out += mine
            continue
        for part, item in enumerate(claim_tests(claim, runs)):
            # The fixed rule's outcome carries the two groups; the level is set below.
            outcome = item.judge(CLAIMS_ALPHA, True) if isinstance(item, FixedTest) else item
            test = known.get((index, part)) or Test(claim, index, part)
            out.append(test)
            if test.decided:
                continue
            test.groups = _groups_of(runs, claim, outcome)
            if not isinstance(item, FixedTest) or len(outcome.groups) != 2:
                test.blocked = outcome  # runs missing, or nets that differ: seeds cannot help
                continue
            pending.append((test, outcome))
    if family is None:
        family = max(1, sum(t.blocked is None for t in out))
    for test, outcome in pending:
        a, b = outcome.groups
        fraction = information(a.n, b.n, budget.max)
        if test.looks and fraction <= test.looks[-1].fraction + 1e-9:
            continue  # no information since the last look: no look
        last = all(seeds[k] >= budget.max for k in test.groups) or fraction >= 1 - 1e-9
        fractions = (*(look.fraction for look in test.looks), fraction)
        above, bound = _bound(test.claim)
        look = judge(outcome, above, bound, fractions, budget.spending, last, family)
        test.looks.append(look)
    return out, family


def _bound(claim: Claim) -> tuple[bool, float]:
    """(is the claim that the difference exceeds the bound, the bound)."""
    if claim.claim == "holds":
        return False, float(claim.tolerance)
    return True, float(claim.min_gap)  # type: ignore[union-attr]


def _groups_of(runs: pd.DataFrame, claim: Claim, outcome: Judgement) -> frozenset[GroupKey]:
    """The groups a claim reads: the two it compares, and for `degrades` every depth of its
    arch (any of them may become the best shallower one)."""
    chosen = select_runs(runs, claim.where)
    pairs = {(g.arch, g.depth) for g in outcome.groups}
    arch = chosen["arch"].astype(str)
    mine = [(a, int(d)) in pairs for a, d in zip(arch, chosen["depth"], strict=True)]
    if claim.claim == "degrades":
        mine = [m or a == claim.arch for m, a in zip(mine, arch, strict=True)]
    return frozenset(chosen.loc[mine, "_group"])


def _object_column(values: list[Any], n: int) -> Any:
    """`values` as one object column's cells (tuples stay whole)."""
    import numpy as np

    cells = np.empty(n, dtype=object)
    cells[:] = values
    return cells


def _labels(runs: pd.DataFrame) -> dict[GroupKey, str]:
    """'plain-56', or 'plain-110 (batch_norm false)' where the sweep has variants."""
    from resbench.analysis.variants import variant_columns

    variants = variant_columns(runs.drop(columns="_group"))
    out = {}
    for key, rows in runs.groupby("_group", sort=False):
        row = rows.iloc[0]
        shown = ", ".join(f"{c.split('.')[-1]} {_value(row[c])}" for c in variants)
        out[key] = f"{row['arch']}-{row['depth']}" + (f" ({shown})" if shown else "")
    return out


def _value(value: Any) -> str:
    if value is None or value != value:
        return "null"
    return str(value).lower() if str(value) in ("True", "False") else str(value)


def _seeds(first: int, end: int) -> str:
    return f"seed {first}" if end - first == 1 else f"seeds {first}-{end - 1}"


def describe_round(round_: Round, labels: dict[GroupKey, str]) -> list[str]:
    """Lines for the progress view: the seeds a round adds, where, and the claims that ask."""
    by_seeds: dict[tuple[int, int], list[str]] = {}
    for key, span in round_.added.items():
        by_seeds.setdefault(span, []).append(labels.get(key, str(key)))
    parts = [f"{_seeds(a, b)} to {', '.join(names)}" for (a, b), names in sorted(by_seeds.items())]
    head = f"round {round_.number}: adding {'; '.join(parts)}, for undecided claims:"
    return [head, *(f"  {why}" for why in round_.why)]


# --------------------------------------------------------------------------- the check


def check(
    runs: pd.DataFrame,
    claims: list[Claim],
    budget: SeedBudget,
    baseline: pd.DataFrame | None = None,
    tolerance: float | None = None,
) -> list[Judgement]:
    """`resbench.analysis.verdicts.check` for a sweep with a seed budget: completeness, the
    claims as the sequential rule decided them, and the baseline as ever."""
    from resbench.analysis.baseline import BASELINE_TOLERANCE, compare_baseline
    from resbench.analysis.verdicts import completeness

    if runs.empty:
        raise ResbenchError("nothing to check: the results have no runs")
    out = [completeness(runs), *replay(runs, claims, budget).outcomes()]
    if baseline is not None:
        out += compare_baseline(
            runs, baseline, BASELINE_TOLERANCE if tolerance is None else tolerance
        )
    return out
