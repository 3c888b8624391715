"""resbench's `train_run` vs the loop a typical PyTorch user writes, side by side in one process.

The reference loop trains the same model (same init, optimiser, schedule, steps and data) the
usual way: a `DataLoader` over a `TensorDataset`, `loss.item()` every step. Both are timed on
the training loop alone (resbench's includes its once-per-epoch test evaluation, the
reference's none), alternating A/B/A/B so machine noise hits both alike.

    python benchmarks/trainer.py                       # conv1d depth 20 and 56 on MNIST-1D
    python benchmarks/trainer.py --depths 20 --repeats 5 --epochs 2 --threads 2

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

from resbench import data
from resbench.models import build_model
from resbench.sweep import RunSpec, expand, parse_sweep
from resbench.train import lr_factor, make_optimizer, train_run

SWEEP = """
name: bench
dataset: {{name: mnist1d}}
model: {{family: conv1d, width: 8}}
train: {{epochs: {epochs}, batch_size: 128, device: cpu}}
grid: {{depth: [{depth}], arch: [residual], seed: [0]}}
"""


def reference_loop(spec: RunSpec) -> float:
    """Samples/s of a DataLoader loop over the same run."""
    cfg = spec.train
    ds = data.load(spec.dataset, "cpu")
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes)
    optimizer = make_optimizer(model, cfg)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(ds.x_train, ds.y_train),
        batch_size=cfg.batch_size,
        shuffle=True,
    )
    total = (cfg.epochs or 0) * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, total, len(loader)))
    seen = 0
    t0 = time.perf_counter()
    for _ in range(cfg.epochs or 0):
        running = 0.0
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
            seen += len(x)
        assert math.isfinite(running)
    return seen / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for depth in args.depths:
        (spec,) = expand(parse_sweep(SWEEP.format(epochs=args.epochs, depth=depth)))
        train_run(spec)  # warm up: dataset generation and caches
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(train_run(spec).samples_per_s or 0.0)
            theirs.append(reference_loop(spec))
        row = {
            "model": f"conv1d-{depth}",
            "resbench_samples_per_s": statistics.median(ours),
            "dataloader_samples_per_s": statistics.median(theirs),
        }
        row["ratio"] = row["resbench_samples_per_s"] / row["dataloader_samples_per_s"]
        rows.append(row)

    print(f"{'model':<12} {'resbench/s':>12} {'DataLoader/s':>13} {'ratio':>7}")
    for r in rows:
        print(
            f"{r['model']:<12} {r['resbench_samples_per_s']:>12.0f} "
            f"{r['dataloader_samples_per_s']:>13.0f} {r['ratio']:>7.2f}"
        )
    print(json.dumps({"benchmark": "trainer", "threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
