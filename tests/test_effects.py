"""Effect sizes and robust summaries (the probability of improvement, the median and IQM, seeds
that split), the wins claim, and the claims of a check decided together (Holm)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import PAPER, TINY_SWEEP, make_runs, write_results
from typer.testing import CliRunner

from resbench.analysis.decision import CLAIMS_ALPHA
from resbench.analysis.effects import (
    improvement,
    iqm,
    split,
    split_threshold,
    stratified_bootstrap,
)
from resbench.analysis.summary import summarize
from resbench.analysis.verdicts import evaluate_claims
from resbench.cli import app
from resbench.sweep.claims import Beats, Wins
from resbench.sweep.load import parse_sweep
from resbench.sweep.schema import SweepError
from resbench.views.text import report_markdown

runner = CliRunner()


# --------------------------------------------------------------------------- improvement


def test_the_probability_of_improvement_is_mann_whitney_u_over_the_pairs() -> None:
    stats = pytest.importorskip("scipy.stats")
    a, b = [0.10, 0.12, 0.30, 0.05, 0.12], [0.11, 0.40, 0.35, 0.12]
    found = improvement(a, b)
    u = stats.mannwhitneyu(b, a).statistic  # pairs where b > a, ties half
    assert found.point == pytest.approx(u / (len(a) * len(b)))
    low, high = found.interval()
    assert low <= found.point <= high and found.n == (5, 4)


def test_ties_count_half_and_one_seed_gives_no_interval() -> None:
    assert improvement([0.1, 0.2], [0.1, 0.2]).point == 0.5
    assert improvement([0.1], [0.3]).point == 1.0
    assert np.isnan(improvement([0.1], [0.3]).interval()[0])


def test_where_every_pair_agrees_the_score_interval_stays_open_and_the_bootstrap_closes() -> None:
    # 8 seeds each, every one of A below every one of B: P is 1 in the sample, not surely in
    # the population. The bootstrap cannot see past its sample; the score interval can.
    a, b = [0.1 + 0.001 * i for i in range(8)], [0.5 + 0.001 * i for i in range(8)]
    low, high = improvement(a, b).interval()
    assert high == 1.0 and 0.7 < low < 0.95
    assert stratified_bootstrap(a, b) == (1.0, 1.0)
    # The score test agrees with its interval: P > low is shown at 2.5% a side, P > low + 0.05
    # is not.
    assert improvement(a, b).p_above(low - 0.01) < 0.025 < improvement(a, b).p_above(low + 0.05)


def test_the_interval_narrows_with_seeds() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for n in (4, 16, 64):
        low, high = improvement(rng.normal(0, 1, n), rng.normal(0.5, 1, n)).interval()
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_the_score_interval_covers_a_true_p_near_one_where_the_bootstrap_does_not() -> None:
    # A shift of 3 sd: P(A < B) = Φ(3/√2) = 0.983. Over 300 draws of 8 seeds a side.
    from scipy.stats import norm

    rng = np.random.default_rng(3)
    truth = float(norm.cdf(3 / np.sqrt(2)))
    score = boot = 0
    for i in range(300):
        a, b = rng.normal(0, 1, 8), rng.normal(3, 1, 8)
        low, high = improvement(a, b).interval()
        score += low <= truth <= high
        low, high = stratified_bootstrap(a, b, replicates=500, seed=i)
        boot += low <= truth <= high
    assert score / 300 >= 0.93 and boot / 300 < 0.6


# --------------------------------------------------------------------------- robust summaries


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert iqm([0.0, 1.0, 2.0, 3.0, 100.0, -100.0, 1.5, 2.5]) == pytest.approx(1.75)


def test_seeds_in_two_humps_split_and_one_hump_does_not() -> None:
    humps = [0.05, 0.06, 0.07, 0.06, 0.71, 0.74, 0.69, 0.72]  # some seeds train, some stick
    assert split(humps)
    assert not split([0.70, 0.75, 0.80, 0.72, 0.74, 0.77, 0.69, 0.73])
    assert not split([0.05, 0.9, 0.4])  # three seeds cannot show two humps of two


def test_the_split_test_calls_one_hump_split_at_its_level() -> None:
    rng = np.random.default_rng(1)
    for n in (5, 8, 16):
        calls = np.mean([split(rng.standard_normal(n)) for _ in range(2000)])
        assert calls == pytest.approx(0.05, abs=0.015), (n, calls)
    assert split_threshold(8) == split_threshold(8)  # fixed per n


def test_a_split_group_shows_its_median_in_the_report() -> None:
    groups = {
        ("plain", 8): [0.10, 0.11, 0.12, 0.10, 0.11, 0.12],
        ("plain", 56): [0.05, 0.06, 0.07, 0.71, 0.74, 0.69],
    }
    summary = summarize(make_runs(groups))
    deep = summary[summary["depth"] == 56].iloc[0]
    assert deep["split"] and not summary[summary["depth"] == 8]["split"].iloc[0]
    assert deep["median"] == pytest.approx(0.38) and deep["iqm"] == pytest.approx(0.39, abs=0.01)
    from resbench.analysis.summary import report_data

    assert "seeds split: median 0.380" in report_markdown(report_data(make_runs(groups)))


# --------------------------------------------------------------------------- the wins claim


EIGHT = {
    ("plain", 8): [0.010, 0.012, 0.008, 0.011, 0.009, 0.010, 0.012, 0.011],
    ("plain", 56): [0.70, 0.75, 0.80, 0.72, 0.78, 0.74, 0.69, 0.77],
    ("residual", 8): [0.010, 0.012, 0.009, 0.011, 0.010, 0.008, 0.011, 0.012],
    ("residual", 56): [0.005, 0.007, 0.006, 0.008, 0.004, 0.006, 0.007, 0.005],
}


def test_wins_passes_where_one_arch_beats_the_other_on_most_pairs() -> None:
    wins = Wins(claim="wins", arch="residual", than="plain", depth=56, at_least=0.7)
    (outcome,) = evaluate_claims(make_runs(EIGHT), [wins])
    assert outcome.verdict == "PASS" and outcome.diff == 1.0
    assert "P(residual-56 < plain-56) 1.00 [0.7" in outcome.note
    # Every pair agrees at 3 seeds too, but 9 pairs cannot show P > 0.7.
    (three,) = evaluate_claims(make_runs(PAPER), [wins])
    assert three.verdict == "INCONCLUSIVE" and "seeds a group would likely decide it" in three.note


def test_wins_fails_and_stays_undecided_where_the_pairs_say_so() -> None:
    runs = make_runs(PAPER)
    shallow = Wins(claim="wins", arch="residual", than="plain", depth=8, at_least=0.9)
    (outcome,) = evaluate_claims(runs, [shallow])
    assert outcome.verdict in ("FAIL", "INCONCLUSIVE") and not outcome.passed
    backwards = Wins(claim="wins", arch="plain", than="residual", depth=56, at_least=0.5)
    assert evaluate_claims(runs, [backwards])[0].verdict == "FAIL"
    mixed = {**PAPER, ("residual", 20): [0.04, 0.08, 0.05, 0.07], ("plain", 20): [0.05] * 4}
    middling = Wins(claim="wins", arch="residual", than="plain", depth=20, at_least=0.5)
    outcome = evaluate_claims(make_runs(mixed), [middling])[0]
    assert outcome.verdict == "INCONCLUSIVE" and "seeds a group would likely decide" in outcome.note


def test_wins_is_checked_at_load_and_in_the_schema() -> None:
    good = TINY_SWEEP + "expect:\n  - {claim: wins, arch: residual, than: plain, depth: 14}\n"
    assert parse_sweep(good).expect[0].at_least == 0.5
    for claim, says in (
        ("{claim: wins, depth: 20}", "expect[0].depth: 20"),
        ("{claim: wins, depth: 14, than: preact}", "expect[0].than"),
        ("{claim: wins, depth: 14, at_least: 1}", "at_least"),
    ):
        with pytest.raises(SweepError, match=says.replace("[", r"\[").replace("]", r"\]")):
            parse_sweep(TINY_SWEEP + f"expect:\n  - {claim}\n")
    from resbench.sweep.load import preset_path

    schema = (preset_path("quick").parent / "sweep.schema.json").read_text()
    assert '"wins"' in schema


# --------------------------------------------------------------------------- Holm


def boundary_runs(rng: random.Random, depths: list[int], n: int) -> object:
    """Plain exactly 0.1 worse than residual at every depth, on average: each `beats` claim
    with min_gap 0.1 is false, just."""
    groups = {}
    for depth in depths:
        base = [rng.gauss(0.2, 0.05) for _ in range(n)]
        groups[("residual", depth)] = base
        groups[("plain", depth)] = [rng.gauss(0.3, 0.05) for _ in range(n)]
    return make_runs(groups)


def test_a_family_of_false_claims_passes_one_at_most_at_its_level() -> None:
    # Six claims, each false at its bound: alone, each passes 2.5% of the time, so one of six
    # passes about 14% of the time; judged together, at most 2.5%.
    rng = random.Random(7)
    depths = [8, 14, 20, 26, 32, 38]
    claim = Beats(claim="beats", arch="residual", than="plain", depths=tuple(depths), min_gap=0.1)
    draws, together, alone = 200, 0, 0
    for _ in range(draws):
        runs = boundary_runs(rng, depths, 6)
        together += any(o.passed for o in evaluate_claims(runs, [claim]))
        singles = [
            Beats(claim="beats", arch="residual", than="plain", depths=(d,), min_gap=0.1)
            for d in depths
        ]
        alone += any(evaluate_claims(runs, [c])[0].passed for c in singles)
    assert together / draws <= CLAIMS_ALPHA + 0.02
    assert alone / draws > 0.07  # what Holm is there for


def test_check_says_the_claims_are_judged_together(tmp_path) -> None:
    results = write_results(tmp_path / "hand", make_runs(PAPER))
    result = runner.invoke(app, ["check", str(results)])
    assert result.exit_code == 0, result.output
    assert "judged together (Holm–Bonferroni)" in " ".join(result.output.split())
    assert "level 0.833% a side (Holm, 1st of 3 claims" in " ".join(result.output.split())


def test_the_report_says_how_often_each_arch_beats_the_first_at_each_depth(tmp_path) -> None:
    import json

    results = write_results(tmp_path / "hand", make_runs(EIGHT), claims=None)
    made = runner.invoke(app, ["report", str(results), "--format", "json"])
    assert made.exit_code == 0, made.output
    (data,) = json.loads(made.output)
    rows = {(r["depth"], r["arch"]): r for r in data["effects"]["train_error"]}
    assert set(rows) == {(8, "residual"), (56, "residual")}
    deep = rows[(56, "residual")]
    assert deep["than"] == "plain" and deep["p_better"] == 1.0 and deep["n"] == 8
    assert 0.7 < deep["low"] < 0.8 and deep["high"] == 1.0
