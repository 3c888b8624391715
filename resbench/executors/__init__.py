"""Executors: one verb, `map(fn, specs)`, yielding each run's result as it finishes.

`inline` runs in this process (tests, debugging). Every executor takes the same picklable
`fn` (normally `train_run`) so that where a run executes never changes what it computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from resbench import ResbenchError

if TYPE_CHECKING:
    from resbench.sweep import RunSpec
    from resbench.train import RunResult

RunFn = Callable[["RunSpec"], "RunResult"]


class Executor(Protocol):
    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Run `fn` on every spec; yield results in completion order."""
        ...


EXECUTORS = ("inline",)


def make_executor(name: str) -> Executor:
    """The executor called `name`."""
    if name == "inline":
        from resbench.executors.inline import InlineExecutor

        return InlineExecutor()
    raise ResbenchError(f"--executor: unknown executor {name!r} (valid: {', '.join(EXECUTORS)})")
