"""The device's matrix-multiply peak: the denominator of MFU, measured where the machine is quiet.

A peak is not a datasheet number but a short probe: the best of a few square matrix products
in the run's precision, with the run's thread count. It is measured once per (device model,
threads, precision, torch release) and kept in `peak.json` in resbench's cache directory
(changed under the lock `peak.json.lock`: workers may add peaks at once).

A probe taken while other runs train would read low and inflate every MFU after it, for good.
So `resbench run` measures any missing peak itself before its workers start (`prepare`), in a
process of its own so that the driver stays free of torch; a run that finds none (the inline
executor, a Ray node elsewhere) probes after its timed loop; and a run that did more arithmetic
per second than the cached peak proves that peak low, and it is measured again.

    python -m resbench.train.peak --device cpu --threads 1 --precision fp32   # what `prepare` runs
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from resbench.core.atomic import write_text
from resbench.core.cache import cache_dir
from resbench.train.provenance import cpu_model

if TYPE_CHECKING:
    import torch

PEAK_FILE = "peak.json"
CPU_PROBE_SIZE = 1024  # 2.1 GFLOP a product: tens of ms on one core
GPU_PROBE_SIZE = 8192  # large enough to fill an H100's tensor cores
PROBE_REPEATS = 5
PROBE_TIMEOUT_S = 600  # a probe process still busy after this is stopped


def peak_path() -> Path:
    return cache_dir() / PEAK_FILE


def torch_release() -> str:
    """torch's version as installed, read without importing torch."""
    return importlib.metadata.version("torch")


def key(device_model: str, threads: int, precision: str) -> str:
    """What a peak depends on: the device's model, threads, precision and torch's kernels."""
    return f"{device_model}|threads={threads}|{precision}|torch={torch_release()}"


def device_key(device: torch.device, precision: str) -> str:
    """The key of `device` as this process uses it (its torch threads)."""
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return key(name, torch.get_num_threads(), precision)


def known() -> dict[str, float]:
    try:
        return json.loads(peak_path().read_text())
    except (OSError, ValueError):
        return {}  # absent or unreadable: measure again


def remember(peak_key: str, gflops: float) -> None:
    """Add a peak to the cache. Workers on one machine may add theirs at once: the file is read,
    changed and written under a lock beside it, so that none is lost."""
    from filelock import FileLock

    path = peak_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        write_text(path, json.dumps({**known(), peak_key: gflops}, indent=1, sort_keys=True))


def peak_gflops(device: torch.device, precision: str = "fp32") -> float | None:
    """The device's matrix-multiply GFLOP/s at this process's threads: cached, else probed."""
    if device.type not in ("cpu", "cuda"):
        return None  # no reliable way to wait for other devices' work to finish
    peak_key = device_key(device, precision)
    if (cached := known().get(peak_key)) is None:
        cached = probe(device, precision)
        remember(peak_key, cached)
    return cached


def raise_to(device: torch.device, precision: str, achieved: float) -> float:
    """A run achieved `achieved` GFLOP/s, above the cached peak: that peak was measured on a
    busy machine. Measure again and keep whichever is higher (the probe itself may be busy)."""
    peak = max(probe(device, precision), achieved)
    remember(device_key(device, precision), peak)
    return peak


def probe(device: torch.device, precision: str) -> float:
    """Best GFLOP/s of square matrix products on `device`, in the run's precision."""
    import torch

    from resbench.train.precision import tf32

    n = GPU_PROBE_SIZE if device.type == "cuda" else CPU_PROBE_SIZE
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    # Filled with constants, not drawn: the probe must leave every random stream alone.
    a = torch.full((n, n), 0.5, device=device, dtype=dtype)
    b = torch.full((n, n), 0.25, device=device, dtype=dtype)
    best = float("inf")
    with tf32(precision):  # the arithmetic the runs do: fp32 strict, tf32 on tensor cores
        for _ in range(PROBE_REPEATS + 1):  # the first product warms up, and counts too
            _sync(device)
            t0 = time.perf_counter()
            a @ b
            _sync(device)
            best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def prepare(
    device: str, threads: int, precisions: Iterable[str], timeout: float = PROBE_TIMEOUT_S
) -> None:
    """Measure now, before any run starts, the peaks that runs on `device` (cpu or cuda) with
    `threads` threads will need and that the cache lacks.

    For the CPU the keys are known without torch, so nothing starts when all are cached; GPU
    models are only known to torch, so for GPUs a process always starts, and probes what is
    missing. A failed probe is no error: the runs then probe for themselves.
    """
    precisions = sorted(set(precisions))
    if device == "cpu":
        have, model = known(), cpu_model()
        if all(key(model, threads, p) in have for p in precisions):
            return
    command = [sys.executable, "-m", "resbench.train.peak", *argv(device, threads, precisions)]
    with suppress(subprocess.TimeoutExpired):  # stopped by run(); the runs probe for themselves
        subprocess.run(command, capture_output=True, timeout=timeout, check=False)


def argv(device: str, threads: int, precisions: Iterable[str]) -> list[str]:
    """The arguments of `main` (`python -m resbench.train.peak`) that probe these peaks."""
    precision_args = [arg for p in precisions for arg in ("--precision", p)]
    return ["--device", device, "--threads", str(threads), *precision_args]


def _sync(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    """Probe the missing peaks of one device type (every visible GPU of it) and cache them."""
    parser = argparse.ArgumentParser(prog="python -m resbench.train.peak", description=main.__doc__)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", action="append", choices=("fp32", "tf32", "bf16"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        devices = [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    else:
        devices = [torch.device("cpu")]
    for device in devices:
        for precision in args.precision or ["fp32"]:
            peak_gflops(device, precision)  # probes only what the cache lacks


if __name__ == "__main__":
    main()
