"""Ctrl-C of a real `resbench run`: a clean stop that keeps every record, and a rerun that does
only what is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import checkout_env

from resbench.results import Results

SLOW_SWEEP = """\
name: slow
dataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 256, n_test: 32}
model: {family: conv1d, width: 4}
train: {epochs: 6, batch_size: 16, lr: 0.05, device: cpu, checkpoint_every: 16}
grid:
  depth: [8]
  arch: [plain, residual]
  seed: [0, 1]
"""
ROOT = Path(__file__).resolve().parents[1]


def resbench(*args: str) -> subprocess.Popen:
    # A session of its own, so that the test can signal it as a terminal would: the whole group.
    return subprocess.Popen(
        [sys.executable, "-m", "resbench", *args],
        cwd=ROOT,
        env=checkout_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def start_and_wait_for_a_record(tmp_path: Path) -> tuple[subprocess.Popen, tuple[str, ...]]:
    sweep = tmp_path / "slow.yaml"
    sweep.write_text(SLOW_SWEEP)
    args = ("run", str(sweep), "--out", str(tmp_path / "res"), "--workers", "1")
    process = resbench(*args)
    runs = tmp_path / "res" / "slow" / "runs"
    deadline = time.monotonic() + 60
    while not list(runs.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(runs.glob("*.json")), "no record appeared"
    return process, args


def test_ctrl_c_keeps_finished_records_and_the_rerun_does_the_rest(tmp_path: Path) -> None:
    runs = tmp_path / "res" / "slow" / "runs"
    first, args = start_and_wait_for_a_record(tmp_path)
    os.killpg(first.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: driver and workers
    output, _ = first.communicate(timeout=30)
    assert first.returncode == 130, output
    assert "run the same command again" in output and "Traceback" not in output, output
    kept = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 1 <= len(kept) < 4, output
    with Results(tmp_path / "res" / "slow").lock():  # let go: free for the rerun
        pass

    second = resbench(*args)
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 0, output
    assert f"4 runs, {len(kept)} recorded, {4 - len(kept)} to run" in output
    records = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert len(records) == 4 and all(records[name] == kept[name] for name in kept)
    assert not list(runs.glob("*.ckpt"))  # every checkpoint went with its record


def test_sigterm_stops_the_sweep_like_ctrl_c(tmp_path: Path) -> None:
    process, _ = start_and_wait_for_a_record(tmp_path)
    process.terminate()  # the driver only, as a scheduler or `kill` would
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "run the same command again" in output and "Traceback" not in output, output


def test_an_interrupted_force_prints_a_command_that_finishes_it(tmp_path: Path) -> None:
    runs = tmp_path / "res" / "slow" / "runs"
    sweep = tmp_path / "slow.yaml"
    sweep.write_text(SLOW_SWEEP)
    args = ("run", str(sweep), "--out", str(tmp_path / "res"), "--workers", "1")
    assert resbench(*args).wait(timeout=120) == 0
    before = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    forced = resbench(*args, "--force")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.stat().st_mtime_ns != before[p.name] for p in runs.glob("*.json")):
            break
        time.sleep(0.02)
    os.killpg(forced.pid, signal.SIGINT)
    output, _ = forced.communicate(timeout=30)
    assert forced.returncode == 130, output
    command = output.strip().splitlines()[-1].split()
    assert command[:2] == ["resbench", "run"] and "--force" not in command, output
    redone = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    fresh = {name for name in redone if redone[name] != before[name]}
    assert 1 <= len(fresh) < 4, output

    resumed = resbench(*command[1:])
    output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, output
    assert f"{4 - len(fresh)} to run" in output and "interrupted --force" in output, output
    after = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert all(after[name] != before[name] for name in after)  # every run was redone
    assert all(after[name] == redone[name] for name in fresh)  # and none of them twice


SLOW_IMPORT = (
    "import time\ntime.sleep(60)\n\n\ndef build(config, input_shape, classes):\n    pass\n"
)


def test_ctrl_c_while_the_sweep_loads_exits_130_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "slowfamily.py").write_text(SLOW_IMPORT)
    sweep = tmp_path / "slow.yaml"
    sweep.write_text(SLOW_SWEEP.replace("family: conv1d", "family: 'slowfamily:build'"))
    process = resbench("run", str(sweep), "--out", str(tmp_path / "res"))
    time.sleep(3)  # well into the import of the user's family
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    assert "interrupted before any run started" in output, output
    assert "Aborted" not in output and "Traceback" not in output, output


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 64 KiB file system of its own (tmpfs; needs root on Linux), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_sweep_in_one_line_and_keeps_whole_records(
    tmp_path: Path, small_disk: Path
) -> None:
    sweep = tmp_path / "slow.yaml"
    sweep.write_text(SLOW_SWEEP.replace("checkpoint_every: 16", "eval_every: 1")
                     .replace("seed: [0, 1]", "seed: [0, 1, 2, 3, 4, 5, 6, 7]"))  # fmt: skip
    process = resbench("run", str(sweep), "--out", str(small_disk), "--workers", "1")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 3, output  # a place that cannot be written, not a failed run
    assert "Traceback" not in output, output
    (line,) = [x for x in output.splitlines() if "cannot write" in x]
    assert str(small_disk / "slow") in line and "No space left on device" in line, output
    assert output.strip().splitlines()[-1].strip().startswith("resbench run"), output
    runs = small_disk / "slow" / "runs"
    records = list(runs.glob("*.json"))
    assert records, output
    for record in records:
        assert json.loads(record.read_text())["status"] == "ok"  # whole, every one
    assert not [p for p in runs.iterdir() if p.name.startswith(".")], list(runs.iterdir())
