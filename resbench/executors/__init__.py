"""Executors: one verb, `map(fn, specs)`, yielding each run's final result as it finishes.

`inline` runs in this process (tests, debugging); `local` runs a worker process per slot (a GPU,
or a share of the CPU cores); `ray` runs a task per run on a Ray cluster; `slurm` runs the runs
as the tasks of a SLURM job array, through a folder the nodes share. Every executor takes
the same picklable `fn` (normally `train_run`) and calls it as `fn(spec, progress=callback)`
(inline without a listener, ray and slurm: `fn(spec)`), so that where a run executes never changes
what it computes. A run that fails or whose worker dies is retried `retries` times before its
result is final: all executors share that loop (`attempts.py`). What an executor is doing is
reported to `on_event` as it happens (`resbench.executors.events`).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from resbench.executors.events import EventHandler, RunRetried, RunStarted, RunStep

if TYPE_CHECKING:
    from resbench.sweep.schema import ExecutorSection, RunSpec
    from resbench.train.run_result import RunResult

# Called as fn(spec, progress=callback_or_None) and returning the run's result.
RunFn = Callable[..., "RunResult"]


__all__ = [
    "TRAIN_RUN", "EventHandler", "Executor", "Imported", "RunFn", "RunRetried", "RunStarted",
    "RunStep", "Throttle", "make_executor", "measure_peaks", "require_executor",
]  # fmt: skip


class Executor(Protocol):
    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Run `fn` on every spec; yield final results in completion order."""
        ...


@dataclass(frozen=True)
class Imported:
    """The function `module.name`, imported where it is first called, not where it is named.

    A driver hands `train_run` to its workers this way without importing torch itself: its
    start-up stays short, and on a machine of few cores its own import of torch would compete
    with the workers' for the first seconds of a sweep.
    """

    module: str
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.name)(*args, **kwargs)


TRAIN_RUN = Imported("resbench.train.run", "train_run")


def make_executor(
    settings: ExecutorSection,
    device: str = "auto",
    on_event: EventHandler | None = None,
    work_dir: Path | None = None,
) -> Executor:
    """The executor `settings` describe, sized for runs on `device` (auto, cpu, cuda, mps).

    `work_dir`: for slurm, the folder it shares with its tasks (on a filesystem the nodes share).
    """
    if settings.name == "inline":
        from resbench.executors.inline import InlineExecutor

        return InlineExecutor(settings.retries, on_event, settings.threads_per_run)
    if settings.name == "local":
        from resbench.executors.local import LocalExecutor
        from resbench.executors.slots import plan_slots

        slots = plan_slots(
            device, settings.workers, settings.runs_per_gpu, settings.threads_per_run
        )
        return LocalExecutor(slots, settings.retries, on_event)
    if settings.name == "slurm":
        from resbench.core.errors import ResbenchError
        from resbench.executors.slurm import SlurmExecutor

        if work_dir is None:
            raise ResbenchError("the slurm executor needs a folder its tasks share (work_dir)")
        return SlurmExecutor(settings, work_dir, device, on_event)
    # ray: the schema admits no other name
    from resbench.executors.ray_cluster import RayExecutor, import_ray

    import_ray()  # missing Ray is bad input: one line, exit 2
    return RayExecutor(
        address=settings.address,
        num_cpus=settings.num_cpus,
        num_gpus=settings.num_gpus,
        threads=settings.run_threads(),
        runs_per_gpu=settings.runs_per_gpu,
        device=device,
        retries=settings.retries,
        on_event=on_event,
    )


def require_executor(
    settings: ExecutorSection, device: str = "auto", folder: Path | None = None
) -> list[str]:
    """Fail now, with one line, when the executor `settings` name cannot run here, names a Ray
    cluster that does not answer, or SLURM options the cluster refuses or a results `folder`
    its nodes cannot write to. Notes worth showing, one line each."""
    if settings.name == "ray":
        from resbench.executors.ray_cluster import import_ray, require_reachable

        import_ray()
        require_reachable(settings.address)
    if settings.name == "slurm" and folder is not None:
        from resbench.executors.slurm_commands import require_slurm

        return require_slurm(settings, device, folder)
    return []


def measure_peaks(settings: ExecutorSection, device: str, precisions: set[str]) -> None:
    """Measure the matrix-multiply peaks (behind MFU) that runs on `device` will need, now,
    while this machine is quiet: before any worker starts (see `resbench.train.peak`).

    Not for the inline executor (its runs go one at a time: the first measures it, alone) nor
    for a Ray cluster elsewhere or SLURM's nodes (they measure their own).
    """
    from resbench.executors.slots import visible_gpus
    from resbench.train.peak import prepare

    if settings.name in ("inline", "slurm") or (settings.name == "ray" and settings.address):
        return
    if device in ("cuda", "auto") and visible_gpus():
        prepare("cuda", settings.run_threads(), precisions)
    elif device in ("cpu", "auto"):
        prepare("cpu", settings.run_threads(), precisions)


class Throttle:
    """Lets progress through a few times a second, and always the last step."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval, self.last = interval, -float("inf")

    def ready(self, step: int, total: int) -> bool:
        now = time.monotonic()
        if now - self.last >= self.interval or step >= total:
            self.last = now
            return True
        return False
