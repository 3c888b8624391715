"""The transformer family's model.options, typed: what a sweep's `model.options` may set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PositiveInt

from resbench.models.registry import TRANSFORMER_DEFAULTS as DEFAULTS


class TransformerOptions(BaseModel):
    """The transformer family's model.options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heads: PositiveInt = DEFAULTS["heads"]  # attention heads; each attends in width / heads
    mlp_ratio: PositiveInt = DEFAULTS["mlp_ratio"]  # the MLP's hidden width over the width
    layer_norm: bool | None = DEFAULTS["layer_norm"]  # None: as the arch is defined (LAYER_NORM)
