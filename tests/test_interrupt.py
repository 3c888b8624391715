"""Ctrl-C of a real `resbench run`: a clean stop that keeps every record, and a rerun that does
only what is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import checkout_env

from resbench.store import Store

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
    with Store(tmp_path / "res" / "slow").lock():  # let go: free for the rerun
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
