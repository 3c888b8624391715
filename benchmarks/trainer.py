"""resbench's `train_run` vs the loop a typical PyTorch user writes, side by side in one process.

The reference loop trains the same model (same init, optimiser settings, schedule, steps and
data) the usual way: a `DataLoader` over a `TensorDataset`, `torch.optim` with its defaults,
`loss.item()` every step, and the test set evaluated after every epoch, as resbench does. Both
are timed on the training loop, evaluations included, alternating A/B/A/B so machine noise hits
both alike.

    python benchmarks/trainer.py            # conv1d 20 and 56 on MNIST-1D, cifar ResNet-20,
                                            # 12- and 48-block Pre-LN transformers with Adam
    python benchmarks/trainer.py --cases conv1d-20 --repeats 5 --epochs 2 --threads 2

Prints a table, with the MFU of resbench's runs (achieved training FLOP/s over the probed
matrix-multiply peak, see resbench/train/perf.py), and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

# Benchmark the checkout this file is in, whatever resbench is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resbench import data
from resbench.models import build_model
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec
from resbench.train.recipe import lr_factor
from resbench.train.run import train_run

SWEEP = """
name: bench
dataset: {dataset}
model: {{family: {family}, width: {width}}}
train: {{epochs: {epochs}, batch_size: 128, device: cpu, optimizer: {optimizer}}}
grid: {{depth: [{depth}], arch: [{arch}], seed: [0]}}
"""
MNIST1D = "{name: mnist1d}"
# CIFAR-shaped random images: the paper's ResNet-20 without needing the dataset's files
CIFAR_SHAPED = "{name: synthetic, shape: [3, 32, 32], classes: 10, n_train: 1024, n_test: 256}"
CASES = {  # name -> (dataset, family, width, depth, arch, optimizer)
    "conv1d-20": (MNIST1D, "conv1d", 8, 20, "residual", "sgd"),
    "conv1d-56": (MNIST1D, "conv1d", 8, 56, "residual", "sgd"),
    "cifar-20": (CIFAR_SHAPED, "cifar", 16, 20, "residual", "sgd"),
    "transformer-12": (MNIST1D, "transformer", 16, 12, "preln", "adam"),
    "transformer-48": (MNIST1D, "transformer", 16, 48, "preln", "adam"),
}


def reference_loop(spec: RunSpec) -> float:
    """Samples/s of a DataLoader loop over the same run."""
    cfg = spec.train
    ds = data.load(spec.dataset, "cpu")
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes)
    if cfg.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    else:
        assert cfg.optimizer == "adam"
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(ds.x_test, ds.y_test), batch_size=cfg.batch_size
    )
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
            loss = F.cross_entropy(model(ds.inputs(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
            seen += len(x)
        assert math.isfinite(running)
        model.eval()
        with torch.no_grad():
            wrong = sum((model(ds.inputs(x)).argmax(1) != y).sum().item() for x, y in test_loader)
        model.train()
        assert 0 <= wrong <= len(ds.x_test)
    return seen / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for case in args.cases:
        dataset, family, width, depth, arch, optimizer = CASES[case]
        sweep = SWEEP.format(
            dataset=dataset,
            family=family,
            width=width,
            depth=depth,
            arch=arch,
            optimizer=optimizer,
            epochs=args.epochs,
        )
        (spec,) = expand(parse_sweep(sweep))
        train_run(spec)  # warm up: dataset generation, the peak probe, caches
        ours, theirs, mfu = [], [], []
        for _ in range(args.repeats):
            result = train_run(spec)
            ours.append(result.samples_per_s or 0.0)
            mfu.append(result.mfu or 0.0)
            theirs.append(reference_loop(spec))
        row = {
            "model": case,
            "resbench_samples_per_s": statistics.median(ours),
            "dataloader_samples_per_s": statistics.median(theirs),
            "resbench_mfu": statistics.median(mfu),
            "flops_per_sample": result.flops_per_sample,
        }
        row["ratio"] = row["resbench_samples_per_s"] / row["dataloader_samples_per_s"]
        rows.append(row)

    print(f"{'model':<14} {'resbench/s':>11} {'DataLoader/s':>13} {'ratio':>6} {'MFU':>6}")
    for r in rows:
        print(
            f"{r['model']:<14} {r['resbench_samples_per_s']:>11.0f} "
            f"{r['dataloader_samples_per_s']:>13.0f} {r['ratio']:>6.2f} {r['resbench_mfu']:>6.3f}"
        )
    print(json.dumps({"benchmark": "trainer", "threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
