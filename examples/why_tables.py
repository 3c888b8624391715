"""The tables of docs/why.md, from the committed results of the `why` preset.

    python examples/why_tables.py                          # results/reference/why
    python examples/why_tables.py results/why              # a rerun of your own

Every number in docs/why.md's tables is printed here, as markdown, from `Results.why()` (the
diagnostics' summary per arch, depth and batch norm over seeds), `Results.why_tables()` (the
loss slices' shape) and runs.csv (the train error);
tests/test_why_docs.py holds the page equal to this output.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from resbench.results import Results

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["plain", "residual", "preact", "rezero", "postln", "preln"]


def number(value: float) -> str:
    """3 significant digits; powers of ten where a number is very small or very large."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e3):
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}·10^{int(exponent)}"
    return f"{value:.3g}"


def summary(results: Results) -> pd.DataFrame:
    """`Results.why()` with each net's family, batch norm and its mean train error beside it."""
    runs = results.runs
    why = results.why()
    if "model.batch_norm" not in why:
        why["model.batch_norm"] = runs["model.batch_norm"].iloc[0]
    keys = ["arch", "depth", "model.batch_norm"]
    errors = runs.groupby(keys)["train_error"].mean().rename("train_error").reset_index()
    family = runs.groupby(keys)["family"].first().reset_index()
    why = why.merge(family, on=keys).merge(errors, on=keys)
    blocks = why.apply(lambda r: r.depth if r.family == "transformer" else (r.depth - 2) // 2, 1)
    why["blocks"] = blocks
    why["order"] = why["arch"].map({a: i for i, a in enumerate(ORDER)})
    return why.sort_values(["family", "model.batch_norm", "order", "depth"], ascending=[1, 0, 1, 1])


def net_name(row: pd.Series) -> str:
    if row.family == "transformer":
        return f"transformer {row.arch}"
    return f"conv1d {row.arch}, {'batch norm' if row['model.batch_norm'] else 'no batch norm'}"


def at_initialisation(why: pd.DataFrame) -> list[str]:
    lines = [
        "| net | blocks | n | cosine between inputs | token cosine | token spread "
        "| Jacobian rms σ | max σ | min σ | gradient correlation |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in why.iterrows():
        cells = [r.get(c, math.nan) for c in ("sample_cosine", "token_cosine", "token_spread")]
        cells += [r.jacobian_sv_rms, r.jacobian_sv_max, r.jacobian_sv_min, r.grad_correlation]
        shown = " | ".join(number(c) for c in cells)
        lines.append(f"| {net_name(r)} | {r.blocks} | {r.n} | {shown} |")
    return lines


def after_training(why: pd.DataFrame) -> list[str]:
    lines = [
        "| net | blocks | train error | n trained | test error (512) "
        "| a block removed: median increase | mean increase | largest increase |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in why.iterrows():
        trained = int(r.n_trained) if not math.isnan(r.n_trained) else 0
        cells = [r.intact_error, r.lesion_median, r.lesion_mean, r.lesion_max]
        cells = cells if trained else [math.nan] * 4
        shown = " | ".join(number(c) for c in cells)
        lines.append(
            f"| {net_name(r)} | {r.blocks} | {number(r.train_error)} | {trained} | {shown} |"
        )
    return lines


def lesions_at(results: Results, why: pd.DataFrame, blocks: int) -> list[str]:
    """The test error without each block, per net of `blocks` blocks (mean over seeds)."""
    table = results.lesions()
    if "model.batch_norm" not in table:
        table["model.batch_norm"] = results.runs["model.batch_norm"].iloc[0]
    nets = why[(why["blocks"] == blocks) & (why["n_trained"] > 0)]
    lines = [
        f"| net | intact | {' | '.join(str(b) for b in range(1, blocks + 1))} |",
        "|---|---:|" + "---:|" * blocks,
    ]
    for _, r in nets.iterrows():
        mine = table[
            (table["arch"] == r.arch)
            & (table["depth"] == r.depth)
            & (table["model.batch_norm"] == r["model.batch_norm"])
        ].set_index("block")
        cells = [number(mine["lesion_error"].get(b, math.nan)) for b in range(1, blocks + 1)]
        lines.append(f"| {net_name(r)} | {number(r.intact_error)} | {' | '.join(cells)} |")
    return lines


def layer_by_layer(results: Results, why: pd.DataFrame, kind: str, family: str) -> list[str]:
    """`kind` at initialisation at a few blocks of each 48-block net of `family` (mean over
    seeds; 0 is the stem's output)."""
    signal = results.signal()
    signal = signal[(signal["kind"] == kind) & (signal["step"] == 0)]
    shown = [0, 1, 3, 6, 12, 24, 48]
    lines = [
        f"| net | {' | '.join(f'block {b}' if b else 'stem' for b in shown)} |",
        "|---|" + "---:|" * len(shown),
    ]
    nets = why[(why["blocks"] == 48) & (why["family"] == family)]
    for _, r in nets.iterrows():
        mine = signal[(signal["arch"] == r.arch) & (signal["depth"] == r.depth)]
        if "model.batch_norm" in mine:
            mine = mine[mine["model.batch_norm"] == r["model.batch_norm"]]
        means = mine.groupby("layer")["value"].mean()
        cells = [number(means.get(b, math.nan)) for b in shown]
        lines.append(f"| {net_name(r)} | {' | '.join(cells)} |")
    return lines


def slice_shapes(results: Results, why: pd.DataFrame) -> list[str]:
    """The loss slice's shape per net: roughness, non-convex share and rise (Results.why_tables'
    `slices`, mean over the seeds that trained)."""
    slices = results.why_tables()["slices"]
    if "model.batch_norm" not in slices:
        slices["model.batch_norm"] = results.runs["model.batch_norm"].iloc[0]
    keys = ["arch", "depth", "model.batch_norm"]
    shapes = why.merge(slices.drop(columns=["family"], errors="ignore"), on=keys, how="left")
    lines = [
        "| net | blocks | n | roughness | non-convex | rise |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for _, r in shapes.iterrows():
        n = 0 if math.isnan(r.slice_n) else int(r.slice_n)
        cells = [r.slice_roughness, r.slice_nonconvex, r.slice_rise] if n else [math.nan] * 3
        shown = " | ".join(number(c) for c in cells)
        lines.append(f"| {net_name(r)} | {r.blocks} | {n} | {shown} |")
    return lines


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "reference" / "why"
    results = Results(folder)
    why = summary(results)
    print("At initialisation, the last block's output (mean over seeds; σ: geometric mean)\n")
    print("\n".join(at_initialisation(why)))
    print("\nLayer by layer at initialisation, 48 blocks: cosine between inputs (convnets)\n")
    print("\n".join(layer_by_layer(results, why, "sample_cosine", "conv1d")))
    print("\nLayer by layer at initialisation, 48 blocks: token spread (transformers)\n")
    print("\n".join(layer_by_layer(results, why, "token_spread", "transformer")))
    print("\nAfter training (mean over the seeds that trained without diverging)\n")
    print("\n".join(after_training(why)))
    print("\nThe test error without block b, at 12 blocks (mean over the seeds that trained)\n")
    print("\n".join(lesions_at(results, why, 12)))
    print("\nThe loss slice's shape after training (mean over the seeds that trained)\n")
    print("\n".join(slice_shapes(results, why)))


if __name__ == "__main__":
    main()
