"""How often do resbench's 95% intervals hold what they estimate? Coverage by simulation.

**The drift** (`resbench.analysis.landscape`): synthetic landscapes whose best learning rate
drifts with depth by a known slope, with the noise of the presets' real seeds, estimated by the
shipped code, interval and all; the coverage is the share of draws whose interval holds the
true slope.
- The landscapes: at each depth of each variant of `results/reference/transfer`, the mean train
  loss over its 16 seeds against log2(lr) is fitted by a lopsided valley, c + a·(e^{b·t} − b·t
  − 1)/b² with t = log2(lr) − t*: steep above its optimum t*, nearly straight below it, as the
  real ones are (a parabola fits them badly). Each draw moves the fitted valleys so that their
  optima lie at centre + φ + drift·(log2 L − mean log2 L), φ uniform within one grid step (the
  truth need not sit on the grid), on the preset's grid of 7 rates, 6 to 66 layers.
- The noise: the 16 real seeds' deviations from their cell means, every depth and rate of a
  seed together, mixed with Gaussian weights: normal noise with the seeds' measured covariance
  across rates and depths (within a depth, neighbouring rates correlate by 0.1 to 0.45). With
  `--noise remedies-lr`, scaled by how much more remedies-lr's seeds spread at each net's best
  rate than transfer's do (the median of each).
- Depths whose landscape is not clearly below chance are left out by the same rule as real
  runs (ln 10); a draw whose drift is undefined counts as not covering.

Beside it, the coverage of each depth's optimum interval (the best-value table's), pooled over
the depths.

**The probability of improvement** (`resbench.analysis.effects`): two groups of n seeds, from
normals a shift apart (true P = Φ(shift/√2)) and from two-humped mixtures (a share of the seeds
stuck high), the stratified-bootstrap interval's coverage of the true P.

    python benchmarks/coverage.py                      # everything, 500 draws each (~10 min)
    python benchmarks/coverage.py --draws 200 --only drift --replicates 1000
    python benchmarks/coverage.py --only drift --landscapes "he, 1/√L" --noises transfer --parabola

Prints a markdown table per estimator and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from resbench.analysis import landscape as land
from resbench.analysis import optimum
from resbench.analysis.effects import improvement, stratified_bootstrap
from resbench.analysis.optimum import percentile_interval, resample

ROOT = Path(__file__).resolve().parent.parent
TRANSFER = ROOT / "results/reference/transfer/runs.csv"
REMEDIES_LR = ROOT / "results/reference/remedies-lr/runs.csv"
VARIANTS = {  # name -> (model.init, model.branch_multiplier)
    "lecun, 1/√L": ("lecun", "inv_sqrt_depth"),
    "lecun, none": ("lecun", "none"),
    "he, 1/√L": ("he", "inv_sqrt_depth"),
    "he, none": ("he", "none"),
}
CENTRE = -8.0  # log2 lr of the optimum at the middle depth: the grid's middle


def valley(t: np.ndarray, b: float) -> np.ndarray:
    """The lopsided valley's shape, 0 at t = 0 with curvature 1."""
    return (np.exp(b * t) - b * t - 1) / (b * b)


def fit_valley(x: np.ndarray, mean: np.ndarray) -> tuple[float, float, float, float]:
    """(t*, c, a, b) of the valley closest to `mean` over `x` (least squares, a ≥ 0)."""
    best = (math.inf, 0.0, 0.0, 0.0, 0.0)
    for centre in np.linspace(x[0] - 0.5, x[-1] + 0.5, 161):
        for b in np.geomspace(0.05, 5, 40):
            design = np.stack([np.ones_like(x), valley(x - centre, b)], axis=1)
            (c, a), *_ = np.linalg.lstsq(design, mean, rcond=None)
            if a < 0:
                continue
            sse = float(((design @ [c, a] - mean) ** 2).sum())
            if sse < best[0]:
                best = (sse, float(centre), float(c), float(a), float(b))
    return best[1:]


