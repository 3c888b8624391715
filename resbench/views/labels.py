"""The short texts every view shares: a variant's title, the mark of a net worse than a
shallower one, and which columns of a table hold names rather than numbers."""

from __future__ import annotations

import math
from typing import Any, Literal

WORSE_MARK = "▲"
NOTES = "\x00"  # in a cell, what follows is a note (dimmed on a terminal)


def variant_title(variant: dict[str, Any]) -> str:
    """e.g. 'family mlp · batch_norm False · warmup_lr null', or '' when nothing but depth and
    arch varies. An empty cell (a field left unset) is null, as a sweep file writes it."""
    return " · ".join(f"{k.split('.')[-1]} {_variant_value(v)}" for k, v in variant.items())


def _variant_value(value: Any) -> Any:
    return "null" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def justify(header: str) -> Literal["left", "right"]:
    """Names to the left, numbers to the right."""
    return "left" if header in ("arch", "at", "variant") else "right"
