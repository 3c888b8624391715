"""The inline executor: runs one spec after another in this process."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from resbench.executors import (
    EventHandler,
    RunRetried,
    RunStarted,
    RunStep,
    Throttle,
    broken_result,
    should_retry,
)

if TYPE_CHECKING:
    from resbench.executors import RunFn
    from resbench.result import Progress, RunResult
    from resbench.spec import RunSpec


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
        for spec in specs:
            attempt = 1
            while True:
                self._emit(RunStarted(0, "inline", spec, attempt))
                t0 = time.perf_counter()
                progress = self._progress(spec)
                try:
                    # Without a listener, fn(spec) alone: any one-argument fn keeps working.
                    result = fn(spec) if progress is None else fn(spec, progress=progress)
                except Exception as e:  # fn is meant to be total; one that is not ends one run
                    result = broken_result(
                        spec,
                        "failed",
                        f"{type(e).__name__}: {e}",
                        traceback.format_exc(),
                        time.perf_counter() - t0,
                    )
                result.attempts = attempt
                if not should_retry(result, attempt, self.retries):
                    break
                self._emit(RunRetried(0, result, attempt))
                attempt += 1
            yield result

    def _progress(self, spec: RunSpec) -> Progress | None:
        if self.on_event is None:
            return None
        throttle, emit = Throttle(), self.on_event

        def progress(step: int, total: int, loss: float | None) -> None:
            if throttle.ready(step, total):
                emit(RunStep(0, spec, step, total, loss))

        return progress

    def _emit(self, event: RunStarted | RunRetried) -> None:
        if self.on_event is not None:
            self.on_event(event)
