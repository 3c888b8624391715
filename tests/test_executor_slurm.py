"""The slurm executor against a real SLURM: a one-node cluster started here for these tests
(tests/slurm_cluster.py: munged, slurmctld, slurmd), and real job arrays on it.

Same numbers as inline, GPUs of GRES passed through, a requeued task resuming its run from
its checkpoint, a task past its time limit, a task over its memory, a task that dies retried,
Ctrl-C cancelling the array (or leaving it to a rerun that re-attaches), bad input refused
before the sweep's array is submitted. Skipped, with the reason, where SLURM cannot be started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import slurm_cluster
from conftest import TINY_SWEEP, checkout_env, ray_worker_path
from faults import Faulty, Slow

from resbench.executors.events import RunRetried, RunsQueued, RunStarted
from resbench.executors.inline import InlineExecutor
from resbench.executors.slurm import SlurmExecutor
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import ExecutorSection, RunSpec
from resbench.train.run import train_run

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    slurm_cluster.unavailable() is not None, reason=str(slurm_cluster.unavailable())
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """One cluster for the module; every sbatch here and every task sees this checkout and the
    tests' run functions."""
    started = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SLURM_CONF", str(started.conf))
        env.setenv("PYTHONPATH", ray_worker_path())
        yield started
    slurm_cluster.stop(started)


def tiny_specs(n: int, **overrides: object) -> list[RunSpec]:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[:n]


def squeue(cluster: slurm_cluster.Cluster, *args: str) -> list[str]:
    return cluster.run("squeue", "--noheader", "--format=%i %T", *args).split("\n")[:-1]


# ------------------------------------------------------------------ a task past its time limit
@pytest.fixture(scope="module", autouse=True)
def time_limited(cluster: slurm_cluster.Cluster, tmp_path_factory: pytest.TempPathFactory):
    """A run that sleeps past its task's one-minute limit, started first and left running
    while the other tests use the cluster's second CPU (SLURM ends it 60 to 90 s later)."""
    work = tmp_path_factory.mktemp("time-limit") / ".slurm"
    (spec,) = tiny_specs(1)
    settings = ExecutorSection(name="slurm", time="1", retries=1)
    events: list = []
    out: list = []
    pool = SlurmExecutor(settings, work, "cpu", events.append)
    thread = threading.Thread(target=lambda: out.extend(pool.map(Slow(frozenset()), [spec])))
    thread.start()
    yield {"thread": thread, "results": out, "events": events, "work": work}
    thread.join(timeout=180)


