"""Noisy waves, labelled by their frequency: a generated 1D dataset to train conv nets on."""

from __future__ import annotations

import math

import torch


def waves(
    n: int = 2400, length: int = 64, classes: int = 8, noise: float = 1.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test): sin waves of `classes` frequencies at random phases,
    plus Gaussian noise, one channel each; three quarters of them for training."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    phase = 2 * math.pi * torch.rand(n, 1, generator=g)
    t = torch.arange(length).float()
    cycles = (y.float() + 1).unsqueeze(1)  # class k: k + 1 cycles over the sequence
    x = torch.sin(2 * math.pi * cycles * t / length + phase)
    x = (x + noise * torch.randn(n, length, generator=g)).unsqueeze(1)
    k = 3 * n // 4
    return x[:k], y[:k], x[k:], y[k:]
