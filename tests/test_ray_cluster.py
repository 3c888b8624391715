"""The ray executor on a Ray cluster of several nodes: runs spread over them and name their node,
each node keeps its own data, a node killed mid-sweep loses no run, a driver killed mid-sweep
resumes, and an unreachable head is one line.

The nodes are real Ray nodes on this machine (`ray.cluster_utils.Cluster`: a raylet each, with
its own CPUs and environment, talking to the head's GCS as a node on another machine would).
One CPU each keeps them to the 2 cores CI has; the nodes a test kills are its own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TINY_SWEEP, checkout_env, ray_worker_path
from faults import StallWhere

from resbench.data import load
from resbench.executors import RunRetried
from resbench.executors.ray_cluster import RayExecutor
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec
from resbench.train.run import train_run

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

STALL = "RESBENCH_TEST_STALL"  # set on a node whose runs stall until it is killed


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A head and one worker node, a CPU each, each with a dataset cache of its own; this
    process is connected to it as a driver."""
    caches = tmp_path_factory.mktemp("node-caches")
    head = Cluster(caches, num_cpus=1)
    head.add("worker")
    session = head.cluster.head_node.get_session_dir_path()
    ray.init(address=head.cluster.address, logging_level="warning", log_to_driver=False)
    head.cluster.wait_for_nodes()
    yield head
    ray.shutdown()
    head.cluster.shutdown()
    # Every process the cluster started ends with it: its own, and the nodes' workers.
    deadline = time.monotonic() + 30
    while left := processes_of(session, caches):
        assert time.monotonic() < deadline, f"Ray processes left running: {left}"
        time.sleep(0.2)


class Cluster:
    """A `ray.cluster_utils.Cluster` whose nodes import this checkout and the tests' faults,
    and each cache generated datasets in a folder of their own ($RESBENCH_CACHE): `root`/NAME."""

    def __init__(self, root: Path, **head: object) -> None:
        self.root = root
        self.caches: dict[str, Path] = {}  # node id -> its cache
        args = {"include_dashboard": False, "env_vars": self._env("head"), **head}
        self.cluster = cluster_utils.Cluster(initialize_head=True, head_node_args=args)
        self.caches[self.cluster.head_node.node_id] = root / "head"

    def add(self, name: str, **env: str):
        """A node of one CPU whose cache is `root`/`name`, with `env` in its environment."""
        node = self.cluster.add_node(num_cpus=1, env_vars={**self._env(name), **env})
        self.caches[node.node_id] = self.root / name
        return node

    def _env(self, name: str) -> dict[str, str]:
        return {"RESBENCH_CACHE": str(self.root / name), "PYTHONPATH": ray_worker_path()}


def processes_of(session: str, caches: Path) -> list[str]:
    """The live processes of a Ray cluster: those naming its session folder (the head's, the
    raylets') or carrying one of its nodes' caches in their environment (the workers, whose
    command line Ray rewrites to `ray::IDLE` and the like)."""
    found: list[str] = []
    if not Path("/proc").is_dir():
        return found  # no /proc to look in (macOS): nothing can be checked
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if session.encode() in cmdline or f"RESBENCH_CACHE={caches}".encode() in environ:
            program = cmdline.split(b"\0")[0].decode(errors="replace")
            found.append(f"{proc.name} {program}")
    return found


def alive_nodes() -> set[str]:
    return {n["NodeID"] for n in ray.nodes() if n["Alive"]}


def specs_of(text: str, n: int, **overrides: object) -> list[RunSpec]:
    return expand(parse_sweep(text, "tiny", overrides))[:n]


MNIST1D = TINY_SWEEP.replace(
    "dataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}",
    "dataset: {name: mnist1d, num_samples: 200}",
)


def test_runs_spread_over_the_nodes_each_builds_or_finds_its_data_and_names_its_node(
    cluster: Cluster,
) -> None:
    # The head's node finds MNIST-1D in its cache; the worker's has none and builds its own.
    specs = specs_of(MNIST1D, 4)
    head_cache = cluster.caches[cluster.cluster.head_node.node_id]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RESBENCH_CACHE", str(head_cache))
        load(specs[0].dataset)
    (found,) = head_cache.glob("mnist1d-*.npz")
    stamp = found.stat().st_mtime_ns

    results = list(RayExecutor(device="cpu").map(train_run, specs))

    assert all(r.status == "ok" for r in results), [r.error for r in results]
    nodes = {r.env["ray_node"] for r in results}
    assert nodes == alive_nodes() and len(nodes) == 2  # one CPU a node: both held runs
    assert {r.env["ray_node_ip"] for r in results} <= {n["NodeManagerAddress"] for n in ray.nodes()}
    for node, cache in cluster.caches.items():
        if node in nodes:
            assert [p.name for p in cache.glob("mnist1d-*.npz")] == [found.name]
    assert found.stat().st_mtime_ns == stamp  # found, not built again