# ------------------------------------------------------------------ the command line
def resbench(*args: str, **env: str) -> subprocess.Popen:
    """`resbench ARGS` in a session of its own (to be signalled as a terminal would)."""
    return subprocess.Popen(
        [sys.executable, "-m", "resbench", *args],
        cwd=ROOT,
        env=checkout_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def sweep_file(tmp_path: Path, name: str, train: str = "", **replace: str) -> Path:
    """TINY_SWEEP named `name`, with another train: line, and other text in place of some."""
    text = TINY_SWEEP.replace("name: tiny", f"name: {name}")
    if train:
        text = text.replace(
            "train: {epochs: 2, batch_size: 16, lr: 0.05, eval_every: 2, device: cpu}", train
        )
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def records(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (folder / "runs").glob("*.json")}


def test_a_sweep_on_slurm_gives_inline_numbers_with_gres_gpus_recorded(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    sweep = sweep_file(tmp_path, "same")
    out = tmp_path / "res"
    # One GPU of GRES per task: SLURM sets CUDA_VISIBLE_DEVICES; the runs train on the CPU.
    done = resbench("run", str(sweep), "--out", str(out), "--executor", "slurm", "--num-gpus", "1")
    text, _ = done.communicate(timeout=300)
    assert done.returncode == 0, text
    on_slurm = records(out / "same")
    specs = expand(parse_sweep(sweep.read_text(), "same"))
    inline = {r.run_id: r for r in InlineExecutor().map(train_run, specs)}  # one thread
    assert sorted(on_slurm) == sorted(inline) and len(inline) == 8
    for run_id, r in on_slurm.items():
        assert r["status"] == "ok" and r["attempts"] == 1
        assert r["train_error"] == inline[run_id].train_error
        assert r["train_loss"] == inline[run_id].train_loss
        assert r["curve"] == [p.model_dump() for p in inline[run_id].curve]
        assert r["env"]["threads"] == "1"
        assert r["env"]["cuda_visible_devices"] in ("0", "1")  # as SLURM set it, per task
        assert r["env"]["slurm_task"] and r["env"]["slurm_node"] == r["env"]["host"]
    # Tasks that start while runs remain take the next: fewer tasks than runs did them all.
    assert len({r["env"]["slurm_task"] for r in on_slurm.values()}) < 8
    assert "queued 8 run(s)" in text
    assert squeue(cluster, "--name=resbench-same") == []  # the array's spare tasks: cancelled
    assert not (out / "same" / ".slurm").exists()  # the shared work: cleared


def test_a_requeued_task_resumes_its_run_from_the_checkpoint_with_the_same_numbers(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    train = (
        "train: {steps: 1000, batch_size: 16, lr: 0.05, eval_every: 250, device: cpu, "
        "checkpoint_every: 50}"
    )
    one_run = {"[8, 14]": "[8]", "[plain, residual]": "[residual]", "[0, 1]": "[0]"}
    sweep = sweep_file(tmp_path, "requeue", train, **one_run)
    out = tmp_path / "res"
    driver = resbench("run", str(sweep), "--out", str(out), "--executor", "slurm")
    runs = out / "requeue" / "runs"
    deadline = time.monotonic() + 120
    while not list(runs.glob("*.ckpt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(runs.glob("*.ckpt")), "no checkpoint appeared"
    (running,) = [j for j, s in (x.split() for x in squeue(cluster, "--name=resbench-requeue"))
                  if s == "RUNNING"]  # fmt: skip
    cluster.run("scontrol", "requeue", running)
    text, _ = driver.communicate(timeout=300)
    assert driver.returncode == 0, text
    assert "requeued" in text
    (record,) = records(out / "requeue").values()
    assert record["env"]["slurm_restarts"] == "1" and record["env"]["slurm_task"] == running
    assert record["resumed_at"] and 0 < record["resumed_at"] < 1000  # from its checkpoint
    (spec,) = expand(parse_sweep(sweep.read_text(), "requeue"))
    uninterrupted = train_run(spec)
    assert record["train_error"] == uninterrupted.train_error
    assert record["train_loss"] == uninterrupted.train_loss
    assert record["curve"] == [p.model_dump() for p in uninterrupted.curve]


def start_and_stop(args: tuple[str, ...], marker: str, *extra: str) -> str:
    """Run `resbench ARGS EXTRA` and Ctrl-C it once it prints `marker`; its output."""
    driver = resbench(*args, *extra)
    assert driver.stdout is not None
    seen = []
    for line in driver.stdout:
        seen.append(line)
        if marker in line:
            break
    os.killpg(driver.pid, signal.SIGINT)
    text, _ = driver.communicate(timeout=120)
    assert driver.returncode == 130, "".join(seen) + text
    return "".join(seen) + text


def test_ctrl_c_cancels_the_array_or_leaves_it_to_a_rerun_and_no_run_runs_twice(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    four = {"[8, 14]": "[8]"}
    sweep = sweep_file(tmp_path, "stop", "train: {steps: 400, batch_size: 16, device: cpu}", **four)
    out = tmp_path / "res"
    args = ("run", str(sweep), "--out", str(out), "--executor", "slurm")
    args += ("-s", "executor.max_running=1")  # one task at a time: runs are left at each stop

    # --keep-jobs: a Ctrl-C once a run has started leaves the array queued and running.
    text = start_and_stop(args, " start ", "--keep-jobs")
    assert "re-attaches" in text
    left = squeue(cluster, "--name=resbench-stop")
    assert left, "the array was not left running"
    (kept_array,) = {line.split("_")[0] for line in left}
    deadline = time.monotonic() + 120  # its task goes on: wait for its first result
    while not list((out / "stop" / ".slurm").glob("*/results/*.json")):
        assert time.monotonic() < deadline, "the kept array wrote no result"
        time.sleep(0.05)

    # The same command re-attaches and records that result; its Ctrl-C cancels every array.
    text = start_and_stop(args, "[1/")
    assert "re-attached" in text
    assert squeue(cluster, "--name=resbench-stop") == []  # none queued, running or completing
    before = {k: r["started_at"] for k, r in records(out / "stop").items()}
    assert before and len(before) < 4
    # The first recorded run was made by the kept array's task, not run again.
    assert any(records(out / "stop")[k]["env"]["slurm_task"].startswith(kept_array + "_")
               for k in before)  # fmt: skip

    again = resbench(*args)
    text, _ = again.communicate(timeout=300)
    assert again.returncode == 0, text
    assert f"{len(before)} recorded, {4 - len(before)} to run" in text
    after = records(out / "stop")
    assert len(after) == 4 and all(r["attempts"] == 1 for r in after.values())
    assert all(after[k]["started_at"] == v for k, v in before.items())  # none run again
    assert squeue(cluster, "--name=resbench-stop") == []


def test_a_task_that_dies_is_retried_and_one_over_its_memory_is_recorded_oom(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    specs = tiny_specs(2)
    dies = specs[0].run_id
    events: list = []
    settings = ExecutorSection(name="slurm", retries=1)
    pool = SlurmExecutor(settings, tmp_path / ".slurm", "cpu", events.append)
    results = {r.run_id: r for r in pool.map(Faulty(tmp_path, die_once=frozenset({dies})), specs)}
    assert results[dies].status == "ok" and results[dies].attempts == 2
    (retried,) = [e for e in events if isinstance(e, RunRetried)]
    assert retried.result.status == "killed" and "SLURM task" in retried.result.error
    assert any(isinstance(e, RunsQueued) and e.count for e in events)
    assert {e.spec.run_id for e in events if isinstance(e, RunStarted)} == set(results)

    # 150 MB: less than a task needs once torch is loaded. SLURM kills it (this cluster has
    # no cgroups: jobacct_gather's OverMemoryKill, its task ends FAILED and says why in its
    # log; with task/cgroup it ends OUT_OF_MEMORY).
    small = ExecutorSection(name="slurm", mem="150M", retries=1)
    (oom,) = SlurmExecutor(small, tmp_path / ".slurm-oom", "cpu").map(train_run, specs[1:])
    assert oom.status == "oom" and oom.attempts == 1, oom.error  # not retried: it would again
    assert "--mem=150M" in oom.error


def test_a_results_path_holding_percent_keeps_each_tasks_log_where_it_is_read(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    # sbatch reads %j, %A... in --output: unescaped, the log went to a folder that does not
    # exist (nowhere), and the task killed for its memory was told from its log as killed.
    work = tmp_path / "res%j%A%%" / ".slurm"
    small = ExecutorSection(name="slurm", mem="150M", retries=1)
    (oom,) = SlurmExecutor(small, work, "cpu").map(train_run, tiny_specs(1))
    assert oom.status == "oom", oom.error  # its log, read where it was written, said why
    assert [p.name for p in tmp_path.iterdir()] == ["res%j%A%%"]


USER_FAMILY = """
from torch import nn


def build(cfg, input_shape, num_classes):
    import yaml  # PyYAML, though a yaml.py of the user's lies beside this module

    if not hasattr(yaml, "safe_load"):
        raise RuntimeError(f"yaml is {yaml.__file__}, not PyYAML")
    return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0] * input_shape[1], num_classes))


build.archs = ("linear",)
build.depths = (1,)
"""


def test_tasks_find_the_code_beside_the_sweep_after_installed_modules(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    # The sweep's folder is neither the working directory nor on the tasks' PYTHONPATH.
    (tmp_path / "slurmnets.py").write_text(USER_FAMILY)
    (tmp_path / "yaml.py").write_text('"""A helper of the user\'s, not PyYAML."""\n')
    sweep = sweep_file(
        tmp_path,
        "usercode",
        **{"{family: conv1d, width: 4}": '{family: "slurmnets:build"}',
           "depth: [8, 14]": "depth: [1]", "arch: [plain, residual]": "arch: [linear]"},
    )  # fmt: skip
    done = resbench("run", str(sweep), "--out", str(tmp_path / "res"), "--executor", "slurm")
    text, _ = done.communicate(timeout=300)
    assert done.returncode == 0, text
    ran = records(tmp_path / "res" / "usercode")
    assert [r["status"] for r in ran.values()] == ["ok", "ok"], [r["error"] for r in ran.values()]


def test_bad_input_is_one_line_and_exit_2_before_the_array_is_submitted(
    cluster: slurm_cluster.Cluster, tmp_path: Path
) -> None:
    sweep = sweep_file(tmp_path, "bad")
    cases = {
        "nope": ("--partition", "nope", 2),
        "1:xx": ("--time", "1:xx", 2),
        "a backslash": ("--out", str(tmp_path / "back\\slash"), 2),
        "cannot write there (the cluster's nodes cannot": (
            "--out", str(cluster.hidden / "results"), 3  # a place that cannot be written
        ),
    }  # fmt: skip
    for expected, (*flag, code) in cases.items():
        args = ["run", str(sweep), "--executor", "slurm", "--out", str(tmp_path / "res"), *flag]
        done = resbench(*args)
        text, _ = done.communicate(timeout=120)
        assert done.returncode == code, text
        assert len(text.strip().splitlines()) == 1 and expected in text, text
    assert squeue(cluster, "--states=all", "--name=resbench-bad") == []


def test_zz_a_task_past_its_time_limit_is_recorded_timeout(
    cluster: slurm_cluster.Cluster, time_limited: dict
) -> None:
    # Last in the module: its run has been sleeping past its limit while the others ran.
    time_limited["thread"].join(timeout=180)
    (result,) = time_limited["results"]
    assert result.status == "timeout" and result.attempts == 1, result.error  # not retried
    assert "time limit (--time=1)" in result.error and result.env["slurm_task"]
    assert not [e for e in time_limited["events"] if isinstance(e, RunRetried)]
    # Its task's log is kept (the sweep did not end well), and says what SLURM did.
    (log,) = time_limited["work"].glob(f"*/logs/{result.env['slurm_task']}.out")
    assert str(log) in result.error and "DUE TO TIME LIMIT" in log.read_text()
