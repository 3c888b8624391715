"""Shared fixtures: a private dataset cache and tiny sweeps that train in well under a second."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def checkout_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that must import resbench from this checkout.

    An installed resbench (an editable install of another checkout, say) would otherwise win.
    """
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def pytest_configure(config: pytest.Config) -> None:
    # Generated datasets go to a private cache unless the caller chose one.
    os.environ.setdefault("RESBENCH_CACHE", tempfile.mkdtemp(prefix="resbench-cache-"))
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)  # small nets: one thread is fastest and deterministic


TINY_SWEEP = """\
name: tiny
description: a tiny synthetic sweep for tests
dataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}
model: {family: conv1d, width: 4}
train: {epochs: 2, batch_size: 16, lr: 0.05, eval_every: 2, device: cpu}
grid:
  depth: [8, 14]
  arch: [plain, residual]
  seed: [0, 1]
"""


@pytest.fixture
def tiny_sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SWEEP)
    return path