def test_a_node_killed_mid_sweep_has_its_runs_retried_elsewhere_each_recorded_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    victim = cluster.add("victim", **{STALL: "1"})
    cluster.cluster.wait_for_nodes()
    marks = tmp_path / "marks"
    marks.mkdir()
    specs = specs_of(TINY_SWEEP, 6, **{"train.epochs": 10})
    events: list = []
    results = RayExecutor(retries=1, device="cpu", on_event=events.append).map(
        StallWhere(STALL, marks), specs
    )

    def kill_the_victim_once_it_holds_a_run() -> None:
        deadline = time.monotonic() + 120
        while not any(marks.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        cluster.cluster.remove_node(victim, allow_graceful=False)  # its processes, SIGKILLed

    killer = threading.Thread(target=kill_the_victim_once_it_holds_a_run)
    killer.start()
    done = list(results)
    killer.join()

    stalled = {p.name for p in marks.iterdir()}
    assert len(stalled) == 1, "one run a node: exactly one run stalled on the victim"
    assert sorted(r.run_id for r in done) == sorted(s.run_id for s in specs)  # each once
    assert all(r.status == "ok" for r in done), [r.error for r in done]
    assert {r.run_id: r.attempts for r in done} == {
        s.run_id: 2 if s.run_id in stalled else 1 for s in specs
    }
    retried = [e for e in events if isinstance(e, RunRetried)]
    assert [e.result.run_id for e in retried] == list(stalled)
    assert retried[0].result.status == "killed" and "Ray lost the task" in retried[0].result.error
    assert victim.node_id not in {r.env["ray_node"] for r in done}


def test_a_driver_killed_mid_sweep_resumes_with_nothing_lost_or_run_twice(
    cluster: Cluster, tmp_path: Path
) -> None:
    # Eight runs of a tenth of a second or more on two CPUs: when the first record appears,
    # the driver is killed within a few hundredths, with most of the sweep still to come.
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(TINY_SWEEP.replace("epochs: 2", "epochs: 10").replace("eval_every: 2, ", ""))
    out = tmp_path / "results"
    runs = out / "tiny" / "runs"
    command = [sys.executable, "-m", "resbench", "run", str(sweep), "--out", str(out)]
    command += ["--executor", "ray", "--address", cluster.cluster.address]
    log = tmp_path / "first.log"  # a file, not a pipe: Ray's worker logs could fill a pipe
    with log.open("w") as stderr:
        driver = subprocess.Popen(command, env=checkout_env(), stdout=stderr, stderr=stderr)
    deadline = time.monotonic() + 240
    try:
        while not list(runs.glob("*.json")) and driver.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
    finally:
        driver.kill()  # SIGKILL: no handler, no clean-up, the lock freed by the OS
        driver.wait(timeout=30)
    before = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    assert 1 <= len(before) < 8, log.read_text()

    # The dead driver's tasks go with it: the cluster's CPUs come back for the next sweep.
    deadline = time.monotonic() + 60
    while ray.available_resources().get("CPU", 0) < 2:
        assert time.monotonic() < deadline, "the killed driver's tasks still hold the nodes"
        time.sleep(0.2)

    again = subprocess.run(command, env=checkout_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"8 runs, {len(before)} recorded, {8 - len(before)} to run" in again.stderr
    after = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    assert len(after) == 8 and {name: after[name] for name in before} == before
    assert len({json.loads(record)["env"]["ray_node"] for record in after.values()}) == 2
    assert not list(runs.glob(".*"))  # no temporary left by the killed writer


def test_an_unreachable_head_is_one_line_and_exit_2(tiny_sweep_file: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, then let go
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        command = [sys.executable, "-m", "resbench", "run", str(tiny_sweep_file), "--out"]
        command += [str(tiny_sweep_file.parent / "out"), "--executor", "ray", "--address", address]
        done = subprocess.run(
            command, env=checkout_env(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"error: --address {address}: cannot reach a Ray cluster "
            f"(nothing answers at 127.0.0.1:{port}: Connection refused)"
        ]
        assert not (tiny_sweep_file.parent / "out").exists()  # refused before anything is written
