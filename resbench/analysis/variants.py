"""What a sweep varies besides depth, arch and seed, and the runs that have given values.

A sweep's variants are the spec columns of its runs table that take several values within one
(depth, arch): batch norm or not, one family or another. Summaries, figures and claims keep
variants apart, never pooling the seeds of different nets; a claim's `where:` picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resbench.core.errors import ResbenchError
from resbench.sweep.fields import has_value

if TYPE_CHECKING:
    import pandas as pd

IDENTITY_SPEC_COLUMNS = ("dataset", "family", "width")  # spec fields under a short column name


def variant_columns(runs: pd.DataFrame) -> list[str]:
    """The spec columns, besides depth, arch and seed, that take several values within one
    (depth, arch). A column that only follows depth or arch (a learning rate zipped with depth)
    is part of what a depth or an arch is, not a variant."""
    from resbench.sweep.schema import EXECUTION_FIELDS

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
    from resbench.store.tables import column_of

    keep = runs.index == runs.index
    for key, value in where.items():
        column = column_of(key)
        if column not in runs:
            raise ResbenchError(f"where: {key}: no such column in the runs table")
        keep &= runs[column].map(lambda v, want=value: has_value(v, want)).to_numpy()
    return runs[keep]
