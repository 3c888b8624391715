"""The CI gate: Welch contrasts, the one notion of "worse", the baseline as two samples over
seeds with a family-wise false-alarm rate, and where the two sides were made."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import PAPER, make_runs, write_results
from typer.testing import CliRunner

from resbench.analysis.baseline import FAMILY_ALPHA, compare_baseline, machine_note
from resbench.analysis.judging import Group, worse
from resbench.analysis.stats import contrast_interval, one_sided, welch_interval
from resbench.analysis.summary import summarize
from resbench.analysis.verdicts import all_passed, evaluate_claims
from resbench.cli import app
from resbench.sweep.claims import Degrades

runner = CliRunner()

# The ci preset's train errors on MNIST-1D, 8 seeds of real runs (rounded): two honest draws
# of the same population, as another CPU model or thread count gives them.
REFERENCE = {
    ("plain", 8): [0.119, 0.134, 0.098, 0.121, 0.110, 0.127, 0.105, 0.116],
    ("plain", 56): [0.848, 0.723, 0.721, 0.742, 0.694, 0.872, 0.821, 0.689],
    ("residual", 8): [0.083, 0.107, 0.104, 0.095, 0.088, 0.099, 0.091, 0.101],
    ("residual", 56): [0.049, 0.057, 0.156, 0.071, 0.093, 0.062, 0.118, 0.080],
}
RERUN = {
    ("plain", 8): [0.125, 0.103, 0.131, 0.112, 0.120, 0.099, 0.128, 0.114],
    ("plain", 56): [0.656, 0.689, 0.676, 0.676, 0.699, 0.619, 0.709, 0.686],
    ("residual", 8): [0.097, 0.086, 0.110, 0.092, 0.102, 0.094, 0.089, 0.105],
    ("residual", 56): [0.067, 0.135, 0.052, 0.101, 0.074, 0.143, 0.059, 0.088],
}


def shifted(groups: dict, arch: str, by: float) -> dict:
    return {k: [min(v + by, 1.0) for v in vs] if k[0] == arch else vs for k, vs in groups.items()}


def failed(outcomes) -> list[str]:
    return [o.text.split(":")[0] for o in outcomes if not o.passed]


# --------------------------------------------------------------------------- statistics


def test_a_four_group_contrast_is_the_welch_satterthwaite_interval() -> None:
    stats = pytest.importorskip("scipy.stats")
    groups = [[0.7, 0.8, 0.75], [0.01, 0.02], [0.6, 0.9, 0.7, 0.8], [0.05, 0.03, 0.04]]
    weights = [1.0, -1.0, -1.0, 1.0]
    interval = contrast_interval(list(zip(weights, groups, strict=True)), level=0.9)
    means = [sum(g) / len(g) for g in groups]
    parts = [stats.tvar(g) / len(g) for g in groups]
    df = sum(parts) ** 2 / sum(p * p / (len(g) - 1) for p, g in zip(parts, groups, strict=True))
    half = stats.t.ppf(0.95, df) * math.sqrt(sum(parts))
    estimate = sum(w * m for w, m in zip(weights, means, strict=True))
    assert (interval.low, interval.diff, interval.high) == pytest.approx(
        (estimate - half, estimate, estimate + half)
    )
    assert interval.df == pytest.approx(df) and interval.level == 0.9


def test_a_higher_level_widens_the_interval() -> None:
    a, b = RERUN[("plain", 56)], REFERENCE[("plain", 56)]
    narrow, wide = welch_interval(a, b, 0.95), welch_interval(a, b, 0.995)
    assert wide.low < narrow.low < narrow.high < wide.high
    assert one_sided(0.975) == pytest.approx(0.95)


# --------------------------------------------------------------------------- one "worse"


def group(arch: str, depth: int, values: list[float]) -> Group:
    return Group(arch, depth, tuple(values))


def test_worse_needs_evidence_beyond_the_noise_over_seeds() -> None:
    shallow = group("residual", 8, [0.010, 0.011, 0.012])
    assert not worse(group("residual", 56, [0.002, 0.008, 0.038]), shallow)  # the issue's ▲
    assert worse(group("residual", 56, [0.030, 0.032, 0.031]), shallow)
    assert not worse(group("residual", 56, [0.030, 0.032, 0.031]), shallow, by=0.05)
    assert not worse(group("residual", 56, [0.5]), shallow)  # one seed: no evidence


def test_the_marker_and_the_degrades_claim_agree() -> None:
    claim = Degrades(claim="degrades", arch="plain", min_gap=0.0)
    tables = [
        PAPER,
        REFERENCE,
        {("plain", 8): [0.01, 0.012, 0.011], ("plain", 56): [0.01, 0.3, 0.02]},
        {("plain", 8): [0.01, 0.012, 0.011], ("plain", 56): [0.05, 0.06, 0.055]},
        {("plain", 8): [0.10, 0.11, 0.12], ("plain", 56): [0.09, 0.10, 0.11]},
    ]
    for groups in tables:
        runs = make_runs(groups)
        summary = summarize(runs)
        marked = bool(summary[(summary.arch == "plain") & (summary.depth == 56)]["worse"].iloc[0])
        (outcome,) = evaluate_claims(runs, [claim])
        assert marked == outcome.passed, groups


# --------------------------------------------------------------------------- the baseline


def test_an_honest_rerun_passes_though_means_moved_beyond_the_tolerance() -> None:
    outcomes = compare_baseline(make_runs(RERUN), make_runs(REFERENCE))
    assert all_passed(outcomes), failed(outcomes)
    moved = [o for o in outcomes if o.note.startswith("the mean moved more")]
    assert [o.text for o in moved] == [
        "plain-56 train_error: no change beyond ±0.05 from the reference",
        "plain-56 test_error: no change beyond ±0.05 from the reference",
    ]


def test_the_issues_quick_draw_passes() -> None:
    # plain-56 of the quick preset: 0.711 in the reference, 0.579 on another CPU (3 seeds).
    reference = {("plain", 56): [0.60, 0.72, 0.81], ("residual", 56): [0.005, 0.013, 0.009]}
    other_cpu = {("plain", 56): [0.45, 0.58, 0.70], ("residual", 56): [0.039, 0.010, 0.012]}
    assert all_passed(compare_baseline(make_runs(other_cpu), make_runs(reference)))


def test_residual_nets_0_3_worse_fail() -> None:
    outcomes = compare_baseline(make_runs(shifted(RERUN, "residual", 0.3)), make_runs(REFERENCE))
    assert set(failed(outcomes)) >= {"residual-8 train_error", "residual-56 train_error"}
    assert all(o.note == "worse than the reference" for o in outcomes if o.groups and not o.passed)


def test_residual_nets_that_lost_their_shortcut_fail() -> None:
    lost = {**RERUN, **{("residual", d): RERUN[("plain", d)] for d in (8, 56)}}
    outcomes = compare_baseline(make_runs(lost), make_runs(REFERENCE))
    assert {"residual-56 train_error", "effect at 56 (plain − residual train_error)"} <= set(
        failed(outcomes)
    )


def test_a_grown_effect_passes_and_a_better_group_fails_as_a_change() -> None:
    better = {k: [v / 10 if k[0] == "residual" else v for v in vs] for k, vs in REFERENCE.items()}
    outcomes = compare_baseline(make_runs(better), make_runs(REFERENCE))
    effect = outcomes[-1]
    assert effect.text.startswith("effect at 56") and effect.passed and effect.diff > 0
    changed = [o for o in outcomes if not o.passed]
    assert changed and all(o.note.startswith("better than the reference") for o in changed)


def test_each_comparison_runs_at_the_family_level() -> None:
    outcomes = compare_baseline(make_runs(RERUN), make_runs(REFERENCE))
    m = len(outcomes)  # 4 groups x 2 metrics + the effect
    assert m == 9
    levels = [o.interval.level for o in outcomes[:-1]]
    assert levels == pytest.approx([1 - FAMILY_ALPHA / m] * (m - 1))
    assert outcomes[-1].interval.level == pytest.approx(one_sided(1 - FAMILY_ALPHA / m))


def test_a_change_that_one_95_interval_would_call_is_not_a_family_alarm() -> None:
    now = {**RERUN, ("plain", 8): [v + 0.065 for v in RERUN[("plain", 8)]]}
    single = welch_interval(now[("plain", 8)], REFERENCE[("plain", 8)])
    assert single.low > 0.05  # alone at 95%, a change beyond the tolerance
    outcomes = compare_baseline(make_runs(now), make_runs(REFERENCE))
    plain8 = next(o for o in outcomes if o.text.startswith("plain-8 train_error"))
    assert plain8.passed and plain8.interval.low < 0.05


def test_a_one_seed_reference_is_inconclusive() -> None:
    one = {k: v[:1] for k, v in REFERENCE.items()}
    outcomes = compare_baseline(make_runs(RERUN), make_runs(one))
    assert {o.verdict for o in outcomes} == {"INCONCLUSIVE"}
    assert "reference: too few seeds" in outcomes[0].note


# --------------------------------------------------------------------------- where it was made


def machine(cpu: str, torch: str = "2.14.1", device: str = "cpu (1 threads)") -> dict:
    return {"cpu_model": cpu, "torch": torch, "device": device}


def test_the_machine_note_names_what_differs_and_calls_it_another_draw() -> None:
    here = make_runs(RERUN, **machine("AMD EPYC"))
    assert machine_note(here, make_runs(REFERENCE, **machine("AMD EPYC"))) is None
    note = machine_note(here, make_runs(REFERENCE, **machine("Intel Xeon", device="x")))
    assert note is not None and "\n" not in note
    assert "cpu_model AMD EPYC here, Intel Xeon in the reference" in note
    assert "device cpu (1 threads) here, x in the reference" in note
    assert "another draw" in note and "no failure" in note
    other_torch = machine_note(here, make_runs(REFERENCE, **machine("AMD EPYC", "2.9.0")))
    assert other_torch is not None and "torch 2.14.1 here, 2.9.0" in other_torch


def test_results_without_a_machine_still_compare_and_say_so() -> None:
    old = make_runs(REFERENCE)  # no cpu_model, torch or device columns: older results
    note = machine_note(make_runs(RERUN, **machine("AMD EPYC")), old)
    assert note is not None and note.startswith("where the reference was made is not recorded")
    assert all_passed(compare_baseline(make_runs(RERUN), old))


def test_check_prints_the_machine_line_and_passes_an_honest_draw(tmp_path: Path) -> None:
    results = write_results(tmp_path / "now", make_runs(RERUN, **machine("AMD EPYC")), None)
    reference = write_results(tmp_path / "ref", make_runs(REFERENCE, **machine("Intel Xeon")), None)
    result = runner.invoke(app, ["check", str(results), "--baseline", str(reference)])
    assert result.exit_code == 0, result.output
    assert "another draw" in result.output and "99.4% CI" in result.output
    markdown = runner.invoke(
        app, ["check", str(results), "--baseline", str(reference), "-f", "markdown"]
    )
    assert markdown.exit_code == 0 and "Intel Xeon in the reference" in markdown.output


def test_check_fails_results_whose_residual_nets_lost_their_shortcut(tmp_path: Path) -> None:
    lost = {**RERUN, **{("residual", d): RERUN[("plain", d)] for d in (8, 56)}}
    results = write_results(tmp_path / "now", make_runs(lost), None)
    reference = write_results(tmp_path / "ref", make_runs(REFERENCE), None)
    result = runner.invoke(app, ["check", str(results), "--baseline", str(reference)])
    assert result.exit_code == 1 and "worse than the reference" in result.output


def test_a_real_run_records_its_machine_in_runs_csv(tiny_sweep_file: Path, tmp_path: Path) -> None:
    from resbench.train.provenance import cpu_model

    run = ["run", str(tiny_sweep_file), "-o", str(tmp_path), "--executor", "inline"]
    assert runner.invoke(app, run).exit_code == 0
    results = tmp_path / "tiny"
    runs = pd.read_csv(results / "runs.csv")
    assert set(runs["cpu_model"]) == {cpu_model()} and runs["torch"].notna().all()
    same = runner.invoke(app, ["check", str(results), "--baseline", str(results)])
    assert same.exit_code == 0 and "another draw" not in same.output
    elsewhere = write_results(tmp_path / "elsewhere", runs.assign(cpu_model="Other CPU"), None)
    other = runner.invoke(app, ["check", str(results), "--baseline", str(elsewhere)])
    assert other.exit_code == 0 and "Other CPU in the reference" in other.output


def test_a_record_says_which_cpu_and_on_cuda_which_gpu_driver_and_cudnn() -> None:
    torch = pytest.importorskip("torch")
    from resbench.train.provenance import cpu_model, driver_version, environment

    env = environment("cpu (1 threads)")
    assert env["cpu_model"] == cpu_model() != "" and not {"gpu", "gpu_driver", "cudnn"} & set(env)
    assert all(isinstance(v, str) for v in env.values())
    proc = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build"
    assert driver_version(proc) == "560.35.03" and driver_version("no driver here") is None
    if torch.cuda.is_available():
        gpu = environment(torch.cuda.get_device_name())
        assert gpu["gpu"] == torch.cuda.get_device_name() and gpu["cudnn"] and gpu["gpu_driver"]
