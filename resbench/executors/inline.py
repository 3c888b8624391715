"""The inline executor: runs one spec after another in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resbench.executors import RunFn
    from resbench.sweep import RunSpec
    from resbench.train import RunResult


class InlineExecutor:
    """Runs in the calling process, in order: simplest to debug, no parallelism."""

    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        for spec in specs:
            yield fn(spec)
