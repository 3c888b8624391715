"""The slurm executor's side that needs no cluster: sbatch's formats, squeue's lines, what a
task's end means for its run, the `timeout` status, and bad input refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TINY_SWEEP
from typer.testing import CliRunner

from resbench import ResbenchError
from resbench.analysis.summary import status_counts
from resbench.cli import app
from resbench.executors import slurm_format
from resbench.executors.attempts import Attempts
from resbench.executors.slurm_commands import require_slurm
from resbench.results import Results
from resbench.sweep import slurm_limits
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import ExecutorSection
from resbench.train.run_result import MISSING, RETRIED, RunResult


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 1800),
        ("0:30", 60),  # SLURM keeps whole minutes, rounded up
        ("2:30", 180),
        ("1:30:00", 5400),
        ("1-12", 129600),
        ("1-0:30", 88200),
        ("2-01:02:03", 176580),
        ("infinite", 0),
    ],
)
def test_time_limits_in_every_format_sbatch_takes(text: str, seconds: int) -> None:
    assert slurm_limits.time_seconds(text) == seconds


@pytest.mark.parametrize("text", ["1:xx", "abc", "1:2:3:4", "-5", "1-", "1h"])
def test_a_time_limit_sbatch_would_refuse_is_refused_at_load(text: str) -> None:
    assert slurm_limits.time_seconds(text) is None
    with pytest.raises(ValueError, match="not a SLURM time limit"):
        ExecutorSection(name="slurm", time=text)


def test_bad_time_limit_or_memory_is_one_line_and_exit_2_without_slurm(tmp_path: Path) -> None:
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(TINY_SWEEP)
    runner = CliRunner()
    for args, field in (
        (["--time", "1:xx"], "--time"),
        (["-s", "executor.mem=4 GB"], "executor.mem"),
    ):
        result = runner.invoke(app, ["run", str(sweep), "--executor", "slurm", *args])
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1 and field in result.output
    assert not (tmp_path / "results").exists()


def test_without_slurm_commands_the_executor_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, squeue, scancel, scontrol here
    with pytest.raises(ResbenchError, match="needs SLURM's commands") as e:
        require_slurm(ExecutorSection(name="slurm"), "cpu", tmp_path / "res")
    assert "\n" not in str(e.value) and not (tmp_path / "res").exists()


def test_fractional_gpus_are_refused_for_slurm(tmp_path: Path, monkeypatch) -> None:
    for name in ("sbatch", "squeue", "scancel", "scontrol"):  # present, never reached
        (tmp_path / name).write_text("#!/bin/sh\nexit 1\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ResbenchError, match=r"executor\.num_gpus: SLURM gives each task whole"):
        require_slurm(ExecutorSection(name="slurm", num_gpus=0.5), "cpu", tmp_path / "res")


def test_a_tasks_options_name_its_resources_and_the_users_come_last() -> None:
    settings = ExecutorSection(
        name="slurm", num_cpus=4, partition="gpu", time="2:00:00", mem="8G", account="lab",
        qos="short", sbatch_args=["--constraint=a100", "--cpus-per-task=8"],
    )  # fmt: skip
    options = slurm_format.resources(settings, "cuda")
    assert options[:3] == ["--ntasks=1", "--cpus-per-task=4", "--gpus-per-task=1"]
    for option in ("--partition=gpu", "--time=2:00:00", "--mem=8G", "--account=lab", "--qos=short"):
        assert option in options
    assert options[-2:] == ["--constraint=a100", "--cpus-per-task=8"]
    assert "--gpus-per-task=1" not in slurm_format.resources(ExecutorSection(name="slurm"), "cpu")
    assert "--gpus-per-task=2" in slurm_format.resources(
        ExecutorSection(name="slurm", num_gpus=2), "cpu"
    )
    assert slurm_format.array_option(100, 8) == "--array=0-99%8"
    assert slurm_format.array_option(1, None) == "--array=0-0"


def test_squeue_lines_tell_tasks_from_an_arrays_tasks_not_started() -> None:
    lines = slurm_format.parse_squeue("12_[3-9%2]|PENDING|\n12_0|RUNNING|node1\n12|CANCELLED|\n\n")
    assert [(x.job, x.state, x.node, x.array, x.pending_rest) for x in lines] == [
        ("12_[3-9%2]", "PENDING", "", "12", True),
        ("12_0", "RUNNING", "node1", "12", False),
        ("12", "CANCELLED", "", "12", True),
    ]


@pytest.mark.parametrize(
    ("state", "log", "status"),
    [
        ("TIMEOUT", "", "timeout"),
        ("OUT_OF_MEMORY", "", "oom"),
        # Without cgroups a task over its memory ends FAILED; slurmstepd's log says why.
        ("FAILED", "error: Exceeded job memory limit\n", "oom"),
        ("FAILED", "Traceback ...\n", "killed"),
        ("CANCELLED", "*** JOB 7 ON n1 CANCELLED AT 2026-01-01 DUE TO TIME LIMIT ***", "timeout"),
        ("CANCELLED", "", "killed"),
        ("NODE_FAIL", "", "killed"),
        ("COMPLETED", "", "failed"),
        (None, "", "killed"),  # SLURM forgot it, and its log says nothing
        (None, "CANCELLED AT 2026-01-01T00:00:00 DUE TO TIME LIMIT", "timeout"),
    ],
)  # fmt: skip
def test_how_a_task_ended_becomes_its_runs_status(state, log, status) -> None:
    settings = ExecutorSection(name="slurm", time="1:00:00", mem="2G")
    got, error = slurm_format.verdict(state, settings, log)
    assert got == status
    if status == "timeout":
        assert "--time=1:00:00" in error and "--retry-failed" in error
    if status == "oom":
        assert "--mem=2G" in error


def test_timeout_is_a_missing_result_not_retried_whose_checkpoint_is_kept(tmp_path: Path) -> None:
    assert "timeout" in MISSING and "timeout" not in RETRIED
    (spec,) = expand(parse_sweep(TINY_SWEEP, "tiny"))[:1]
    results = Results(tmp_path / "tiny")
    for status, kept in (("timeout", True), ("killed", False)):
        results.checkpoint_path(spec.run_id).parent.mkdir(parents=True, exist_ok=True)
        results.checkpoint_path(spec.run_id).write_bytes(b"state")
        results.save(RunResult(run_id=spec.run_id, spec=spec, status=status))
        assert results.checkpoint_path(spec.run_id).exists() is kept
    counts = status_counts(results_frame(spec, ["ok", "timeout", "timeout"]))
    assert counts["timeout"] == 2 and counts["ok"] == 1


def results_frame(spec, statuses: list[str]):
    import pandas as pd

    return pd.DataFrame({"status": statuses, "seconds": [1.0] * len(statuses)})


def test_an_attempt_under_way_elsewhere_is_adopted_with_its_number() -> None:
    specs = expand(parse_sweep(TINY_SWEEP, "tiny"))[:3]
    events: list = []
    attempts = Attempts(specs, retries=1, on_event=events.append)
    adopted = attempts.adopt(specs[1].run_id, 2)
    assert adopted is not None and adopted.number == 2 and adopted.spec is specs[1]
    assert attempts.adopt(specs[1].run_id, 2) is None  # no longer queued
    assert [a.spec for a in attempts.queue] == [specs[0], specs[2]]
    assert attempts.take(0, "slurm", announce=False) is not None and not events
    assert attempts.remaining == 3
