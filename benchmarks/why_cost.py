"""What each diagnostic of `train.diagnostics` costs, in training steps of the net it measures.

For the deepest nets of the `why` preset (conv1d at 98 layers, 48 blocks; the transformer at 48
blocks) on MNIST-1D: one training step (forward, backward and SGD/Adam update on 128 examples)
is timed in turn with one pass of each diagnostic, `--repeats` times, in one process on one
thread. CPU time (the process's), not wall time: on a machine shared with other work, waiting
for a core counts in wall time. Each diagnostic's cost is its median time over the median
step's: how many training steps one pass is worth. A run measures grad_norms, activations and
signal at step 0 and at every curve point, jacobian and grad_correlation once at step 0, and
lesions and the loss slices once after training.

    python benchmarks/why_cost.py                   # both nets, 3 repeats
    python benchmarks/why_cost.py --repeats 5 --nets conv1d
    python benchmarks/why_cost.py --runs            # the preset's seed-0 runs, whole

With `--runs` it trains instead the `why` preset's runs of seed 0 (33 of its 99), one after
another, and prints each run's CPU time and their total: the preset's cost is about three times
that total (its seeds cost alike), and about half of it on 2 idle cores.

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from resbench import data
from resbench.models import build_model
from resbench.sweep.load import expand, load_sweep
from resbench.sweep.schema import RunSpec
from resbench.train import diagnostics
from resbench.train.recipe import make_optimizer

PASSES = {
    "grad_norms": ("grad_norms", "activations"),
    "signal": ("signal",),
    "jacobian": ("jacobian",),
    "grad_correlation": ("grad_correlation",),
    "lesions": ("lesions",),
    "loss_slice": ("loss_slice",),
    "loss_surface": ("loss_surface",),
}
NETS = {"conv1d": ("plain", True, 98), "transformer": ("preln", False, 48)}


def spec_of(net: str) -> RunSpec:
    arch, batch_norm, depth = NETS[net]
    for spec in expand(load_sweep("why")):
        m, wanted = spec.model, (net, arch, batch_norm, depth, 0)
        if (m.family, m.arch, m.batch_norm, m.depth, spec.seed) == wanted:
            return spec
    raise LookupError(net)


def cpu_seconds(fn: Callable[[], object]) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def measure(net: str, repeats: int) -> dict[str, float]:
    """{pass: its median CPU time over the median step's} for the `why` preset's `net`."""
    spec = spec_of(net)
    ds = data.load(spec.dataset, "cpu")
    torch.manual_seed(0)
    model = build_model(spec.model, ds.input_shape, ds.num_classes)
    optimizer = make_optimizer(model, spec.train)
    x, y = ds.inputs(ds.x_train[:128]), ds.y_train[:128]

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def run(kinds: tuple[str, ...]) -> Callable[[], object]:
        if kinds[0] in diagnostics.AFTER_TRAINING:
            return lambda: diagnostics.after_training(model, ds, kinds, 1, spec.train.probes)
        return lambda: diagnostics.measure(model, x, y, kinds, 0, spec.train.probes)

    times: dict[str, list[float]] = {"step": [], **{name: [] for name in PASSES}}
    step()  # first touches
    for _ in range(repeats):
        for name, kinds in PASSES.items():
            times["step"].append(cpu_seconds(step))
            times[name].append(cpu_seconds(run(kinds)))
    one_step = statistics.median(times["step"])
    return {"step_seconds": one_step, **{n: statistics.median(times[n]) / one_step for n in PASSES}}


def whole_runs() -> None:
    """The CPU time of each of the `why` preset's seed-0 runs, and their total."""
    from resbench.train.run import train_run

    total = 0.0
    specs = [s for s in expand(load_sweep("why")) if s.seed == 0]
    for spec in specs:
        seconds = cpu_seconds(lambda spec=spec: train_run(spec))
        total += seconds
        print(f"{spec.label():<24}{'bn' if spec.model.batch_norm else '':<4}{seconds:>8.1f} s")
    print(json.dumps({"runs": len(specs), "cpu_seconds": round(total, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    parser.add_argument("--runs", action="store_true", help="time the preset's seed-0 runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.runs:
        whole_runs()
        return
    found = {net: measure(net, args.repeats) for net in args.nets}
    print(f"{'pass':<18}" + "".join(f"{net:>14}" for net in found))
    for name in ["step_seconds", *PASSES]:
        print(f"{name:<18}" + "".join(f"{found[net][name]:>14.3g}" for net in found))
    print(json.dumps({"repeats": args.repeats, "costs": found}))


if __name__ == "__main__":
    main()
