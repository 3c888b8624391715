"""The built-in families, built from whichever block the arch names: mlp, conv1d, cifar.

Every network is `nn.Sequential(stem, *blocks, head)`. How a family lays out its blocks is
its own (the mlp: one width throughout; conv1d and cifar: three stages of n blocks, widths w,
2w, 4w, stride 2 entering stages 2 and 3, 6n+2 layers, or 9n+2 with bottleneck blocks whose
outputs are 4 times as wide); what a block, a stem and a head are is the arch's (`ARCHS`).

| family | input      | depth counts                                | valid depths       |
|--------|------------|---------------------------------------------|--------------------|
| mlp    | any, flat  | Linear layers: stem + 2 per block + head    | 4, 6, 8, ...       |
| conv1d | (C, L)     | 6n+2: stem + 3 stages x n blocks x 2 + fc    | 8, 14, 20, 26, ... |
| cifar  | (C, H, W)  | 6n+2, as conv1d with 3x3 convs (the paper's) | 8, 14, 20, 26, ... |

With bottleneck blocks (conv1d, cifar) depth is 9n+2. Shortcuts, gates and batch norms are not
counted. The paper's CIFAR-10 nets (width 16, shortcut option A) and the pre-activation
bottleneck nets of He et al. 2016 (shortcut option B), and their parameters, as tested:

| depth  | 20    | 32    | 44    | 56    | 110  | 1202  | preact 164 | preact 1001     |
|--------|-------|-------|-------|-------|------|-------|------------|-----------------|
| params | 0.27M | 0.46M | 0.66M | 0.85M | 1.7M | 19.4M | 1.7M       | 10.33M (10.2M*) |

* the weight layers alone, batch norm's scales and shifts aside: how the 2016 paper counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from resbench.models.blocks import (
    Block,
    Bottleneck,
    FixupBlock,
    HighwayBlock,
    PreActBlock,
    ReZeroBlock,
    SkipInitBlock,
)
from resbench.models.depth_scaling import scale_branches
from resbench.models.init import initialise
from resbench.models.layers import Bias, Parts
from resbench.models.registry import get_family

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig

EXPANSION = 4  # a bottleneck block's output is 4 times as wide as its 3-wide layer


def _shapes(
    c_in: int, c_out: int, stride: int, bottleneck: bool
) -> list[tuple[int, int, int, int]]:
    """The branch's weight layers as (in, out, kernel, stride): 3, 3 or, bottleneck, 1, 3, 1."""
    if not bottleneck:
        return [(c_in, c_out, 3, stride), (c_out, c_out, 3, 1)]
    mid = c_out // EXPANSION
    return [(c_in, mid, 1, 1), (mid, mid, 3, stride), (mid, c_out, 1, 1)]


# --------------------------------------------------------------------------- blocks by arch
# Each: (parts, c_in, c_out, stride, bottleneck) -> a block. The order in which layers are
# made is part of what a seed means (constructors draw random numbers): keep it.


def _branch(
    parts: Parts, c_in: int, c_out: int, stride: int, bottleneck: bool, pre: bool = False
) -> tuple[list[nn.Module], list[nn.Module]]:
    """A branch's weight layers, then their norms (each before its layer with `pre`, else
    after it)."""
    shapes = _shapes(c_in, c_out, stride, bottleneck)
    layers = [parts.weight(i, o, k, s) for i, o, k, s in shapes]
    return layers, [parts.norm(i if pre else o) for i, o, _, _ in shapes]


def _plain_or_residual(residual: bool) -> Callable[..., nn.Module]:
    def make(parts: Parts, c_in: int, c_out: int, stride: int, bottleneck: bool) -> nn.Module:
        shortcut = parts.skip(c_in, c_out, stride) if residual else None
        layers, norms = _branch(parts, c_in, c_out, stride, bottleneck)
        if bottleneck:
            return Bottleneck(layers, norms, shortcut, parts.act())
        return Block(layers[0], norms[0], layers[1], norms[1], shortcut, parts.act())

    return make


def _branched(cls: type[nn.Module], pre: bool) -> Callable[..., nn.Module]:
    """A maker of blocks whose norms sit before their layers (`pre`) or after them."""

    def make(parts: Parts, c_in: int, c_out: int, stride: int, bottleneck: bool) -> nn.Module:
        shortcut = parts.skip(c_in, c_out, stride)
        layers, norms = _branch(parts, c_in, c_out, stride, bottleneck, pre)
        return cls(layers, norms, shortcut, parts.act())

    return make


def _highway(parts: Parts, c_in: int, c_out: int, stride: int, bottleneck: bool) -> nn.Module:
    shortcut = parts.skip(c_in, c_out, stride)
    layers, norms = _branch(parts, c_in, c_out, stride, bottleneck)
    gate = parts.weight(c_in, c_out, 1, stride, bias=True)
    return HighwayBlock(layers, norms, shortcut, parts.act(), gate)


