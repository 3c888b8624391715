"""Training throughput of the paper's CIFAR nets on synthetic CIFAR-shaped data, fp32 vs bf16.

Imports only torch and resbench's models and augmentation (not pydantic, not mnist1d), so it
runs wherever torch does. A timed step is what `train_run` does per step: gather a batch of
uint8 images on the device, normalise it, pad-crop-flip it, forward under autocast, backward,
SGD with momentum and weight decay. On CUDA: the backends set as `train_run` sets them for the
precision (resbench/train/precision.py), and channels-last. Timing starts after warm-up steps and
ends with a device sync.

    python benchmarks/gpu_throughput.py                        # ResNet-20/56/110, fp32 and bf16
    python benchmarks/gpu_throughput.py --depths 56 --compile  # with torch.compile
    python benchmarks/gpu_throughput.py --depths 56 --precisions fp32,tf32 --deterministic
    python benchmarks/gpu_throughput.py --device cpu --depths 8 --steps 2 --batch-size 8

Prints a table, then one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from resbench.data.augment import crop_flip
from resbench.models import build_model, count_parameters
from resbench.train.precision import autocast, configure


def measure(args: argparse.Namespace, depth: int, precision: str) -> dict:
    """Samples/s of training a `depth`-layer cifar net at `precision` on random images."""
    device = torch.device(args.device)
    cfg = SimpleNamespace(  # a ModelConfig without pydantic: build_model reads these fields
        family="cifar",
        depth=depth,
        arch=args.arch,
        width=16,
        batch_norm=True,
        shortcut="A",
        zero_init_residual=False,
        block="basic",
        init="he",
        activation="relu",
        branch_multiplier="none",
    )
    configure(device, precision, args.deterministic)  # as train_run sets the backends
    torch.manual_seed(0)
    model = build_model(cfg, (3, 32, 32), 10).to(device)  # type: ignore[arg-type]
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if args.compile else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator(device).manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (args.images,), device=device, generator=g)
    mean = images.float().mean((0, 2, 3)).reshape(3, 1, 1)
    std = images.float().std((0, 2, 3)).reshape(3, 1, 1)

    def step() -> None:
        idx = torch.randint(0, args.images, (args.batch_size,), device=device, generator=g)
        x = crop_flip((images[idx].float() - mean) / std, 4, True, g)
        with autocast(device, precision):
            loss = F.cross_entropy(net(x), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup_steps):
        step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync(device)
    seconds = time.perf_counter() - t0
    return {
        "depth": depth,
        "arch": args.arch,
        "precision": precision,
        "compile": args.compile,
        "deterministic": args.deterministic,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "params": count_parameters(model),
        "samples_per_s": round(args.steps * args.batch_size / seconds, 1),
        "ms_per_step": round(1000 * seconds / args.steps, 2),
        "peak_mb": round(torch.cuda.max_memory_allocated(device) / 2**20)
        if device.type == "cuda"
        else None,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "torch": torch.__version__,
    }


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="20,56,110", help="comma-separated 6n+2 depths")
    parser.add_argument(
        "--precisions", default="fp32,bf16", help="comma-separated: fp32, tf32, bf16"
    )
    parser.add_argument("--arch", default="residual", choices=["plain", "residual"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100, help="timed steps per measurement")
    parser.add_argument("--warmup-steps", type=int, default=20, help="untimed steps first")
    parser.add_argument("--images", type=int, default=50_000, help="synthetic training images")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument(
        "--deterministic", action="store_true", help="deterministic kernels (train.deterministic)"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    rows = [
        measure(args, int(depth), precision)
        for depth in args.depths.split(",")
        for precision in args.precisions.split(",")
    ]
    print(f"{rows[0]['device']}, torch {rows[0]['torch']}, batch {args.batch_size}, {args.arch}")
    print(f"{'depth':>5}  {'precision':<9}  {'samples/s':>10}  {'ms/step':>8}  {'peak MB':>8}")
    for r in rows:
        peak = "" if r["peak_mb"] is None else r["peak_mb"]
        print(
            f"{r['depth']:>5}  {r['precision']:<9}  {r['samples_per_s']:>10.0f}  "
            f"{r['ms_per_step']:>8.2f}  {peak:>8}"
        )
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
