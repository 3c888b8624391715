"""Where a record was made: versions, machine and code, kept in every run's `env`.

The same spec gives bit-identical numbers only on the same CPU model (or GPU), thread count and
torch build; elsewhere it is another draw from the same population. So each record says where
it came from, and comparisons can tell a change of code from a change of machine.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import subprocess
from pathlib import Path

from resbench.core.version import VERSION as __version__


def environment(device: str) -> dict[str, str]:
    """Versions and machine facts of the process that trained a run on `device` (imports torch).

    Where it ran, too: the host, the process (a worker's pid) and the GPUs it was shown
    (`CUDA_VISIBLE_DEVICES`, an index or a UUID, when set), so that placement can be checked.
    """
    import torch

    env = {
        "resbench": __version__,
        "code": code_identity(),
        "torch": str(torch.__version__),  # TorchVersion would import torch where unpickled
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
        "threads": str(torch.get_num_threads()),
        "device": device,
        "cpu_model": cpu_model(),
        **gpu_environment(device),
        "host": platform.node(),
        "pid": str(os.getpid()),
    }
    if (visible := os.environ.get("CUDA_VISIBLE_DEVICES")) is not None:
        env["cuda_visible_devices"] = visible
    return env


def gpu_environment(device: str) -> dict[str, str]:
    """The GPU's name, NVIDIA driver and cuDNN version when the run used CUDA; else nothing."""
    import torch

    if device.startswith(("cpu", "mps")) or not device or not torch.cuda.is_available():
        return {}
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "gpu": torch.cuda.get_device_name(),
        "gpu_driver": nvidia_driver(),
        "cudnn": str(cudnn) if cudnn is not None else "none",
    }


@functools.cache
def nvidia_driver() -> str:
    """The NVIDIA driver's version, as its kernel module reports it (Linux), else by NVML."""
    try:
        if version := driver_version(Path("/proc/driver/nvidia/version").read_text()):
            return version
    except OSError:
        pass
    try:
        import pynvml  # nvidia-ml-py, where installed

        pynvml.nvmlInit()
        version = pynvml.nvmlSystemGetDriverVersion()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # no NVML library, no driver: a record is still written
        return "unknown"


def driver_version(proc_text: str) -> str | None:
    """'550.54.15' from /proc/driver/nvidia/version's 'NVRM version: ... Kernel Module ...'."""
    match = re.search(r"Kernel Module\b.*?\s(\d+\.\d+(?:\.\d+)?)\s", proc_text)
    return match.group(1) if match else None


@functools.cache
def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo or the platform gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


@functools.cache
def git_commit() -> str | None:
    """The commit of the resbench checkout in use, when it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# The built-in code that decides what a run computes: networks, data, the training loop and its
# recipe. A record names a hash of it (`env.code`), so that results made by different code can
# be told apart; a run's id hashes its spec alone, so editing this code reruns nothing.
CODE = (
    "models", "data", "train/run.py", "train/loop.py", "train/recipe.py", "train/precision.py",
    "train/diagnostics",
)  # fmt: skip


@functools.cache
def code_identity() -> str:
    """A short hash of the source of every module in `CODE` (12 hex digits)."""
    root = Path(__file__).parent.parent  # the package: CODE's paths are relative to it
    files = sorted(
        p for name in CODE for p in ((root / name).rglob("*.py") if (root / name).is_dir()
        else [root / name])
    )  # fmt: skip
    digest = hashlib.sha256()
    for path in (p for p in files if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
