"""The ray executor: each run a Ray task, on a cluster or on a Ray started here.

The driver (this process) submits a task per run and takes results as they finish
(`ray.wait`), so it writes every record itself: workers need no shared filesystem. Ray is
imported only when this executor is used, and `@ray.remote` is applied then too, so neither
`import resbench` nor `resbench --help` pays for it.

Ray's own task retries are off: a task whose worker or node dies comes back to the driver as
an error, and the sweep's `retries` decide, exactly as with the local executor: a run lost with
its node is handed out again, to the nodes still alive. Each record names the Ray node that ran
it (`env.ray_node`, its node id; `env.ray_node_ip`, its address). Per-step progress is not
reported: it would need an actor every task calls into, a round trip per report across the
cluster; the view shows each run from submission to result instead.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from resbench.core import plugins
from resbench.core.errors import ResbenchError
from resbench.executors.attempts import Attempt, Attempts, broken_result, call_total
from resbench.executors.events import EventHandler

if TYPE_CHECKING:
    from resbench.executors import RunFn
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import RunResult

INSTALL_HINT = '--executor ray needs Ray, which is not installed: pip install "resbench[ray]"'
# How often the driver looks again at the cluster's size (to hand out more runs) and lets a
# Ctrl-C through while it waits for results.
POLL_SECONDS = 0.5
RESOURCE_UNITS = 10_000  # Ray counts fractional resources in ten-thousandths
PROBE_SECONDS = 120  # the longest the nodes' peak probes may hold up a sweep's start
# ray.init waits for an unreachable head without end (minutes, Ctrl-C ignored): a plain TCP
# connection to it is tried first, for this long.
CONNECT_SECONDS = 5.0


def import_ray() -> ModuleType:
    """The ray module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ResbenchError(INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class _Task:
    """One attempt at a run, in flight on the cluster."""

    slot: int
    attempt: Attempt
    submitted: float


class RayExecutor:
    """Runs specs as Ray tasks, each reserving `num_cpus` CPUs and `num_gpus` GPUs.

    `address`: `auto` (a cluster this machine is part of), `ray://HOST:PORT`, or None to start
    a private local Ray for the sweep. When Ray is already initialised in this process, that
    connection is used and left open. `num_gpus` None means one GPU per `runs_per_gpu` runs
    where the cluster has GPUs and the runs may use one (`device` auto or cuda), else none.
    """

    def __init__(
        self,
        address: str | None = None,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
        threads: int = 1,
        runs_per_gpu: int = 1,
        device: str = "auto",
        retries: int = 1,
        on_event: EventHandler | None = None,
    ) -> None:
        self.address, self.threads, self.retries = address, threads, retries
        # A task's torch threads match what it reserves, so runs packed on a node don't fight.
        self.num_cpus = num_cpus if num_cpus is not None else float(threads)
        self.num_gpus, self.runs_per_gpu, self.device = num_gpus, runs_per_gpu, device
        self.on_event = on_event

    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Yield each run's final result as it comes; closing the iterator cancels the rest."""
        if not specs:
            return
        ray = import_ray()
        started_here = self._connect(ray)
        flying: dict[Any, _Task] = {}  # ObjectRef -> the attempt it will hold the result of
        try:
            num_gpus = self._num_gpus(ray)
            if self.address:  # a cluster of its own: nodes measure their peaks now, idle
                _probe_nodes(ray, self.threads, sorted({s.train.precision for s in specs}))
            # A GPU task runs in a process of its own (max_calls=1), as Ray does by default
            # only for functions declared with GPUs: a reused process would keep its CUDA
            # context, its cached memory, its dataset, and its first GPU, since CUDA ignores a
            # later CUDA_VISIBLE_DEVICES. CPU tasks reuse their processes (torch loads once).
            remote = ray.remote(
                num_cpus=self.num_cpus,
                num_gpus=num_gpus,
                max_calls=1 if num_gpus > 0 else 0,
                max_retries=0,
                retry_exceptions=False,
            )(_attempt)
            fn_ref = ray.put(fn)  # pickled once, not once per task
            attempts = Attempts(specs, self.retries, self.on_event)
            while attempts:
                # ---- hand out: as many runs in flight as the cluster can hold right now
                free = sorted(set(range(self._capacity(ray, num_gpus))) - _slots(flying))
                for slot in free:
                    if (attempt := attempts.take(slot, "ray")) is None:
                        break
                    ref = remote.remote(fn_ref, attempt.spec, self.threads)
                    flying[ref] = _Task(slot, attempt, time.perf_counter())

                # ---- settle what finished; a short wait keeps Ctrl-C and resizing responsive
                ready, _ = ray.wait(list(flying), num_returns=1, timeout=POLL_SECONDS)
                for ref in ready:
                    task = flying.pop(ref)
                    result = _outcome(ray, ref, task)
                    if (final := attempts.settle(task.slot, task.attempt, result)) is not None:
                        yield final
        finally:
            # Ctrl-C, or the caller stopped iterating: what is still running is abandoned.
            for ref in flying:
                with suppress(Exception):  # a task may finish or vanish meanwhile
                    ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()

    def _connect(self, ray: ModuleType) -> bool:
        """Join the cluster (or start a local Ray); True when this call started the connection."""
        if ray.is_initialized():
            return False
        address = self.address or "local"
        kwargs: dict[str, Any] = {"logging_level": "warning"}
        if address == "local":
            kwargs["include_dashboard"] = False
            # This machine's workers find the sweep's own code where the driver does (a
            # cluster's nodes need it installed, or shipped: docs/plugins.md).
            if env := plugins.worker_env():
                kwargs["runtime_env"] = {"env_vars": env}
        require_reachable(address)
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as e:
            why = _first_line(e)
            raise ResbenchError(
                f"--address {address}: cannot reach a Ray cluster ({why})"
            ) from None
        return True

    def _num_gpus(self, ray: ModuleType) -> float:
        if self.num_gpus is not None:
            return self.num_gpus
        if self.device in ("auto", "cuda") and ray.cluster_resources().get("GPU", 0) > 0:
            return 1 / self.runs_per_gpu
        return 0.0

    def _capacity(self, ray: ModuleType, num_gpus: float) -> int:
        """Runs the cluster can execute at once now (at least one, so a sweep always moves)."""
        resources = ray.cluster_resources()
        fits = _fits(resources.get("CPU", 0), self.num_cpus)
        if num_gpus > 0:
            fits = min(fits, _fits(resources.get("GPU", 0), num_gpus))
        return max(1, fits)


def _fits(total: float, each: float) -> int:
    """How many reservations of `each` fit in `total`, counted as Ray counts resources: in
    ten-thousandths. In floats 1 // 0.2 is 4.0, and a slot would be lost."""
    return round(total * RESOURCE_UNITS) // max(1, round(each * RESOURCE_UNITS))


def _probe_nodes(ray: ModuleType, threads: int, precisions: list[str]) -> None:
    """Measure each live node's missing matrix-multiply peaks (behind MFU) before any run
    starts there: a task per node that holds the whole node, so nothing shares it meanwhile.

    A probe that fails or takes too long is no error: a run then probes for itself.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    refs = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        held = node.get("Resources", {})
        task = ray.remote(
            num_cpus=held.get("CPU", 0),
            num_gpus=held.get("GPU", 0),
            max_calls=1,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
        )(_probe)
        refs.append(task.remote(threads, precisions, held.get("GPU", 0) > 0))
    with suppress(Exception):
        ray.wait(refs, num_returns=len(refs), timeout=PROBE_SECONDS)


def _probe(threads: int, precisions: list[str], gpus: bool) -> None:
    """What a node's probe task runs: resbench.train.peak for its CPU, or each of its GPUs."""
    from resbench.train.peak import argv, main

    main(argv("cuda" if gpus else "cpu", threads, precisions))


def _slots(flying: dict[Any, _Task]) -> set[int]:
    return {task.slot for task in flying.values()}


def _outcome(ray: ModuleType, ref: Any, task: _Task) -> RunResult:
    """The result an attempt returned, or the one its failure stands for."""
    seconds = time.perf_counter() - task.submitted
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:  # raised in the task, outside fn: say what
        return broken_result(task.attempt.spec, "failed", _first_line(e), str(e), seconds, "ray")
    except ray.exceptions.RayError as e:  # its worker or node died, or its result was lost
        why = f"Ray lost the task: {type(e).__name__}: {_first_line(e)}"
        return broken_result(task.attempt.spec, "killed", why, None, seconds, "ray")


def require_reachable(address: str | None) -> None:
    """Fail in one line when nothing answers at the head `address` names: HOST:PORT,
    ray://HOST:PORT, or auto through $RAY_ADDRESS. Other forms (none: a local Ray; auto
    without $RAY_ADDRESS: the cluster this machine belongs to) are Ray's to find."""
    shown = address
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS")
    host, sep, port = (address or "").removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_SECONDS).close()
    except OSError as e:
        why = f"nothing answers at {host}:{port}: {e.strerror or type(e).__name__}"
        raise ResbenchError(f"--address {shown}: cannot reach a Ray cluster ({why})") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _attempt(fn: RunFn, spec: RunSpec, threads: int) -> RunResult:
    """What one Ray task runs: `fn(spec)` with `threads` torch threads; a failure is a result."""
    import torch

    torch.set_num_threads(threads)  # Ray reuses worker processes: set it for every task
    result = call_total(fn, spec)
    result.env.update(_node())
    return result


def _node() -> dict[str, str]:
    """The Ray node this task runs on: its id (unique in the cluster, as `ray list nodes` shows
    it) and its IP address (shared by nodes on one machine)."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    return {"ray_node": node_id, "ray_node_ip": ray.util.get_node_ip_address()}
