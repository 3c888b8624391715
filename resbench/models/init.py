"""Initialisation: the weight-layer schemes by name (`model.init`), and the arch's own starts.

| init             | a hidden weight layer starts as                          | source           |
|------------------|----------------------------------------------------------|------------------|
| he               | N(0, gain²/fan_in), torch's gain for the activation      | He et al. 2015   |
| lecun            | N(0, 1/fan_in), whatever the activation (the μP papers'  | LeCun et al. 1998 |
|                  | standard parametrisation)                                |                  |
| orthogonal       | random orthogonal (a conv's kernel flattened) · gain      | Saxe et al. 2014 |
| delta_orthogonal | conv: zero but the centre tap, orthogonal · gain; Linear: | Xiao et al. 2018 |
|                  | as orthogonal                                            |                  |
| xavier           | N(0, gain²·2/(fan_in + fan_out)), torch's gain           | Glorot 2010      |

For the orthogonal schemes the gain is √2 for ReLU and 1 for tanh: Xiao et al.'s critical point
(σ_w² = 1, σ_b = 0) at which a deep tanh net keeps its input's norm and its Jacobian's spectrum
near 1 (dynamical isometry). Biases start at 0, batch norms at scale 1 and shift 0. The
classifier keeps PyTorch's smaller default init (as torchvision's ResNets do): He init there
makes the first logits large and the first steps of deep nets erratic. The highway gates keep
theirs too, and their bias (`resbench.models.blocks`). Then, by arch and option:

- zero_init_residual (Goyal et al. 2017): each residual branch's last batch-norm scale at 0;
- fixup (Zhang et al. 2019): the branch's last layer and the classifier at 0, the branch's
  other layers scaled by L^(-1/(2m-2)), L blocks of m layers.

Transformer nets (always `xavier`) start as `resbench.models.transformer` says, by arch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from resbench.models.blocks import Block, FixupBlock, HighwayBlock
from resbench.models.layers import BATCH_NORM, WEIGHT_LAYERS
from resbench.models.transformer import Transformer
from resbench.models.transformer import initialise as initialise_transformer

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig

ORTHOGONAL_GAIN = {"relu": math.sqrt(2.0), "tanh": 1.0}


def he(weight: torch.Tensor, activation: str) -> None:
    nn.init.kaiming_normal_(weight, nonlinearity=activation)


def lecun(weight: torch.Tensor, activation: str) -> None:
    """N(0, 1/fan_in) whatever the activation: the standard parametrisation of the μP papers."""
    nn.init.kaiming_normal_(weight, nonlinearity="linear")


def xavier(weight: torch.Tensor, activation: str) -> None:
    nn.init.xavier_normal_(weight, gain=nn.init.calculate_gain(activation))


def orthogonal(weight: torch.Tensor, activation: str) -> None:
    nn.init.orthogonal_(weight, gain=ORTHOGONAL_GAIN[activation])


def delta_orthogonal(weight: torch.Tensor, activation: str) -> None:
    """Zero everywhere but the kernel's centre tap, an orthogonal (out x in) matrix · gain."""
    if weight.dim() <= 2:
        orthogonal(weight, activation)
        return
    centre = tuple(size // 2 for size in weight.shape[2:])
    with torch.no_grad():
        weight.zero_()
        orthogonal(weight[(slice(None), slice(None), *centre)], activation)


SCHEMES: dict[str, Callable[[torch.Tensor, str], None]] = {
    "he": he,
    "lecun": lecun,
    "orthogonal": orthogonal,
    "delta_orthogonal": delta_orthogonal,
    "xavier": xavier,
}


def initialise(model: nn.Module, cfg: ModelConfig) -> None:
    """Every hidden weight layer by `cfg.init`, batch norms at 1 and 0, then the arch's starts."""
    if isinstance(model, Transformer):  # its archs' papers state their own starts, on Xavier's
        initialise_transformer(model)
        return
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    gates = {
        id(m) for b in model.modules() if isinstance(b, HighwayBlock) for m in b.gate.modules()
    }
    scheme = SCHEMES[cfg.init]
    for m in model.modules():
        if isinstance(m, WEIGHT_LAYERS) and m is not head and id(m) not in gates:
            scheme(m.weight, cfg.activation)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, tuple(BATCH_NORM.values())):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if cfg.zero_init_residual:
        # Goyal et al. 2017: each residual block starts as the identity, which is what lets
        # deep residual MLPs train; plain blocks have no identity to fall back on, so skip them.
        for m in model.modules():
            if (
                isinstance(m, Block)  # and Bottleneck, its three-layer kind
                and m.shortcut is not None
                and isinstance(m.branch_end, tuple(BATCH_NORM.values()))
            ):
                nn.init.zeros_(m.branch_end.weight)
    fixup(model, head)


def fixup(model: nn.Module, head: nn.Module) -> None:
    """Fixup's rescaling, where the model has Fixup blocks."""
    blocks = [m for m in model.modules() if isinstance(m, FixupBlock)]
    if not blocks:
        return
    with torch.no_grad():
        for block in blocks:
            *inner, last = block.layers
            factor = len(blocks) ** (-1.0 / (2 * len(block.layers) - 2))
            for layer in inner:
                layer.weight.mul_(factor)
            last.weight.zero_()
        head.weight.zero_()
        head.bias.zero_()
