"""What `report --layers` and the page show of why depth fails: the diagnostics of layers.csv
(`resbench.train.diagnostics`) at the last block, per variant, arch and depth over seeds, and
how rough each run's loss slices are.

`why_report` gives the tables the runs recorded, each keyed by variant, arch and depth (and the
family, where the sweep mixes families):

- `signal`: the last block's activation RMS, cosine between inputs and, for a transformer, its
  tokens' cosine and spread, at initialisation (`_init`, every run) and at the end (`_end`, the
  runs that ended ok; `n_init`, `n_end`);
- `spectrum`: at initialisation, the input–output Jacobian's singular values (rms, max, median,
  min) at the last block and the correlation of the input gradients there (`n`);
- `trained`: after training, the intact test error and what removing one block adds to it
  (its median, mean and largest over the blocks, each run's, as `Results.why()` has them);
- `slices`: the shape of the loss slices and surfaces around the trained weights (below);
- `lesions`: the test error without each block (`resbench.analysis.why.lesion_table`).

Means over seeds as `Results.why()` takes them: arithmetic, but geometric for the factors (the
RMS, the singular values, a slice's rise), a run without a finite value left out of the mean
and its n.

The shape of a loss slice L(α) (Li et al. 2018 show it smooth around a ResNet's weights and
chaotic around a deep plain net's) in three numbers, each run's, then their mean over seeds:

| name        | definition                                                        | smooth bowl |
|-------------|-------------------------------------------------------------------|-------------|
| roughness   | the total variation Σ|L(αᵢ₊₁) − L(αᵢ)| over the least a curve with  | 1           |
|             | the same ends and minimum needs, (L(α₀) − min L) + (L(αₙ) − min L)  |             |
| non-convex  | the share of interior points where the slice bends down,          | 0           |
|             | L(αᵢ₋₁) − 2L(αᵢ) + L(αᵢ₊₁) < 0                                     |             |
| rise        | the mean of the slice's two ends over its value nearest α = 0     | > 1         |

For the 2D surface, roughness is the mean over the grid's rows and columns, each a 1D slice,
and non-convex the share of interior grid points whose finite-difference Hessian has a negative
eigenvalue (Li et al.'s map of the Hessian's min/max eigenvalue ratio, thresholded at 0). A run
whose slice is not finite at every point (a loss that overflowed) has no shape and is left out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from resbench.analysis.variants import variant_columns
from resbench.analysis.why import (
    GEOMETRIC,
    JACOBIAN,
    SIGNAL,
    at_output,
    diagnostic,
    lesion_table,
    seed_mean,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

LESION_EFFECTS = ("n_trained", "intact_error", "lesion_median", "lesion_mean", "lesion_max")
SLICE_SHAPE = ("roughness", "nonconvex", "rise")
SURFACE_SHAPE = ("roughness", "nonconvex")
# The Jacobian's summaries in the order tables show them.
SPECTRUM = ("jacobian_sv_rms", "jacobian_sv_max", "jacobian_sv_median", "jacobian_sv_min")


def why_keys(runs: pd.DataFrame) -> list[str]:
    """The columns a why table is keyed by: the variants, the family where the runs mix
    families (a plain transformer and a plain convnet are different nets), arch and depth."""
    variants = variant_columns(runs)
    family = ["family"] if "family" not in variants and runs["family"].nunique() > 1 else []
    return [*variants, *family, "arch", "depth"]


def why_report(layers: pd.DataFrame, runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The why tables the runs recorded (module docstring), by name; empty when none."""
    kinds = set(layers["kind"])
    out: dict[str, pd.DataFrame] = {}
    if kinds & set(SIGNAL):
        out["signal"] = signal_table(layers, runs)
    if kinds & {*JACOBIAN, "grad_correlation"}:
        out["spectrum"] = spectrum_table(layers, runs)
    lesioned = {"lesion_error", "intact_error"} <= kinds
    if lesioned:
        out["trained"] = trained_table(layers, runs)
    slices = slices_table(layers, runs, kinds)
    if slices is not None:
        out["slices"] = slices
    if lesioned:
        lesions = _with_family(lesion_table(layers, runs), runs)
        out["lesions"] = lesions.sort_values([*why_keys(runs), "block"], ignore_index=True)
    return out


