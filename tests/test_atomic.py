"""The one atomic write: never the process's umask changed, even for an instant, and the file and
its folder on disk before the write is done."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from conftest import checkout_env

from resbench.core import atomic
from resbench.core.atomic import write_text


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_umask_is_never_changed_while_a_file_is_written(
    tmp_path: Path, umask_022: None
) -> None:
    # Other threads create files meanwhile: at every line of atomic.py, a file made now must get
    # the mode the umask gives, 0o644. Setting the umask to 0 to read it made that 0o666.
    modes: list[int] = []

    def probe() -> None:
        made = tmp_path / f"probe-{len(modes)}"
        os.close(os.open(made, os.O_CREAT | os.O_WRONLY, 0o666))
        modes.append(made.stat().st_mode & 0o777)

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != atomic.__file__:
            return None
        if event == "line":
            probe()
        return trace

    sys.settrace(trace)
    try:
        write_text(tmp_path / "record.json", "{}")
    finally:
        sys.settrace(None)
    assert len(modes) > 5  # every line of the write was watched
    assert set(modes) == {0o644}


def test_a_file_is_written_with_the_mode_the_umask_gives(tmp_path: Path, umask_022: None) -> None:
    write_text(tmp_path / "record.json", "{}")
    assert (tmp_path / "record.json").stat().st_mode & 0o777 == 0o644


def write_by_path(path: Path, text: str) -> None:
    """As the callers that write by path do (torch.save, np.savez)."""
    with atomic.replacing(path) as tmp:
        tmp.write_text(text)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names an fd by /proc (Linux)")
@pytest.mark.parametrize("write", [write_text, write_by_path])
def test_the_file_then_its_folder_reach_the_disk_before_the_write_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Any
) -> None:
    # What survives a power loss is what was fsynced: the new file's bytes before the rename
    # (else the rename may reach the disk first, naming an empty file), then the folder.
    synced: list[tuple[Path, bool]] = []
    fsync = os.fsync

    def watched(fd: int) -> None:
        synced.append((Path(os.readlink(f"/proc/self/fd/{fd}")), target.exists()))
        fsync(fd)

    target = tmp_path / "record.json"
    monkeypatch.setattr(os, "fsync", watched)
    write(target, "{}")
    [(file, renamed), (folder, _)] = synced
    assert file.parent == tmp_path and file != target and not renamed
    assert folder == tmp_path and target.read_text() == "{}"


KILLED_WHILE_SYNCING = """
import os, sys, time
from resbench.core import atomic

def slow_disk(fd):
    print("syncing", flush=True)
    time.sleep(60)

os.fsync = slow_disk
atomic.write_text(sys.argv[1], "new")
"""


def test_a_writer_killed_while_its_bytes_go_to_disk_leaves_the_old_file_and_nothing_else(
    tmp_path: Path,
) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    command = [sys.executable, "-c", KILLED_WHILE_SYNCING, str(target)]
    writer = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=checkout_env())
    assert writer.stdout is not None and writer.stdout.readline().strip() == "syncing"
    writer.kill()  # SIGKILL: no clean-up of any kind
    writer.wait(timeout=30)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["record.json"]


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic.replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk gone")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["record.json"]
