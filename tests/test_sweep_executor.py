"""The sweep's `executor:` section: validated like the rest, overridden by flags, not in run ids."""

from __future__ import annotations

import pytest
from conftest import TINY_SWEEP

from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import SweepError


def error_of(text: str) -> str:
    with pytest.raises(SweepError) as e:
        parse_sweep(text, "s.yaml")
    return str(e.value)


EXECUTOR_SECTION = "executor: {name: local, workers: 3, runs_per_gpu: 2, threads_per_run: 4}\n"


def test_executor_section_is_read() -> None:
    ex = parse_sweep(TINY_SWEEP + EXECUTOR_SECTION).executor
    assert (ex.name, ex.workers, ex.runs_per_gpu, ex.threads_per_run) == ("local", 3, 2, 4)
    assert parse_sweep(TINY_SWEEP).executor.name == "local"  # the default


def test_executor_section_rejects_unknown_keys() -> None:
    message = error_of(TINY_SWEEP + "executor: {gpus: 2}\n")
    assert "executor.gpus: unknown key" in message and "runs_per_gpu" in message


def test_executor_section_rejects_bad_values() -> None:
    assert "executor.workers" in error_of(TINY_SWEEP + "executor: {workers: 0}\n")
    assert "executor.name" in error_of(TINY_SWEEP + "executor: {name: sge}\n")


def test_executor_settings_do_not_change_run_ids() -> None:
    plain = [s.run_id for s in expand(parse_sweep(TINY_SWEEP))]
    assert [s.run_id for s in expand(parse_sweep(TINY_SWEEP + EXECUTOR_SECTION))] == plain


def test_command_line_flags_override_the_executor_section() -> None:
    ex = parse_sweep(TINY_SWEEP + EXECUTOR_SECTION).executor
    merged = ex.override(name=None, workers=1, runs_per_gpu=None, retries=0)
    assert (merged.name, merged.workers, merged.runs_per_gpu, merged.retries) == ("local", 1, 2, 0)
    with pytest.raises(SweepError, match="--threads-per-run"):
        ex.override(threads_per_run=0)


RAY_SECTION = "executor: {name: ray, address: auto, num_cpus: 2, num_gpus: 0.25}\n"


def test_ray_settings_are_read_and_do_not_change_run_ids() -> None:
    ex = parse_sweep(TINY_SWEEP + RAY_SECTION).executor
    assert (ex.name, ex.address, ex.num_cpus, ex.num_gpus) == ("ray", "auto", 2, 0.25)
    plain = [s.run_id for s in expand(parse_sweep(TINY_SWEEP))]
    assert [s.run_id for s in expand(parse_sweep(TINY_SWEEP + RAY_SECTION))] == plain
    assert "executor.num_gpus" in error_of(TINY_SWEEP + "executor: {num_gpus: -1}\n")
    assert "executor.num_cpus" in error_of(TINY_SWEEP + "executor: {num_cpus: 0}\n")
