"""The one attempt loop every executor shares: which run goes next, retries, attempt stamps.

An executor takes attempts from `Attempts`, runs each through `call_total` wherever it
executes (here, a worker process, a Ray task, a cluster job) and hands each result back to
`settle`, which stamps the attempt number on it and either queues another attempt (the run
failed or its worker died, and retries are left) or returns it as the run's final result.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resbench.executors.events import EventHandler, RunRetried, RunStarted

if TYPE_CHECKING:
    from resbench.executors import RunFn
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import RunResult


@dataclass(frozen=True)
class Attempt:
    """One try at a run; `key` tells its messages from those of the run's other attempts."""

    key: int
    spec: RunSpec
    number: int  # from 1


class Attempts:
    """The runs of a `map` call still to settle: a queue of attempts, in the order given."""

    def __init__(
        self, specs: Sequence[RunSpec], retries: int, on_event: EventHandler | None = None
    ) -> None:
        self.retries, self.on_event = retries, on_event
        self._keys = itertools.count()
        self.queue = deque(Attempt(next(self._keys), spec, 1) for spec in specs)
        self.remaining = len(specs)

    def __bool__(self) -> bool:
        """Whether some run has no final result yet."""
        return self.remaining > 0

    def take(self, slot: int, where: str, announce: bool = True) -> Attempt | None:
        """The next attempt, reported as started on `slot` at `where`; None when none waits.

        Not reported with `announce` False: a scheduler's queue starts it later (`announce`).
        """
        if not self.queue:
            return None
        attempt = self.queue.popleft()
        if announce:
            self.announce(slot, where, attempt)
        return attempt

    def announce(self, slot: int, where: str, attempt: Attempt) -> None:
        """Report `attempt` as started on `slot` at `where`."""
        self._emit(RunStarted(slot, where, attempt.spec, attempt.number))

    def adopt(self, run_id: str, number: int) -> Attempt | None:
        """Take the run `run_id` out of the queue as its attempt `number`: an attempt that an
        earlier driver began, still under way on a cluster. None when it is not queued."""
        for queued in self.queue:
            if queued.spec.run_id == run_id:
                self.queue.remove(queued)
                return Attempt(next(self._keys), queued.spec, number)
        return None

    def settle(self, slot: int, attempt: Attempt, result: RunResult) -> RunResult | None:
        """`result` as the run's final one, or None when another attempt was queued for it."""
        result.attempts = attempt.number
        if should_retry(result, attempt.number, self.retries):
            self.queue.append(Attempt(next(self._keys), attempt.spec, attempt.number + 1))
            self._emit(RunRetried(slot, result, attempt.number))
            return None
        self.remaining -= 1
        return result

    def _emit(self, event: Any) -> None:
        if self.on_event is not None:
            self.on_event(event)


def should_retry(result: RunResult, attempt: int, retries: int) -> bool:
    """Whether attempt number `attempt` (from 1), which gave `result`, is followed by another."""
    from resbench.train.run_result import RETRIED

    return result.status in RETRIED and attempt <= retries


def call_total(fn: RunFn, spec: RunSpec, **kwargs: Any) -> RunResult:
    """`fn(spec, **kwargs)`, an exception that escapes it turned into a `failed` result.

    `train_run` is total already; a user's `fn`, or a failure outside the run itself (the
    import of `fn`'s module, say), ends that one run and not the sweep.
    """
    t0 = time.perf_counter()
    try:
        return fn(spec, **kwargs)
    except Exception as e:
        return broken_result(
            spec, "failed", f"{type(e).__name__}: {e}", traceback.format_exc(),
            time.perf_counter() - t0,
        )  # fmt: skip


def broken_result(
    spec: RunSpec,
    status: str,
    error: str,
    traceback: str | None = None,
    seconds: float = 0.0,
    device: str = "",
) -> RunResult:
    """The result of a run that `fn` never returned: an exception escaped it, or its worker died."""
    from resbench.train.run_result import RunResult

    return RunResult(
        run_id=spec.run_id,
        spec=spec,
        status=status,
        error=error,
        traceback=traceback,
        seconds=seconds,
        device=device,
    )
