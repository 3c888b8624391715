"""The claims a sweep makes under `expect:`, which `resbench check` judges over seeds.

Each names its archs (archs of the sweep's runs: checked when the sweep is loaded) and, with
`where:`, the runs it is about: a sweep with variants (batch norm or not, say) needs it, since a
claim never pools different nets.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveInt,
    model_validator,
)

from resbench.sweep.defaults import BEST_BY, REACH_TOLERANCE

# The runs.csv columns that make sense per (depth, arch); what a claim may measure.
METRICS = (
    "train_error", "test_error", "train_loss", "test_loss", "samples_per_s", "gflops", "mfu",
    "flops_per_sample", "params", "train_seconds", "eval_seconds", "startup_seconds", "seconds",
    "epochs", "steps",
)  # fmt: skip

# An arch of the sweep's runs, built-in or a user family's: checked once the runs are known.
ArchName = str


class _Claim(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # as the sweep's other sections

    metric: str = "train_error"
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="only the runs whose fields have these values, e.g. {model.batch_norm: false}; "
        "a list matches any of its values, null a field left unset",
    )


class _AtBest(_Claim):
    best_over: str | None = Field(
        None,
        description="a swept key (e.g. train.lr): judge each arch, depth and variant at its best "
        "value of it, chosen on half the seeds from 4 on (resbench.analysis.best_of)",
    )
    best_by: str = Field(
        BEST_BY, description="with best_over: the metric whose lowest mean is the best"
    )


class Degrades(_AtBest):
    """For `arch`, the deepest net's metric exceeds the best shallower one's by >= min_gap."""

    claim: Literal["degrades"]
    arch: ArchName = "plain"
    min_gap: NonNegativeFloat = 0.0


class Holds(_AtBest):
    """For `arch`, the deepest net's metric is no worse than the shallowest's + tolerance."""

    claim: Literal["holds"]
    arch: ArchName = "residual"
    tolerance: NonNegativeFloat = 0.0


class Beats(_AtBest):
    """`arch`'s metric is below `than`'s at `depths` (default: every shared depth) by >= min_gap."""

    claim: Literal["beats"]
    arch: ArchName = "residual"
    than: ArchName = "plain"
    depths: tuple[PositiveInt, ...] = ()
    min_gap: NonNegativeFloat = 0.0


class Reaches(_AtBest):
    """`arch` reaches `depth`: from its best depth (the lowest mean) to `depth`, every depth's
    metric is within `tolerance` of the best depth's."""

    claim: Literal["reaches"]
    arch: ArchName = "residual"
    depth: PositiveInt
    tolerance: NonNegativeFloat = REACH_TOLERANCE


class Wins(_AtBest):
    """`arch` beats `than` at `depth` on more than `at_least` of the seed pairs: the probability
    that a seed of `arch` scores below a seed of `than` (ties half), and its stratified-bootstrap
    interval, lie above `at_least` (resbench.analysis.effects)."""

    claim: Literal["wins"]
    arch: ArchName = "residual"
    than: ArchName = "plain"
    depth: PositiveInt
    at_least: float = Field(0.5, ge=0, lt=1, description="the share of seed pairs to exceed")


class Drift(_Claim):
    """`arch`'s best value of `over` (by the lowest mean `metric`) drifts with depth by at most
    `within`: the slope of log2(optimum) on log2 of the residual blocks L, over the depths
    whose landscape is clearly better than chance, and its seed-resampling interval lie in
    [−within, +within]; or, with `at_least` instead, by at least that much: the slope and its
    interval lie beyond ±at_least, on one side (resbench.analysis.landscape)."""

    claim: Literal["drift"]
    arch: ArchName = "residual"
    over: str = "train.lr"
    within: NonNegativeFloat | None = None
    at_least: NonNegativeFloat | None = None
    metric: str = BEST_BY

    @model_validator(mode="after")
    def _one_bound(self) -> Drift:
        if (self.within is None) == (self.at_least is None):
            raise ValueError("give exactly one of within or at_least")
        return self


class DriftsLess(_Claim):
    """`arch`'s best value of `over` (on the runs `where` selects) drifts less with depth than
    `than`'s (on those `than_where` selects): |drift| − |drift of than| < 0, its
    seed-resampling interval too."""

    claim: Literal["drifts_less"]
    arch: ArchName = "residual"
    than: ArchName = "residual"
    over: str = "train.lr"
    metric: str = BEST_BY
    than_where: dict[str, Any] = Field(
        default_factory=dict, description="the runs of `than`, e.g. {model.branch_multiplier: none}"
    )


Claim = Annotated[
    Degrades | Holds | Beats | Reaches | Wins | Drift | DriftsLess, Field(discriminator="claim")
]


def axis_of(claim: Claim) -> str | None:
    """The swept key a claim takes the best of (best_over) or runs along (over), or None."""
    return getattr(claim, "best_over", None) or getattr(claim, "over", None)
