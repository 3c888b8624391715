"""The transformer's archs: how each sublayer F (attention or MLP) joins the residual stream,
and the constants their papers compute from the depth (`resbench.models.transformer` has the
table of formulas and papers, and builds the nets).

Every join keeps F as `branch` and its LayerNorm (or nn.Identity) as `norm`; `gain`
multiplies the value, output and MLP weights at initialisation (1: Xavier's).
"""

from __future__ import annotations

import math

import torch
from torch import nn

# --------------------------------------------------------------------------- the arch constants


def deepnorm_alpha(blocks: int) -> float:
    """DeepNorm's shortcut multiplier, (2N)^¼ (Wang et al. 2022, encoder)."""
    return (2 * blocks) ** 0.25


def deepnorm_beta(blocks: int) -> float:
    """DeepNorm's gain on the value, output and MLP weights, (8N)^−¼."""
    return (8 * blocks) ** -0.25


def admin_omega(blocks: int) -> float:
    """Admin's shortcut multiplier at the start, from the 2N sublayers: √((2N+1)/ln(2N+1) − 1),
    admin-torch's `calculate_init` for an output change O(log N)."""
    sublayers = 2 * blocks
    return math.sqrt((sublayers + 1) / math.log(sublayers + 1) - 1)


def tfixup_gain(blocks: int) -> float:
    """T-Fixup's factor on the encoder's value, output and MLP weights, 0.67·N^−¼."""
    return 0.67 * blocks**-0.25


def tfixup_embedding_gain(blocks: int) -> float:
    """T-Fixup's factor on the input embeddings, (9N)^−¼."""
    return (9 * blocks) ** -0.25


def layer_norm_scale(layer: int) -> float:
    """LayerNorm Scaling's factor on block l's LayerNorms (l from 1), 1/√l (Sun et al. 2025)."""
    return layer**-0.5


# --------------------------------------------------------------------------- the joins


class Sublayer(nn.Module):
    """A sublayer F (attention or MLP) joined to the stream, with its LayerNorm (or none), in
    block `layer` (from 1) of a net of `blocks`."""

    gain = 1.0

    def __init__(self, branch: nn.Module, norm: nn.Module, blocks: int, layer: int = 1) -> None:
        super().__init__()
        self.branch, self.norm = branch, norm


class PostLN(Sublayer):
    """Post-LN (Vaswani et al. 2017): x ← LN(x + F(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.branch(x))  # the residual addition, then the LayerNorm


class PreLN(Sublayer):
    """Pre-LN (Xiong et al. 2020): x ← x + F(LN(x)), nothing after the addition."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(self.norm(x))


class LNScaling(Sublayer):
    """LayerNorm Scaling (Sun et al. 2025, The Curse of Depth in Large Language Models): Pre-LN
    with each LayerNorm's output scaled by 1/√l in block l, x ← x + F(LN(x)/√l), so that the
    stream's variance grows polynomially with depth instead of exponentially."""

    def __init__(self, branch: nn.Module, norm: nn.Module, blocks: int, layer: int = 1) -> None:
        super().__init__(branch, norm, blocks, layer)
        self.scale = layer_norm_scale(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(self.norm(x) * self.scale)


class DeepNorm(Sublayer):
    """DeepNorm (Wang et al. 2022): x ← LN(α·x + F(x)), α = (2N)^¼ a constant; value, output
    and MLP weights start Xavier with gain β = (8N)^−¼."""

    def __init__(self, branch: nn.Module, norm: nn.Module, blocks: int, layer: int = 1) -> None:
        super().__init__(branch, norm, blocks, layer)
        self.alpha, self.gain = deepnorm_alpha(blocks), deepnorm_beta(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.alpha * x + self.branch(x))  # α on the shortcut, as in the paper


class Admin(Sublayer):
    """Admin (Liu et al. 2020): x ← LN(ω⊙x + F(x)), ω a learnable vector started at
    `admin_omega(N)` in every entry (or profiled: `profile_admin_omega`)."""

    def __init__(self, branch: nn.Module, norm: nn.Module, blocks: int, layer: int = 1) -> None:
        super().__init__(branch, norm, blocks, layer)
        width = next(p for p in branch.parameters()).shape[-1]  # the stream's, F's input
        self.omega = nn.Parameter(torch.full((width,), admin_omega(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.omega * x + self.branch(x))


class ReZero(Sublayer):
    """ReZero (Bachlechner et al. 2020): x ← x + α·F(x), α learnable and 0 at the start, no
    LayerNorm: each sublayer starts as the identity. One α per sublayer here; the net shares
    one between a block's two sublayers where `rezero_alpha` is `layer` (`share_alpha`)."""

    def __init__(self, branch: nn.Module, norm: nn.Module, blocks: int, layer: int = 1) -> None:
        super().__init__(branch, norm, blocks, layer)
        self.alpha = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.alpha * self.branch(x)


class TFixup(Sublayer):
    """T-Fixup (Huang et al. 2020): x ← x + F(x) without LayerNorm; value, output and MLP
    weights scaled by 0.67·N^−¼ at the start (and the embeddings by (9N)^−¼)."""

    def __init__(self, branch: nn.Module, norm: nn.Module, blocks: int, layer: int = 1) -> None:
        super().__init__(branch, norm, blocks, layer)
        self.gain = tfixup_gain(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class Plain(Sublayer):
    """No residual addition: x ← LN(F(x)), Post-LN's sublayer less its shortcut."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.branch(x))


SUBLAYERS: dict[str, type[Sublayer]] = {
    "postln": PostLN,
    "preln": PreLN,
    "deepnorm": DeepNorm,
    "admin": Admin,
    "rezero": ReZero,
    "tfixup": TFixup,
    "plain": Plain,
    "lnscaling": LNScaling,
}


def share_alpha(first: ReZero, second: ReZero) -> None:
    """One α for both sublayers of a block, the ReZero code's `resweight`: the second's own
    (unused, 0, drawn from no random stream) is replaced by the first's."""
    second.alpha = first.alpha


@torch.no_grad()
def profile_admin_omega(stem: nn.Module, blocks: list[nn.Module], x: torch.Tensor) -> None:
    """Admin's profiled ω (Liu et al. 2020; their Transformer-Clinic code's adaptive-profiling):
    one forward pass on the batch `x`, sublayer by sublayer in order, each ω_i set to a running
    ratio r before its sublayer runs, r starting at 1 and then r ← √(Var[ω_i·x] + Var[F_i(x)])
    over every entry of the batch, x the sublayer's input: the scale the stream would have
    reached without its LayerNorms."""
    h, ratio = stem(x), 1.0
    for block in blocks:
        for join in (block.attention, block.mlp):
            join.omega.fill_(ratio)
            f = join.branch(h)
            shortcut = ratio * h
            ratio = math.sqrt(shortcut.var(unbiased=False).item() + f.var(unbiased=False).item())
            h = join.norm(shortcut + f)
