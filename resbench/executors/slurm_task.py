"""A task of a SLURM sweep's job array: takes runs from the sweep's shared folder until none is
left, and writes each result there for the driver to record.

    python -m resbench.executors.slurm_task <session folder>

What SLURM starts on a node for each array task (`resbench.executors.slurm`). It first resumes
the runs it holds without a result (it was requeued or preempted while on them: each resumes
from its checkpoint), then takes the first run nobody has taken, one after another. A task
that started while others were still waiting for a slot finds the queue empty and ends at once,
before torch is imported: start-up (scheduling, Python, torch, the dataset) is paid once per
task however short the runs. A task with a time limit takes another run only while the time
left holds it with room to spare, judged by the longest run it has done.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from resbench.executors.attempts import call_total
from resbench.executors.slurm_board import Session

# A task takes another run only when the time left holds this many of its longest run so far.
MARGIN = 1.5


def task_id() -> str:
    """This task's name as squeue shows it: <array job id>_<index>."""
    array = os.environ.get("SLURM_ARRAY_JOB_ID")
    index = os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{index}" if array and index else os.environ.get("SLURM_JOB_ID", "0")


def main(argv: list[str]) -> int:
    session = Session(Path(argv[0]))
    # `python -m` put the working directory first on sys.path; a user's module there must not
    # shadow an installed one (the sweep's folders come last, through RESBENCH_SEARCH_PATH).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    me, node = task_id(), os.environ.get("SLURMD_NODENAME") or socket.gethostname()
    session.mark_seen(me)
    config = session.config()
    limit, threads = float(config["time_limit"]), int(config["threads"])
    began, longest = time.monotonic(), 0.0
    fn = None
    count = len([c for c in session.claims().values() if c.task == me])
    held = session.held_by(me)
    while True:
        elapsed = time.monotonic() - began
        if longest and limit and elapsed + MARGIN * longest > limit:
            return 0  # no time for another: a task that starts later takes it
        if held:
            name: str | None = held.pop(0)
        else:
            count += 1
            name = session.claim_next(me, count, node)
        if name is None:
            return 0
        if fn is None:
            fn = _load(session, threads)
        item = session.item(name)
        t0 = time.monotonic()
        result = call_total(fn, item.spec)
        result.env.update(
            slurm_task=me,
            slurm_node=node,
            slurm_restarts=os.environ.get("SLURM_RESTART_COUNT", "0"),
        )
        session.write_result(name, result)
        longest = max(longest, time.monotonic() - t0)


def _load(session: Session, threads: int) -> Any:
    """The session's run function, with torch on `threads` threads as the run asks."""
    import torch

    torch.set_num_threads(threads)
    return session.fn()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
