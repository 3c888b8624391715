"""Seeds until decided: the spending boundaries against simulation, the rule's false passes on
simulated seeds under repeated looks, the rounds replayed from records, the budget in a sweep
file, and a real sweep run in rounds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TINY_SWEEP, make_runs

from resbench.analysis.decision import CLAIMS_ALPHA
from resbench.analysis.judging import Group, Judgement
from resbench.analysis.sequential import judge, replay
from resbench.analysis.spending import ALPHA, information, nominal_level, spent, z_bounds
from resbench.analysis.verdicts import evaluate_claims
from resbench.core.errors import ResbenchError
from resbench.executors.events import Message, RunFinished
from resbench.results import Results
from resbench.runner import run
from resbench.sweep.claims import Degrades, Holds
from resbench.sweep.load import expand, load_sweep, parse_sweep
from resbench.sweep.seed_budget import SeedBudget

# --------------------------------------------------------------------------- the boundaries


@pytest.mark.parametrize("spending", ["pocock", "obrien_fleming"])
def test_the_boundaries_spend_what_the_spending_function_allows(spending: str) -> None:
    """Brownian paths observed at the looks leave (−c, c) upwards by look k with probability
    spent(t_k): the numerical integration, checked by simulation (400,000 paths)."""
    fractions = tuple(np.arange(3, 13) / 12)
    bounds = np.array(z_bounds(fractions, ALPHA, spending))
    rng = np.random.default_rng(0)
    steps = np.sqrt(np.diff(np.concatenate([[0.0], fractions])))
    z = (rng.standard_normal((400_000, len(fractions))) * steps).cumsum(axis=1) / np.sqrt(fractions)
    alive = np.ones(len(z), dtype=bool)
    up = 0.0
    for k, c in enumerate(bounds):
        up += (alive & (z[:, k] >= c)).mean()
        alive &= np.abs(z[:, k]) < c
        assert up == pytest.approx(spent(fractions[k], ALPHA, spending), abs=0.0012)


def test_one_look_at_full_information_is_the_fixed_rules_95_percent_interval() -> None:
    assert z_bounds((1.0,)) == (pytest.approx(1.959964, abs=1e-5),)
    assert nominal_level((1.0,)) == pytest.approx(0.95, abs=1e-6)
    assert information(3, 3, 12) == 0.25 and information(12, 12, 12) == 1.0


def test_pocock_spends_early_and_obrien_fleming_late() -> None:
    looks = (0.25, 0.5, 1.0)
    pocock, obf = z_bounds(looks, ALPHA, "pocock"), z_bounds(looks, ALPHA, "obrien_fleming")
    assert pocock[0] < obf[0] and pocock[-1] > obf[-1] > 1.96


# --------------------------------------------------------------------------- the rule


def _sequence(a: np.ndarray, b: np.ndarray, bound: float, low: int, high: int, level=None):
    """A claim mean(a) − mean(b) > bound looked at with low..high seeds a side: (verdict, n).
    `level`: a fixed interval level at every look instead of the spending function's."""
    fractions: tuple[float, ...] = ()
    for n in range(low, high + 1):
        fractions = (*fractions, information(n, n, high))
        outcome = Judgement(
            "claim", "", "INCONCLUSIVE", (Group("a", 1, tuple(a[:n])), Group("b", 2, tuple(b[:n])))
        )
        if level is None:
            look = judge(outcome, True, bound, fractions, "pocock", n == high)
        else:
            from resbench.analysis.stats import welch_interval

            low_end = welch_interval(a[:n], b[:n], level).low
            if low_end > bound or n == high:
                return ("PASS" if low_end > bound else "FAIL"), n
            continue
        if look.decided:
            return look.outcome.verdict, n
    raise AssertionError("the last look decides")


