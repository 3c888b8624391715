"""Models: the residual block of the lecture and the families of networks built from it.

    z1 = W1·a + b1    a1 = g(z1)    z2 = W2·a1 + b2    out = g(z2 + a)    (residual)
                                                       out = g(z2)        (plain)

With batch norm, z = BN(W·a) (no bias). The shortcut is added *before* the second ReLU, as in
He et al. 2015. With shortcut A (no parameters), a plain and a residual network of one family,
depth and width have the same layers, parameters and, for one seed, initial weights: they
differ only in `Block.forward`'s shortcut line. Shortcut B's 1x1 projections add parameters,
and their draws move the random stream, so the residual net then starts from other weights.

| family | input      | depth counts                             | valid depths      |
|--------|------------|------------------------------------------|-------------------|
| mlp    | any, flat  | Linear layers: stem + 2 per block + head | 4, 6, 8, ...      |
| conv1d | (C, L)     | 6n+2: stem + 3 stages x n blocks x 2 + fc | 8, 14, 20, 26, ... |
| cifar  | (C, H, W)  | 6n+2, as conv1d with 3x3 convs (the paper's) | 8, 14, 20, 26, ... |

The paper's CIFAR-10 nets (width 16, shortcut option A) and their parameters, as tested:

| depth | 20    | 32    | 44    | 56    | 110  | 1202  |
|-------|-------|-------|-------|-------|------|-------|
| params| 0.27M | 0.46M | 0.66M | 0.85M | 1.7M | 19.4M |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from resbench.families import FAMILIES, depth_problem

if TYPE_CHECKING:
    from resbench.spec import ModelConfig


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


# Layers by number of spatial dimensions: 1 for sequences, 2 for images.
CONV = {1: nn.Conv1d, 2: nn.Conv2d}
BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}


def _norm(features: int, batch_norm: bool, dims: int = 1) -> nn.Module:
    """Batch norm over `features` channels (of 1D or 2D maps), or nothing."""
    return BATCH_NORM[dims](features) if batch_norm else nn.Identity()


def _conv3(
    in_channels: int, out_channels: int, stride: int, bias: bool, dims: int = 1
) -> nn.Module:
    """Size-3 convolution, padding 1: keeps the size (halves it with stride 2)."""
    return CONV[dims](in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def _conv_shortcut(
    in_channels: int, out_channels: int, stride: int, option: str, batch_norm: bool, dims: int = 1
) -> nn.Module:
    """Identity where shapes agree; option A (zero pad) or B (1x1 projection) where they don't."""
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    if option == "A":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return nn.Sequential(
        CONV[dims](in_channels, out_channels, 1, stride=stride, bias=not batch_norm),
        _norm(out_channels, batch_norm, dims),
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
    return six_n_plus_two(cfg, input_shape[0], num_classes, dims=1)


def cifar(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The paper's 6n+2 CIFAR nets (section 4.2): 3x3 convs, stages of w, 2w, 4w filters."""
    if len(input_shape) != 3:
        raise ValueError(f"cifar needs images shaped (channels, height, width), got {input_shape}")
    return six_n_plus_two(cfg, input_shape[0], num_classes, dims=2)


def six_n_plus_two(
    cfg: ModelConfig, in_channels: int, num_classes: int, dims: int
) -> nn.Sequential:
    """Stem, 3 stages of n = (depth-2)/6 blocks (stride 2 entering stages 2 and 3), pool, fc."""
    n, bn = (cfg.depth - 2) // 6, cfg.batch_norm
    widths = [cfg.width, 2 * cfg.width, 4 * cfg.width]
    layers: list[nn.Module] = [
        nn.Sequential(
            _conv3(in_channels, widths[0], 1, not bn, dims), _norm(widths[0], bn, dims), nn.ReLU()
        )
    ]
    c_in = widths[0]
    for stage, c_out in enumerate(widths):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            shortcut = None
            if cfg.arch == "residual":
                shortcut = _conv_shortcut(c_in, c_out, stride, cfg.shortcut, bn, dims)
            layers.append(
                Block(
                    _conv3(c_in, c_out, stride, not bn, dims),
                    _norm(c_out, bn, dims),
                    _conv3(c_out, c_out, 1, not bn, dims),
                    _norm(c_out, bn, dims),
                    shortcut,
                )
            )
            c_in = c_out
    pool = nn.AdaptiveAvgPool1d(1) if dims == 1 else nn.AdaptiveAvgPool2d(1)
    layers.append(nn.Sequential(pool, nn.Flatten(), nn.Linear(c_in, num_classes)))
    return nn.Sequential(*layers)


# How each family in resbench.families is built: (config, input shape, classes) -> network.
BUILDERS: dict[str, Callable[[ModelConfig, tuple[int, ...], int], nn.Module]] = {
    "mlp": mlp,
    "conv1d": conv1d,
    "cifar": cifar,
}


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The network `cfg` describes, He-initialised (seed torch first for reproducibility)."""
    model = BUILDERS[cfg.family](cfg, input_shape, num_classes)
    _init(model, cfg.zero_init_residual)
    return model


def _init(model: nn.Module, zero_init_residual: bool) -> None:
    """He init for hidden weight layers, unit batch norm; optionally zero each branch's scale."""
    # The classifier keeps PyTorch's smaller default init (as torchvision's ResNets do): He
    # init there makes the first logits large and the first steps of deep nets erratic.
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    for m in model.modules():
        if isinstance(m, (*CONV.values(), nn.Linear)) and m is not head:
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, tuple(BATCH_NORM.values())):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        # Goyal et al. 2017: each residual block starts as the identity, which is what lets
        # deep residual MLPs train; plain blocks have no identity to fall back on, so skip them.
        for m in model.modules():
            if (
                isinstance(m, Block)
                and m.shortcut is not None
                and isinstance(m.norm2, tuple(BATCH_NORM.values()))
            ):
                nn.init.zeros_(m.norm2.weight)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def profile(
    cfg: ModelConfig, input_shape: tuple[int, ...] | None = None, num_classes: int = 10
) -> tuple[int, int]:
    """(parameters, forward FLOPs for one example) of the network `cfg` describes.

    Built and run on the meta device: shapes only, no memory and no arithmetic, so even the
    1202-layer net is instant. FLOPs are those of convolutions and matrix products as
    torch's FlopCounterMode counts them (a multiply-add is 2); the family's natural input
    shape is used unless `input_shape` is given.
    """
    from torch.utils.flop_counter import FlopCounterMode

    shape = input_shape or FAMILIES[cfg.family].input_shape
    with torch.device("meta"):
        # No initialisation: it changes neither count, and on 1202 layers it is the slow part.
        model = BUILDERS[cfg.family](cfg, shape, num_classes)
    model.eval()  # batch norm on one example needs running statistics
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty(1, *shape, device="meta"))
    return count_parameters(model), counter.get_total_flops()


