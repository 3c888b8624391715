"""A DenseNet-style family of 1D conv nets (Huang et al. 2017, *Densely Connected Convolutional
Networks*): every layer of a stage sees the outputs of all the layers before it in that stage,
concatenated, so each layer's input has a short path to the loss, as a residual net's does.

    stem: conv 3, `width` channels
    3 stages of 2n layers: x <- concat(x, g(BN(conv3(x))))   `growth` channels a layer
    between stages: a 1x1 conv back to 2·width channels, then average-pool by 2
    head: global average pool, Linear

Depth counts the weight layers on the main path: stem + 6n + classifier = 6n + 2, the depths
of resbench's conv1d nets, so the two sweep side by side. The 1x1 transitions are left out of
the count, as resbench leaves out option B's projections.

`model.options`: `growth`, the channels each layer adds (default: `width`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

archs = ("dense",)


class DenseLayer(nn.Module):
    """x -> concat(x, relu(BN(conv3(x))))."""

    def __init__(self, channels: int, growth: int, batch_norm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, growth, 3, padding=1, bias=not batch_norm)
        self.norm = nn.BatchNorm1d(growth) if batch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, torch.relu(self.norm(self.conv(x)))], dim=1)


def build(cfg: Any, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The net `cfg` describes: its depth, width, batch_norm, and options.growth."""
    if cfg.arch != "dense":
        raise ValueError(f"depthlab builds arch dense, not {cfg.arch!r}")
    n = (cfg.depth - 2) // 6
    width, bn = cfg.width, cfg.batch_norm
    growth = int(cfg.options.get("growth", width))
    layers: list[nn.Module] = [nn.Conv1d(input_shape[0], width, 3, padding=1), nn.ReLU()]
    channels = width
    for stage in range(3):
        for _ in range(2 * n):
            layers.append(DenseLayer(channels, growth, bn))
            channels += growth
        if stage < 2:  # a transition: back to 2 * width channels, half the length
            layers += [nn.Conv1d(channels, 2 * width, 1), nn.AvgPool1d(2)]
            channels = 2 * width
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def _six_n_plus_two(depth: int) -> bool:
    return depth >= 8 and (depth - 2) % 6 == 0


# What resbench reads off the builder to validate a sweep before anything trains.
build.archs = archs  # type: ignore[attr-defined]
build.depths = _six_n_plus_two  # type: ignore[attr-defined]
build.depth_rule = "6n+2 with n >= 1"  # type: ignore[attr-defined]
build.input_shape = (1, 64)  # type: ignore[attr-defined]
build.options = ("growth",)  # type: ignore[attr-defined]
