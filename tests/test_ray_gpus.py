"""The ray executor's GPU bookkeeping, tested without a GPU: Ray's GPUs are resources it counts,
so a local Ray can declare two it does not have, and hand them out as it would real ones."""

from __future__ import annotations

import pytest
from conftest import TINY_SWEEP, start_local_ray
from faults import Timed

from resbench.executors import RunStarted, make_executor
from resbench.executors.ray_cluster import _fits
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import ExecutorSection
from resbench.train.run_result import RunResult

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def fake_gpus():
    """A local Ray with 2 GPUs it does not have (and 4 CPUs, so that CPUs are not the limit)."""
    start_local_ray(num_cpus=4, num_gpus=2)
    yield
    ray.shutdown()


def test_a_sweep_on_declared_gpus_runs_each_run_on_its_gpu_share_in_a_fresh_process(
    fake_gpus: None,
) -> None:
    specs = expand(parse_sweep(TINY_SWEEP, "tiny"))[:6]  # on the CPU: there is no GPU
    seen: list = []
    pool = make_executor(ExecutorSection(name="ray", num_gpus=0.5), "cpu", on_event=seen.append)
    for result in pool.map(Timed(), specs):
        seen.append(result)
    results = [r for r in seen if isinstance(r, RunResult)]
    assert len(results) == 6 and all(r.status == "ok" for r in results), [r.error for r in results]
    # Each saw the GPU Ray gave it, one of the two; and each ran in a process of its own.
    assert {r.env["cuda_visible_devices"] for r in results} == {"0", "1"}
    assert len({r.env["pid"] for r in results}) == 6
    # Two GPUs at half a GPU a run: four handed out before any result, and four at once.
    first = seen[:4]
    assert all(isinstance(e, RunStarted) for e in first) and {e.slot for e in first} == {0, 1, 2, 3}
    spans = [(float(r.env["t0"]), float(r.env["t1"])) for r in results]
    at_once = max(sum(t0 <= t < t1 for t0, t1 in spans) for t, _ in spans)
    assert at_once == 4


def test_capacity_counts_fractions_as_ray_does(fake_gpus: None) -> None:
    # The cluster's 2 GPUs and 4 CPUs hold 10 runs of 0.2 GPU and 0.4 CPU each; in floats,
    # 2 // 0.2 and 4 // 0.4 are both 9.0, and a slot would be lost.
    pool = make_executor(ExecutorSection(name="ray", num_gpus=0.2, num_cpus=0.4), "cpu")
    assert pool._capacity(ray, 0.2) == 10
    assert _fits(1, 0.2) == 5
    assert _fits(2, 0.5) == 4
    assert _fits(4, 1 / 3) == 12
    assert _fits(3, 1) == 3 and _fits(0.5, 1) == 0
