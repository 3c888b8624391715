"""The local executor: a worker process per slot on this machine, fed from one queue of runs.

Workers start with `spawn` (a fresh interpreter: safe with CUDA and threads, the same on every
OS), each serves one slot for its life, and a worker that dies is replaced. The driver hands
each idle worker its next run itself, so it always knows which run a dead worker was on: that
run is retried, or recorded `killed`, and the sweep goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

from resbench.executors.attempts import Attempt, Attempts, broken_result
from resbench.executors.events import EventHandler, RunStep
from resbench.executors.worker import serve

if TYPE_CHECKING:
    from multiprocessing.context import SpawnContext

    from resbench.executors import RunFn
    from resbench.executors.events import Event
    from resbench.executors.slots import Slot
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import RunResult


class LocalExecutor:
    """Runs specs in worker processes, one per slot; see `resbench.executors.slots`."""

    def __init__(
        self, slots: Sequence[Slot], retries: int = 1, on_event: EventHandler | None = None
    ) -> None:
        self.slots, self.retries, self.on_event = list(slots), retries, on_event

    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Yield each run's final result as it comes; closing the iterator ends the workers."""
        if not specs:
            return
        fn_pickle = pickle.dumps(fn)  # fails here, in the caller, if fn cannot be sent at all
        ctx = mp.get_context("spawn")
        attempts = Attempts(specs, self.retries, self.on_event)
        workers: list[_Worker | None] = [None] * min(len(self.slots), len(specs))
        finished = False
        try:
            while attempts:
                # ---- hand out: each idle slot takes the next run, starting a worker if needed
                for i, worker in enumerate(workers):
                    if attempts.queue and (worker is None or worker.task is None):
                        if worker is None:
                            worker = workers[i] = _Worker(ctx, self.slots[i], fn_pickle)
                        worker.give(attempts.take(i, worker.slot.where))

                # ---- wait for a message or a death, then settle what ended
                live = [w for w in workers if w is not None]
                wait([w.conn for w in live] + [w.process.sentinel for w in live])
                for i, worker in enumerate(workers):
                    if worker is None:
                        continue
                    ended = self._collect(i, worker)
                    if worker.exited or _faulted(worker, ended):
                        worker.stop(gracefully=not worker.exited)
                        workers[i] = None  # a fresh worker takes the slot when it has work
                    for task, result in ended:
                        if (final := attempts.settle(i, task, result)) is not None:
                            yield final
            finished = True
        finally:
            # After the last run, workers are idle and stop when told; otherwise (Ctrl-C, the
            # caller stopped iterating) the runs they are on are abandoned at once. All are
            # told first, then waited for: they end together, not one after another.
            live = [w for w in workers if w is not None]
            for worker in live:
                if finished:
                    worker.ask_to_stop()
                else:
                    worker.terminate()
            for worker in live:
                worker.stop(gracefully=finished)

    def _collect(self, slot: int, worker: _Worker) -> list[tuple[Attempt, RunResult]]:
        """Read what `worker` sent; the attempts that ended, with their results."""
        # Whether it was dead is read before draining: then everything it sent is in the pipe.
        dead = not worker.process.is_alive()
        ended: list[tuple[Attempt, RunResult]] = []
        for message in worker.drain():
            kind, key, *rest = message
            task = worker.task
            if task is None or key != task.key:
                continue
            if kind == "step":
                self._emit(RunStep(slot, task.spec, *rest))
                continue
            if kind == "done":
                result = rest[0]
            else:  # "error": the result could not be sent
                result = broken_result(
                    task.spec, "failed", rest[0], rest[1], worker.seconds(), worker.slot.where
                )
            ended.append((task, result))
            worker.task = None
        if worker.eof and not dead:
            worker.stop(gracefully=False)  # it closed its pipe: it cannot be given more runs
            dead = True
        if dead:
            if worker.task is not None:
                why = _death(worker.process.exitcode)
                result = broken_result(
                    worker.task.spec, "killed", why, None, worker.seconds(), worker.slot.where
                )
                ended.append((worker.task, result))
                worker.task = None
            worker.exited = True
        return ended

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)


class _Worker:
    """The driver's handle on one worker process, and the attempt it is on."""

    def __init__(self, ctx: SpawnContext, slot: Slot, fn_pickle: bytes) -> None:
        self.slot = slot
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=serve,
            args=(child, slot, fn_pickle, os.getpid()),
            name=f"resbench-worker-{slot.index}",
            daemon=True,
        )
        with _sigint_ignored(), _without_main_script(fn_pickle):
            self.process.start()
        child.close()
        self.task: Attempt | None = None
        self.started = 0.0
        self.eof = self.exited = self.stopped = self.asked = False

    def give(self, task: Attempt | None) -> None:
        assert task is not None  # the caller saw the queue was not empty
        self.conn.send((task.key, task.spec))
        self.task, self.started = task, time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def drain(self) -> list[Any]:
        """Every message waiting in the pipe, without blocking."""
        messages = []
        try:
            while self.conn.poll():
                messages.append(self.conn.recv())
        except (EOFError, OSError):
            self.eof = True  # the worker's end is closed: it exited, or died mid-message
        return messages

    def ask_to_stop(self) -> None:
        """Tell the worker to exit once idle (it is: the driver gives runs one at a time)."""
        if not self.asked and self.process.is_alive():
            self.asked = True
            with suppress(OSError):  # it may have died since
                self.conn.send(None)

    def terminate(self) -> None:
        if self.process.is_alive():
            self.process.terminate()

    def stop(self, gracefully: bool) -> None:
        """End the process: asked to finish when `gracefully`, else terminated."""
        if self.stopped:
            return
        self.stopped = True
        if gracefully:
            self.ask_to_stop()
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _faulted(worker: _Worker, ended: list[tuple[Attempt, RunResult]]) -> bool:
    """Whether a GPU worker must be replaced: one of its runs failed for a reason other than
    memory. After a device-side assert or an illegal address its CUDA context is dead for good,
    and it would fail every run it is handed, in seconds, eating the queue; which failures did
    that cannot be told from outside, and a fresh process costs a second or two."""
    return worker.slot.gpu is not None and any(r.status == "failed" for _, r in ended)


def _death(exitcode: int | None) -> str:
    """What a worker's exit code says about how it died."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory? the kernel's OOM killer sends it)" if name == "SIGKILL" else ""
        return f"worker process died of {name} during the run{hint}"
    return f"worker process exited with code {exitcode} during the run"


@contextmanager
def _without_main_script(fn_pickle: bytes) -> Iterator[None]:
    """Start a worker without running the caller's script again in it.

    `spawn` imports the parent's `__main__` in each child, so that what it defines unpickles
    there: a script's top level runs again in every worker, and one without the
    `if __name__ == "__main__":` guard starts its sweep again there, where the results folder's
    lock refuses it and the worker dies. A worker needs nothing of `__main__` (it runs
    resbench's own function, and user code by import path), so while it starts, `__main__` is
    a module without a file: a script works with the guard or without it. Where the function
    sent does come from `__main__`, it is left as it was.
    """
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) or getattr(main, "__spec__", None)
    if main is None or script is None or b"__main__" in fn_pickle:
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start workers with SIGINT ignored from their first instruction (they inherit it).

    A Ctrl-C while a worker is still importing would otherwise print its traceback. A Ctrl-C
    that lands in this window (the few milliseconds of a fork and exec) is lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