def _fixup(parts: Parts, c_in: int, c_out: int, stride: int, bottleneck: bool) -> nn.Module:
    shortcut = parts.skip(c_in, c_out, stride)
    shapes = _shapes(c_in, c_out, stride, bottleneck)
    # Bias-free layers: Fixup's scalar biases take their place.
    return FixupBlock(
        [parts.weight(i, o, k, s, bias=False) for i, o, k, s in shapes], shortcut, parts.act()
    )


# --------------------------------------------------------------------------- stems and heads


def _stem(parts: Parts, c_in: int, c_out: int) -> nn.Module:
    """W -> N -> g (the mlp flattens first)."""
    return nn.Sequential(
        *parts.flatten(), parts.weight(c_in, c_out), parts.norm(c_out), parts.act()
    )


def _bare_stem(parts: Parts, c_in: int, c_out: int) -> nn.Module:
    """W alone: the first pre-activation block normalises and activates its input."""
    return nn.Sequential(*parts.flatten(), parts.weight(c_in, c_out))


def _fixup_stem(parts: Parts, c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(
        *parts.flatten(), parts.weight(c_in, c_out, bias=False), Bias(), parts.act()
    )


def _head(parts: Parts, c: int, classes: int) -> nn.Module:
    """Pool (convolutions) and the classifier."""
    if not parts.dims:
        return nn.Linear(c, classes)
    return nn.Sequential(*parts.pool(), nn.Linear(c, classes))


def _preact_head(parts: Parts, c: int, classes: int) -> nn.Module:
    """N -> g, then pool and classify: pre-activation nets end as He et al. 2016's do."""
    return nn.Sequential(parts.norm(c), parts.act(), *parts.pool(), nn.Linear(c, classes))


def _fixup_head(parts: Parts, c: int, classes: int) -> nn.Module:
    return nn.Sequential(*parts.pool(), Bias(), nn.Linear(c, classes))


@dataclass(frozen=True)
class ArchParts:
    """How an arch makes a network's blocks, stem and head."""

    block: Callable[..., nn.Module]
    stem: Callable[[Parts, int, int], nn.Module] = _stem
    head: Callable[[Parts, int, int], nn.Module] = _head


ARCHS: dict[str, ArchParts] = {
    "plain": ArchParts(_plain_or_residual(residual=False)),
    "residual": ArchParts(_plain_or_residual(residual=True)),
    "preact": ArchParts(_branched(PreActBlock, pre=True), _bare_stem, _preact_head),
    "highway": ArchParts(_highway),
    "fixup": ArchParts(_fixup, _fixup_stem, _fixup_head),
    "skipinit": ArchParts(_branched(SkipInitBlock, pre=True), _bare_stem, _preact_head),
    "rezero": ArchParts(_branched(ReZeroBlock, pre=False)),
}


# --------------------------------------------------------------------------- the families


def mlp(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The lecture's fully connected network: depth = Linear layers = stem + 2 per block + head."""
    parts, arch, w = Parts.of(cfg, dims=0), ARCHS[cfg.arch], cfg.width
    blocks = [arch.block(parts, w, w, 1, False) for _ in range((cfg.depth - 2) // 2)]
    stem = arch.stem(parts, math.prod(input_shape), w)
    return nn.Sequential(stem, *blocks, arch.head(parts, w, num_classes))


def conv1d(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The paper's 6n+2 CIFAR net in one dimension: 3 stages of n blocks, widths w, 2w, 4w."""
    if len(input_shape) != 2:
        raise ValueError(f"conv1d needs inputs shaped (channels, length), got {input_shape}")
    return stages(cfg, input_shape[0], num_classes, dims=1)


def cifar(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """The paper's 6n+2 CIFAR nets (section 4.2): 3x3 convs, stages of w, 2w, 4w filters."""
    if len(input_shape) != 3:
        raise ValueError(f"cifar needs images shaped (channels, height, width), got {input_shape}")
    return stages(cfg, input_shape[0], num_classes, dims=2)


def stages(cfg: ModelConfig, in_channels: int, num_classes: int, dims: int) -> nn.Sequential:
    """Stem, 3 stages of n blocks (stride 2 entering stages 2 and 3), pool, fc."""
    parts, arch = Parts.of(cfg, dims), ARCHS[cfg.arch]
    bottleneck = cfg.block == "bottleneck"
    n = (cfg.depth - 2) // (9 if bottleneck else 6)
    widths = [cfg.width, 2 * cfg.width, 4 * cfg.width]
    layers = [arch.stem(parts, in_channels, widths[0])]
    c_in = widths[0]
    for stage, width in enumerate(widths):
        c_out = width * EXPANSION if bottleneck else width
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(arch.block(parts, c_in, c_out, stride, bottleneck))
            c_in = c_out
    layers.append(arch.head(parts, c_in, num_classes))
    return nn.Sequential(*layers)


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The network `cfg` describes, initialised (seed torch first for reproducibility)."""
    family = get_family(cfg.family)
    model = family.builder()(cfg, input_shape, num_classes)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{family.build} returned a {type(model).__name__}, not a torch.nn.Module")
    if not family.user:  # user code initialises its own nets (resbench.models.plugin)
        initialise(model, cfg)
        scale_branches(model, cfg)
    return model
