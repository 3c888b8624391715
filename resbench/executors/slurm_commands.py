"""SLURM's commands, run: squeue, scancel, sbatch for a sweep's array, scontrol for its largest
array; and, before anything is submitted, whether the sweep can run on SLURM from here.

Each call is a short subprocess with a timeout; `slurm_format` words the options and reads
squeue's answer, and what the slurm executor (`resbench.executors.slurm`) makes of it is its own.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from resbench.core import plugins
from resbench.core.atomic import writing
from resbench.core.errors import CannotWrite, ResbenchError
from resbench.core.names import shown
from resbench.executors import slurm_format

if TYPE_CHECKING:
    from resbench.executors.slurm_board import Session
    from resbench.sweep.schema import ExecutorSection

COMMANDS = ("sbatch", "squeue", "scancel", "scontrol")
DEFAULT_MAX_ARRAY = 1001  # SLURM's MaxArraySize when the cluster does not say
PROBE_SECONDS = 60.0  # the longest the probe that the nodes can write here waits for a node
# A probe task seen ended: how long the file it wrote on a node may take to show here (NFS).
PROBE_GRACE_SECONDS = 3.0


def _command(args: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def squeue(arrays: list[str], states: str = "all") -> list[slurm_format.Line] | None:
    """The lines squeue shows for `arrays` in `states` ("all": ended ones too, as long as
    SLURM keeps them; "active": queued, running, completing); None when it does not answer."""
    args = [
        "squeue",
        "--noheader",
        f"--jobs={','.join(arrays)}",
        f"--format={slurm_format.SQUEUE_FORMAT}",
    ]
    if states == "all":
        args.append("--states=all")
    try:
        done = _command(args)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        # Every one of them forgotten (MinJobAge passed): squeue calls their ids invalid.
        return [] if "Invalid job id" in done.stderr else None
    return slurm_format.parse_squeue(done.stdout)


def scancel(jobs: list[str], pending_only: bool = False) -> None:
    """Cancel `jobs` (arrays, tasks, or ranges of tasks), or with `pending_only` those of them
    still pending; ones that have ended are no error."""
    with suppress(OSError, subprocess.TimeoutExpired):
        _command(["scancel", *(["--state=PENDING"] if pending_only else []), *jobs])


def cancellable(line: slurm_format.Line) -> str:
    """What scancel takes for `line`: "12_4", or for an array's tasks not started
    ("12_[3-9%2]") their range, "12_[3-9]"."""
    if "[" not in line.job:
        return line.job
    inside = line.job.split("[", 1)[1].rstrip("]").split("%")[0]
    return f"{line.array}_[{inside}]"


def submit(session: Session, settings: ExecutorSection, device: str, tasks: int) -> str:
    """Submit an array of `tasks` tasks for `session`; its job id."""
    script = session.path / "task.sh"
    threads = settings.run_threads()
    script.write_text(
        "#!/bin/sh\n"
        "# A task of a resbench sweep: it takes the sweep's runs from this folder until none\n"
        "# is left (python -m resbench.executors.slurm_task).\n"
        f"export OMP_NUM_THREADS={threads}\n"
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in plugins.worker_env().items())
        + f"exec {shlex.quote(sys.executable)} -m resbench.executors.slurm_task "
        f"{shlex.quote(str(session.path))}\n",
        encoding="utf-8",
    )
    args = [
        "sbatch", "--parsable", f"--job-name=resbench-{session.path.parent.parent.name}",
        slurm_format.array_option(tasks, settings.max_running),
        slurm_format.output_option(session.logs_dir), "--open-mode=append", "--requeue",
        f"--chdir={Path.cwd()}", "--export=ALL",
        *slurm_format.resources(settings, device), str(script),
    ]  # fmt: skip
    done = _command(args, timeout=120)
    if done.returncode != 0:
        raise ResbenchError(f"sbatch refused the sweep's array: {_first_line(done.stderr)}")
    return done.stdout.strip().split(";")[0]


def max_array_size() -> int:
    """SLURM's MaxArraySize: an array holds at most one task fewer."""
    try:
        done = _command(["scontrol", "show", "config"])
    except (OSError, subprocess.TimeoutExpired):
        return DEFAULT_MAX_ARRAY
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MaxArraySize" and value.strip().isdigit():
            return int(value.strip())
    return DEFAULT_MAX_ARRAY


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0].removeprefix("sbatch: error: ") if lines else "no reason given"


def require_slurm(settings: ExecutorSection, device: str, folder: Path) -> list[str]:
    """Fail in one line, before anything is submitted, when the sweep cannot run on SLURM from
    here: its commands missing, options sbatch refuses (an unknown partition, a time limit,
    memory or GPUs no node has: `sbatch --test-only`), or a results folder the nodes cannot
    write to (a one-task probe job writes a file there). Notes to show, one line each."""
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        raise ResbenchError(
            f"--executor slurm needs SLURM's commands ({', '.join(COMMANDS)}) on PATH; "
            f"not found: {', '.join(missing)}"
        )
    if "\\" in str(folder.absolute()):
        raise ResbenchError(
            f"{shown(folder)}: --executor slurm cannot keep its tasks' logs under a path with a "
            "backslash (sbatch reads one in --output as 'no patterns'): choose --out without"
        )
    for name, value in (("num_cpus", settings.num_cpus), ("num_gpus", settings.num_gpus)):
        if value is not None and value != int(value):
            raise ResbenchError(
                f"executor.{name}: SLURM gives each task whole {name[4:].upper()}s (got {value})"
            )
    probe = ["--wrap", "true", "--output=/dev/null"]
    done = _command(["sbatch", "--test-only", *slurm_format.resources(settings, device), *probe])
    if done.returncode != 0:
        raise ResbenchError(f"--executor slurm: sbatch refuses the options: {_why(done)}")
    return probe_folder(settings, device, folder)


def probe_folder(settings: ExecutorSection, device: str, folder: Path) -> list[str]:
    """Check that a task on the cluster's nodes can write to `folder`; notes, or one line."""
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    mark = folder.resolve() / f".slurm-probe-{uuid.uuid4().hex[:12]}"
    args = [
        "sbatch", "--parsable", "--job-name=resbench-probe", "--output=/dev/null",
        *slurm_format.resources(settings, device), "--time=1",
        "--wrap", f"touch {shlex.quote(str(mark))}",
    ]  # fmt: skip
    done = _command(args)
    if done.returncode != 0:
        raise ResbenchError(f"--executor slurm: sbatch refuses the options: {_why(done)}")
    job = done.stdout.strip().split(";")[0]
    started, ended_at = time.monotonic(), None
    try:
        while time.monotonic() - started < PROBE_SECONDS:
            if mark.exists():
                return []
            lines = squeue([job])
            if lines and all(line.state in slurm_format.ENDED for line in lines):
                ended_at = ended_at or time.monotonic()
                if time.monotonic() - ended_at > PROBE_GRACE_SECONDS:
                    raise CannotWrite(
                        folder,
                        f"the cluster's nodes cannot: a probe task on them ended "
                        f"{lines[0].state} without leaving its file; put --out on a filesystem "
                        "they share",
                    )
            time.sleep(0.2)
    finally:
        scancel([job])
        mark.unlink(missing_ok=True)
    return [
        f"could not check that the nodes can write to {folder}: a probe task waited "
        f"{PROBE_SECONDS:.0f} s in SLURM's queue without starting"
    ]


def _why(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    shown = [line.removeprefix("sbatch: error: ") for line in lines]
    return "; ".join(dict.fromkeys(shown)) or f"exit code {done.returncode}"
