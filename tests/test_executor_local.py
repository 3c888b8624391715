"""The local executor with real worker processes: same results as inline, faults survived."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import TINY_SWEEP, assert_same_as_inline
from faults import Faulty, Poisoning, where_am_i

from resbench.executors import RunRetried, RunStarted, RunStep, make_executor
from resbench.executors.inline import InlineExecutor
from resbench.executors.local import LocalExecutor
from resbench.executors.slots import Slot, plan_slots
from resbench.store.folder import Checkpointed
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import ExecutorSection, RunSpec
from resbench.train.run import train_run
from resbench.train.run_result import RunResult


def tiny_specs(**overrides) -> list[RunSpec]:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))


def test_local_results_equal_inline_results_on_cpu() -> None:
    specs = tiny_specs()[:4]
    events: list = []
    local = list(
        LocalExecutor(plan_slots("cpu", workers=2), on_event=events.append).map(train_run, specs)
    )
    inline = assert_same_as_inline(local, specs)
    started = [e for e in events if isinstance(e, RunStarted)]
    assert sorted(e.spec.run_id for e in started) == sorted(inline)
    assert {e.slot for e in started} == {0, 1}
    steps = [e for e in events if isinstance(e, RunStep)]
    assert steps and all(0 < e.step <= e.total == 8 for e in steps)
    assert any(e.step == e.total and e.loss is not None for e in steps)


def test_a_worker_is_pinned_to_its_gpu_and_threads() -> None:
    slot = Slot(0, threads=2, gpu="7")
    (r,) = LocalExecutor([slot]).map(where_am_i, tiny_specs()[:1])
    assert "CUDA_VISIBLE_DEVICES=7 " in r.error and "threads=2" in r.error
    assert f"pid={os.getpid()}" not in r.error  # it ran in another process


def test_workers_are_pinned_to_mig_instances_listed_by_uuid() -> None:
    migs = ["MIG-2f1c6a3e-0b8d-5a47-9d35-0e5d8c1b7a10", "MIG-7a0e4b2c-11f3-5e9a-8c64-3d2b9f0a6e21"]
    pool = LocalExecutor(plan_slots("cuda", gpus=migs, threads_per_run=1))
    seen = {r.error.split()[0] for r in pool.map(where_am_i, tiny_specs()[:4])}
    assert seen == {f"CUDA_VISIBLE_DEVICES={uuid}" for uuid in migs}


def test_a_gpu_worker_whose_run_faults_is_replaced(tmp_path: Path) -> None:
    # One GPU slot, three runs; the first attempt at the first run leaves its worker's CUDA
    # context dead. A worker kept on would fail the two others, in seconds, and the retry too.
    specs = tiny_specs()[:3]
    events: list = []
    pool = LocalExecutor([Slot(0, threads=1, gpu="0")], retries=1, on_event=events.append)
    results = list(pool.map(Poisoning(tmp_path, specs[0].run_id), specs))
    assert [r.status for r in results] == ["ok", "ok", "ok"], [r.error for r in results]
    (fault,) = [e.result for e in events if isinstance(e, RunRetried)]
    assert fault.run_id == specs[0].run_id and "device-side assert" in fault.error
    assert fault.env["pid"] not in {r.env["pid"] for r in results}  # all ran in a fresh worker


@pytest.fixture(scope="module")
def faulty_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One local sweep with a run whose worker dies once mid-run, and one that raises."""
    tmp = tmp_path_factory.mktemp("faults")
    specs = tiny_specs(**{"train.checkpoint_every": 2})[:3]
    dies_once, fails = specs[0].run_id, specs[1].run_id
    fn = Faulty(tmp, die_once=frozenset({dies_once}), fail=frozenset({fails}), die_at_step=5)
    events: list = []
    pool = LocalExecutor(plan_slots("cpu", workers=2), retries=1, on_event=events.append)
    results = list(pool.map(Checkpointed(fn, tmp), specs))
    return {
        "specs": dict(zip(("dies_once", "fails", "fine"), specs, strict=True)),
        "results": {r.run_id: r for r in results},
        "events": events,
        "count": len(results),
    }


def result_of(sweep: dict, which: str) -> RunResult:
    return sweep["results"][sweep["specs"][which].run_id]


def test_every_run_gets_exactly_one_final_result(faulty_sweep: dict) -> None:
    assert faulty_sweep["count"] == len(faulty_sweep["results"]) == 3


def test_a_killed_worker_is_replaced_and_its_run_retried(faulty_sweep: dict) -> None:
    r = result_of(faulty_sweep, "dies_once")
    assert r.status == "ok" and r.attempts == 2
    retried = [e.result for e in faulty_sweep["events"] if isinstance(e, RunRetried)]
    (killed,) = [x for x in retried if x.run_id == r.run_id]
    assert killed.status == "killed" and "SIGKILL" in killed.error


def test_a_retried_run_resumes_from_its_checkpoint(faulty_sweep: dict) -> None:
    r = result_of(faulty_sweep, "dies_once")
    assert r.resumed_at == 4  # checkpoints every 2 steps; the first attempt died at step 5
    uninterrupted = train_run(faulty_sweep["specs"]["dies_once"])
    assert r.train_error == uninterrupted.train_error and r.curve == uninterrupted.curve


def test_an_exception_in_a_run_is_recorded_failed_after_its_retry(faulty_sweep: dict) -> None:
    r = result_of(faulty_sweep, "fails")
    assert r.status == "failed" and r.attempts == 2
    assert "RuntimeError: injected failure" in r.error and "Traceback" in r.traceback


def test_the_other_runs_are_unaffected(faulty_sweep: dict) -> None:
    r = result_of(faulty_sweep, "fine")
    assert r.status == "ok" and r.attempts == 1
    assert r.train_error == train_run(faulty_sweep["specs"]["fine"]).train_error


def test_a_killed_run_without_retries_left_is_recorded_killed(tmp_path: Path) -> None:
    (spec,) = tiny_specs()[:1]
    fn = Faulty(tmp_path, die_once=frozenset({spec.run_id}))
    (r,) = LocalExecutor(plan_slots("cpu", workers=1), retries=0).map(fn, [spec])
    assert r.status == "killed" and r.attempts == 1
    assert "SIGKILL" in r.error and r.train_error is None and r.device == "cpu"


def test_inline_executor_retries_failures_too(tmp_path: Path) -> None:
    (spec,) = tiny_specs()[:1]
    fn = Faulty(tmp_path, fail=frozenset({spec.run_id}))
    events: list = []
    (r,) = InlineExecutor(retries=2, on_event=events.append).map(fn, [spec])
    assert r.status == "failed" and r.attempts == 3
    assert sum(isinstance(e, RunRetried) for e in events) == 2


def test_inline_runs_use_threads_per_run_and_leave_the_process_as_it_was() -> None:
    import torch

    before = torch.get_num_threads()
    pool = make_executor(ExecutorSection(name="inline", threads_per_run=2), "cpu")
    (r,) = pool.map(train_run, tiny_specs()[:1])
    assert r.status == "ok" and r.env["threads"] == "2" != str(before)
    assert torch.get_num_threads() == before
