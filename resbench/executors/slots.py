"""Slots: how many runs execute at once, and on what. One worker process serves one slot.

On GPUs a slot is a share of one GPU (runs_per_gpu slots per GPU); on a CPU it is
threads_per_run of the cores. `workers` overrides the count; GPU slots then go round the GPUs.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass

from resbench.core.errors import ResbenchError


@dataclass(frozen=True)
class Slot:
    """One place a run executes: its worker sees only `gpu` (when set) and uses `threads`."""

    index: int
    threads: int
    gpu: str | None = None  # an entry of CUDA_VISIBLE_DEVICES: an index or a GPU's UUID

    @property
    def where(self) -> str:
        return f"gpu {self.gpu}" if self.gpu is not None else "cpu"


def plan_slots(
    device: str,
    workers: int | None = None,
    runs_per_gpu: int = 1,
    threads_per_run: int = 1,
    gpus: list[str] | None = None,
    cores: int | None = None,
) -> list[Slot]:
    """The slots for runs on `device` (auto, cpu, cuda, mps); `gpus`, `cores`: this host's."""
    if gpus is None:
        gpus = visible_gpus() if device in ("auto", "cuda") else []
    if device == "cuda" and not gpus:
        raise ResbenchError("train.device is cuda but no CUDA device is visible")
    if gpus and device in ("auto", "cuda"):
        n = workers or len(gpus) * runs_per_gpu
        return [Slot(i, threads_per_run, gpus[i % len(gpus)]) for i in range(n)]
    if device == "mps" or (device == "auto" and _mps_available()):
        n = workers or runs_per_gpu  # one Apple GPU, shared like one CUDA device
    else:
        n = workers or max(1, (cores or usable_cores()) // threads_per_run)
    return [Slot(i, threads_per_run) for i in range(n)]


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as entries for CUDA_VISIBLE_DEVICES."""
    if not _gpu_driver_present():
        return []  # and torch, a second's import, stays out of the driver
    import torch

    return gpu_entries(os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count())


def gpu_entries(listed: str | None, count: int) -> list[str]:
    """The devices for workers, from this process's CUDA_VISIBLE_DEVICES (`listed`) and the
    number of devices CUDA shows it (`count`).

    Unset: every device by index. Set: the parent's restriction is kept, each worker is shown
    one of the listed entries. MIG instances (`MIG-<uuid>`) are all kept: CUDA shows a process
    only the first MIG instance listed, so `count` says 1 however many there are, while a
    worker shown one of them sees it. Other lists stop where CUDA stops counting (an entry it
    cannot find ends the list for CUDA too).
    """
    if listed is None:
        return [str(i) for i in range(count)]
    entries = [entry.strip() for entry in listed.split(",") if entry.strip()]
    if entries and all(entry.startswith("MIG-") for entry in entries):
        return entries
    return entries[:count]


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _gpu_driver_present() -> bool:
    """False only where torch.cuda surely finds nothing: Linux with no GPU driver's device files.

    Looked for: NVIDIA's (/proc/driver/nvidia, /dev/nvidia*), Jetson's (/dev/nvhost*), AMD's
    for ROCm builds of torch (/dev/kfd) and WSL's (/dev/dxg). Elsewhere torch is asked.
    """
    if not sys.platform.startswith("linux"):
        return True
    return any(
        os.path.exists(path) for path in ("/proc/driver/nvidia", "/dev/kfd", "/dev/dxg")
    ) or any(glob.glob(pattern) for pattern in ("/dev/nvidia*", "/dev/nvhost*"))


def _mps_available() -> bool:
    if sys.platform != "darwin":
        return False
    import torch

    return torch.backends.mps.is_available()
