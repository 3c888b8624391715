"""The figures behind the sentences the docs and README say of the reference results, under
resbench's estimators: each sentence, the figure it gave, the figure now (with its interval and
n), computed here from `results/reference/`.

    python benchmarks/sentences.py              # a markdown table, then one JSON line

docs/statistics.md holds its output; a sentence restated from it should quote these figures.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from scipy.stats import t

from resbench.analysis import best_of as axes
from resbench.analysis.summary import summarize
from resbench.analysis.verdicts import evaluate_claims
from resbench.results import Results
from resbench.sweep.claims import DriftsLess, Holds

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "results/reference"
LECUN_NONE = {"model.init": "lecun", "model.branch_multiplier": "none"}
LECUN_SQRT = {"model.init": "lecun", "model.branch_multiplier": "inv_sqrt_depth"}
HE_NONE = {"model.init": "he", "model.branch_multiplier": "none"}
HE_SQRT = {"model.init": "he", "model.branch_multiplier": "inv_sqrt_depth"}


def interval(value: float, low: float, high: float, digits: int = 2) -> str:
    if not math.isfinite(low):
        return f"{value:+.{digits}f} (no interval)"
    return f"{value:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def power(value: float) -> str:
    return f"2^{math.log2(value):.2f}"


def pick(frame: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The rows of `frame` with these values."""
    keep = frame.index == frame.index
    for column, value in where.items():
        keep &= (frame[column] == value).to_numpy()
    return frame[keep]


def transfer_rows() -> list[dict]:
    """The drifts, and whether the lecun ones overlap."""
    runs = Results.open(REFERENCE / "transfer").runs
    best, drift = axes.drift(runs, "train.lr", "train_loss")
    rows = []
    old = {
        "lecun, unscaled": ("−0.46 [−0.69, −0.22]", LECUN_NONE),
        "lecun, 1/√L": ("+0.00 [−0.24, +0.00]", LECUN_SQRT),
        "he, unscaled": ("+0.00 [+0.00, +0.01]", HE_NONE),
        "he, 1/√L": ("−0.11 [−0.22, +0.11]", HE_SQRT),
    }
    for name, (figure, where) in old.items():
        d = pick(drift, where).iloc[0]
        rows.append(
            {
                "sentence": f"transfer, {name}: the drift of the best rate [95% interval]",
                "old": f"{figure} (grid argmin, against log2 depth)",
                "new": interval(d["drift"], d["low"], d["high"]) + " (against log2 L)",
                "n": f"{d['n_seeds']} seeds, {d['depths']} depths",
            }
        )
    a, b = pick(drift, LECUN_NONE).iloc[0], pick(drift, LECUN_SQRT).iloc[0]
    overlap = a["high"] >= b["low"] and b["high"] >= a["low"]
    less = DriftsLess(claim="drifts_less", where=LECUN_SQRT, than_where=LECUN_NONE)
    (outcome,) = evaluate_claims(runs, [less])
    rows.append(
        {
            "sentence": "transfer: the lecun drifts' intervals do not overlap at 16 seeds",
            "old": "[−0.69, −0.22] and [−0.24, 0.00]: they overlap",
            "new": f"[{a['low']:+.2f}, {a['high']:+.2f}] and [{b['low']:+.2f}, {b['high']:+.2f}]"
            f": {'they overlap' if overlap else 'they do not overlap'}; |scaled| − |unscaled| "
            + interval(outcome.diff, outcome.interval.low, outcome.interval.high),
            "n": "16 seeds",
        }
    )
    return rows + best_rate_rows(runs, best)


