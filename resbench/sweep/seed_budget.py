"""The `seeds:` section of a sweep file: seeds as a budget, in place of `grid.seed`.

What loading checks of a budget beside the rest of the sweep is `resbench.sweep.budget`'s; the
rule that decides a claim under repeated looks, `resbench.analysis.sequential`'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from resbench.core.strict import Strict


class SeedBudget(Strict):
    """The `seeds:` section: seeds as a budget, in place of `grid.seed`. `resbench run` runs
    seeds 0..min-1 of every group, then adds the next seeds (`step` a round) only to the groups
    whose claims are still undecided, until each is decided or has `max` seeds
    (resbench.analysis.sequential has the rule)."""

    min: int = Field(ge=2, description="seeds every group gets first (0..min-1); at least 2")
    max: int = Field(le=1000, description="the most seeds a group gets (0..max-1)")
    step: PositiveInt = Field(1, description="seeds added to an undecided group per round")
    spending: Literal["pocock", "obrien_fleming"] = Field(
        "pocock",
        description="the alpha-spending function of the group-sequential test (Lan-DeMets): "
        "pocock decides clear claims early, obrien_fleming keeps the last look near the fixed test",
    )

    @model_validator(mode="after")
    def _max_from_min(self) -> SeedBudget:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be at least min ({self.min})")
        return self
