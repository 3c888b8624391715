"""The pieces networks are made of: weight layers, norms, activations, shortcuts, by one factory.

`Parts` makes the layers of one network: Linear layers (`dims` 0, the mlp) or convolutions over
1 or 2 spatial axes (conv1d, cifar), with or without batch norm, with its activation and its
shortcut option. Blocks and families ask it for layers and never name a layer class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig

# Layers by number of spatial dimensions: 0 for flat vectors, 1 for sequences, 2 for images.
CONV = {1: nn.Conv1d, 2: nn.Conv2d}
BATCH_NORM = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d}
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
WEIGHT_LAYERS = (*CONV.values(), nn.Linear)


class ZeroPadShortcut(nn.Module):
    """Option A of the paper: subsample by `stride`, zero-pad the new channels; no parameters.

    Works on (N, C, L) and (N, C, H, W) alike: every spatial axis is subsampled.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        spatial = a.dim() - 2
        a = a[(slice(None), slice(None), *[slice(None, None, self.stride)] * spatial)]
        # F.pad counts from the last axis: spatial axes get nothing, channels get zeros appended.
        return F.pad(a, (0, 0) * spatial + (0, self.extra))


class Bias(nn.Module):
    """A learnable scalar added to its input, started at 0 (Fixup's biases)."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a + self.bias


@dataclass(frozen=True)
class Parts:
    """The layer factory of one network: its kind of layer, norm, activation and shortcut."""

    dims: int  # 0: Linear layers; 1, 2: convolutions over that many spatial axes
    batch_norm: bool
    activation: str = "relu"
    shortcut: str = "A"

    @classmethod
    def of(cls, cfg: ModelConfig, dims: int) -> Parts:
        return cls(dims, cfg.batch_norm, cfg.activation, cfg.shortcut)

    def weight(
        self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, bias: bool | None = None
    ) -> nn.Module:
        """A weight layer; a kernel-3 convolution keeps the size (halves it with stride 2).

        Without batch norm it has a bias unless told otherwise; with it, the norm's shift serves.
        """
        bias = not self.batch_norm if bias is None else bias
        if self.dims == 0:
            return nn.Linear(c_in, c_out, bias=bias)
        return CONV[self.dims](c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=bias)

    def norm(self, features: int) -> nn.Module:
        """Batch norm over `features` channels, or nothing."""
        return BATCH_NORM[self.dims](features) if self.batch_norm else nn.Identity()

    def act(self) -> nn.Module:
        return ACTIVATIONS[self.activation]()

    def skip(self, c_in: int, c_out: int, stride: int) -> nn.Module:
        """Identity where shapes agree; option A (zero pad) or B (1x1 projection) where not."""
        if c_in == c_out and stride == 1:
            return nn.Identity()
        if self.shortcut == "A":
            return ZeroPadShortcut(c_in, c_out, stride)
        return nn.Sequential(self.weight(c_in, c_out, 1, stride), self.norm(c_out))

    def flatten(self) -> list[nn.Module]:
        """What a stem starts with: flattening for Linear layers, nothing for convolutions."""
        return [] if self.dims else [nn.Flatten()]

    def pool(self) -> list[nn.Module]:
        """Global average pooling to a flat vector (nothing for Linear layers)."""
        return [POOL[self.dims](1), nn.Flatten()] if self.dims else []
