"""Depth-μP: each residual branch multiplied by a function of depth, and Adam's learning rate
for the blocks that goes with it (`model.branch_multiplier`).

L is the number of residual blocks in the net (an mlp of depth D has (D − 2)/2, a 6n+2 conv
net 3n); L0 is `model.branch_base_depth`, α `model.branch_exponent`.

| branch_multiplier | a block adds       | its Adam lr          | its Adam ε      | source         |
|-------------------|--------------------|----------------------|-----------------|----------------|
| none              | F(a)               | η                    | ε               |                |
| inv_sqrt_depth    | F(a) / √L          | η / √L               | ε / √L          | Yang; Bordelon |
| depth_power       | (L / L0)^−α · F(a) | η · (L / L0)^(α − 1) | ε · (L / L0)^−α | Dey (α ½ to 1) |

Papers: Yang, Yu, Zhu & Hayou 2023, Tensor Programs VI: Feature Learning in Infinite-Depth
Neural Networks (Depth-μP: branch multiplier a/√L, and with Adam the hidden weights' learning
rate η/√L); Bordelon, Noci, Li, Hanin & Pehlevan 2023, Depthwise Hyperparameter Transfer in
Residual Networks (1/√L branches); Dey et al. 2025, Don't be lazy: CompleteP enables
compute-efficient deep transformers ((L/L0)^−α branches, Adam's hidden learning rate
η·(L/L0)^(α−1); α = ½ is Depth-μP, α = 1 CompleteP). With α = ½ and L0 = 1, depth_power is
inv_sqrt_depth.

The learning-rate rule is the papers' for Adam (and AdamW): it applies to every parameter of a
residual block but its shortcut (the branch's weights, biases, norms and scalars); the stem and
the classifier keep η. For SGD the papers keep η whatever the depth (1/√L branches), so SGD's
learning rate is left as it is. Adam's ε of the same parameters is multiplied by the branch
multiplier, (L/L0)^−α, as CompleteP's code does for its hidden layers (`model.branch_eps:
scaled`, the default with a multiplier): the branch's gradients shrink with the multiplier, and
an ε that did not would come to dominate Adam's denominator at depth. `unscaled` keeps ε as it
is, which is what runs recorded before the option did (their configs say null). Weight decay
is not rescaled.

Where the multiplier sits in each block is `resbench.models.blocks`' one line that adds the
branch: `self.multiplier(branch) + shortcut`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from resbench.models.blocks import Block, FixupBlock, ResidualUnit

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig


class BranchMultiplier(nn.Module):
    """Multiplies a residual branch by a constant (not learned)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, branch: torch.Tensor) -> torch.Tensor:
        return branch * self.value

    def extra_repr(self) -> str:
        return f"{self.value:.6g}"


def residual_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks of `model` that add a branch to their shortcut, input to output."""
    return [
        m
        for m in model.modules()
        if isinstance(m, (ResidualUnit, FixupBlock))
        or (isinstance(m, Block) and m.shortcut is not None)
    ]


def exponent_and_base(cfg: ModelConfig) -> tuple[float, int]:
    """(α, L0) of the multiplier (L/L0)^−α: inv_sqrt_depth is (½, 1); none is (0, 1)."""
    if cfg.branch_multiplier == "inv_sqrt_depth":
        return 0.5, 1
    if cfg.branch_multiplier == "depth_power":
        assert cfg.branch_exponent is not None and cfg.branch_base_depth is not None
        return cfg.branch_exponent, cfg.branch_base_depth
    return 0.0, 1


def multiplier(cfg: ModelConfig, blocks: int) -> float:
    """The branch multiplier (L/L0)^−α of a net of `blocks` residual blocks."""
    alpha, base = exponent_and_base(cfg)
    return (blocks / base) ** -alpha


def adam_lr_factor(cfg: ModelConfig, blocks: int) -> float:
    """The factor on Adam's learning rate of the blocks' parameters: (L/L0)^(α − 1), or 1."""
    alpha, base = exponent_and_base(cfg)
    return 1.0 if cfg.branch_multiplier == "none" else (blocks / base) ** (alpha - 1)


def adam_eps_factor(cfg: ModelConfig, blocks: int) -> float:
    """The factor on Adam's ε of the blocks' parameters: (L/L0)^−α, the branch multiplier."""
    return multiplier(cfg, blocks)


def scale_branches(model: nn.Module, cfg: ModelConfig) -> None:
    """Set every residual block's branch multiplier from the net's depth (nothing for none)."""
    if cfg.branch_multiplier == "none":
        return
    blocks = residual_blocks(model)
    value = multiplier(cfg, len(blocks))
    for block in blocks:
        block.multiplier = BranchMultiplier(value)
