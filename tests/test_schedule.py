"""Runs are handed out longest first; the driver of a sweep never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import TINY_SWEEP, checkout_env

from resbench.executors.order import cost, longest_first
from resbench.sweep.load import expand, load_sweep, parse_sweep


def test_the_deepest_runs_go_first_and_seeds_keep_their_order() -> None:
    specs = expand(load_sweep("quick"))
    ordered = longest_first(specs)
    assert sorted(s.run_id for s in ordered) == sorted(s.run_id for s in specs)
    depths = [s.model.depth for s in ordered]
    assert depths == sorted(depths, reverse=True) and depths[0] == 56 and depths[-1] == 8
    first = [(s.model.arch, s.seed) for s in ordered[:6]]
    assert first == [(a, seed) for a in ("plain", "residual") for seed in (0, 1, 2)]


def test_cost_follows_width_and_training_length() -> None:
    narrow, wide = (expand(parse_sweep(TINY_SWEEP, "tiny", {"model.width": w}))[0] for w in (4, 8))
    assert cost(wide) == 4 * cost(narrow)
    short, long = (
        expand(parse_sweep(TINY_SWEEP, "tiny", {"train.epochs": None, "train.steps": n}))[0]
        for n in (10, 30)
    )
    assert cost(long) == 3 * cost(short) > 0
    assert [s.train.steps for s in longest_first([short, long])] == [30, 10]


def test_the_driver_of_a_sweep_never_imports_torch(tiny_sweep_file: Path, tmp_path: Path) -> None:
    # A whole `resbench run` with worker processes: loading and checking the sweep, handing
    # out runs, storing their results, writing the CSVs and the table. Only workers train.
    # (On CPU runs: to count GPUs where a GPU driver is present, the driver asks torch.)
    code = (
        "import sys\n"
        "from resbench.cli import main\n"
        f"sys.argv = ['resbench', 'run', {str(tiny_sweep_file)!r}, '--out', {str(tmp_path)!r},"
        " '--workers', '2', '--device', 'cpu', '--quiet']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=checkout_env()
    )
    assert out.returncode == 0, out.stderr
    assert "torch imported: False" in out.stdout
    assert len(list((tmp_path / "tiny" / "runs").glob("*.json"))) == 8