def size_table(
    family: str,
    depths: Sequence[int],
    archs: Sequence[str] = ("plain", "residual"),
    width: int | None = None,
    shortcut: str = "A",
    num_classes: int = 10,
) -> list[dict[str, int | str]]:
    """One row per (depth, arch): depth, arch, params, flops (forward, one example)."""
    from resbench import ResbenchError
    from resbench.spec import ModelConfig

    if family not in FAMILIES:
        raise ResbenchError(f"unknown family {family!r} (valid: {', '.join(FAMILIES)})")
    for arch in archs:
        if arch not in ("plain", "residual"):
            raise ResbenchError(f"unknown arch {arch!r} (valid: plain, residual)")
    if shortcut not in ("A", "B"):
        raise ResbenchError(f"unknown shortcut {shortcut!r} (valid: A, B)")
    for depth in depths:
        if problem := depth_problem(family, depth):
            raise ResbenchError(f"{problem} (got {depth})")
    options = {"family": family, "shortcut": shortcut} | ({"width": width} if width else {})
    rows: list[dict[str, int | str]] = []
    for depth in depths:
        for arch in archs:
            params, flops = profile(
                ModelConfig(depth=depth, arch=arch, **options), None, num_classes
            )
            rows.append({"depth": depth, "arch": arch, "params": params, "flops": flops})
    return rows
