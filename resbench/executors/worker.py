"""A worker process of the local executor: bound to one slot for its life, it runs what it is sent.

Messages from the driver: `(key, spec)` to run, `None` to stop. To the driver:
`("step", key, step, total, loss)`, `("done", key, result)`, and `("error", key, message,
trace)` when the result cannot be sent.

Nothing heavy is imported before the slot's environment is set: CUDA reads
CUDA_VISIBLE_DEVICES when it initialises, and OpenMP sizes its thread pool when torch loads.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
import traceback
from contextlib import suppress
from typing import TYPE_CHECKING, NoReturn

from resbench.executors import Throttle
from resbench.executors.attempts import call_total
from resbench.train.precision import CUBLAS_DETERMINISTIC

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from resbench.executors.slots import Slot


def serve(conn: Connection, slot: Slot, fn_pickle: bytes, parent: int) -> None:
    """The worker's whole life: set up the slot, then run specs until told to stop."""
    # The driver decides what a Ctrl-C means (the terminal sends it to every process in the
    # group); a worker that raised KeyboardInterrupt would only add a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if slot.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slot.gpu
        # Read by cuBLAS once, at its first use: set now, a run with train.deterministic finds
        # it whatever the runs before it in this worker were.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)
    os.environ["OMP_NUM_THREADS"] = str(slot.threads)
    _exit_with(parent)

    import torch

    torch.set_num_threads(slot.threads)
    fn = pickle.loads(fn_pickle)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the driver is gone
        if task is None:
            _exit_now()
        key, spec = task
        message = ("done", key, call_total(fn, spec, progress=_Reporter(conn, key)))
        try:
            conn.send(message)
        except OSError:
            return  # the driver is gone
        except Exception as e:  # the result does not pickle
            conn.send(("error", key, f"cannot send the result: {e}", traceback.format_exc()))


class _Reporter:
    """The progress callback of one run: forwards it to the driver a few times a second."""

    def __init__(self, conn: Connection, key: int) -> None:
        self.conn, self.key, self.throttle = conn, key, Throttle()

    def __call__(self, step: int, total: int, loss: float | None) -> None:
        if self.throttle.ready(step, total):
            # A driver that is gone cannot be told; the watchdog ends this process soon.
            with suppress(OSError):
                self.conn.send(("step", self.key, step, total, loss))


def _exit_now() -> NoReturn:
    """Exit at once, as asked: everything has been sent, and nothing else is worth keeping.

    An interpreter that has imported torch takes about half a second to tear itself down
    (finalisers, module cleanup); a sweep would wait that long for each worker.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _exit_with(parent: int) -> None:
    """End this process soon after the driver `parent` dies, even in the middle of a run.

    Without this, a driver killed outright (kill -9, a second Ctrl-C) would leave workers
    training runs nobody will record.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-driver", daemon=True).start()
