"""The one-writer lock of a results folder: the OS's lock on `.lock`, its holder's pid beside it.

The lock is flock's: a holder that dies (a crash, a kill -9) frees it with its last breath, so
there is no stale lock to take over. The pid file only names the holder in the refusal.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from resbench.core.atomic import write_text, writing
from resbench.core.errors import ResbenchError
from resbench.core.names import shown


class StoreLocked(ResbenchError):
    """Another live process is writing to the results directory."""


@contextmanager
def hold(folder: Path, lock_path: Path, pid_path: Path) -> Iterator[None]:
    """Hold `folder` for this process through `lock_path`, its pid in `pid_path`; refuse,
    naming the holder, while another holds it."""
    from filelock import FileLock, Timeout

    held = FileLock(str(lock_path), timeout=0)
    with writing(lock_path):  # a folder that cannot be written: one line, exit code 3
        folder.mkdir(parents=True, exist_ok=True)
        try:
            held.acquire()
        except Timeout:  # an OSError too, but a refusal of its own
            holder = lock_holder(pid_path)
            who = f"pid {holder}" if holder is not None else "its pid not yet written"
            raise StoreLocked(
                f"{shown(folder)}: in use by another resbench run ({who}); wait for it to "
                "finish or stop it"
            ) from None
    try:
        write_text(pid_path, f"{os.getpid()}\n")
        yield
    finally:
        with suppress(OSError):
            pid_path.unlink()
        held.release()


def lock_holder(path: Path) -> int | None:
    """The pid written in the file at `path`; None when there is none to read."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
