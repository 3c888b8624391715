"""SLURM's vocabulary, without SLURM: the command line of a sweep's job array, squeue's lines,
and what a task's final state means for the run it was on.

Torch-free and process-free: SLURM's commands (`resbench.executors.slurm_commands`) are built
and read with it; the formats of sbatch's --time and --mem, which the sweep's schema checks,
are `resbench.sweep.slurm_limits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resbench.sweep.schema import ExecutorSection

# A task's state once it has ended (squeue --states=all shows it until MinJobAge has passed).
ENDED = frozenset(
    {"COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED", "NODE_FAIL", "BOOT_FAIL",
     "DEADLINE", "PREEMPTED", "SPECIAL_EXIT", "REVOKED"}
)  # fmt: skip


def gpus_per_task(settings: ExecutorSection, device: str) -> int:
    """Whole GPUs each task asks for: executor.num_gpus, else one when runs are on cuda."""
    if settings.num_gpus is None:
        return 1 if device == "cuda" else 0
    return int(settings.num_gpus)


def resources(settings: ExecutorSection, device: str) -> list[str]:
    """The sbatch options a task of the sweep needs: one process, its CPUs, GPUs, memory, time,
    where it queues; the user's own options last, so that they win."""
    options = ["--ntasks=1", f"--cpus-per-task={settings.run_threads()}"]
    if gpus := gpus_per_task(settings, device):
        options.append(f"--gpus-per-task={gpus}")
    for flag, value in (
        ("--partition", settings.partition),
        ("--time", settings.time),
        ("--mem", settings.mem),
        ("--account", settings.account),
        ("--qos", settings.qos),
    ):
        if value is not None:
            options.append(f"{flag}={value}")
    return options + list(settings.sbatch_args)


def output_option(logs: Path) -> str:
    """--output for each task's log in the folder `logs`, named job_task.out: the folder's path
    taken literally (sbatch reads `%` in it as the start of a pattern: doubled, it is a `%`)."""
    return f"--output={str(logs).replace('%', '%%')}/%A_%a.out"


def array_option(tasks: int, max_running: int | None) -> str:
    """--array for `tasks` tasks, at most `max_running` of them running at once."""
    cap = f"%{max_running}" if max_running else ""
    return f"--array=0-{tasks - 1}{cap}"


@dataclass(frozen=True)
class Line:
    """One line of `squeue --states=all`: a task (`job` "123_4"), or an array's tasks that have
    not started (`job` "123_[5-99%2]")."""

    job: str
    state: str
    node: str

    @property
    def array(self) -> str:
        return self.job.split("_", 1)[0]

    @property
    def pending_rest(self) -> bool:
        """Tasks of an array that SLURM has not started yet, shown as one line ("123" once
        they are cancelled)."""
        return "[" in self.job or "_" not in self.job


SQUEUE_FORMAT = "%i|%T|%N"


def parse_squeue(text: str) -> list[Line]:
    """squeue's output in SQUEUE_FORMAT, one `Line` per task or pending range."""
    lines = []
    for raw in text.splitlines():
        parts = raw.strip().split("|")
        if len(parts) == 3 and parts[0]:
            lines.append(Line(parts[0], parts[1].split()[0] if parts[1] else "", parts[2]))
    return lines


# What slurmstepd writes in a task's log when it ends the task: read where the state alone
# does not tell (without task/cgroup, a task over its memory ends FAILED; SLURM forgets a task's
# state MinJobAge after it ended).
_TIME_LIMIT = "DUE TO TIME LIMIT"
_MEMORY = ("exceeded memory limit", "exceeded job memory limit", "oom_kill event", "oom-kill")
_PREEMPTED = "DUE TO PREEMPTION"


def verdict(state: str | None, settings: ExecutorSection, log: str = "") -> tuple[str, str]:
    """The status and error of a run whose task ended in `state` (None: SLURM no longer knows
    the task) before writing the run's result; `log`: the end of the task's output."""
    lowered = log.lower()
    if state in (None, "CANCELLED") and _TIME_LIMIT in log:
        state = "TIMEOUT"
    elif state in (None, "FAILED", "CANCELLED") and any(m in lowered for m in _MEMORY):
        state = "OUT_OF_MEMORY"
    elif state in (None, "CANCELLED") and _PREEMPTED in log:
        state = "PREEMPTED"
    if state == "TIMEOUT":
        return "timeout", (
            f"SLURM stopped its task at the time limit (--time={settings.time}); "
            "resbench run --retry-failed reruns it, from its checkpoint if it saved one"
        )
    if state == "OUT_OF_MEMORY":
        limit = f" (--mem={settings.mem})" if settings.mem else ""
        return "oom", f"SLURM killed its task for using more memory than it was given{limit}"
    if state == "COMPLETED":
        return "failed", "its SLURM task ended without writing the run's result"
    why = {
        "CANCELLED": "was cancelled (scancel)",
        "FAILED": "exited with an error (see its log)",
        "NODE_FAIL": "lost its node",
        "BOOT_FAIL": "could not start on its node",
        "PREEMPTED": "was preempted and not requeued",
        "DEADLINE": "passed its deadline",
        None: "ended while no resbench watched it, and SLURM no longer knows how",
    }.get(state, f"ended {state}")
    return "killed", f"its SLURM task {why}"
