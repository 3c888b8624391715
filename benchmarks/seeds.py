"""Seeds until decided, measured (`resbench.analysis.sequential`): the runs a seed budget takes
to the verdicts fixed seeds reach, and its false-alarm and detection rates, by resampling the
seeds of real runs as `benchmarks/gate.py` does; and its false passes on simulated seeds.

  synthetic  a claim mean(a) − mean(b) > 0.1 on simulated seeds: normal, or two-mode (a seed
             lands on one of two values 0.4 apart, as deep plain nets' seeds split), with the
             difference at the bound (every pass is a false one) and 0.1 and 0.2 beyond it
  ci         the whole CI gate (completeness, the ci preset's claims, --baseline): a reference
             of --reference seeds of the pool, and results drawn from its other seeds in a
             random order, as many as each rule takes: fixed seeds take the first n, a budget
             what its rounds ask for. Scenarios as gate.py's: other seeds (every failure a
             false alarm) and its regressions (every pass a miss)
  cpu        `resbench run ci` for real, with fixed seeds and with a budget, one after the
             other: the CPU time of its processes (user + system, workers included), the
             runs, and the claims' verdicts
  remedies   each claim of the remedies preset, judged on seeds drawn from the pool in a random
             order: how often each rule reaches the verdict the whole pool gives (the fixed
             rule on all its seeds), and with the shortcut lost (residual and pre-activation
             runs replaced by the plain runs of the same depth, seed and batch norm) how often
             the check fails

Runs counts the runs a rule reads (a budget: those its rounds ran); run-seconds adds their
recorded `seconds` (the wall time of a one-thread run, which load stretches). The draws of a
row share the pool's seeds, so they are not independent sweeps.

    python benchmarks/seeds.py --part synthetic --draws 2000
    python benchmarks/seeds.py --part ci --draws 500       # the pool of gate.py, trained there
    python benchmarks/seeds.py --part remedies --pool results/reference/pools/remedies --draws 500
    python benchmarks/seeds.py --part cpu --cpu-rules 8,3-12

Prints a markdown table per part and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gate

from resbench.analysis.baseline import BASELINE_TOLERANCE, compare_baseline
from resbench.analysis.judging import Group, Judgement
from resbench.analysis.sequential import group_keys, judge, replay
from resbench.analysis.spending import information
from resbench.analysis.verdicts import completeness, evaluate_claims
from resbench.results import Results
from resbench.sweep.load import load_sweep
from resbench.sweep.seed_budget import SeedBudget
from resbench.views.text import markdown_table

Rule = tuple[str, "int | SeedBudget"]  # a name, and fixed seeds or a budget


def rules(text: str) -> list[Rule]:
    """'8,3-12,5-12:obf' -> fixed 8 seeds, budgets {3, 12} and {5, 12} (O'Brien–Fleming)."""
    out: list[Rule] = []
    for item in text.split(","):
        spec, _, kind = item.partition(":")
        if "-" not in spec:
            out.append((f"fixed {spec}", int(spec)))
            continue
        low, high = (int(x) for x in spec.split("-"))
        spending = "obrien_fleming" if kind == "obf" else "pocock"
        name = f"budget {low}-{high}" + (" O'Brien–Fleming" if kind == "obf" else " Pocock")
        out.append((name, SeedBudget(min=low, max=high, spending=spending)))
    return out


def most(rule: Rule) -> int:
    return rule[1] if isinstance(rule[1], int) else rule[1].max


# --------------------------------------------------------------------------- synthetic


def synthetic_draw(rng: np.random.Generator, shape: str, delta: float, n: int):
    """n seeds of a and b, mean(a) − mean(b) = 0.1 + delta."""
    b = rng.normal(0.0, 0.05, n)
    if shape == "normal":
        return rng.normal(0.1 + delta, 0.1, n), b
    modes = np.where(rng.random(n) < 0.5, 0.2, -0.2)  # two modes 0.4 apart
    return modes + rng.normal(0, 0.02, n) + 0.1 + delta, b


def synthetic_verdict(a, b, rule: Rule) -> tuple[str, int]:
    """(verdict, seeds a group) of the claim mean(a) − mean(b) > 0.1 under `rule`."""
    budget = rule[1]
    low, high = (budget, budget) if isinstance(budget, int) else (budget.min, budget.max)
    spending = "pocock" if isinstance(budget, int) else budget.spending
    fractions: tuple[float, ...] = ()
    for n in range(low, high + 1, 1):
        fractions = (*fractions, information(n, n, high))
        groups = (Group("a", 1, tuple(a[:n])), Group("b", 2, tuple(b[:n])))
        look = judge(
            Judgement("claim", "", "INCONCLUSIVE", groups),
            True,
            0.1,
            fractions,
            spending,
            n == high,
        )
        if look.decided:
            return look.outcome.verdict, n
    raise AssertionError("the last look decides")


def part_synthetic(args: argparse.Namespace) -> list[dict]:
    rows = []
    for shape in ("normal", "two-mode"):
        for delta in (0.0, 0.1, 0.2):
            for rule in rules(args.synthetic_rules):
                rng = np.random.default_rng(zlib.crc32(f"{shape} {delta}".encode()))
                got = [
                    synthetic_verdict(*synthetic_draw(rng, shape, delta, most(rule)), rule)
                    for _ in range(args.draws)
                ]
                rows.append(
                    {
                        "seeds": shape,
                        "beyond the bound": delta,
                        "rule": rule[0],
                        "passes": sum(v == "PASS" for v, _ in got) / args.draws,
                        "seeds a group": float(np.mean([n for _, n in got])),
                        "draws": args.draws,
                    }
                )
    return rows


# --------------------------------------------------------------------------- pools


def relabel(pool: pd.DataFrame, order: list[int]) -> pd.DataFrame:
    """The pool's runs of the seeds `order` names, seed order[i] relabelled i."""
    mapping = {seed: i for i, seed in enumerate(order)}
    runs = pool[pool["seed"].isin(mapping)].copy()
    runs["seed"] = runs["seed"].map(mapping)
    return runs.reset_index(drop=True)


def judged(results: pd.DataFrame, claims: list, rule: Rule) -> tuple[pd.DataFrame, list[Judgement]]:
    """(the runs `rule` reads of `results`, seeds 0.. in order; its claims' outcomes)."""
    budget = rule[1]
    if isinstance(budget, int):
        used = results[results["seed"] < budget]
        return used, evaluate_claims(used, claims)
    state = replay(results[results["seed"] < budget.max], claims, budget)
    keys = group_keys(results)
    keep = [seed < state.seeds.get(key, 0) for key, seed in zip(keys, results["seed"], strict=True)]
    return results[keep], state.outcomes()


def slim(runs: pd.DataFrame) -> pd.DataFrame:
    """The columns a judgement reads: identity, variants, status, metrics and seconds."""
    varying = [c for c in runs.columns if "." in c and runs[c].nunique(dropna=False) > 1]
    keep = [*gate.COLUMNS, *varying, "seconds"]
    return runs[[c for c in dict.fromkeys(keep) if c in runs.columns]]


def part_ci(args: argparse.Namespace) -> list[dict]:
    pool = slim(Results(args.pool).runs)
    claims = list(load_sweep("ci").expect)
    seeds = sorted(set(pool["seed"]))
    rows = []
    scenarios: dict[str, Callable[[pd.DataFrame], pd.DataFrame] | None] = {"other seeds": None}
    scenarios |= gate.REGRESSIONS
    for name, regress in scenarios.items():
        for rule in rules(args.rules):
            rng = random.Random(zlib.crc32(name.encode()))  # the same draws for every rule
            fails = claim_fails = runs = 0
            seconds = 0.0
            for _ in range(args.draws):
                order = rng.sample(seeds, len(seeds))
                ref = relabel(pool, order[: args.reference])
                now = relabel(pool, order[args.reference :][: most(rule)])
                now = regress(now) if regress else now
                used, outcomes = judged(now, claims, rule)
                outcomes = [completeness(used), *outcomes]
                outcomes += compare_baseline(used, ref, args.tolerance)
                bad = {o.kind for o in outcomes if not o.passed}
                fails += bool(bad)
                claim_fails += "claim" in bad
                runs += len(used)
                seconds += float(used["seconds"].sum())
            rows.append(
                {
                    "scenario": name,
                    "kind": "false alarm" if regress is None else "detection",
                    "rule": rule[0],
                    "gate fails": fails / args.draws,
                    "claims fail": claim_fails / args.draws,
                    "runs": runs / args.draws,
                    "run-seconds": seconds / args.draws,
                    "draws": args.draws,
                }
            )
    return rows


def lost_shortcut(runs: pd.DataFrame) -> pd.DataFrame:
    """Residual and pre-activation runs with the plain (He) runs' errors of the same depth,
    seed and batch norm."""
    runs = runs.copy()
    plain = runs[(runs["arch"] == "plain") & (runs["model.init"] == "he")]
    by = ["depth", "seed", "model.batch_norm"]
    values = plain.set_index(by)[list(gate.METRICS)]
    for arch in ("residual", "preact"):
        mine = runs["arch"] == arch
        keys = pd.MultiIndex.from_frame(runs.loc[mine, by])
        for metric in gate.METRICS:
            runs.loc[mine, metric] = values[metric].reindex(keys).to_numpy()
    return runs


def part_remedies(args: argparse.Namespace) -> list[dict]:
    pool = slim(Results(args.pool).runs)
    claims = list(load_sweep("remedies").expect)
    truth = [o.verdict for o in evaluate_claims(pool, claims)]
    seeds = sorted(set(pool["seed"]))
    rows = []
    for name, regress in (("other seeds", None), ("lost shortcut", lost_shortcut)):
        for rule in rules(args.remedies_rules):
            rng = random.Random(zlib.crc32(name.encode()))
            same = fails = runs = 0
            seconds = 0.0
            for _ in range(args.draws):
                now = relabel(pool, rng.sample(seeds, most(rule)))
                now = regress(now) if regress else now
                used, outcomes = judged(now, claims, rule)
                verdicts = [o.verdict for o in outcomes]
                same += sum(v == t for v, t in zip(verdicts, truth, strict=True))
                fails += not all(v == "PASS" for v in verdicts)
                runs += len(used)
                seconds += float(used["seconds"].sum())
            rows.append(
                {
                    "scenario": name,
                    "rule": rule[0],
                    "claims as the pool judges them": same / (args.draws * len(claims)),
                    "check fails": fails / args.draws,
                    "runs": runs / args.draws,
                    "run-seconds": seconds / args.draws,
                    "draws": args.draws,
                }
            )
    pooled = {"pool seeds": len(seeds), "pool verdicts": truth}
    print(json.dumps(pooled), file=sys.stderr)
    return rows


def part_cpu(args: argparse.Namespace) -> list[dict]:
    import resource
    import subprocess
    import tempfile
    import time

    text = (Path(__file__).resolve().parent.parent / "resbench/sweep/presets/ci.yaml").read_text()
    axis = "  seed: [0, 1, 2, 3, 4, 5, 6, 7]\n"
    assert axis in text
    rows = []
    for rule in rules(args.cpu_rules):
        budget = rule[1]
        if isinstance(budget, int):
            seeds = f"  seed: [{', '.join(map(str, range(budget)))}]\n"
        else:
            seeds = (
                f"seeds: {{min: {budget.min}, max: {budget.max}, spending: {budget.spending}}}\n"
            )
        with tempfile.TemporaryDirectory() as tmp:
            sweep = Path(tmp) / "ci.yaml"
            sweep.write_text(
                text.replace(axis, "") + seeds if "seeds:" in seeds else text.replace(axis, seeds)
            )
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            command = [sys.executable, "-m", "resbench", "run", str(sweep), "--out", tmp, "-q"]
            subprocess.run([*command, "--workers", str(args.workers)], check=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            results = Results(Path(tmp) / "ci")
            verdicts = [o.verdict for o in results.check() if o.kind == "claim"]
            rows.append(
                {
                    "rule": rule[0],
                    "runs": len(results.runs),
                    "cpu_s": (after.ru_utime - before.ru_utime)
                    + (after.ru_stime - before.ru_stime),
                    "wall_s": wall,
                    "load": _load(),
                    "claims": " ".join(verdicts),
                }
            )
    return rows


def _load() -> float:
    import os

    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["synthetic", "ci", "remedies", "cpu"], required=True)
    parser.add_argument("--pool", type=Path, default=Path("results/reference/pools/ci"))
    parser.add_argument("--reference", type=int, default=8, help="ci: the reference's seeds")
    parser.add_argument("--rules", default="8,3-12,4-12,5-12,3-12:obf")
    parser.add_argument("--remedies-rules", default="3,8,3-8,2-8")
    parser.add_argument("--synthetic-rules", default="3,5,12,3-12,5-12,3-12:obf")
    parser.add_argument("--cpu-rules", default="8,3-12")
    parser.add_argument("--workers", type=int, default=2, help="cpu: resbench run's workers")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tolerance", type=float, default=BASELINE_TOLERANCE)
    args = parser.parse_args()
    parts = {"synthetic": part_synthetic, "ci": part_ci, "remedies": part_remedies, "cpu": part_cpu}
    rows = parts[args.part](args)
    columns = list(rows[0])
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    print("\n".join(markdown_table(columns, cells)))
    print(json.dumps({"part": args.part, "rows": rows}))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1 or value != int(value) else f"{value:.0f}"
    return str(value)


if __name__ == "__main__":
    main()
