"""Run functions that misbehave on purpose, for the executor tests.

They live in a module without test machinery so that the local executor's spawned workers can
import them: a worker unpickles its `fn` by module and name.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from resbench.sweep.schema import RunSpec
from resbench.train.run import train_run
from resbench.train.run_result import Progress, RunResult


@dataclass(frozen=True)
class Faulty:
    """train_run, except that chosen runs raise, or kill their own worker (always, or once).

    `die_at_step` > 0 kills during training, at that step, instead of before it starts.
    """

    marks: Path  # where a run that dies once notes that it has died
    die: frozenset[str] = field(default_factory=frozenset)
    die_once: frozenset[str] = field(default_factory=frozenset)
    fail: frozenset[str] = field(default_factory=frozenset)
    die_at_step: int = 0

    def __call__(
        self, spec: RunSpec, progress: Progress | None = None, checkpoint: Path | None = None
    ) -> RunResult:
        if spec.run_id in self.fail:
            raise RuntimeError(f"injected failure in {spec.label()}")
        mark = self.marks / spec.run_id
        dies = spec.run_id in self.die or (spec.run_id in self.die_once and not mark.exists())
        if dies and not self.die_at_step:
            _die(mark)

        def report(step: int, total: int, loss: float | None) -> None:
            if dies and step == self.die_at_step:
                _die(mark)
            if progress is not None:
                progress(step, total, loss)

        return train_run(spec, progress=report, checkpoint=checkpoint)


def _die(mark: Path) -> None:
    mark.touch()
    os.kill(os.getpid(), signal.SIGKILL)


def where_am_i(spec: RunSpec, progress: Progress | None = None) -> RunResult:
    """No training: a result whose error field reports the worker's GPU pin and threads."""
    seen = f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')} "
    seen += f"threads={torch.get_num_threads()} pid={os.getpid()}"
    return RunResult(run_id=spec.run_id, spec=spec, status="ok", error=seen)


@dataclass(frozen=True)
class Slow:
    """train_run, except that runs not in `fast` first sleep for `seconds`."""

    fast: frozenset[str]
    seconds: float = 120.0

    def __call__(self, spec: RunSpec, progress: Progress | None = None) -> RunResult:
        if spec.run_id not in self.fast:
            time.sleep(self.seconds)
        return train_run(spec, progress=progress)


_POISONED = False  # this process's "CUDA context": dead once a fault has hit it


@dataclass(frozen=True)
class Poisoning:
    """A GPU fault, as a CUDA device-side assert leaves it: the first attempt at `poison`
    fails and leaves its process unable to run anything (every later call there fails at once,
    as every CUDA call does after such an assert). Other runs, in a sound process, train."""

    marks: Path
    poison: str  # the run id whose first attempt faults

    def __call__(self, spec: RunSpec, progress: Progress | None = None) -> RunResult:
        global _POISONED
        mark = self.marks / spec.run_id
        if spec.run_id == self.poison and not mark.exists():
            mark.touch()
            _POISONED = True
        if _POISONED:
            return RunResult(
                run_id=spec.run_id,
                spec=spec,
                status="failed",
                error="AcceleratorError: CUDA error: device-side assert triggered",
                env={"pid": str(os.getpid())},
            )
        return train_run(spec, progress=progress)


@dataclass(frozen=True)
class Timed:
    """train_run after a pause of `pause` seconds, its wall-clock start and end in the record's
    env (`t0`, `t1`): long enough to overlap with the runs beside it, and to show that it did."""

    pause: float = 1.5

    def __call__(self, spec: RunSpec, progress: Progress | None = None) -> RunResult:
        t0 = time.time()
        time.sleep(self.pause)
        result = train_run(spec, progress=progress)
        result.env.update(t0=repr(t0), t1=repr(time.time()))
        return result


@dataclass(frozen=True)
class StallWhere:
    """train_run, except on the nodes whose processes have the environment variable `variable`:
    there a run notes its id in `marks` and sleeps `seconds`, for a test to kill the node under
    it. Elsewhere it trains, and so does its retry once that node is gone."""

    variable: str
    marks: Path
    seconds: float = 300.0

    def __call__(self, spec: RunSpec, progress: Progress | None = None) -> RunResult:
        if os.environ.get(self.variable):
            (self.marks / spec.run_id).touch()
            time.sleep(self.seconds)
        return train_run(spec, progress=progress)
