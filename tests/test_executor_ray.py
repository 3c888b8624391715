"""The ray executor on a real local Ray: same results as inline, dead workers survived, resume.

One Ray instance serves the whole module: starting one takes seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY_SWEEP, assert_same_as_inline, checkout_env, start_local_ray
from faults import Faulty, Slow
from typer.testing import CliRunner

from resbench.cli import app
from resbench.executors import RunRetried, RunStarted, make_executor
from resbench.executors.ray_cluster import RayExecutor
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import ExecutorSection, RunSpec
from resbench.train.run import train_run

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One small local Ray for every test here; executors find it initialised and keep it."""
    start_local_ray(num_cpus=2)
    yield
    ray.shutdown()


def tiny_specs(**overrides) -> list[RunSpec]:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))


def test_ray_results_equal_inline_results_on_cpu() -> None:
    specs = tiny_specs()[:4]
    events: list = []
    pool = make_executor(ExecutorSection(name="ray"), "cpu", on_event=events.append)
    results = list(pool.map(train_run, specs))
    inline = assert_same_as_inline(results, specs)
    started = [e for e in events if isinstance(e, RunStarted)]
    assert sorted(e.spec.run_id for e in started) == sorted(inline)
    assert {e.slot for e in started} == {0, 1}  # two CPUs, one CPU per run: two in flight


def test_each_node_measures_its_missing_peaks_before_runs_start() -> None:
    import json

    from resbench.executors.ray_cluster import _probe_nodes
    from resbench.train import peak

    # Three threads: a peak no other test measures. The node's task shares this process's
    # cache directory (its Ray was started here, with this environment).
    wanted = peak.key(peak.cpu_model(), 3, "fp32")
    assert wanted not in peak.known()
    _probe_nodes(ray, 3, ["fp32"])
    assert json.loads(peak.peak_path().read_text())[wanted] > 0


def test_a_task_reserves_its_num_cpus_as_torch_threads() -> None:
    pool = make_executor(ExecutorSection(name="ray", num_cpus=2), "cpu")
    (r,) = pool.map(train_run, tiny_specs()[:1])
    assert r.status == "ok" and r.env["threads"] == "2"


@pytest.fixture(scope="module")
def killed_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One ray sweep: a run whose worker always dies, one that dies once, one that raises."""
    tmp = tmp_path_factory.mktemp("ray-faults")
    always, once, fails = (s.run_id for s in tiny_specs()[:3])
    fn = Faulty(tmp, die=frozenset({always}), die_once=frozenset({once}), fail=frozenset({fails}))
    events: list = []
    pool = RayExecutor(retries=1, device="cpu", on_event=events.append)
    results = {r.run_id: r for r in pool.map(fn, tiny_specs()[:3])}
    return {"results": results, "events": events, "ids": (always, once, fails)}


def test_a_task_whose_worker_dies_is_retried_then_recorded_killed(killed_sweep: dict) -> None:
    always, once, _ = killed_sweep["ids"]
    dead = killed_sweep["results"][always]
    assert dead.status == "killed" and dead.attempts == 2
    assert "WorkerCrashedError" in dead.error
    recovered = killed_sweep["results"][once]
    assert recovered.status == "ok" and recovered.attempts == 2
    retried = [e.result.run_id for e in killed_sweep["events"] if isinstance(e, RunRetried)]
    assert retried.count(always) == 1 and retried.count(once) == 1


def test_an_exception_in_a_task_is_a_failed_result(killed_sweep: dict) -> None:
    _, _, fails = killed_sweep["ids"]
    failed = killed_sweep["results"][fails]
    assert failed.status == "failed" and failed.attempts == 2
    assert "injected failure" in failed.error and "Traceback" in failed.traceback


def test_closing_the_results_cancels_the_tasks_still_running() -> None:
    specs = tiny_specs()[:3]
    pool = RayExecutor(device="cpu")
    results = pool.map(Slow(fast=frozenset({specs[0].run_id})), specs)
    assert next(results).run_id == specs[0].run_id  # the others still sleep on the cluster
    t0 = time.monotonic()
    results.close()  # what Ctrl-C in `resbench run` does
    # The cancelled tasks free their CPUs well before their 120 s sleep would end (Ray's view of
    # its resources lags, and more so on a loaded machine: once, 20 s were not enough).
    while ray.available_resources().get("CPU", 0) < 2:
        assert time.monotonic() - t0 < 60, "cancelled tasks still hold their CPUs"
        time.sleep(0.2)


def test_resume_through_the_cli_trains_nothing_the_second_time(tmp_path: Path) -> None:
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(TINY_SWEEP.replace("seed: [0, 1]", "seed: [0]"))
    out = tmp_path / "results"
    command = ["run", str(sweep), "--executor", "ray", "--out", str(out)]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    records = sorted((out / "tiny" / "runs").glob("*.json"))
    assert len(records) == 4
    stamps = {p: p.stat().st_mtime_ns for p in records}
    second = CliRunner().invoke(app, command)
    assert second.exit_code == 0, second.output
    assert "4 recorded, 0 to run" in second.output
    assert {p: p.stat().st_mtime_ns for p in records} == stamps


def test_without_ray_the_ray_executor_says_how_to_install_it(tiny_sweep_file: Path) -> None:
    # In a fresh interpreter where `import ray` fails, as it does when Ray is not installed.
    code = (
        "import sys; sys.modules['ray'] = None; sys.argv = ['resbench', *sys.argv[1:]]\n"
        "from resbench.cli import main; main()"
    )
    out = tiny_sweep_file.parent / "results"
    args = ["run", str(tiny_sweep_file), "--executor", "ray", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=checkout_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'error: --executor ray needs Ray, which is not installed: pip install "resbench[ray]"'
    ]
