"""Why depth fails, as tables: the diagnostics of layers.csv (`resbench.train.diagnostics`)
joined to their runs and summarised per variant, arch and depth over seeds.

`diagnostic` is one kind's rows with the run's variant, arch, depth and seed beside them;
`at_output` takes each run's last layer (the last block's output) at initialisation or at the
end; `why_summary` is one row per variant, arch and depth: how alike the last block makes
different inputs (and tokens), the Jacobian's spectrum and the gradients' correlation there at
initialisation, and what removing one block does after training; `lesion_table` has the error
without each block. Means over seeds: arithmetic for similarities and errors; geometric for the
Jacobian's singular values, which are factors and span orders of magnitude (a run whose value
is missing, zero or not finite there is left out of that mean and of its n).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from resbench.analysis.variants import variant_columns
from resbench.core.errors import ResbenchError

if TYPE_CHECKING:
    import pandas as pd

# Measured once per layer at step 0 (and, for signal, at every curve point).
SIGNAL = ("signal_rms", "sample_cosine", "token_cosine", "token_spread")
JACOBIAN = ("jacobian_sv_max", "jacobian_sv_median", "jacobian_sv_min", "jacobian_sv_rms")
# The last block's kinds at initialisation that `why_summary` shows, in its order.
SUMMARISED = (
    "sample_cosine",
    "token_cosine",
    "token_spread",
    "jacobian_sv_rms",
    "jacobian_sv_max",
    "jacobian_sv_min",
    "grad_correlation",
)
# Factors: averaged over seeds in logs.
GEOMETRIC = {"signal_rms", *JACOBIAN}


def diagnostic(layers: pd.DataFrame, runs: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """The rows of layers.csv of `kinds`, with each run's variant columns (and status) beside
    them; one-line error when none was recorded."""
    rows = layers[layers["kind"].isin(kinds)]
    if rows.empty:
        names = ", ".join(kinds)
        raise ResbenchError(f"no {names} recorded (see train.diagnostics: docs/why.md)")
    keys = [*variant_columns(runs), "status"]
    return rows.merge(runs[["run_id", *keys]].drop_duplicates("run_id"), on="run_id")


def at_output(layers: pd.DataFrame, runs: pd.DataFrame, when: str = "init") -> pd.DataFrame:
    """One row per run: the value of each per-layer kind at the run's last layer (its last
    block's output), at step 0 (`init`) or at its last measured step (`end`)."""
    kinds = (*SIGNAL, *JACOBIAN, "grad_correlation")
    rows = diagnostic(layers, runs, kinds)
    rows = rows[rows["layer"] >= 0]
    if when == "init":
        rows = rows[rows["step"] == 0]
    else:
        last = rows.groupby("run_id")["step"].transform("max")
        rows = rows[(rows["step"] == last) & (last > 0)]
    last_layer = rows.groupby(["run_id", "kind"])["layer"].transform("max")
    rows = rows[rows["layer"] == last_layer]
    keys = ["run_id", *variant_columns(runs), "arch", "depth", "seed"]
    # groupby keeps a variant's empty cells (a field unset in some runs) as a value of its own
    wide = rows.groupby([*keys, "kind"], dropna=False)["value"].first().unstack("kind")
    return wide.reset_index().rename_axis(columns=None)


def lesion_table(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, arch, depth and block removed: the mean test error over seeds without it,
    the intact nets' beside it, and n (`lesions`, after training)."""
    import pandas as pd

    rows = diagnostic(layers, runs, ("lesion_error", "intact_error"))
    variants = variant_columns(runs)
    intact = rows[rows["kind"] == "intact_error"][["run_id", "value"]]
    lesions = rows[rows["kind"] == "lesion_error"].merge(
        intact.rename(columns={"value": "intact"}), on="run_id"
    )
    keys = [*variants, "arch", "depth", "layer"]
    table = lesions.groupby(keys, dropna=False).agg(
        n=("value", "count"), lesion_error=("value", "mean"), intact_error=("intact", "mean")
    )
    table = table.reset_index().rename(columns={"layer": "block"})
    return pd.DataFrame(table)


def why_summary(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, arch and depth, over seeds: at initialisation, the last block's
    sample_cosine, token_cosine, token_spread, jacobian_sv_rms, _max, _min and grad_correlation;
    after training, the intact test error and the mean, median and largest increase in error
    when one block is removed (each run's, then their mean over seeds); n, the runs with a
    value at initialisation, and n_trained, those with lesions (runs that diverged have none)."""
    import pandas as pd

    variants = variant_columns(runs)
    keys = [*variants, "arch", "depth"]
    init = at_output(layers, runs, "init")
    columns = [c for c in SUMMARISED if c in init]
    rows = []
    for key, group in init.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key, strict=True))
        row["n"] = len(group)
        for c in columns:
            row[c] = seed_mean(group[c], geometric=c in GEOMETRIC)
        rows.append(row)
    summary = pd.DataFrame(rows)
    lesioned = layers["kind"].isin(["lesion_error", "intact_error"]).any()
    if lesioned:
        summary = summary.merge(_lesion_effects(layers, runs, keys), on=keys, how="left")
    return summary


def _lesion_effects(layers: pd.DataFrame, runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per run, the intact error and the mean, median and largest increase over its blocks'
    lesions; then their means over seeds per `keys`."""
    rows = diagnostic(layers, runs, ("lesion_error", "intact_error"))
    intact = rows[rows["kind"] == "intact_error"].set_index("run_id")["value"]
    lesions = rows[rows["kind"] == "lesion_error"].copy()
    lesions["increase"] = lesions["value"] - lesions["run_id"].map(intact)
    per_run = lesions.groupby("run_id")["increase"].agg(["mean", "median", "max"])
    per_run["intact_error"] = intact
    per_run = per_run.rename(
        columns={"mean": "lesion_mean", "median": "lesion_median", "max": "lesion_max"}
    )
    run_keys = runs[["run_id", *keys]].drop_duplicates("run_id")
    merged = run_keys.merge(per_run.reset_index(), on="run_id")
    out = merged.groupby(keys, dropna=False).agg(
        n_trained=("intact_error", "count"),
        intact_error=("intact_error", "mean"),
        lesion_mean=("lesion_mean", "mean"),
        lesion_median=("lesion_median", "mean"),
        lesion_max=("lesion_max", "mean"),
    )
    return out.reset_index()


def seed_mean(values: pd.Series, geometric: bool) -> float:
    """The mean over seeds of the finite values (in logs when `geometric`: 0 where one of them
    is 0, a singular value of exactly 0 being an input no path reaches), or NaN when there is
    none."""
    import numpy as np

    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return math.nan
    if geometric:
        return 0.0 if (v <= 0).any() else float(np.exp(np.log(v).mean()))
    return float(v.mean())
