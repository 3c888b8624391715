"""One sweep, one writer: the results directory's lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import lock_holder

from resbench.results import Results, StoreLocked


def test_lock_refuses_a_second_writer_and_names_its_pid(tmp_path: Path) -> None:
    holder = lock_holder(tmp_path)
    try:
        with pytest.raises(StoreLocked, match=f"pid {holder.pid}"), Results(tmp_path).lock():
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path) -> None:
    holder = lock_holder(tmp_path)
    holder.kill()  # as kill -9 would: no chance to let go of anything
    holder.wait()
    store = Results(tmp_path)
    with store.lock():
        assert store.pid_path.read_text().strip() == str(os.getpid())
    assert not store.pid_path.exists()


def test_a_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with Results(tmp_path).lock(), pytest.raises(StoreLocked), Results(tmp_path).lock():
        pass


def test_the_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Results(tmp_path).lock():
        raise RuntimeError("boom")
    with Results(tmp_path).lock():
        pass
