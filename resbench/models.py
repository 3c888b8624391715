"""Models: the residual block of the lecture and the families of networks built from it.

    z1 = W1·a + b1    a1 = g(z1)    z2 = W2·a1 + b2    out = g(z2 + a)    (residual)
                                                       out = g(z2)        (plain)

With batch norm, z = BN(W·a) (no bias). The shortcut is added *before* the second ReLU, as in
He et al. 2015. A plain and a residual network of one family, depth and width have the same
layers and the same parameter count; they differ only in `Block.forward`'s shortcut line.

| family | input      | depth counts                             | valid depths      |
|--------|------------|------------------------------------------|-------------------|
| mlp    | any, flat  | Linear layers: stem + 2 per block + head | 4, 6, 8, ...      |
| conv1d | (C, L)     | 6n+2: stem + 3 stages x n blocks x 2 + fc | 8, 14, 20, 26, ... |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from resbench.sweep import ModelConfig


class Block(nn.Module):
    """Two weight layers; with a shortcut, a[l+2] = g(z[l+2] + a[l]), else a[l+2] = g(z[l+2])."""

    def __init__(
        self,
        layer1: nn.Module,
        norm1: nn.Module,
        layer2: nn.Module,
        norm2: nn.Module,
        shortcut: nn.Module | None,
    ) -> None:
        super().__init__()
        self.layer1, self.norm1 = layer1, norm1
        self.layer2, self.norm2 = layer2, norm2
        self.shortcut = shortcut

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        a1 = F.relu(self.norm1(self.layer1(a)))
        z2 = self.norm2(self.layer2(a1))
        if self.shortcut is not None:
            z2 = z2 + self.shortcut(a)  # the only difference between residual and plain
        return F.relu(z2)


class ZeroPadShortcut(nn.Module):
    """Option A of the paper: subsample by `stride`, zero-pad the new channels; no parameters."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        a = a[:, :, :: self.stride]
        return F.pad(a, (0, 0, 0, self.extra))  # (length: none, channels: append zeros)


def _norm(features: int, batch_norm: bool) -> nn.Module:
    """Batch norm over `features` channels, or nothing."""
    return nn.BatchNorm1d(features) if batch_norm else nn.Identity()


def _conv3(in_channels: int, out_channels: int, stride: int, bias: bool) -> nn.Conv1d:
    """Length-3 convolution, padding 1: keeps the length (halves it with stride 2)."""
    return nn.Conv1d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def _conv_shortcut(
    in_channels: int, out_channels: int, stride: int, option: str, batch_norm: bool
) -> nn.Module:
    """Identity where shapes agree; option A (zero pad) or B (1x1 projection) where they don't."""
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    if option == "A":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, 1, stride=stride, bias=not batch_norm),
        _norm(out_channels, batch_norm),
    )


def mlp(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The lecture's fully connected network: depth = Linear layers = stem + 2 per block + head."""
    w, bn = cfg.width, cfg.batch_norm
    in_features = 1
    for size in input_shape:
        in_features *= size
    blocks = [
        Block(
            nn.Linear(w, w, bias=not bn),
            _norm(w, bn),
            nn.Linear(w, w, bias=not bn),
            _norm(w, bn),
            nn.Identity() if cfg.arch == "residual" else None,
        )
        for _ in range((cfg.depth - 2) // 2)
    ]
    return nn.Sequential(
        nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, w, bias=not bn), _norm(w, bn), nn.ReLU()
        ),
        *blocks,
        nn.Linear(w, num_classes),
    )


def conv1d(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The paper's 6n+2 CIFAR net in one dimension: 3 stages of n blocks, widths w, 2w, 4w."""
    if len(input_shape) != 2:
        raise ValueError(f"conv1d needs inputs shaped (channels, length), got {input_shape}")
    n, bn = (cfg.depth - 2) // 6, cfg.batch_norm
    widths = [cfg.width, 2 * cfg.width, 4 * cfg.width]
    layers: list[nn.Module] = [
        nn.Sequential(_conv3(input_shape[0], widths[0], 1, not bn), _norm(widths[0], bn), nn.ReLU())
    ]
    c_in = widths[0]
    for stage, c_out in enumerate(widths):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            shortcut = None
            if cfg.arch == "residual":
                shortcut = _conv_shortcut(c_in, c_out, stride, cfg.shortcut, bn)
            layers.append(
                Block(
                    _conv3(c_in, c_out, stride, not bn),
                    _norm(c_out, bn),
                    _conv3(c_out, c_out, 1, not bn),
                    _norm(c_out, bn),
                    shortcut,
                )
            )
            c_in = c_out
    layers.append(
        nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(c_in, num_classes))
    )
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class Family:
    """A family of networks: how depth is counted, which depths exist, and how to build one."""

    name: str
    rule: str  # the depth rule in words, for error messages
    is_valid_depth: Callable[[int], bool]
    examples: tuple[int, ...]
    build: Callable[[ModelConfig, tuple[int, ...], int], nn.Module]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("mlp", "an even number >= 4", lambda d: d >= 4 and d % 2 == 0, (4, 6, 8, 10), mlp),
        Family(
            "conv1d",
            "6n+2 with n >= 1",
            lambda d: d >= 8 and (d - 2) % 6 == 0,
            (8, 14, 20, 26),
            conv1d,
        ),
    )
}


def depth_problem(family: str, depth: int) -> str | None:
    """Why `family` cannot be built at `depth`, or None when it can."""
    f = FAMILIES[family]
    if f.is_valid_depth(depth):
        return None
    shown = ", ".join(map(str, f.examples))
    return f"{family} depth must be {f.rule} ({shown}, ...)"


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The network `cfg` describes, He-initialised (seed torch first for reproducibility)."""
    model = FAMILIES[cfg.family].build(cfg, input_shape, num_classes)
    _init(model, cfg.zero_init_residual)
    return model


def _init(model: nn.Module, zero_init_residual: bool) -> None:
    """He init for hidden weight layers, unit batch norm; optionally zero each branch's scale."""
    # The classifier keeps PyTorch's smaller default init (as torchvision's ResNets do): He
    # init there makes the first logits large and the first steps of deep nets erratic.
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    for m in model.modules():
        if isinstance(m, nn.Conv1d | nn.Linear) and m is not head:
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        # Goyal et al. 2017: each residual block starts as the identity, which is what lets
        # deep residual MLPs train; plain blocks have no identity to fall back on, so skip them.
        for m in model.modules():
            if (
                isinstance(m, Block)
                and m.shortcut is not None
                and isinstance(m.norm2, nn.BatchNorm1d)
            ):
                nn.init.zeros_(m.norm2.weight)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
