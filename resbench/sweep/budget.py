"""A sweep's seeds as a budget (`seeds: {min, max}`): what loading checks of it, the seeds its
runs are expanded over, and the budget of a results folder's sweep.yaml.

The rounds are the runner's (`resbench.runner`); the rule that decides a claim under repeated
looks is `resbench.analysis.sequential`'s. Each claim it decides compares the means of two
groups of seeds, so a budget takes `degrades`, `holds` and `beats` claims, not a best value
chosen over a swept key (whose held-out half would move as seeds come) or a drift.
"""

from __future__ import annotations

from pathlib import Path

from resbench.sweep.messages import Invalid
from resbench.sweep.schema import Sweep
from resbench.sweep.sections import read_section
from resbench.sweep.seed_budget import SeedBudget

SEQUENTIAL_CLAIMS = ("degrades", "holds", "beats")


def seed_axis(sweep: Sweep) -> Sweep:
    """The sweep whose axes make the runs: with a budget, seeds 0..max-1 on the grid (the runner
    runs those its rounds ask for); without one, `sweep` itself."""
    if sweep.seeds is None:
        return sweep
    return sweep.model_copy(update={"grid": {**sweep.grid, "seed": list(range(sweep.seeds.max))}})


def validate_budget(sweep: Sweep, seen: dict[str, str]) -> None:
    """With a budget: no seed axis beside it, no extra runs, and claims it can decide.
    `seen`: the swept keys and where each was written."""
    if sweep.seeds is None:
        return
    if "seed" in seen:
        raise Invalid(seen["seed"], "give a seed budget (seeds:) or seeds to sweep, not both")
    if sweep.include:
        raise Invalid("include", "a sweep with a seed budget (seeds:) takes no extra runs")
    if not sweep.expect:
        raise Invalid("seeds", "a seed budget needs claims (expect:) to decide; else use grid.seed")
    for i, claim in enumerate(sweep.expect):
        if claim.claim not in SEQUENTIAL_CLAIMS or getattr(claim, "best_over", None):
            raise Invalid(
                f"expect[{i}]",
                f"with a seed budget (seeds:), claims are {', '.join(SEQUENTIAL_CLAIMS)} "
                "without best_over; for this one use grid.seed",
            )


def load_budget(path: Path) -> SeedBudget | None:
    """The `seeds:` budget of the sweep file at `path` (None without one), the rest unread."""

    def validate(seeds: object) -> SeedBudget | None:
        return None if seeds is None else SeedBudget.model_validate(seeds)

    return read_section(path, "seeds", validate, "seeds")