def signal_table(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, arch and depth: each signal kind recorded at the last block, at
    initialisation (every run) and at the end (the runs that ended ok)."""
    init = _with_family(at_output(layers, runs, "init"), runs)
    end = _with_family(at_output(layers, runs, "end"), runs)
    end = end[end["run_id"].isin(runs.loc[runs["status"] == "ok", "run_id"])]
    kinds = [k for k in SIGNAL if k in init or k in end]
    return _summarise(runs, {"init": (init, kinds), "end": (end, kinds)})


def spectrum_table(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, arch and depth: the last block's Jacobian spectrum and gradient correlation
    at initialisation."""
    init = _with_family(at_output(layers, runs, "init"), runs)
    kinds = [k for k in (*SPECTRUM, "grad_correlation") if k in init]
    return _summarise(runs, {"": (init, kinds)})


def trained_table(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, arch and depth after training: n_trained (the runs with lesions), the
    intact test error and each run's median, mean and largest increase over its blocks'
    lesions, mean over seeds (as `Results.why()` has them)."""
    import pandas as pd

    rows = diagnostic(layers, runs, ("lesion_error", "intact_error"))
    intact = rows[rows["kind"] == "intact_error"].groupby("run_id")["value"].first()
    lesions = rows[rows["kind"] == "lesion_error"]
    increase = lesions["value"] - lesions["run_id"].map(intact)
    per_run = increase.groupby(lesions["run_id"]).agg(["median", "mean", "max"])
    per_run.columns = ["lesion_median", "lesion_mean", "lesion_max"]
    per_run["intact_error"] = intact
    keys = why_keys(runs)
    merged = runs[["run_id", *keys]].drop_duplicates("run_id")
    merged = merged.merge(per_run.reset_index(), on="run_id", how="left")
    out = []
    for key, group in merged.groupby(keys, sort=True, dropna=False):
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row["n_trained"] = int(group["intact_error"].notna().sum())
        for column in LESION_EFFECTS[1:]:
            row[column] = seed_mean(group[column], False)
        out.append(row)
    return pd.DataFrame(out, columns=[*keys, *LESION_EFFECTS])


def slices_table(layers: pd.DataFrame, runs: pd.DataFrame, kinds: set[str]) -> pd.DataFrame | None:
    """Per variant, arch and depth after training: the loss slices' and surfaces' shape, those
    recorded; None when neither was."""
    keys = why_keys(runs)
    parts = [
        _shape_table(layers, runs, kind, names)
        for kind, names in (("loss_slice", SLICE_SHAPE), ("loss_surface", SURFACE_SHAPE))
        if kind in kinds
    ]
    if not parts:
        return None
    table = parts[0]
    for part in parts[1:]:
        table = table.merge(part, on=keys, how="outer")
    for column in ("slice_n", "surface_n"):
        if column in table:
            table[column] = table[column].fillna(0).astype(int)
    return table.sort_values(keys, ignore_index=True)


# --------------------------------------------------------------------------- slices' shape


def slice_shape(alphas: np.ndarray, losses: np.ndarray) -> dict[str, float]:
    """Roughness, non-convex share and rise of one slice (module docstring); NaN where a loss
    is not finite or there are fewer than 3 points."""
    import numpy as np

    order = np.argsort(alphas)
    a, v = np.asarray(alphas, float)[order], np.asarray(losses, float)[order]
    if len(v) < 3 or not np.isfinite(v).all():
        return dict.fromkeys(SLICE_SHAPE, math.nan)
    least = (v[0] - v.min()) + (v[-1] - v.min())
    variation = float(np.abs(np.diff(v)).sum())
    roughness = 1.0 if variation == 0 else variation / least if least > 0 else math.inf
    bends = v[:-2] - 2 * v[1:-1] + v[2:]
    centre = v[int(np.argmin(np.abs(a)))]
    return {
        "roughness": float(roughness),
        "nonconvex": float((bends < 0).mean()),
        "rise": float((v[0] + v[-1]) / 2 / centre) if centre > 0 else math.nan,
    }


def surface_shape(grid: np.ndarray) -> dict[str, float]:
    """Roughness (mean over rows and columns) and non-convex share (interior points whose
    finite-difference Hessian has a negative eigenvalue) of a square grid of losses, rows
    along α and columns along β."""
    import numpy as np

    g = np.asarray(grid, float)
    if min(g.shape) < 3 or not np.isfinite(g).all():
        return dict.fromkeys(SURFACE_SHAPE, math.nan)
    steps = np.arange(g.shape[0])
    lines = [*g, *g.T]
    roughness = float(np.mean([slice_shape(steps, line)["roughness"] for line in lines]))
    aa = g[:-2, 1:-1] - 2 * g[1:-1, 1:-1] + g[2:, 1:-1]
    bb = g[1:-1, :-2] - 2 * g[1:-1, 1:-1] + g[1:-1, 2:]
    ab = (g[2:, 2:] - g[2:, :-2] - g[:-2, 2:] + g[:-2, :-2]) / 4
    # The smaller eigenvalue of [[aa, ab], [ab, bb]]
    smallest = (aa + bb) / 2 - np.sqrt(((aa - bb) / 2) ** 2 + ab**2)
    return {"roughness": roughness, "nonconvex": float((smallest < 0).mean())}


def _shape_table(
    layers: pd.DataFrame, runs: pd.DataFrame, kind: str, names: tuple[str, ...]
) -> pd.DataFrame:
    """Per variant, arch and depth: each run's slice (or surface) shape, mean over the runs
    that have one, and their n, as `slice_n`, `slice_roughness`, ... (`surface_...`)."""
    import numpy as np
    import pandas as pd

    prefix = "slice" if kind == "loss_slice" else "surface"
    rows = layers[layers["kind"] == kind]
    shapes = []
    for run_id, points in rows.groupby("run_id"):
        if kind == "loss_slice":
            shape = slice_shape(points["x"].to_numpy(), points["value"].to_numpy())
        else:
            grid = points.pivot_table("value", "x", "y", aggfunc="first", dropna=False)
            shape = surface_shape(grid.to_numpy())
        shapes.append({"run_id": run_id, **shape})
    per_run = pd.DataFrame(shapes, columns=["run_id", *names])
    keys = why_keys(runs)
    merged = runs[["run_id", *keys]].drop_duplicates("run_id").merge(per_run, on="run_id")
    out = []
    for key, group in merged.groupby(keys, sort=True, dropna=False):
        finite = group[np.isfinite(group[list(names)].to_numpy(float)).all(axis=1)]
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row[f"{prefix}_n"] = len(finite)
        row.update({f"{prefix}_{n}": seed_mean(finite[n], n == "rise") for n in names})
        out.append(row)
    return pd.DataFrame(out, columns=[*keys, f"{prefix}_n", *(f"{prefix}_{n}" for n in names)])


# --------------------------------------------------------------------------- over seeds


def _with_family(frame: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """`frame` (keyed by run_id, or by variants, arch and depth) with each row's family beside
    it where the sweep mixes families; variants, arch and depth name one family (were it not
    so, family would vary within a depth and be a variant)."""
    keys = why_keys(runs)
    if "family" not in keys or "family" in frame:
        return frame
    on = ["run_id"] if "run_id" in frame else [k for k in keys if k != "family"]
    return frame.merge(runs[[*on, "family"]].drop_duplicates(on), on=on, how="left")


def _summarise(
    runs: pd.DataFrame, moments: dict[str, tuple[pd.DataFrame, list[str]]]
) -> pd.DataFrame:
    """Per key of `runs`: for each moment (suffix: (one row per run, kinds)), n and each kind's
    mean over seeds, as `n_init`, `sample_cosine_init`, ..."""
    import pandas as pd

    keys = why_keys(runs)
    frames = []
    for suffix, (wide, kinds) in moments.items():
        tag = f"_{suffix}" if suffix else ""
        rows = []
        for key, group in wide.groupby(keys, sort=True, dropna=False):
            row: dict[str, Any] = dict(zip(keys, key, strict=True))
            row[f"n{tag}"] = len(group)
            for k in kinds:
                column = group[k] if k in group else pd.Series(dtype=float)
                row[f"{k}{tag}"] = seed_mean(column, k in GEOMETRIC)
            rows.append(row)
        names = [*keys, f"n{tag}", *(f"{k}{tag}" for k in kinds)]
        frames.append(pd.DataFrame(rows, columns=names))
    table = frames[0]
    for frame in frames[1:]:
        table = table.merge(frame, on=keys, how="outer")
    for column in [c for c in table if c == "n" or c.startswith("n_")]:
        table[column] = table[column].fillna(0).astype(int)
    return table.sort_values(keys, ignore_index=True)
