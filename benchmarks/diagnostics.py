"""What `train.diagnostics` costs: the same runs with and without it, alternating, in one process.

Runs of the `quick` preset (conv1d on MNIST-1D) are trained with diagnostics off, then on
(`[grad_norms, activations]`), then off, ... so that machine noise hits both alike; each pair
gives a ratio of wall times (`RunResult.seconds`: the whole run, final evaluation included) and
one of the process's CPU times. On a machine shared with other work the CPU-time ratio is the
one to trust: waiting for a core counts in wall time, not in CPU time (hence one thread by
default). Fewer epochs than the preset's 15 make the step-0 measurement weigh more, so the
ratio is an upper bound for the real sweep.

Whole runs take seconds, and on a busy machine their ratios scatter by several percent. So the
cost is also measured in parts, in turn many times over, each part lasting milliseconds: one
diagnostics pass against one training step (`pass/step`), from which the share of a run's
steps it adds follows: 1 + (epochs + 1) passes / (epochs x steps-per-epoch) steps (`bound`:
an upper bound of the ratio, as it leaves out the evaluations that also take time).

    python benchmarks/diagnostics.py                      # depths 8 and 56, 5 epochs, 3 pairs
    python benchmarks/diagnostics.py --epochs 15 --repeats 5 --threads 2

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from resbench import data
from resbench.models import build_model
from resbench.sweep.load import expand, load_sweep
from resbench.sweep.schema import RunSpec
from resbench.train import diagnostics
from resbench.train.recipe import make_optimizer
from resbench.train.run import train_run

DIAGNOSTICS = ["grad_norms", "activations"]


def pass_per_step(spec: RunSpec, n: int = 40) -> float:
    """One diagnostics pass in training steps: the two timed in turn, n times; medians."""
    cfg = spec.train
    ds = data.load(spec.dataset, "cpu")
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes)
    optimizer = make_optimizer(model.parameters(), cfg)
    x, y = ds.inputs(ds.x_train[: cfg.batch_size]), ds.y_train[: cfg.batch_size]
    steps, passes = [], []
    for _ in range(n):
        t0 = time.process_time()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        t1 = time.process_time()
        diagnostics.measure(model, x, y, DIAGNOSTICS, step=0)
        passes.append(time.process_time() - t1)
        steps.append(t1 - t0)
    return statistics.median(passes) / statistics.median(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="quick", help="a preset or sweep file")
    parser.add_argument("--depths", type=int, nargs="+", default=[8, 56])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="pairs (off, on) per depth")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for depth in args.depths:
        base = {
            "train.epochs": args.epochs,
            "train.device": "cpu",
            "grid.depth": [depth],
            "grid.arch": ["residual"],
            "grid.seed": [0],
        }
        (off,) = expand(load_sweep(args.sweep, {**base, "train.diagnostics": []}))
        (on,) = expand(load_sweep(args.sweep, {**base, "train.diagnostics": DIAGNOSTICS}))
        train_run(off)  # warm up: dataset generation and caches
        wall: dict[str, list[float]] = {"off": [], "on": []}
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.repeats):
            for name, spec in (("off", off), ("on", on)):
                t0 = time.process_time()
                result = train_run(spec)
                cpu[name].append(time.process_time() - t0)
                wall[name].append(result.seconds)
                assert bool(result.layers) == (name == "on"), "diagnostics not as asked"
        row: dict[str, object] = {"model": f"{on.model.family}-{depth}", "epochs": args.epochs}
        row["n"] = args.repeats
        for clock, times in (("wall", wall), ("cpu", cpu)):
            ratios = [b / a for a, b in zip(times["off"], times["on"], strict=True)]
            row[f"{clock}_without_s"] = statistics.median(times["off"])
            row[f"{clock}_with_s"] = statistics.median(times["on"])
            row[f"{clock}_ratio"] = statistics.median(ratios)
        row["pass_per_step"] = pass_per_step(on)
        steps_per_epoch = -(-len(data.load(on.dataset, "cpu").x_train) // on.train.batch_size)
        passes = args.epochs + 1  # step 0, then once per epoch (the default eval_every)
        row["bound_ratio"] = 1 + passes * row["pass_per_step"] / (args.epochs * steps_per_epoch)
        rows.append(row)

    print(
        f"{'model':<11} {'n':>3}  {'cpu s: without':>14} {'with':>7} {'ratio':>6}  "
        f"{'wall ratio':>10}  {'pass/step':>9} {'bound':>6}"
    )
    for r in rows:
        print(
            f"{r['model']:<11} {r['n']:>3}  {r['cpu_without_s']:>14.2f} {r['cpu_with_s']:>7.2f} "
            f"{r['cpu_ratio']:>6.3f}  {r['wall_ratio']:>10.3f}  {r['pass_per_step']:>9.2f} "
            f"{r['bound_ratio']:>6.3f}"
        )
    print(json.dumps({"benchmark": "diagnostics", "threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
