"""The transformer family's model.options, typed: what a sweep's `model.options` may set."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PositiveInt,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from resbench.models.registry import ARCH_OF_OPTION
from resbench.models.registry import TRANSFORMER_DEFAULTS as DEFAULTS


class TransformerOptions(BaseModel):
    """The transformer family's model.options (`resbench.models.transformer` says what the
    arch-specific ones do)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heads: PositiveInt = DEFAULTS["heads"]  # attention heads; each attends in width / heads
    mlp_ratio: PositiveInt = DEFAULTS["mlp_ratio"]  # the MLP's hidden width over the width
    layer_norm: bool | None = DEFAULTS["layer_norm"]  # None: as the arch is defined (LAYER_NORM)
    rezero_alpha: Literal["layer", "sublayer"] | None = None  # rezero: one α per block or each
    tfixup_embedding: Literal["reference", "initial"] | None = None  # tfixup: √width or not
    admin_omega: Literal["closed_form", "profiled"] | None = None  # admin: None is closed_form

    @model_serializer(mode="wrap")
    def _without_unset_arch_options(self, handler: SerializerFunctionWrapHandler) -> Any:
        # An arch's option left unset is left out, so that every other arch's config (and run
        # id) is what it was before these options existed.
        dumped = handler(self)
        return {k: v for k, v in dumped.items() if not (k in ARCH_OF_OPTION and v is None)}