def test_false_passes_stay_under_alpha_when_looking_after_every_seed() -> None:
    """At the null (the difference exactly at the bound), normal seeds, 3 to 12 seeds a group,
    a look after each: the rule passes at most α of the time; the fixed 95% interval at every
    look, which ignores the repeated looks, passes far more often."""
    rng = np.random.default_rng(1)
    draws = 3000
    passed = naive = 0
    for _ in range(draws):
        a, b = rng.normal(0.3, 0.1, 12), rng.normal(0.0, 0.05, 12)
        passed += _sequence(a, b, 0.3, 3, 12)[0] == "PASS"
        naive += _sequence(a, b, 0.3, 3, 12, level=0.95)[0] == "PASS"
    se = math.sqrt(ALPHA * (1 - ALPHA) / draws)
    assert passed / draws <= ALPHA + 3 * se
    assert naive / draws > 2 * ALPHA


def test_a_clear_claim_is_decided_at_the_minimum_and_a_false_one_refuted() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.75, 0.07, 12), rng.normal(0.15, 0.08, 12)  # the ci preset's plain-56 − 8
    assert _sequence(a, b, 0.1, 3, 12) == ("PASS", 3)
    verdict, n = _sequence(b, a, 0.1, 3, 12)
    assert verdict == "FAIL" and n == 3  # its opposite shown: no seeds added for it


# --------------------------------------------------------------------------- the rounds


def _table(seeds: int):
    """plain degrades clearly; residual's holds is a coin toss (the same population)."""
    rng = np.random.default_rng(3)
    groups = {
        ("plain", 8): list(rng.normal(0.05, 0.01, seeds)),
        ("plain", 56): list(rng.normal(0.70, 0.02, seeds)),
        ("residual", 8): list(rng.normal(0.05, 0.02, seeds)),
        ("residual", 56): list(rng.normal(0.05, 0.02, seeds)),
    }
    return make_runs(groups)


CLAIMS = [
    Degrades(claim="degrades", arch="plain", min_gap=0.2),
    Holds(claim="holds", arch="residual", tolerance=0.0),
]


def test_the_rounds_add_the_next_seeds_only_to_the_undecided_claims_groups() -> None:
    state = replay(_table(8), CLAIMS, SeedBudget(min=3, max=8))
    assert state.complete
    seeds = {state.labels[k]: n for k, n in state.seeds.items()}
    assert seeds == {"plain-8": 3, "plain-56": 3, "residual-8": 8, "residual-56": 8}
    assert [r.number for r in state.rounds] == [2, 3, 4, 5, 6]
    assert all(
        set(r.added.values()) == {(n, n + 1)}
        for n, r in zip(range(3, 8), state.rounds, strict=True)
    )
    degrades, holds = state.outcomes()
    assert degrades.verdict == "PASS" and "decided at look 1 (n 3, 3" in degrades.note
    assert holds.verdict == "INCONCLUSIVE" and "undecided at the maximum" in holds.note
    assert "1.25% a side over all looks (Bonferroni, 2 claims)" in holds.note


def test_a_round_whose_seeds_are_not_recorded_says_which_are_missing() -> None:
    runs = _table(8)
    state = replay(runs[runs["seed"] < 5], CLAIMS, SeedBudget(min=3, max=8))
    assert not state.complete
    assert {state.labels[k]: m for k, m in state.missing.items()} == {
        "residual-8": [5],
        "residual-56": [5],
    }
    assert all(o.verdict == "INCONCLUSIVE" for o in state.outcomes()[1:])


def test_with_min_equal_to_max_the_verdicts_are_bonferronis_over_the_fixed_intervals() -> None:
    for name, n in (("ci", 8), ("remedies", 3)):
        runs = Results(ROOT / "results" / "reference" / name).runs
        claims = list(load_sweep(name).expect)
        fixed = evaluate_claims(runs, claims)  # Holm: each at 2.5%/(m − rank)
        state = replay(runs, claims, SeedBudget(min=n, max=n))
        m = sum(o.interval is not None for o in state.outcomes())
        levels = [o.interval.level for o in state.outcomes() if o.interval is not None]
        assert levels == pytest.approx([1 - 2 * CLAIMS_ALPHA / m] * m)
        for seq, holm in zip(state.outcomes(), fixed, strict=True):
            # Bonferroni is Holm's first step: it passes no claim Holm does not, and on these
            # references it passes the same ones
            assert seq.verdict == holm.verdict, (seq.text, seq.note, holm.note)


