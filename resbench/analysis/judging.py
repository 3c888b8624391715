"""Seeds judged: the runs of one (arch, depth) as a `Group` of values, `worse`, and the `Judgement`
of a judged statement. What the claims (`resbench.analysis.verdicts`) and the comparison with
reference results (`resbench.analysis.baseline`) share.

How runs that did not end `ok` count:
- `diverged` is a result: the net failed to train. For an error metric it counts as error 1.0,
  the worst possible, so divergence can never make a deep net look good. Other metrics (loss)
  have no honest stand-in: a group with a diverged run is then INCONCLUSIVE.
- `failed`, `oom`, `killed`, `timeout` are missing results: the group is INCONCLUSIVE until
  the runs are redone (`resbench run --retry-failed`). Dropping them would quietly pick the
  lucky seeds.

`worse` is the one notion of "worse" in resbench: the report's ▲, the depth figure's markers,
the claims and the comparison with reference results (at the level its many comparisons need
together) all ask it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from resbench.analysis.stats import LEVEL, Interval, welch_interval
from resbench.core.errors import ResbenchError
from resbench.train.run_result import MISSING

if TYPE_CHECKING:
    import pandas as pd

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]
JudgementKind = Literal["runs", "claim", "baseline"]
DIVERGED_ERROR = 1.0


@dataclass(frozen=True)
class Group:
    """The runs of one (arch, depth), valued for one metric."""

    arch: str
    depth: int
    values: tuple[float, ...] = ()
    diverged: int = 0  # of `values`, how many are diverged runs counted as DIVERGED_ERROR
    unvalued: dict[str, int] = field(default_factory=dict)  # status -> runs with no value

    @property
    def label(self) -> str:
        return f"{self.arch}-{self.depth}"

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    def problem(self) -> str | None:
        """Why this group cannot be judged, or None."""
        if not self.values and not self.unvalued:
            return f"no runs of {self.label}"
        if self.unvalued:
            counts = ", ".join(f"{n} {status}" for status, n in self.unvalued.items())
            hint = (
                " (rerun: resbench run --retry-failed)" if set(self.unvalued) & set(MISSING) else ""
            )
            return f"{self.label}: {counts} run(s) without a value{hint}"
        return None


@dataclass(frozen=True)
class Judgement:
    """One judged statement: what was claimed, on what numbers, and the verdict."""

    kind: JudgementKind
    text: str
    verdict: Verdict
    groups: tuple[Group, ...] = ()  # the difference is mean(groups[0]) - mean(groups[1])
    diff: float | None = None
    interval: Interval | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"


def groups(runs: pd.DataFrame, metric: str) -> dict[tuple[str, int], Group]:
    """(arch, depth) -> the runs' values of `metric`; diverged and missing runs as said above."""
    if metric not in runs.columns:
        raise ResbenchError(f"unknown metric {metric!r} in a claim (not a column of runs.csv)")
    out = {}
    for (arch, depth), rows in runs.groupby(["arch", "depth"], sort=True):
        values: list[float] = []
        diverged = 0
        unvalued: dict[str, int] = {}
        for status, value in zip(rows["status"], rows[metric], strict=True):
            if status == "ok" and value == value:  # NaN != NaN: an ok run must have a value
                values.append(float(value))
            elif status == "diverged" and metric.endswith("_error"):
                values.append(DIVERGED_ERROR)
                diverged += 1
            else:
                key = "ok without a value" if status == "ok" else str(status)
                unvalued[key] = unvalued.get(key, 0) + 1
        out[(str(arch), int(depth))] = Group(
            str(arch), int(depth), tuple(values), diverged, unvalued
        )
    return out


def worse(a: Group, b: Group, by: float = 0.0, level: float = LEVEL) -> bool:
    """Is `a` worse than `b` by more than `by`, beyond the noise over seeds?

    Yes when mean(a) − mean(b) and the lower end of its Welch interval at `level` both exceed
    `by`. No verdict, so False, for a group with runs missing or fewer than two values: noise
    over three seeds, a net 0.005 worse, is not "worse".
    """
    if a.problem() or b.problem() or a.n < 2 or b.n < 2:
        return False
    interval = welch_interval(a.values, b.values, level)
    return interval.diff > by and interval.low > by


def inconclusive(
    text: str, note: str, gs: tuple[Group, ...] = (), kind: JudgementKind = "claim"
) -> Judgement:
    return Judgement(kind, text, "INCONCLUSIVE", gs, note=note)


def depths_of(by_key: dict[tuple[str, int], Group], arch: str) -> list[int]:
    return sorted(d for a, d in by_key if a == arch)


def worse_than_shallower(by_key: dict[tuple[str, int], Group]) -> dict[tuple[str, int], bool]:
    """Per (arch, depth): `worse` than the best shallower net of the same arch (the report's ▲)."""
    out = {}
    for arch in sorted({a for a, _ in by_key}):
        shallower: list[Group] = []
        for depth in depths_of(by_key, arch):
            group = by_key[(arch, depth)]
            best = best_group(shallower)
            out[(arch, depth)] = best is not None and worse(group, best)
            shallower.append(group)
    return out


def best_group(candidates: list[Group]) -> Group | None:
    """The group with the lowest mean among those that can be judged (no runs missing)."""
    whole = [g for g in candidates if g.problem() is None]
    return min(whole, key=lambda g: g.mean) if whole else None
