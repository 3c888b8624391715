"""How many runs a sweep makes, counted from its axes before any run is made.

Expanding a run costs tens of microseconds and a few kilobytes (a validated `RunSpec`), so a
grid that is far larger than meant (a `seed` range typed with one zero too many, times a few
other axes) would keep `resbench run` busy for minutes, silently, and fill the memory. Counting
first costs nothing of the kind: the product of the axes' lengths, less the points `exclude`
drops (found by walking only the axes that `exclude` names), plus `include`. Above `max_runs`,
one line says how many there would be and how to proceed.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resbench.sweep.schema import Sweep

# The largest sweep `resbench run` expands unasked: ten times the largest sweeps it is measured
# on (docs/performance.md), about 5 s and 650 MB of run specs in the driver.
MAX_RUNS = 100_000

Row = dict[str, Any]  # one position along an axis: its keys and their values


def axis_rows(sweep: Sweep) -> list[list[Row]]:
    """Each axis of the product as its rows: a grid key's values, or a zip group's rows."""
    axes = [[{key: value} for value in values] for key, values in sweep.grid.items()]
    for group in sweep.zip:
        rows = zip(*group.values(), strict=True)
        axes.append([dict(zip(group, row, strict=True)) for row in rows])
    return axes


def matches(point: Row, pattern: Row) -> bool:
    """Whether `point` takes, on every key of `pattern`, its value or one of its list."""
    for key, want in pattern.items():
        options = want if isinstance(want, list) else [want]
        if point.get(key) not in options:
            return False
    return True


def count_runs(sweep: Sweep) -> int:
    """The number of points the sweep's axes, `exclude` and `include` make (runs that come out
    the same are one run, so expansion may make fewer)."""
    axes = axis_rows(sweep)
    product = math.prod(len(rows) for rows in axes)
    return product - _excluded(axes, sweep.exclude) + len(sweep.include)


def validate_size(sweep: Sweep, source: str, max_runs: int | None) -> None:
    """Refuse, in one line, a sweep of more than `max_runs` runs (None: no limit)."""
    from resbench.sweep.schema import (
        SweepError,  # here: the command line reads MAX_RUNS, and no more
    )

    if max_runs is None:
        return
    axes = axis_rows(sweep)
    if math.prod(len(rows) for rows in axes) + len(sweep.include) <= max_runs:
        return  # the product bounds the count: no need to look at exclude
    n = count_runs(sweep)
    if n <= max_runs:
        return
    sizes = [f"{key} {len(values):,}" for key, values in sweep.grid.items()]
    sizes += [f"zip[{i}] {len(rows):,}" for i, rows in enumerate(axes[len(sweep.grid) :])]
    raise SweepError(
        f"{source}: the axes make {n:,} runs ({' x '.join(sizes)}), more than the limit of "
        f"{max_runs:,}: check them for a typo, or pass --max-runs {n} to run them all"
    )


def _excluded(axes: list[list[Row]], patterns: list[Row]) -> int:
    """How many points of the product match some pattern: walked over the axes the patterns
    name only, each combination standing for all the points of the other axes."""
    if not patterns:
        return 0
    named = {key for pattern in patterns for key in pattern}
    walked = [rows for rows in axes if named & rows[0].keys()]
    others = math.prod(len(rows) for rows in axes if not named & rows[0].keys())
    hits = 0
    for combo in itertools.product(*walked):
        point = {key: value for row in combo for key, value in row.items()}
        hits += any(matches(point, pattern) for pattern in patterns)
    return hits * others
