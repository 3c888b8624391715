"""A run's fields as a sweep names them: a runs.csv cell read back as the spec had it, and
whether it is what a claim's `where:` asks (`has_value`). Loading a sweep checks that some run
has each `where:`; the analysis selects runs with the same rule."""

from __future__ import annotations

import json
import math
from typing import Any


def has_value(value: Any, want: Any) -> bool:
    """Whether a run's field, `value` (from its spec, or its runs.csv cell), is what a claim's
    `where:` asks: `want`, or any value of a list. `null` asks for the field unset (an empty
    cell). A field that holds lists (train.diagnostics) is asked for by its value, a list, or by
    a list of such lists."""
    value = _from_cell(value)
    if isinstance(want, list) and not (
        isinstance(value, list) and not any(isinstance(w, list) for w in want)
    ):
        return any(_same_value(value, w) for w in want)
    return _same_value(value, want)


def _from_cell(value: Any) -> Any:
    """A runs.csv cell as the spec had it: an empty cell is None, a list is read back from the
    JSON that the runs table writes for it."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _same_value(value: Any, want: Any) -> bool:
    """A field's value against one from a sweep file: True == 'True', 0.1 == '0.1'."""
    if value is None or want is None:
        return value is None and want is None
    if isinstance(value, list) or isinstance(want, list):
        return (
            isinstance(value, list)
            and isinstance(want, list)
            and len(value) == len(want)
            and all(_same_value(v, w) for v, w in zip(value, want, strict=True))
        )
    if isinstance(want, bool) or isinstance(value, bool):
        return truthy(value) == truthy(want) and str(want).lower() in ("true", "false")
    try:
        return float(value) == float(want)
    except (TypeError, ValueError):
        return str(value) == str(want)


def truthy(value: Any) -> bool:
    """A runs.csv cell as a bool: True, 'True' and 'true' are true."""
    return str(value).strip().lower() == "true"
