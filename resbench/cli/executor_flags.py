"""`resbench run`'s execution flags, each the field of the sweep's `executor:` section it names.

One rule maps them: `--threads-per-run` sets `threads_per_run`, and so on (`--executor` sets
`name`); a flag left out leaves the section's value. `ExecutorSection.override` validates what
was given, so a bad value is one line naming its flag, and the section's other fields (mem,
account, qos, max_running, sbatch_args) are set in the sweep or with -s executor.KEY=VALUE.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Optional

import typer

PANEL = "Execution (overrides the sweep's executor: section)"


class ExecutorName(str, Enum):
    local = "local"
    inline = "inline"
    ray = "ray"
    slurm = "slurm"


# The fields the flags set, in --help's order: field -> (the flag's type, its help).
FLAGS: dict[str, tuple[Any, str]] = {
    "name": (
        Optional[ExecutorName],  # noqa: UP045 - typer needs Optional on Python 3.10
        "local = a worker process per slot (default); inline = one by one, here; ray = a task "
        'per run on a Ray cluster (pip install "resbench[ray]"); slurm = a SLURM job array '
        "(docs/cluster.md).",
    ),
    "workers": (
        Optional[int],  # noqa: UP045
        "Worker processes [default: GPUs x runs-per-gpu, else cores / threads-per-run].",
    ),
    "runs_per_gpu": (Optional[int], "Runs sharing each GPU [default: 1]."),  # noqa: UP045
    "threads_per_run": (Optional[int], "CPU threads of each run [default: 1]."),  # noqa: UP045
    "retries": (
        Optional[int],  # noqa: UP045
        "Attempts after the first for a run that fails or whose worker dies [default: 1].",
    ),
    "address": (
        Optional[str],  # noqa: UP045
        "ray: the cluster, auto or ray://HOST:PORT [default: start a local Ray].",
    ),
    "num_cpus": (
        Optional[float],  # noqa: UP045
        "ray, slurm: CPUs each run reserves, and its torch threads [default: threads-per-run].",
    ),
    "num_gpus": (
        Optional[float],  # noqa: UP045
        "ray: GPUs each run reserves, e.g. 0.25 [default: 1/runs-per-gpu on GPU nodes]; "
        "slurm: whole GPUs per task [default: 1 when train.device is cuda].",
    ),
    "partition": (
        Optional[str],  # noqa: UP045
        "slurm: the partition [default: SLURM's]; more in the executor: section or "
        "-s executor.KEY=VALUE (time, mem, account, qos, max_running, sbatch_args).",
    ),
    "time": (
        Optional[str],  # noqa: UP045
        "slurm: each task's time limit, as sbatch's --time (30, 2:00:00, 1-12).",
    ),
    "keep_jobs": (
        bool,
        "slurm: a Ctrl-C leaves the job array running (default: cancels it); the same command "
        "later re-attaches to it.",
    ),
}


def flag_of(field: str) -> str:
    """The flag that sets `field` of the executor section: --threads-per-run, --executor."""
    return "--executor" if field == "name" else "--" + field.replace("_", "-")


def with_executor_flags(command: Callable[..., None]) -> Callable[..., None]:
    """`command` with the execution flags among its options, in place of its parameter
    `executor_flags`, which receives the flags given as {field: value}."""
    signature = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        params += _flag_parameters(param) if param.name == "executor_flags" else [param]

    @functools.wraps(command)
    def with_flags(**values: Any) -> None:
        given = {field: values.pop(field) for field in FLAGS}
        # A bool flag only turns its field on: left out, the sweep's value stands.
        flags = {
            field: value.value if isinstance(value, Enum) else value
            for field, value in given.items()
            if value is not None and value is not False
        }
        command(**values, executor_flags=flags)

    with_flags.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return with_flags


def _flag_parameters(like: inspect.Parameter) -> list[inspect.Parameter]:
    """The flags as parameters of `like`'s kind, named after their fields, for Typer to read."""
    params = []
    for field, (flag_type, help_text) in FLAGS.items():
        option = typer.Option(
            flag_of(field), help=help_text, rich_help_panel=PANEL, show_default=False
        )
        params.append(
            inspect.Parameter(
                field,
                like.kind,
                default=False if flag_type is bool else None,
                annotation=Annotated[flag_type, option],
            )
        )
    return params
