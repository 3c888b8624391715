"""Slot planning: how many workers, on which GPU, with how many threads."""

from __future__ import annotations

import pytest

from resbench import ResbenchError
from resbench.executors import make_executor
from resbench.executors.inline import InlineExecutor
from resbench.executors.local import LocalExecutor
from resbench.executors.slots import Slot, gpu_entries, plan_slots, visible_gpus
from resbench.sweep.schema import ExecutorSection


def test_cpu_slots_split_the_cores_by_threads_per_run() -> None:
    assert plan_slots("cpu", cores=8) == [Slot(i, 1) for i in range(8)]
    assert plan_slots("cpu", threads_per_run=3, cores=8) == [Slot(0, 3), Slot(1, 3)]
    assert plan_slots("cpu", threads_per_run=16, cores=8) == [Slot(0, 16)]  # at least one


def test_gpu_slots_are_gpus_times_runs_per_gpu() -> None:
    slots = plan_slots("auto", runs_per_gpu=2, gpus=["0", "1"], cores=8)
    assert [s.gpu for s in slots] == ["0", "1", "0", "1"]
    assert [s.where for s in slots[:2]] == ["gpu 0", "gpu 1"]


def test_workers_overrides_the_count() -> None:
    assert len(plan_slots("cpu", workers=3, cores=64)) == 3
    assert [s.gpu for s in plan_slots("cuda", workers=3, gpus=["a", "b"])] == ["a", "b", "a"]


def test_cpu_runs_use_cpu_slots_even_where_gpus_exist() -> None:
    assert all(s.gpu is None for s in plan_slots("cpu", gpus=["0"], cores=2))


def test_auto_without_gpus_means_cpu_slots() -> None:
    assert plan_slots("auto", gpus=[], cores=2) == [Slot(0, 1), Slot(1, 1)]


def test_an_apple_gpu_is_one_device_shared_by_runs_per_gpu() -> None:
    assert plan_slots("mps", runs_per_gpu=2, cores=8) == [Slot(0, 1), Slot(1, 1)]


def test_cuda_without_a_gpu_is_an_input_error() -> None:
    with pytest.raises(ResbenchError, match="no CUDA device"):
        plan_slots("cuda", gpus=[])


def test_visible_gpus_keep_the_parents_restriction(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from resbench.executors import slots

    monkeypatch.setattr(slots, "_gpu_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert visible_gpus() == ["3", "5"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert visible_gpus() == ["0", "1"]


def test_mig_instances_listed_by_uuid_are_all_kept() -> None:
    # CUDA shows a process only the first MIG instance listed: it counts 1 device.
    migs = "MIG-2f1c6a3e-0b8d-5a47-9d35-0e5d8c1b7a10,MIG-7a0e4b2c-11f3-5e9a-8c64-3d2b9f0a6e21"
    assert gpu_entries(migs, count=1) == migs.split(",")
    assert gpu_entries("3,5,9", count=2) == ["3", "5"]  # CUDA stops at the entry it cannot find
    assert gpu_entries(None, count=2) == ["0", "1"]
    slots = plan_slots("cuda", runs_per_gpu=2, gpus=gpu_entries(migs, 1))
    assert [s.gpu for s in slots] == migs.split(",") * 2


def test_make_executor_follows_the_settings() -> None:
    assert isinstance(make_executor(ExecutorSection(name="inline")), InlineExecutor)
    pool = make_executor(ExecutorSection(workers=3, threads_per_run=2, retries=4), "cpu")
    assert isinstance(pool, LocalExecutor)
    assert pool.slots == [Slot(0, 2), Slot(1, 2), Slot(2, 2)] and pool.retries == 4
