"""What a sweep reports while it runs, to the `on_event` handler its caller gives.

Executors report each attempt's start, progress and retry (and on a cluster's scheduler, how
many runs wait in its queue, and an attempt it took back); the runner (`resbench.runner`)
adds the sweep's start (with its notes: records migrated, kept or to be rerun), each final
result as it is recorded, and the sweep's end. The terminal's live view, a notebook's, and
any user's handler read the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import RunResult


@dataclass(frozen=True)
class RunStarted:
    """A slot began an attempt at a run."""

    slot: int
    where: str
    spec: RunSpec
    attempt: int


@dataclass(frozen=True)
class RunStep:
    """A run's progress: its step, of `total`, and the train loss at its last curve point."""

    slot: int
    spec: RunSpec
    step: int
    total: int
    loss: float | None


@dataclass(frozen=True)
class RunRetried:
    """An attempt ended `failed` or `killed`; the run goes back in the queue."""

    slot: int
    result: RunResult
    attempt: int


@dataclass(frozen=True)
class RunsQueued:
    """Runs handed to a cluster's scheduler that have not started: `count` of them now."""

    count: int


@dataclass(frozen=True)
class RunRequeued:
    """The scheduler took a running attempt back (a preemption, `scontrol requeue`): the run
    waits in the queue again, and resumes from its checkpoint when it starts."""

    slot: int
    spec: RunSpec
    where: str


@dataclass(frozen=True)
class SweepStarted:
    """A sweep's runs are about to be handed out: `todo` of `total`, the others recorded.

    `notes` are one line each about the records found: migrated from an older format, kept
    from a newer one, unreadable and to be redone, finishing an interrupted --force.
    """

    sweep: str
    path: Path
    total: int
    todo: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Message:
    """A line worth showing while the sweep prepares (a dataset file being fetched, say)."""

    text: str


@dataclass(frozen=True)
class RunFinished:
    """A run's final result, recorded."""

    result: RunResult


@dataclass(frozen=True)
class SweepEnded:
    """The sweep stopped handing out runs: all done, or `stopped` says why not."""

    done: int
    left: int
    stopped: str | None = None  # "interrupted", or what failed


ExecutorEvent = Union[  # noqa: UP007 - a runtime alias on 3.10
    RunStarted, RunStep, RunRetried, RunsQueued, RunRequeued, Message
]
Event = Union[  # noqa: UP007
    SweepStarted, Message, RunStarted, RunStep, RunRetried, RunsQueued, RunRequeued,
    RunFinished, SweepEnded,
]  # fmt: skip
EventHandler = Callable[[Event], None]
