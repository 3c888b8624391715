"""benchmarks/: gpu.sh and its parts run where only torch is installed; diagnostics.py and
why_cost.py run; gate.py makes its regressions and draws as it says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, checkout_env

from resbench.executors.slots import usable_cores
from resbench.sweep.load import expand, load_sweep


def json_lines(script: str, *args: str) -> list[dict]:
    """The JSON lines `benchmarks/SCRIPT ARGS` prints, run from the checkout's root."""
    out = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        env=checkout_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_gpu_throughput_runs_without_pydantic_or_mnist1d() -> None:
    # The GPU machine has neither: block both, then run the script as gpu.sh does, on the CPU.
    code = (
        "import sys, runpy; sys.modules['pydantic'] = sys.modules['mnist1d'] = None;"
        "sys.argv = ['gpu_throughput.py', '--device', 'cpu', '--depths', '8', '--steps', '1',"
        " '--warmup-steps', '1', '--batch-size', '4', '--images', '16'];"
        "runpy.run_path('benchmarks/gpu_throughput.py', run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=checkout_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [(r["depth"], r["precision"]) for r in rows] == [(8, "fp32"), (8, "bf16")]
    assert all(r["samples_per_s"] > 0 for r in rows)


def test_gpu_sweep_loads_and_expands() -> None:
    specs = expand(load_sweep(ROOT / "benchmarks" / "gpu-sweep.yaml"))
    assert {(s.model.arch, s.model.depth) for s in specs} == {
        (a, d) for a in ("plain", "residual") for d in (20, 56)
    }


def test_gpu_packing_sweep_is_eight_resnet20_runs_on_the_gpu() -> None:
    specs = expand(load_sweep(ROOT / "benchmarks" / "gpu-packing.yaml"))
    assert len(specs) == 8 and {(s.model.family, s.model.depth) for s in specs} == {("cifar", 20)}
    assert {s.train.device for s in specs} == {"cuda"}


def test_gpu_scripts_are_valid_bash_and_wheels_sh_says_how_to_use_it() -> None:
    for script in ("gpu.sh", "wheels.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / script)], check=True)
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "wheels.sh")], capture_output=True)
    assert done.returncode == 2 and b"usage: wheels.sh download DIR" in done.stderr


def test_packing_benchmark_runs_the_sweep_at_each_packing() -> None:
    # On the CPU (--workers in place of --runs-per-gpu), two tiny runs at 1 and 2 at once.
    tiny = ["train.steps=2", "train.eval_every=2", "train.batch_size=8", "dataset.n_train=64"]
    tiny += ["dataset.n_test=16", "model.width=4", "grid.seed=[0,1]"]
    args = ["--cpu", "--packings", "1,2", *(a for item in tiny for a in ("-s", item))]
    rows = json_lines("packing.py", *args)
    assert [(r["runs_per_gpu"], r["runs"], r["statuses"]) for r in rows] == [
        (1, 2, {"ok": 2}),
        (2, 2, {"ok": 2}),
    ]
    assert all(r["summed_samples_per_s"] > 0 and r["wall_s"] > 0 for r in rows)
    assert rows[0]["summed_vs_first"] == 1.0


def test_diagnostics_benchmark_runs_pairs_and_prints_a_ratio(tiny_sweep_file: Path) -> None:
    args = ["--sweep", str(tiny_sweep_file), "--depths", "8", "--epochs", "1", "--repeats", "1"]
    (line,) = json_lines("diagnostics.py", *args)
    (row,) = line["rows"]
    assert row["model"] == "conv1d-8" and row["n"] == 1
    assert row["cpu_ratio"] > 0 and row["wall_ratio"] > 0


def test_why_cost_benchmark_prints_each_diagnostics_cost_in_steps() -> None:
    (line,) = json_lines("why_cost.py", "--nets", "conv1d", "--repeats", "1")
    costs = line["costs"]["conv1d"]
    assert costs["step_seconds"] > 0
    assert {"signal", "jacobian", "grad_correlation", "lesions", "loss_slice"} <= set(costs)
    # A pass over 11 x 11 points costs more than one over 21: the grid is the cost.
    assert costs["loss_surface"] > costs["loss_slice"] > 0


def _gate_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gate", ROOT / "benchmarks" / "gate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gate_benchmark_makes_its_regressions_as_documented() -> None:
    from conftest import make_runs

    gate = _gate_module()
    runs = make_runs(
        {
            ("plain", 8): [0.10, 0.20],
            ("plain", 56): [0.70, 0.90],
            ("residual", 8): [0.05, 0.06],
            ("residual", 56): [0.10, 0.80],
        }
    )

    def values(frame, arch, depth, metric="train_error"):
        rows = frame[(frame.arch == arch) & (frame.depth == depth)].sort_values("seed")
        return list(rows[metric])

    lost = gate.lost_shortcut(runs)
    assert values(lost, "residual", 56) == values(runs, "plain", 56) and len(lost) == len(runs)
    worse = gate.residual_worse(0.3)(runs)
    assert values(worse, "residual", 56) == pytest.approx([0.4, 1.0])  # clipped at error 1
    assert values(worse, "residual", 8, "test_error") == pytest.approx([0.37, 0.38])
    assert values(worse, "plain", 56) == values(runs, "plain", 56)
    halved = gate.effect_halved(runs)
    gap = sum(values(runs, "plain", 56)) / 2 - sum(values(runs, "residual", 56)) / 2
    new_gap = sum(values(halved, "plain", 56)) / 2 - sum(values(halved, "residual", 56)) / 2
    assert new_gap == pytest.approx(gap / 2) and values(halved, "plain", 8) == [0.10, 0.20]


def test_gate_benchmark_draws_disjoint_seeds_for_its_two_sides() -> None:
    import random

    from conftest import make_runs

    gate = _gate_module()
    pool = make_runs({("plain", 8): [0.1] * 6, ("residual", 8): [0.05] * 6})
    draws = gate.scenarios(pool, None, None, n=3)
    kind, other_seeds = draws["other seeds"]
    now, ref = other_seeds(random.Random(0))
    assert kind == "false alarm" and len(now) == len(ref) == 6
    assert not set(now["seed"]) & set(ref["seed"])
    assert {k for k, (kind, _) in draws.items() if kind == "detection"} == set(gate.REGRESSIONS)


def test_scale_benchmark_times_each_executor_against_the_ideal() -> None:
    (r,) = json_lines("scale.py", "--runs", "6", "--steps", "1", "--executors", "local")
    assert (r["executor"], r["slots"], r["recorded"]) == ("local", usable_cores(), 6)
    assert r["wall_s"] > r["ideal_s"] > 0 and r["start_s"] > 0
    assert r["overhead"] == pytest.approx((r["wall_s"] - r["ideal_s"]) / r["ideal_s"], rel=0.01)


def test_page_benchmark_measures_both_ways_of_drawing_the_figures() -> None:
    (row,) = json_lines("page.py", "results/reference/ci", "--repeats", "1")
    assert row["svg_page_bytes"] > row["svg_figure_bytes"] > 0
    assert row["png_page_bytes"] > row["png_figure_bytes"] > 0
    assert row["svg_cpu_s"] > 0 and row["png_cpu_s"] > 0
