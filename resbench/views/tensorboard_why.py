"""Why depth fails, as TensorBoard scalars of a run (`resbench.views.tensorboard` writes them
beside its curves): what layers.csv holds of the run's diagnostics, under `why/`.

TensorBoard draws a scalar against an integer step, so a per-layer profile is written with the
layer as its step (0 = the stem's output, b = block b's) and its moment in its tag:

- `why/<kind>/init`, step = layer: at initialisation, the signal's kinds (signal_rms,
  sample_cosine, token_cosine, token_spread), the Jacobian's σ summaries (jacobian_sv_rms,
  _max, _median, _min) and grad_correlation;
- `why/<kind>/end`, step = layer: the signal's kinds at the run's last measured step;
- `why/<kind>/last_block`, step = training step: the signal's kinds at the last block, at
  every point measured;
- `why/lesion_error`, step = the block removed, and `why/intact_error`, step = the training
  step: after training;
- `why/loss_slice`, step = the point along the slice (0 at α = −span): after training.

The 2D loss surface has no scalar form and is left out (`resbench plot --why` draws it); the
Jacobian's singular values are recorded as four summaries per layer, not as a spectrum, so
there is no histogram to write. Non-finite values are left out, as TensorBoard cannot draw them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

SIGNAL = ("signal_rms", "sample_cosine", "token_cosine", "token_spread")
AT_INIT = (
    "jacobian_sv_rms",
    "jacobian_sv_max",
    "jacobian_sv_median",
    "jacobian_sv_min",
    "grad_correlation",
)


def why_scalars(points: pd.DataFrame) -> Iterator[tuple[str, float, int]]:
    """(tag, value, step) for each of one run's layers.csv rows that has a scalar form."""
    by_kind = dict(tuple(points.groupby("kind")))
    for kind in (*SIGNAL, *AT_INIT):
        rows = by_kind.get(kind)
        if rows is None:
            continue
        rows = rows[rows["layer"] >= 0]
        yield from _scalars(f"why/{kind}/init", rows[rows["step"] == 0], "layer")
        if kind in SIGNAL and (last := int(rows["step"].max())) > 0:
            yield from _scalars(f"why/{kind}/end", rows[rows["step"] == last], "layer")
            top = rows[rows["layer"] == rows["layer"].max()]
            yield from _scalars(f"why/{kind}/last_block", top, "step")
    if (rows := by_kind.get("lesion_error")) is not None:
        yield from _scalars("why/lesion_error", rows, "layer")
    if (rows := by_kind.get("intact_error")) is not None:
        yield from _scalars("why/intact_error", rows, "step")
    if (rows := by_kind.get("loss_slice")) is not None:
        ordered = rows.sort_values("x").reset_index(drop=True)
        yield from _scalars("why/loss_slice", ordered.assign(point=ordered.index), "point")


def _scalars(tag: str, rows: pd.DataFrame, step: str) -> Iterator[tuple[str, float, int]]:
    for s, value in zip(rows[step], rows["value"], strict=True):
        if math.isfinite(float(value)):
            yield tag, float(value), int(s)