def test_a_failed_run_stops_its_claims_seeds() -> None:
    runs = _table(8)
    runs.loc[(runs["arch"] == "residual") & (runs["seed"] == 1), "status"] = "failed"
    state = replay(runs, CLAIMS, SeedBudget(min=3, max=8))
    assert state.complete and not state.rounds
    assert state.outcomes()[1].verdict == "INCONCLUSIVE"


def test_check_judges_a_budget_folder_by_the_sequential_rule(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    folder.mkdir()
    _table(8).to_csv(folder / "runs.csv", index=False)
    sweep = TINY_SWEEP.replace("  seed: [0, 1]\n", "seeds: {min: 3, max: 8}\n")
    claims = "expect:\n  - {claim: degrades, arch: plain, min_gap: 0.2}\n"
    (folder / "sweep.yaml").write_text(sweep + claims + "  - {claim: holds, tolerance: 0}\n")
    outcomes = Results(folder).check()
    assert [o.verdict for o in outcomes] == ["PASS", "PASS", "INCONCLUSIVE"]
    assert all("seeds until decided" in o.note for o in outcomes[1:])
    with pytest.raises(ResbenchError, match="best-over"):
        Results(folder).check(best_over="train.lr")


# --------------------------------------------------------------------------- the sweep file

BUDGET = TINY_SWEEP.replace("  seed: [0, 1]\n", "seeds: {min: 2, max: 4}\n") + (
    "expect:\n  - {claim: degrades, arch: plain, metric: params}\n"
    "  - {claim: degrades, arch: residual, metric: epochs}\n"
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("seeds: {min: 1, max: 4}", "seeds.min: Input should be greater than or equal to 2"),
        ("seeds: {min: 4, max: 3}", "seeds: max (3) must be at least min (4)"),
        ("seeds: {min: 2, max: 4, most: 9}", "seeds.most: unknown key (valid: min, max, step"),
        ("seeds: {min: 2, max: 4, spending: linear}", "seeds.spending: Input should be"),
        ("seeds: {min: 2, max: 4}\n  seed: [0]", "grid.seed: give a seed budget (seeds:) or"),
    ],
)
def test_a_bad_budget_is_one_line_naming_it(change: str, message: str) -> None:
    text = BUDGET.replace("seeds: {min: 2, max: 4}", change)
    if "seed: [0]" in change:  # a seed axis beside the budget
        text = BUDGET.replace(
            "  arch: [plain, residual]\n", "  arch: [plain, residual]\n  seed: [0]\n"
        )
    with pytest.raises(ResbenchError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        parse_sweep(text, "b.yaml")
    assert "\n" not in str(e.value) and str(e.value).startswith("b.yaml: ")


def test_a_budget_takes_only_claims_it_can_decide() -> None:
    drift = BUDGET + "  - {claim: drift, arch: plain, within: 0.3}\n"
    with pytest.raises(ResbenchError, match=r"expect\[2\]: with a seed budget"):
        parse_sweep(drift, "b.yaml")
    with pytest.raises(ResbenchError, match="seeds: a seed budget needs claims"):
        parse_sweep(BUDGET.split("expect:")[0], "b.yaml")


def test_a_budget_keeps_the_fixed_sweeps_run_ids() -> None:
    """Seed s of a budget is the run seed s of grid.seed: the ci reference stays valid."""
    fixed = {s.run_id for s in expand(load_sweep("ci"))}
    text = (ROOT / "resbench/sweep/presets/ci.yaml").read_text()
    budget = text.replace("  seed: [0, 1, 2, 3, 4, 5, 6, 7]\n", "seeds: {min: 3, max: 8}\n")
    assert budget != text
    assert {s.run_id for s in expand(parse_sweep(budget))} == fixed


# --------------------------------------------------------------------------- a real sweep


def test_a_budget_sweep_runs_in_rounds_and_a_rerun_runs_nothing(tmp_path: Path) -> None:
    """plain's claim (params: the same every seed) is decided at the minimum; residual's
    (epochs: equal at both depths) never is, so its groups get seeds 2 and 3, one a round."""
    path = tmp_path / "budget.yaml"
    path.write_text(BUDGET)
    events: list = []
    results = run(path, out=tmp_path, executor={"name": "inline"}, on_event=events.append)
    finished = [e.result.spec for e in events if isinstance(e, RunFinished)]
    got = sorted((s.model.arch, s.model.depth, s.seed) for s in finished)
    want = [("plain", d, s) for d in (8, 14) for s in (0, 1)]
    want += [("residual", d, s) for d in (8, 14) for s in range(4)]
    assert got == sorted(want)
    lines = [e.text for e in events if isinstance(e, Message)]
    assert any(
        line.startswith("round 2: adding seed 2 to residual-14, residual-8") for line in lines
    )
    assert len(results.runs) == 12
    plain, residual = [o for o in results.check() if o.kind == "claim"]
    assert plain.verdict == "PASS" and "decided at look 1 (n 2, 2" in plain.note
    assert residual.verdict == "INCONCLUSIVE" and "undecided at the maximum" in residual.note

    again: list = []
    run(path, out=tmp_path, executor={"name": "inline"}, on_event=again.append)
    assert not [e for e in again if isinstance(e, RunFinished)]
    assert len(Results(tmp_path / "tiny").runs) == 12


# --------------------------------------------------------------------------- the benchmarks


def _benchmark(name: str):
    import importlib.util
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_seeds_benchmark_reads_only_the_runs_each_rule_takes() -> None:
    seeds = _benchmark("seeds")
    pool = seeds.slim(_table(8))
    fixed, budget = seeds.rules("5,3-8")
    used, outcomes = seeds.judged(pool, CLAIMS, fixed)
    assert len(used) == 20 and [o.verdict for o in outcomes] == ["PASS", "INCONCLUSIVE"]
    used, outcomes = seeds.judged(pool, CLAIMS, budget)
    assert len(used) == 2 * 3 + 2 * 8  # plain decided at 3 seeds, residual's holds never
    assert [o.verdict for o in outcomes] == ["PASS", "INCONCLUSIVE"]
    order = [5, 2, 7]
    relabelled = seeds.relabel(pool, order)
    assert sorted(set(relabelled["seed"])) == [0, 1, 2]
    first = pool[(pool["seed"] == 5) & (pool["arch"] == "plain") & (pool["depth"] == 56)]
    again = relabelled[(relabelled["seed"] == 0) & (relabelled["arch"] == "plain")]
    assert first["train_error"].item() == again[again["depth"] == 56]["train_error"].item()


def test_the_held_out_seeds_are_left_out_where_best_of_never_reads_them() -> None:
    held_out = _benchmark("held_out")
    rows = []
    for lr, loss in ((0.01, [0.5, 0.6]), (0.1, [0.2, 0.3]), (1.0, [2.0, 2.0])):
        table = make_runs({("plain", 8): [0.1, 0.1]}, **{"train.lr": lr})
        rows.append(table.assign(train_loss=loss, run_id=table["run_id"] + f"-{lr}"))
    import pandas as pd

    entries = held_out.excludes(pd.concat(rows), "train.lr", "train_loss", [2, 3])
    assert entries == [{"arch": "plain", "depth": 8, "train.lr": [0.01, 1.0], "seed": [2, 3]}]
