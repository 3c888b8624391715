"""One sweep, one writer: the results directory's lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resbench.store import Store, StoreLocked


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_lock_refuses_a_second_writer_and_names_its_pid(tmp_path: Path) -> None:
    holder = sleeper()
    try:
        tmp_path.joinpath(".lock").write_text(f"{holder.pid}\n")
        with pytest.raises(StoreLocked, match=f"pid {holder.pid}"), Store(tmp_path).lock():
            pass
        assert tmp_path.joinpath(".lock").read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_and_released(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock = tmp_path / ".lock"
    lock.write_text(dead.stdout)
    store = Store(tmp_path)
    with store.lock():
        assert lock.read_text().strip() == str(os.getpid())
    assert not lock.exists()


def test_the_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Store(tmp_path).lock():
        raise RuntimeError("boom")
    assert not (tmp_path / ".lock").exists()
