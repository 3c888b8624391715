"""Per-run speed figures: forward FLOPs per example, achieved GFLOP/s, and MFU.

MFU (model FLOPs utilisation) is the training arithmetic a run did per second over what the
device can do. The device's peak is not a datasheet number but a short matrix-multiply probe,
measured once per (device, threads, precision, torch version) and kept in a small JSON file in
the resbench cache directory, so a sweep of hundreds of runs measures it once.
"""

from __future__ import annotations

import json
import os
import platform
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from resbench.sweep import ModelConfig
# A training step costs about 3 forward passes: the forward, and a backward that computes
# gradients for both activations and weights (Kaplan et al. 2020, section 2.1).
TRAIN_FLOPS_PER_FORWARD = 3
PEAK_FILE = "peak.json"
CPU_PROBE_SIZE = 1024  # 2.1 GFLOP a product: tens of ms on one core
GPU_PROBE_SIZE = 8192  # large enough to fill an H100's tensor cores
PROBE_REPEATS = 5


def flops_per_sample(model: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> int:
    """Forward FLOPs for one example (a multiply-add counts 2), counted once per process.

    Counted on the meta device (`models.profile`), never on the run's model: no memory is
    taken from the run's device, and no kernel is tuned for a batch of one.
    """
    return _count_flops(model.model_dump_json(), tuple(input_shape), num_classes)


@cache  # keyed by the config's JSON: a pydantic model is not hashable
def _count_flops(model_json: str, input_shape: tuple[int, ...], num_classes: int) -> int:
    from resbench.models import profile
    from resbench.sweep import ModelConfig

    return profile(ModelConfig.model_validate_json(model_json), input_shape, num_classes)[1]


def figures(
    flops: int, samples_per_s: float | None, device: torch.device, precision: str
) -> tuple[float | None, float | None]:
    """(achieved training GFLOP/s, MFU) of a run that trained `samples_per_s` examples a second."""
    if not samples_per_s or flops <= 0:
        return None, None
    gflops = TRAIN_FLOPS_PER_FORWARD * flops * samples_per_s / 1e9
    peak = peak_gflops(device, precision)
    return gflops, (gflops / peak if peak else None)


def peak_gflops(device: torch.device, precision: str = "fp32") -> float | None:
    """The device's matrix-multiply GFLOP/s at this process's threads, from cache or a probe."""
    if device.type not in ("cpu", "cuda"):
        return None  # no reliable way to wait for other devices' work to finish
    key = probe_key(device, precision)
    path = peak_path()
    known = _read(path)
    if key not in known:
        known = {**_read(path), key: probe(device, precision)}  # reread: another run may have
        _write(path, known)
    return known[key]


def probe_key(device: torch.device, precision: str) -> str:
    """What the peak depends on: the device's model, threads, precision and torch's kernels."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return f"{name}|threads={torch.get_num_threads()}|{precision}|torch={torch.__version__}"


def probe(device: torch.device, precision: str) -> float:
    """Best GFLOP/s of square matrix products on `device`, in the run's precision."""
    n = GPU_PROBE_SIZE if device.type == "cuda" else CPU_PROBE_SIZE
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    # Filled with constants, not drawn: the probe must leave every random stream alone.
    a = torch.full((n, n), 0.5, device=device, dtype=dtype)
    b = torch.full((n, n), 0.25, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(PROBE_REPEATS + 1):  # the first product warms the kernels up, and counts too
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def peak_path() -> Path:
    from resbench.data import cache_dir

    return cache_dir() / PEAK_FILE


@cache
def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo or the platform gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _read(path: Path) -> dict[str, float]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # absent or half-written by a crashed process: measure again


def _write(path: Path, known: dict[str, float]) -> None:
    # Atomic, so runs in parallel workers never read a torn file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
    os.replace(tmp, tmp.with_name(path.name))
