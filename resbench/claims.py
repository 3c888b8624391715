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
)

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


class Degrades(_Claim):
    """For `arch`, the deepest net's metric exceeds the best shallower one's by >= min_gap."""

    claim: Literal["degrades"]
    arch: ArchName = "plain"
    min_gap: NonNegativeFloat = 0.0


class Holds(_Claim):
    """For `arch`, the deepest net's metric is no worse than the shallowest's + tolerance."""

    claim: Literal["holds"]
    arch: ArchName = "residual"
    tolerance: NonNegativeFloat = 0.0


class Beats(_Claim):
    """`arch`'s metric is below `than`'s at `depths` (default: every shared depth) by >= min_gap."""

    claim: Literal["beats"]
    arch: ArchName = "residual"
    than: ArchName = "plain"
    depths: tuple[PositiveInt, ...] = ()
    min_gap: NonNegativeFloat = 0.0


Claim = Annotated[Degrades | Holds | Beats, Field(discriminator="claim")]
