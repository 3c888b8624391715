"""The best of a swept key, the landscape, the drift of the best value with depth and the depth
each arch reaches: on fabricated sweeps whose answer is known, then through report, plot and
check."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_SWEEP, write_results
from test_plot import png_size
from typer.testing import CliRunner

from resbench import ResbenchError
from resbench.analysis import best_of as axes
from resbench.analysis.verdicts import evaluate_claims
from resbench.cli import app
from resbench.sweep.claims import Drift, DriftsLess, Holds, Reaches
from resbench.sweep.load import parse_sweep
from resbench.sweep.schema import SweepError

runner = CliRunner()
LRS = (2**-9, 2**-8, 2**-7, 2**-6, 2**-5)

Loss = Callable[[int, float, int], "float | str"]  # (depth, lr, seed) -> loss, or a status


def sweep_runs(
    loss: Loss,
    depths: tuple[int, ...] = (8, 32),
    lrs: tuple[float, ...] = LRS,
    seeds: int = 8,
    archs: tuple[str, ...] = ("residual",),
    **columns: object,
) -> pd.DataFrame:
    """A fabricated runs table over depth x train.lr x seed: train_loss from `loss` (or a
    status: "diverged", "failed"), train_error a tenth of it."""
    rows = []
    for arch in archs:
        for depth in depths:
            for lr in lrs:
                for seed in range(seeds):
                    value = loss(depth, lr, seed)
                    ok = not isinstance(value, str)
                    rows.append(
                        {
                            "run_id": f"{arch}-{depth}-{lr}-{seed}-{columns}",
                            "sweep": "hand",
                            "dataset": "mnist1d",
                            "family": "mlp",
                            "arch": arch,
                            "depth": depth,
                            "width": 64,
                            "seed": seed,
                            "model.batch_norm": False,
                            "train.lr": lr,
                            "train.epochs": 3,
                            "status": "ok" if ok else value,
                            "train_loss": value if ok else None,
                            "train_error": value / 10 if ok else None,
                            "test_error": value / 10 + 0.02 if ok else None,
                            "seconds": 1.0,
                            **columns,
                        }
                    )
    return pd.DataFrame(rows)


def valley(best: Callable[[int], float], noise: float = 0.0) -> Loss:
    """A loss whose minimum over lr is at best(depth), 1.0 there, rising 0.1 per octave²."""

    def loss(depth: int, lr: float, seed: int) -> float:
        return 1.0 + 0.1 * (math.log2(lr) - math.log2(best(depth))) ** 2 + noise * (seed % 3)

    return loss


def at_best(runs: pd.DataFrame, metric: str = "train_loss", by: str = "train_loss"):
    sel = axes.selection(runs, "train.lr", by)
    chosen = axes.choices(runs, sel)
    return sel, chosen, axes.best_summary(runs, sel, chosen, metric)


# --------------------------------------------------------------------------- the best value


def test_an_outlier_seed_at_one_lr_does_not_flatter_the_reported_figure() -> None:
    # Every seed: 1.0 at 2^-7, the best; 1.2 at every other rate. But seed 1, one of the seeds
    # the choice is made on, is an outlier at 2^-6: 0.1.
    def loss(depth: int, lr: float, seed: int) -> float:
        if lr == 2**-6 and seed == 1:
            return 0.1
        return 1.0 if lr == 2**-7 else 1.2

    sel, chosen, summary = at_best(sweep_runs(loss, depths=(8,)))
    assert sel.held_out and sel.choose_seeds == (0, 1, 2, 3) and sel.report_seeds == (4, 5, 6, 7)
    # The outlier fools the choice: on seeds 0-3, 2^-6 has mean (3 x 1.2 + 0.1) / 4 = 0.925...
    assert chosen["train.lr"].item() == 2**-6 and chosen["score"].item() == pytest.approx(0.925)
    # ...but the figure comes from the other four seeds, where 2^-6 is what it is: 1.2, worse
    # than the true best (1.0), not the 0.925 the choice saw.
    row = summary.iloc[0]
    assert row["chosen"] == 2**-6 and row["n_ok"] == 4
    assert row["mean"] == pytest.approx(1.2)

    # The same outlier among the held-out seeds changes neither the choice nor the figure.
    def held_out(depth: int, lr: float, seed: int) -> float:
        return 0.1 if (lr == 2**-6 and seed == 5) else loss(depth, lr, 0)

    _, chosen, summary = at_best(sweep_runs(held_out, depths=(8,)))
    assert chosen["train.lr"].item() == 2**-7 and summary["mean"].item() == pytest.approx(1.0)


def test_with_fewer_than_four_seeds_the_choice_and_the_figure_share_them_and_say_so() -> None:
    def loss(depth: int, lr: float, seed: int) -> float:
        return 0.1 if (lr == 2**-6 and seed == 1) else (1.0 if lr == 2**-7 else 1.2)

    sel, chosen, summary = at_best(sweep_runs(loss, depths=(8,), seeds=3))
    assert not sel.held_out and sel.choose_seeds == sel.report_seeds == (0, 1, 2)
    assert "the same 3 seeds" in sel.describe() and "flatter" in sel.describe()
    # Here the figure is flattered: 2^-6 chosen by its outlier and reported with it.
    assert chosen["train.lr"].item() == 2**-6
    assert summary["mean"].item() == pytest.approx((1.2 + 0.1 + 1.2) / 3)


def test_a_diverged_run_is_the_worst_value_and_missing_runs_leave_a_value_out() -> None:
    def loss(depth: int, lr: float, seed: int) -> float | str:
        if lr == 2**-5 and seed == 0:
            return "diverged"  # the other seeds there are the best: still not chosen
        if lr == 2**-9 and seed == 2:
            return "failed"  # cannot be judged: not a candidate
        return {2**-5: 0.5, 2**-9: 0.6}.get(lr, 1.0)

    _, chosen, summary = at_best(sweep_runs(loss, depths=(8,)))
    row = chosen.iloc[0]
    assert row["train.lr"] not in (2**-5, 2**-9) and row["skipped"] == 1
    assert row["candidates"] == len(LRS) and summary["mean"].item() == 1.0
    # Every value diverged at one seed: a value is chosen all the same (ties: the smallest),
    # its score says why, and the held-out seeds give the figure.
    everywhere = sweep_runs(lambda d, lr, s: "diverged" if s == 0 else 1.0, depths=(8,))
    _, chosen, summary = at_best(everywhere)
    assert chosen["train.lr"].item() == LRS[0] and chosen["score"].item() == math.inf
    assert summary["n_ok"].item() == 4


def test_each_arch_depth_and_variant_gets_its_own_best_and_variants_stay_apart() -> None:
    runs = pd.concat(
        [
            sweep_runs(valley(lambda d: 2**-7), archs=("residual", "plain"), **{"m": "a"}),
            sweep_runs(valley(lambda d: 2**-6 if d == 8 else 2**-8), **{"m": "b"}),
        ]
    ).rename(columns={"m": "model.branch_multiplier"})
    sel, chosen, summary = at_best(runs)
    assert sel.key == "train.lr" and axes.others(runs, sel.key) == ["model.branch_multiplier"]
    got = {
        (r["model.branch_multiplier"], r["arch"], r["depth"]): r["chosen"]
        for _, r in summary.iterrows()
    }
    assert got == {
        ("a", "plain", 8): 2**-7,
        ("a", "plain", 32): 2**-7,
        ("a", "residual", 8): 2**-7,
        ("a", "residual", 32): 2**-7,
        ("b", "residual", 8): 2**-6,
        ("b", "residual", 32): 2**-8,
    }
    best = axes.best_runs(runs, sel, chosen)
    assert "train.lr" not in best and set(best["seed"]) == set(sel.report_seeds)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("train.momentum", "not swept by these runs"),
        ("depth", "the best of depth, arch or seed is not taken"),
        ("train.epochs", "not swept by these runs"),
    ],
)
def test_a_key_the_runs_do_not_sweep_is_one_line(key: str, says: str) -> None:
    runs = sweep_runs(valley(lambda d: 2**-7))
    with pytest.raises(ResbenchError, match=says):
        axes.selection(runs, key)


def test_a_key_that_follows_depth_leaves_nothing_to_choose() -> None:
    runs = sweep_runs(valley(lambda d: 2**-7), lrs=(0.1,))
    runs["train.lr"] = runs["depth"].map({8: 0.1, 32: 0.05})
    with pytest.raises(ResbenchError, match="one value per depth and arch"):
        axes.selection(runs, "train.lr")


def test_an_unrecorded_metric_is_one_line() -> None:
    with pytest.raises(ResbenchError, match="unknown metric 'train_los'"):
        axes.selection(sweep_runs(valley(lambda d: 2**-7)), "train.lr", "train_los")


# --------------------------------------------------------------------------- the drift


# An mlp of depth D has L = (D - 2) / 2 residual blocks: 3, 12, 48 and 192 blocks, each four
# times the last, at these depths.
QUADRUPLING = (8, 26, 98, 386)


def blocks_of(depth: int) -> float:
    return (depth - 2) / 2


def test_drift_is_the_slope_of_the_best_value_on_the_residual_blocks_in_octaves() -> None:
    # The best rate halves with each quadrupling of the blocks: a drift of -0.5.
    falling = valley(lambda d: 2**-6 * (blocks_of(d) / 3) ** -0.5, noise=0.001)
    runs = sweep_runs(falling, depths=QUADRUPLING, lrs=tuple(2.0**k for k in range(-12, -3)))
    best, drift = axes.drift(runs, "train.lr", "train_loss")
    assert list(best["train.lr"]) == [2**-6, 2**-7, 2**-8, 2**-9]
    assert list(best["blocks"]) == [3, 12, 48, 192]
    row = drift.iloc[0]
    assert row["drift"] == pytest.approx(-0.5) and row["n_seeds"] == 8
    assert row["low"] == pytest.approx(-0.5) and row["high"] == pytest.approx(-0.5)
    assert row["against"] == "log2 residual blocks L" and "against log2 residual" in row["note"]
    flat = sweep_runs(valley(lambda d: 2**-7), depths=(8, 32, 128))
    assert axes.drift(flat, "train.lr", "train_loss")[1]["drift"].item() == pytest.approx(0.0)


def test_against_log2_depth_the_same_runs_drift_otherwise() -> None:
    # A family whose blocks the registry does not know: the slope is taken against log2 depth,
    # and says so. Depths 8 to 386 span 5.6 octaves where their blocks span 6.
    falling = valley(lambda d: 2**-6 * (blocks_of(d) / 3) ** -0.5)
    runs = sweep_runs(falling, depths=QUADRUPLING, lrs=tuple(2.0**k for k in range(-12, -3)))
    _, drift = axes.drift(runs.assign(family="my_pkg.nets:net"), "train.lr", "train_loss")
    row = drift.iloc[0]
    assert row["against"].startswith("log2 depth") and row["drift"] < -0.5
    assert row["drift"] == pytest.approx(-3 / math.log2(386 / 8), abs=0.02)


def test_the_optimum_between_grid_values_is_interpolated_not_rounded() -> None:
    # The best rate lies a third of an octave above 2^-7 at every depth: the grid's argmin says
    # 2^-7, the interpolated optimum says where it is, and the drift is 0, not a grid step.
    runs = sweep_runs(valley(lambda d: 2 ** (-7 + 1 / 3)), depths=(8, 26, 98))
    best, drift = axes.drift(runs, "train.lr", "train_loss")
    assert set(best["train.lr"]) == {2**-7}
    assert best["optimum"].to_numpy() == pytest.approx(2 ** (-7 + 1 / 3))
    assert bool(best["interpolated"].all()) and drift["drift"].item() == pytest.approx(0.0)

    # A lopsided valley (steep above the optimum, shallow below), as real ones are: the cubic
    # through four points finds its minimum where a parabola through three would not.
    def lopsided(depth: int, lr: float, seed: int) -> float:
        t = math.log2(lr) + 6.6
        return 1.0 + 0.1 * (math.exp(t) - t - 1)

    best, _ = axes.drift(sweep_runs(lopsided, depths=(8, 26)), "train.lr", "train_loss")
    assert math.log2(best["optimum"].iloc[0]) == pytest.approx(-6.6, abs=0.05)


def test_the_drift_interval_widens_when_seeds_disagree_on_the_best() -> None:
    # Half the seeds put the best rate of the deep net an octave lower, the other half not.
    def loss(depth: int, lr: float, seed: int) -> float:
        best = 2**-7 if depth == 8 or seed % 2 else 2**-8
        return valley(lambda d: best)(depth, lr, seed)

    _, drift = axes.drift(sweep_runs(loss), "train.lr", "train_loss")
    row = drift.iloc[0]
    # Half an octave lower on average, over log2(15 / 3) octaves of blocks; how far, the
    # resampled seeds disagree.
    assert row["drift"] == pytest.approx(-0.5 / math.log2(5), abs=0.01)
    assert row["low"] < row["drift"] - 0.05 and row["high"] > row["drift"] + 0.05


def test_fewer_than_four_seeds_give_a_drift_but_no_interval_and_no_verdict() -> None:
    runs = sweep_runs(valley(lambda d: 2**-7), seeds=3)
    row = axes.drift(runs, "train.lr", "train_loss")[1].iloc[0]
    assert row["drift"] == 0.0 and math.isnan(row["low"]) and math.isnan(row["high"])
    outcome = evaluate_claims(runs, [Drift(claim="drift", within=0.5)])[0]
    assert outcome.verdict == "INCONCLUSIVE" and "too few seeds" in outcome.note


def test_a_best_value_at_the_edge_of_the_grid_is_flagged() -> None:
    runs = sweep_runs(valley(lambda d: 2**-4 if d == 32 else 2**-7))
    best, _ = axes.drift(runs, "train.lr", "train_loss")
    assert list(best["at_edge"]) == [False, True]  # 2^-5 is the largest rate swept
    # At the edge the optimum may lie beyond: the estimate is the grid's end, not interpolated.
    edge = best.iloc[1]
    assert not edge["interpolated"] and edge["optimum"] == 2**-5 and edge["optimum_high"] == 2**-5


def test_a_depth_no_better_than_chance_is_left_out_of_the_drift_and_said() -> None:
    # At depth 128 every rate ends near ln 10 = 2.303, what a net that learned nothing scores
    # on MNIST-1D's 10 classes: its best rate says nothing, and the drift leaves it out.
    def loss(depth: int, lr: float, seed: int) -> float:
        if depth == 128:
            return 2.30 + 0.01 * (math.log2(lr) + 9) ** 2 + 0.02 * (seed % 3)
        return valley(lambda d: 2**-7)(depth, lr, seed)

    runs = sweep_runs(loss, depths=(8, 32, 128))
    best, drift = axes.drift(runs, "train.lr", "train_loss")
    assert list(best["trainable"]) == [True, True, False]
    assert best["chance"].iloc[0] == pytest.approx(math.log(10))
    row = drift.iloc[0]
    assert row["drift"] == pytest.approx(0.0) and row["depths"] == 2
    assert "no trainable value at depth 128" in row["note"]
    assert "no trainable value at depth 128" in axes.drift_caption(drift, "train.lr", "train_loss")


def test_missing_and_diverged_runs_count_alike_in_choosing_and_in_the_drift() -> None:
    # A failed run at the best rate makes it no candidate, in the choice and in the drift
    # alike; a depth where every rate diverged has no best value in either, and says why.
    def loss(depth: int, lr: float, seed: int) -> float | str:
        if depth == 32 and lr == 2**-7 and seed == 0:
            return "failed"
        if depth == 128:
            return "diverged"
        return valley(lambda d: 2**-7)(depth, lr, seed)

    runs = sweep_runs(loss, depths=(8, 32, 128))
    sel = axes.selection(runs, "train.lr")
    chosen = axes.choices(runs, sel).set_index("depth")
    best, drift = axes.drift(runs, "train.lr", "train_loss")
    best = best.set_index("depth")
    assert chosen.loc[32, "train.lr"] != 2**-7 and best.loc[32, "train.lr"] != 2**-7
    assert "every value diverged" in chosen.loc[128, "why"] and not best.loc[128, "trainable"]
    assert math.isnan(best.loc[128, "optimum"]) and drift["depths"].item() == 2
    assert "no trainable value at depth 128" in drift["note"].item()


# --------------------------------------------------------------------------- reach


def test_reach_is_the_deepest_depth_within_tolerance_of_the_best_from_it_on() -> None:
    errors = {8: 0.15, 20: 0.08, 56: 0.10, 110: 0.20, 200: 0.09}
    runs = sweep_runs(lambda d, lr, s: 10 * errors[d] + 0.001 * s, depths=tuple(errors), lrs=(0.1,))
    table = axes.reach(runs, tolerance=0.05)
    row = table.iloc[0]
    assert row["best_depth"] == 20 and row["reach"] == 56  # 110 is beyond: 200 does not count
    assert axes.reach(runs, tolerance=0.15)["reach"].item() == 200


# --------------------------------------------------------------------------- claims


def drifting_and_not() -> pd.DataFrame:
    falling = valley(lambda d: 2**-6 * (blocks_of(d) / 3) ** -0.5, noise=0.002)
    depths, lrs = QUADRUPLING[:3], tuple(2.0**k for k in range(-11, -3))
    return pd.concat(
        [
            sweep_runs(falling, depths, lrs, **{"model.branch_multiplier": "none"}),
            sweep_runs(
                valley(lambda d: 2**-6, noise=0.002),
                depths,
                lrs,
                **{"model.branch_multiplier": "inv_sqrt_depth"},
            ),
        ]
    )


def test_drift_claims_pass_and_fail_on_what_the_seeds_show() -> None:
    runs = drifting_and_not()
    scaled, unscaled = (
        {"model.branch_multiplier": "inv_sqrt_depth"},
        {"model.branch_multiplier": "none"},
    )
    claims = [
        Drift(claim="drift", within=0.1, where=scaled),
        Drift(claim="drift", within=0.1, where=unscaled),
        Drift(claim="drift", at_least=0.4, where=unscaled),
        Drift(claim="drift", at_least=0.1, where=scaled),
        Drift(claim="drift", at_least=0.6, where=unscaled),
        DriftsLess(claim="drifts_less", where=scaled, than_where=unscaled),
        DriftsLess(claim="drifts_less", where=unscaled, than_where=scaled),
    ]
    verdicts = [o.verdict for o in evaluate_claims(runs, claims)]
    assert verdicts == ["PASS", "FAIL", "PASS", "FAIL", "FAIL", "PASS", "FAIL"]
    pooled = evaluate_claims(runs, [Drift(claim="drift", within=0.1)])[0]
    assert pooled.verdict == "INCONCLUSIVE" and "branch_multiplier" in pooled.note


def test_claims_at_each_arch_best_use_the_held_out_seeds() -> None:
    runs = sweep_runs(valley(lambda d: 2**-7), depths=(8, 32, 128))
    plain = Holds(claim="holds", tolerance=0.01)
    assert evaluate_claims(runs, [plain])[0].verdict == "INCONCLUSIVE"  # lr pooled: no
    at_best_outcome = evaluate_claims(runs, [plain], best_over="train.lr")[0]
    assert at_best_outcome.verdict == "PASS"
    assert at_best_outcome.groups[0].n == 4 and "held-out seeds 4, 5, 6, 7" in at_best_outcome.note


def test_reaches_claim_needs_every_depth_from_the_best_within_tolerance() -> None:
    errors = {8: 0.15, 20: 0.08, 56: 0.10, 110: 0.20}
    runs = sweep_runs(lambda d, lr, s: 10 * errors[d] + 0.001 * s, depths=tuple(errors), lrs=(0.1,))
    outcomes = evaluate_claims(
        runs,
        [
            Reaches(claim="reaches", depth=56, tolerance=0.05),
            Reaches(claim="reaches", depth=110, tolerance=0.05),
            Reaches(claim="reaches", depth=8, tolerance=0.05),
        ],
    )
    assert [o.verdict for o in outcomes] == ["PASS", "FAIL", "PASS"]
    assert "residual-110" in outcomes[1].text


SWEEP_WITH_LR = TINY_SWEEP.replace("seed: [0, 1]", "seed: [0, 1]\n  train.lr: [0.01, 0.1]")


@pytest.mark.parametrize(
    ("claim", "says"),
    [
        ("{claim: drift, within: 0.2, over: train.momentum}", "expect[0].over: 'train.momentum'"),
        ("{claim: holds, best_over: train.weight_decay}", "expect[0].best_over"),
        ("{claim: holds, best_over: train.lr, best_by: train_los}", "expect[0].best_by"),
        ("{claim: reaches, depth: 20, best_over: train.lr}", "expect[0].depth: 20"),
        ("{claim: drift, within: 0.2, metric: loss}", "expect[0].metric: 'loss'"),
        ("{claim: drift, within: 0.2, at_least: 0.1}", "exactly one of within or at_least"),
        (
            "{claim: drifts_less, than_where: {model.width: 7}}",
            "expect[0].than_where: no run of the sweep",
        ),
    ],
)
def test_bad_axis_claims_are_refused_at_load(claim: str, says: str) -> None:
    with pytest.raises(SweepError, match=says.replace("[", r"\[").replace("]", r"\]")):
        parse_sweep(SWEEP_WITH_LR + f"expect:\n  - {claim}\n")


# --------------------------------------------------------------------------- the commands


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return write_results(tmp_path / "res", drifting_and_not(), claims=None)


def test_report_json_names_the_chosen_value_by_its_key(results: Path) -> None:
    result = runner.invoke(
        app, ["report", str(results), "--best-over", "train.lr", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.output)
    row = data["metrics"]["train_error"][0]
    assert {"arch", "depth", "train.lr", "mean", "n_ok"} <= set(row) and "chosen" not in row
    assert data["best"]["held_out"] and data["best"]["choose_seeds"] == [0, 1, 2, 3]
    drifts = {d["model.branch_multiplier"]: d["drift"] for d in data["drift"]}
    assert drifts == {"inv_sqrt_depth": 0.0, "none": pytest.approx(-0.5)}
    assert {"train.lr", "mean", "depth"} <= set(data["landscape"][0])
    assert data["reach"]["tolerance"] == 0.05 and data["reach"]["table"]


def test_report_csv_has_the_chosen_value_under_the_key(results: Path) -> None:
    result = runner.invoke(app, ["report", str(results), "--best-over", "train.lr", "-f", "csv"])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split(",")
    assert "train.lr" in header and "chosen" not in header


def test_report_tables_show_the_choice_the_drift_and_the_reach(results: Path) -> None:
    result = runner.invoke(
        app, ["report", str(results), "--best-over", "train.lr", "-f", "markdown"]
    )
    assert result.exit_code == 0, result.output
    assert "@ 2^-6" in result.output and "held out from the choice" in result.output
    assert "-0.50 [-0.50, -0.50] (n 8)" in result.output
    assert "the depth each arch reaches" in result.output
    plain = runner.invoke(app, ["report", str(results), "--best-over", "train.lr"])
    assert plain.exit_code == 0 and "drift" in plain.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--best-over", "train.momentum"], "train.momentum: not swept"),
        (["--best-over", "train.lr", "--best-by", "train_los"], "unknown metric 'train_los'"),
    ],
)
@pytest.mark.parametrize("command", ["report", "plot", "check"])
def test_bad_best_over_is_one_line_exit_2(
    results: Path, command: str, args: list[str], says: str
) -> None:
    (results / "sweep.yaml").write_text(TINY_SWEEP + "expect:\n  - {claim: holds}\n")
    result = runner.invoke(app, [command, str(results), *args])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and says in result.output


def test_plot_draws_the_landscape_and_each_arch_at_its_best(results: Path) -> None:
    depth = results / "depth.png"
    result = runner.invoke(app, ["plot", str(results), "--best-over", "train.lr", "-o", str(depth)])
    assert result.exit_code == 0, result.output
    assert depth.is_file() and (results / "landscape.png").is_file()
    # The landscape's runs are the whole sweep; the depth figure's, each arch at its best.
    missing = runner.invoke(app, ["plot", str(results), "--best-over", "train.lr"])
    assert missing.exit_code == 2 and "curves.csv" in missing.output
    width, height = png_size(results / "landscape.png")
    assert (width, height) == (2 * 900, 675)  # two panels side by side, 6 x 4.5 in at 150 dpi


def test_a_variant_whose_value_is_null_gets_its_best_values_and_drift_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # train.warmup_lr unset (an empty cell, NaN when read back) against 0.01: two variants
    # that each drift by -0.5, and every view must find the null one's rows as the other's.
    from resbench.results import Results
    from resbench.views import png as plot

    falling = valley(lambda d: 2**-6 * (blocks_of(d) / 3) ** -0.5)
    depths = QUADRUPLING[:3]
    runs = pd.concat([sweep_runs(falling, depths, **{"train.warmup_lr": v}) for v in (None, 0.01)])
    folder = write_results(tmp_path / "res", runs, claims=None)
    made = runner.invoke(app, ["report", str(folder), "--best-over", "train.lr", "-f", "markdown"])
    assert made.exit_code == 0, made.output
    table = made.output[made.output.index("**best train.lr by depth") :]
    table = table[: table.index("**the depth each arch reaches")]
    rows = [line for line in table.splitlines() if line.startswith("| warmup_lr")]
    assert len(rows) == 2 and all("| 2^-6.00 | 2^-7.00 | 2^-8.00 | -0.50" in r for r in rows), rows

    page = Results(folder).html(tmp_path / "page.html").read_text()
    section = page[page.index('<section id="landscape">') :]
    assert section.count('data-kind="best-lr"') == 2 and section.count("-0.50") >= 2

    drawn = []
    monkeypatch.setattr(plot, "_save", lambda fig, path: drawn.append(fig) or Path(path))
    Results(folder).plot_landscape(out=tmp_path / "landscape.png")
    titles = [ax.get_title() for ax in drawn[0].axes if ax.axison]
    assert len(titles) == 2 and all("drift -0.50" in t for t in titles), titles
