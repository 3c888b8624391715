"""The inline executor: runs one spec after another in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from resbench.executors import Throttle
from resbench.executors.attempts import Attempts, call_total
from resbench.executors.events import EventHandler, RunStep

if TYPE_CHECKING:
    from resbench.executors import RunFn
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import Progress, RunResult


class InlineExecutor:
    """Runs in the calling process, in order: simplest to debug, no parallelism.

    It cannot survive a crash of its own process; use `local` for that. Runs use `threads`
    torch threads, as in the other executors (None: leave this process's setting alone).
    """

    def __init__(
        self, retries: int = 0, on_event: EventHandler | None = None, threads: int | None = None
    ) -> None:
        self.retries, self.on_event, self.threads = retries, on_event, threads

    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        if self.threads is None or not specs:
            yield from self._map(fn, specs)
            return
        import torch  # the inline executor trains here: torch is loaded for the runs anyway

        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield from self._map(fn, specs)
        finally:
            torch.set_num_threads(before)

    def _map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        attempts = Attempts(specs, self.retries, self.on_event)
        while (attempt := attempts.take(0, "inline")) is not None:
            progress = self._progress(attempt.spec)
            # Without a listener, fn(spec) alone: any one-argument fn keeps working.
            kwargs = {} if progress is None else {"progress": progress}
            result = call_total(fn, attempt.spec, **kwargs)
            if (final := attempts.settle(0, attempt, result)) is not None:
                yield final

    def _progress(self, spec: RunSpec) -> Progress | None:
        if self.on_event is None:
            return None
        throttle, emit = Throttle(), self.on_event

        def progress(step: int, total: int, loss: float | None) -> None:
            if throttle.ready(step, total):
                emit(RunStep(0, spec, step, total, loss))

        return progress
