"""What a run's arithmetic is: `train.precision` and `train.deterministic`, made true on the device.

| precision | tensors   | convolutions and matrix products                                  |
|-----------|-----------|-------------------------------------------------------------------|
| `fp32`    | float32   | IEEE float32: TF32 off for cuDNN and cuBLAS alike                 |
| `tf32`    | float32   | TF32 tensor cores on CUDA GPUs since Ampere (10-bit mantissa);    |
|           |           | on a CPU, or an older GPU, the same as fp32                       |
| `bf16`    | float32   | autocast: products in bfloat16; batch norm takes and returns      |
|           |           | bfloat16 there too, its statistics kept in float32                |

PyTorch's own default is neither fp32 nor tf32 (TF32 convolutions, float32 matrix products);
resbench sets both switches for every run, so that a run's arithmetic is what its spec says,
and the peak that MFU divides by is probed in the same arithmetic (`resbench.train.peak`).

`deterministic` asks CUDA for deterministic kernels only and turns cuDNN's autotuning off: two
runs of one spec on one GPU then give the same numbers, at some speed. Without it a GPU run
picks the fastest kernels, some of which sum in a varying order. CPU runs are deterministic
either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# cuBLAS must find this set at its first use to be deterministic: GPU workers set it when they
# start (before torch loads, which is why this module imports torch only where it is used).
CUBLAS_DETERMINISTIC = ":4096:8"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16: products in bfloat16, the rest in float32; fp32, tf32: no change."""
    import torch

    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def configure(device: torch.device, precision: str, deterministic: bool) -> None:
    """Set the process's backends for one run (each run sets them all: workers serve many)."""
    import torch

    _allow_tf32(precision == "tf32")
    if device.type != "cuda":
        return
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    # Shapes are fixed: without the need for determinism, find the fastest kernels once.
    torch.backends.cudnn.benchmark = not deterministic


@contextmanager
def tf32(precision: str) -> Iterator[None]:
    """The TF32 switches of `precision` for a block (the peak probe), put back after it."""
    import torch

    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    _allow_tf32(precision == "tf32")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _allow_tf32(on: bool) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
