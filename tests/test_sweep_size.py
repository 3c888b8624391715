"""Huge sweeps fail fast: runs are counted from the axes, before any is made."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY_SWEEP, checkout_env

from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import SweepError
from resbench.sweep.size import count_runs

# Axes of 4 x 2 x 2 x 3, a zip group of 2, an exclude that overlaps itself, and an include.
MIXED = TINY_SWEEP.replace("depth: [8, 14]", "depth: [8, 14, 20, 26]") + (
    "  train.lr: [0.1, 0.05, 0.01]\n"
    "zip:\n  - {train.batch_size: [16, 32], train.weight_decay: [0.0, 1.0e-4]}\n"
    "exclude:\n"
    "  - {arch: plain, depth: [20, 26]}\n"
    "  - {arch: plain, depth: 26, train.lr: 0.1}\n"
    "  - {train.batch_size: 32, train.lr: [0.05, 0.01], seed: 1}\n"
    "include:\n  - {arch: residual, depth: 32, seed: 7}\n"
)


def test_the_count_is_the_number_of_runs_expansion_makes() -> None:
    sweep = parse_sweep(MIXED)
    assert count_runs(sweep) == len(expand(sweep))
    product = 4 * 2 * 2 * 3 * 2
    plain_deep = 2 * 2 * 3 * 2  # the first pattern; the second lies inside it
    wide_late_seed_1 = 4 * 2 * 2  # the third: depths x archs x its two learning rates
    both = 2 * 2  # plain, deep, seed 1, batch 32, lr 0.05 or 0.01
    assert count_runs(sweep) == product - (plain_deep + wide_late_seed_1 - both) + 1


def test_a_sweep_over_the_limit_is_refused_in_one_line_naming_the_count_and_the_flag() -> None:
    n = count_runs(parse_sweep(MIXED))
    with pytest.raises(SweepError) as e:
        parse_sweep(MIXED, "s.yaml", max_runs=n - 1)
    message = str(e.value)
    assert "\n" not in message and message.startswith("s.yaml: the axes make")
    assert f"{n} runs" in message and f"--max-runs {n}" in message
    assert "depth 4 x arch 2 x seed 2 x train.lr 3 x zip[0] 2" in message
    assert len(expand(parse_sweep(MIXED, max_runs=n))) == n  # at the limit: allowed


def test_a_grid_of_millions_is_refused_by_the_command_at_once(tmp_path: Path) -> None:
    # 1,000 seeds x 50 learning rates x 5 weight decays x 4 depths x 2 archs: 2,000,000 runs,
    # whose expansion would take minutes and about 13 GB; counted, it is refused in a moment.
    text = TINY_SWEEP.replace("depth: [8, 14]", "depth: [8, 14, 20, 26]").replace(
        "seed: [0, 1]", f"seed: {list(range(1000))}"
    )
    text += f"  train.lr: {[i / 1000 for i in range(1, 51)]}\n"
    text += f"  train.weight_decay: {[i / 1e5 for i in range(5)]}\n"
    path = tmp_path / "huge.yaml"
    path.write_text(text)
    command = [sys.executable, "-m", "resbench", "run", str(path), "--dry-run"]
    t0 = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=checkout_env(), timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "2,000,000 runs" in line and "--max-runs 2000000" in line
    assert time.monotonic() - t0 < 30  # a process start and a count; expanding takes minutes
    assert done.stdout == ""