@dataclass(frozen=True)
class Landscapes:
    """One variant's fitted valleys per depth, its grid and the seeds' noise."""

    depths: tuple[int, ...]
    blocks: tuple[int | None, ...]
    x: np.ndarray  # log2 lr
    shapes: list[tuple[float, float, float, float]]
    deviations: np.ndarray  # [seed, depth * rate]

    @classmethod
    def of(cls, runs: pd.DataFrame) -> Landscapes:
        cube = land.ScoreCube.of(runs, "train.lr", "train_loss")
        mean = cube.scores.mean(axis=0)
        shapes = [fit_valley(cube.x, mean[j]) for j in range(len(cube.depths))]
        deviations = (cube.scores - mean).reshape(len(cube.seeds), -1)
        return cls(cube.depths, cube.blocks, cube.x, shapes, deviations)

    def draw(
        self, rng: np.random.Generator, drift: float, n: int, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """n seeds' scores [seed, depth, rate] around valleys whose optima (log2 lr, returned
        beside them) drift by `drift`."""
        u = np.log2(np.asarray(self.blocks, dtype=float))
        optima = CENTRE + rng.uniform(-0.5, 0.5) + drift * (u - u.mean())
        mean = np.stack(
            [
                c + a * valley(self.x - t, b)
                for t, (_, c, a, b) in zip(optima, self.shapes, strict=True)
            ]
        )
        seeds = self.deviations.shape[0]
        weights = rng.standard_normal((n, seeds)) / math.sqrt(seeds - 1)
        return mean + scale * (weights @ self.deviations).reshape(n, *mean.shape), optima


def drift_coverage(
    scapes: Landscapes, drift: float, n: int, draws: int, replicates: int, scale: float, seed: int
) -> dict:
    """Coverage of the drift's interval over `draws` simulated sweeps of n seeds."""
    rng = np.random.default_rng(seed)
    held, widths, errors, left = 0, [], [], 0
    optima_held = optima = 0
    for i in range(draws):
        scores, truth = scapes.draw(rng, drift, n, scale)
        cube = land.ScoreCube(tuple(range(n)), scapes.depths, tuple(2**scapes.x), scores,
                              scapes.blocks)  # fmt: skip
        rows = resample(n, replicates, i)
        found = land.drift_of(cube, "train_loss", math.log(10), rows)
        low, high = found.interval()
        # Each depth's optimum and its interval, as the best-value table shows them.
        resampled = cube.optima(rows).estimate
        for j in range(len(scapes.depths)):
            end_low, end_high = percentile_interval(resampled[:, j], n)
            optima_held += end_low <= truth[j] <= end_high
            optima += 1
        left += len(scapes.depths) - len(found.kept)
        if np.isfinite(low) and np.isfinite(high):
            held += low <= drift <= high
            widths.append(high - low)
            errors.append(found.slope - drift)
    return {
        "coverage": held / draws,
        "width": float(np.mean(widths)) if widths else math.nan,
        "bias": float(np.mean(errors)) if errors else math.nan,
        "sd": float(np.std(errors)) if errors else math.nan,
        "left_out": left / draws,
        "optima": optima_held / optima,
    }


def remedies_scale(transfer: pd.DataFrame) -> float:
    """How much more remedies-lr's seeds spread at each net's best rate than transfer's."""

    def spread_at_best(runs: pd.DataFrame, keys: list[str]) -> float:
        ok = runs[runs["status"] == "ok"]
        cells = ok.groupby([*keys, "depth", "train.lr"])["train_loss"].agg(["mean", "std"])
        best = cells.reset_index().sort_values("mean").groupby([*keys, "depth"]).head(1)
        return float(best["std"].median())

    remedies = pd.read_csv(REMEDIES_LR)
    keys = ["arch", "model.batch_norm", "model.init"]
    mine = spread_at_best(transfer, ["model.init", "model.branch_multiplier"])
    return spread_at_best(remedies, keys) / mine


def improvement_coverage(
    n: int, shift: float, stuck: float, draws: int, replicates: int, seed: int
) -> dict:
    """Coverage of P(A < B)'s score interval and of the stratified bootstrap's: A ~ N(0, 1),
    B ~ N(shift, 1), with a share `stuck` of each group's seeds moved up by 6 (a seed that
    did not train)."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)

    def group(mean: float, size: int) -> np.ndarray:
        values = rng.normal(mean, 1.0, size)
        return values + 6.0 * (rng.random(size) < stuck)

    # The true P: exact for normals, by a large sample of the same populations otherwise.
    truth = float(norm.cdf(shift / math.sqrt(2))) if not stuck else _true_p(shift, stuck, rng)
    score = boot = 0
    widths: dict[str, list[float]] = {"score": [], "bootstrap": []}
    for i in range(draws):
        a, b = group(0.0, n), group(shift, n)
        low, high = improvement(a, b).interval()
        score += low <= truth <= high
        widths["score"].append(high - low)
        low, high = stratified_bootstrap(a, b, replicates=replicates, seed=i)
        boot += low <= truth <= high
        widths["bootstrap"].append(high - low)
    return {
        "truth": truth,
        "score": score / draws,
        "score_width": float(np.mean(widths["score"])),
        "bootstrap": boot / draws,
        "bootstrap_width": float(np.mean(widths["bootstrap"])),
    }


def _true_p(shift: float, stuck: float, rng: np.random.Generator) -> float:
    size = 4000
    a = rng.normal(0, 1, size) + 6.0 * (rng.random(size) < stuck)
    b = rng.normal(shift, 1, size) + 6.0 * (rng.random(size) < stuck)
    return float((a[:, None] < b[None, :]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--replicates", type=int, default=2000)
    parser.add_argument("--seeds", default="8,16", help="seeds per simulated sweep")
    parser.add_argument("--drifts", default="0,-0.5")
    parser.add_argument("--only", default="", help="drift or improvement")
    parser.add_argument("--landscapes", default="", help="e.g. 'he, 1/√L' (default: all four)")
    parser.add_argument("--noises", default="transfer,remedies-lr")
    parser.add_argument(
        "--parabola", action="store_true", help="the parabola's vertex alone, without the cubic"
    )
    args = parser.parse_args()
    if args.parabola:  # what the cubic refinement is measured against
        optimum._cubic_minimum = lambda x, means, first, *rest: first * math.nan
    sizes = [int(s) for s in args.seeds.split(",")]
    drifts = [float(d) for d in args.drifts.split(",")]
    out: dict = {"draws": args.draws, "replicates": args.replicates, "drift": [], "p": []}
    started = time.time()
    if args.only in ("", "drift"):
        transfer = pd.read_csv(TRANSFER)
        scale = remedies_scale(transfer)
        out["remedies_scale"] = scale
        print(f"remedies-lr's seeds spread {scale:.2f}x transfer's", file=sys.stderr)
        rows = []
        chosen = [v.strip() for v in args.landscapes.split(";") if v.strip()] or list(VARIANTS)
        for name, (init, multiplier) in ((v, VARIANTS[v]) for v in chosen):
            picked = transfer[
                (transfer["model.init"] == init)
                & (transfer["model.branch_multiplier"] == multiplier)
            ]
            scapes = Landscapes.of(picked)
            noises = {"transfer": 1.0, "remedies-lr": scale}
            for noise, factor in ((k, noises[k]) for k in args.noises.split(",")):
                for drift in drifts:
                    for n in sizes:
                        seed = zlib.crc32(f"{name} {noise} {drift} {n}".encode())
                        found = drift_coverage(
                            scapes, drift, n, args.draws, args.replicates, factor, seed
                        )
                        row = {"landscape": name, "noise": noise, "drift": drift, "n": n, **found}
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
        out["drift"] = rows
        print(markdown(rows, ["landscape", "noise", "drift", "n", "coverage", "width", "bias",
                              "sd", "left_out", "optima"]))  # fmt: skip
    if args.only in ("", "improvement"):
        rows = []
        for stuck in (0.0, 0.25):
            for shift in (0.0, 1.0, 2.0, 3.0):
                for n in (4, 8, 16):
                    found = improvement_coverage(
                        n, shift, stuck, args.draws, args.replicates, seed=n
                    )
                    rows.append({"stuck": stuck, "shift": shift, "n": n, **found})
        out["p"] = rows
        columns = ["stuck", "shift", "n", "truth", "score", "score_width", "bootstrap"]
        print(markdown(rows, [*columns, "bootstrap_width"]))
    out["seconds"] = round(time.time() - started)
    print(json.dumps(out))


def markdown(rows: list[dict], columns: list[str]) -> str:
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