def best_rate_rows(runs: pd.DataFrame, best: pd.DataFrame) -> list[dict]:
    """The best rates at three depths, the He net near chance at 66, and its "holds"."""
    rows = []
    for name, where, figure in (
        ("lecun, unscaled: the best rate at 6, 18, 66 layers", LECUN_NONE, "2^-7, 2^-8, 2^-9"),
        ("lecun, 1/√L: the best rate at 6, 18, 66 layers", LECUN_SQRT, "2^-6 at every depth"),
        ("he, unscaled: the best rate at 6, 18, 66 layers", HE_NONE, "2^-7 at every depth"),
    ):
        at = pick(best, where).set_index("depth")
        shown = "; ".join(
            f"{power(at.loc[d, 'optimum'])} [{power(at.loc[d, 'optimum_low'])}, "
            f"{power(at.loc[d, 'optimum_high'])}]"
            for d in (6, 18, 66)
        )
        rows.append({"sentence": f"transfer, {name}", "old": figure, "new": shown, "n": "16 seeds"})
    at = pick(best, HE_NONE).set_index("depth").loc[66]
    cube = axes.ScoreCube.of(pick(runs, HE_NONE), "train.lr", "train_loss")
    scores = cube.scores[:, cube.depths.index(66), cube.values.index(at["train.lr"])]
    upper = scores.mean() + t.ppf(0.975, len(scores) - 1) * scores.std(ddof=1) / math.sqrt(
        len(scores)
    )
    below = 1 - at["score"] / at["chance"]
    rows.append(
        {
            "sentence": "transfer, he, unscaled, 66 layers: every rate ends near chance",
            "old": f"best loss {at['score']:.3f}, chance ln 10 = {math.log(10):.3f}",
            "new": f"best loss {at['score']:.3f} (95% upper bound {upper:.3f}), chance "
            f"{at['chance']:.3f}: {'counted trainable' if at['trainable'] else 'left out'} by the "
            f"rule (clearly below chance), though only {100 * below:.0f}% below it",
            "n": f"{len(scores)} seeds",
        }
    )
    holds = Holds(claim="holds", tolerance=0.08, best_over="train.lr", where=HE_SQRT)
    (outcome,) = evaluate_claims(runs, [holds])
    rows.append(
        {
            "sentence": "transfer, he, 1/√L: the net holds within 0.08 (66 − 6 train error)",
            "old": "holds within 0.08 (a tolerance set after the fact); ▲ at 18, 34, 66",
            "new": interval(outcome.diff, outcome.interval.low, outcome.interval.high, 3)
            + f"; {outcome.note.split('; ')[-2]}",
            "n": "8 + 8 held-out seeds",
        }
    )
    return rows


def remedies_lr_rows() -> list[dict]:
    runs = Results.open(REFERENCE / "remedies-lr").runs
    best, drift = axes.drift(runs, "train.lr", "train_loss")
    at = best[(best["arch"] == "residual") & (best["model.batch_norm"].astype(str) == "True")]
    at = at.set_index("depth")
    grid = ", ".join(
        f"{at.loc[d, 'train.lr']:g}{' (edge)' if at.loc[d, 'at_edge'] else ''}"
        for d in (8, 20, 110)
    )
    optima = ", ".join(f"{at.loc[d, 'optimum']:.3g}" for d in (8, 20, 110))
    d = drift[(drift["arch"] == "residual") & (drift["model.batch_norm"].astype(str) == "True")]
    d = d.iloc[0]
    return [
        {
            "sentence": "remedies-lr, residual with batch norm: its best rate falls with depth",
            "old": "0.3, 0.1, 0.03 at 8, 20, 110 layers",
            "new": f"grid best {grid}; interpolated {optima}; drift "
            + interval(d["drift"], d["low"], d["high"])
            + " (3 seeds: no interval; chosen on the seeds it reports)",
            "n": "3 seeds",
        }
    ]


def split_rows() -> list[dict]:
    rows = []
    for name in ("ci", "quick", "mlp", "remedies", "remedies-lr", "transfer"):
        runs = Results.open(REFERENCE / name).runs
        summary = summarize(runs, "train_error")
        for _, r in summary[summary["split"]].iterrows():
            variant = [f"{c.split('.')[-1]} {r[c]}" for c in summary.columns if "." in c]
            if "train.lr" in summary.columns:
                variant = [*variant[:-1], f"lr {r['train.lr']:g}"]
            rows.append(
                {
                    "sentence": f"{name}: {r['arch']}-{r['depth']} {', '.join(variant)}".rstrip(
                        ", "
                    ),
                    "old": f"{r['mean']:.3f} ± {r['std']:.3f}",
                    "new": f"seeds split: median {r['median']:.3f}, IQM {r['iqm']:.3f} "
                    f"(min {r['min']:.3f}, max {r['max']:.3f})",
                    "n": f"{r['n_ok']} seeds",
                }
            )
    return rows


def main() -> None:
    rows = transfer_rows() + remedies_lr_rows()
    splits = split_rows()
    print("| sentence | old figure | new figure | n |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['sentence']} | {r['old']} | {r['new']} | {r['n']} |")
    print("\nGroups whose seeds split (train error; the mean describes no seed):\n")
    print("| group | mean ± std | now | n |\n|---|---|---|---|")
    for r in splits:
        print(f"| {r['sentence']} | {r['old']} | {r['new']} | {r['n']} |")
    print(json.dumps({"sentences": rows, "splits": splits}))


if __name__ == "__main__":
    main()
