"""What a sweep varies besides depth, arch and seed, and the runs that have given values.

A sweep's variants are the spec columns of its runs table that take several values within one
(depth, arch): batch norm or not, one family or another. Summaries, figures and claims keep
variants apart, never pooling the seeds of different nets; a claim's `where:` picks one.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from resbench import ResbenchError

if TYPE_CHECKING:
    import pandas as pd

IDENTITY_SPEC_COLUMNS = ("dataset", "family", "width")  # spec fields under a short column name


def variant_columns(runs: pd.DataFrame) -> list[str]:
    """The spec columns, besides depth, arch and seed, that take several values within one
    (depth, arch). A column that only follows depth or arch (a learning rate zipped with depth)
    is part of what a depth or an arch is, not a variant."""
    from resbench.spec import EXECUTION_FIELDS

    where = {f"{section}.{key}" for section, key in EXECUTION_FIELDS}
    spec = [*IDENTITY_SPEC_COLUMNS, *(c for c in runs.columns if "." in c)]
    # An empty cell is a value here: a field unset in some runs (train.warmup_lr null) and set
    # in others makes two variants.
    spec = [c for c in spec if c in runs and c not in where and runs[c].nunique(dropna=False) > 1]
    if not spec:
        return []
    within = runs.groupby(["depth", "arch"])[spec].nunique(dropna=False).max()
    return [c for c in spec if within[c] > 1]


def summary_variants(summary: pd.DataFrame) -> list[str]:
    """The variant columns of a summary (or ratio) frame: spec columns, never statistics."""
    return [c for c in summary.columns if "." in c or c in IDENTITY_SPEC_COLUMNS]


def by_variant(
    frame: pd.DataFrame, columns: list[str]
) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """(the variant's values, its rows) for each variant given by `columns` in sorted order; the
    whole frame as one group, with no values, when there are no columns."""
    if not columns:
        return [({}, frame)]
    groups = frame.groupby(columns, sort=True, dropna=False)
    return [(dict(zip(columns, key, strict=True)), group) for key, group in groups]


def of_variant(frame: pd.DataFrame, values: dict[str, Any]) -> pd.DataFrame:
    """The rows of `frame` of one variant, `values` as `by_variant` gives them: equal in each
    column, where a null value is matched by a null cell (which `==` never matches)."""
    keep = frame.index == frame.index
    for column, value in values.items():
        cells = frame[column]
        keep &= (cells.isna() if value is None or value != value else cells == value).to_numpy()
    return frame[keep]


def select_runs(runs: pd.DataFrame, where: dict[str, Any]) -> pd.DataFrame:
    """The runs whose fields (dotted spec names, as in a sweep) have the values in `where`."""
    from resbench.tables import column_of

    keep = runs.index == runs.index
    for key, value in where.items():
        column = column_of(key)
        if column not in runs:
            raise ResbenchError(f"where: {key}: no such column in the runs table")
        keep &= runs[column].map(lambda v, want=value: has_value(v, want)).to_numpy()
    return runs[keep]


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
