"""The blocks: the lecture's residual block, and the literature's remedies for depth.

Notation: a is the block's input, W a weight layer, N its batch norm (nothing without batch
norm), g the activation (`model.activation`), s(a) the shortcut (the identity, or option A/B
where the shape changes), F(a) the branch. A basic branch has two weight layers (3-wide or
3x3); a bottleneck branch three (1, 3, 1: He et al. 2015, Fig. 5).

| arch     | a block computes                                     | source                    |
|----------|------------------------------------------------------|---------------------------|
| plain    | g(N2(W2·g(N1(W1·a))))                                 | He et al. 2015            |
| residual | g(N2(W2·g(N1(W1·a))) + s(a))                          | He et al. 2015            |
| preact   | s(a) + W2·g(N2(W1·g(N1(a)))); the net ends with g(N·) | He et al. 2016            |
| highway  | T·g(F(a)) + (1 − T)·s(a), T = σ(Wt·a + bt), bt = −1   | Srivastava et al. 2015    |
| fixup    | g(s(a) + m·F(a) + b): no norm, scalar biases, m = 1   | Zhang et al. 2019         |
| skipinit | s(a) + α·W2·g(N2(W1·g(N1(a)))), α = 0 at init         | De & Smith 2020           |
| rezero   | s(a) + α·N2(W2·g(N1(W1·a))), α = 0 at init            | Bachlechner et al. 2020   |

Papers: He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition; He et al.
2016, Identity Mappings in Deep Residual Networks; Srivastava, Greff & Schmidhuber 2015,
Highway Networks / Training Very Deep Networks; Zhang, Dauphin & Ma 2019, Fixup
Initialization: Residual Learning Without Normalization; De & Smith 2020, Batch Normalization
Biases Residual Blocks Towards the Identity Function in Deep Networks; Bachlechner et al.
2020, ReZero is All You Need: Fast Convergence at Large Depth.

plain and residual are `Block` (and `Bottleneck`): they differ in one line of `forward`.
Initial values that the papers state as part of the block (α = 0, Fixup's multiplier 1 and
biases 0, the highway gate's negative bias) are set here; weight-layer schemes, Fixup's
rescaling and zero_init_residual are `resbench.models.init`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# A block's parts off its main path, which depth does not count: its shortcut, its gate.
OFF_PATH = ("shortcut", "gate")
# Srivastava et al. 2015 start the transform gate's bias negative ("e.g. -1, -3") so that each
# block first carries its input. Their first example, -1, trained better here than -2 on
# MNIST-1D with batch norm (remedies recipe, one seed: 0.17 vs 0.32 train error at 8 layers,
# 0.77 vs 0.88 at 110); more negative still, shallow nets stay nearly linear.
HIGHWAY_GATE_BIAS = -1.0


class Block(nn.Module):
    """Two weight layers; with a shortcut, a[l+2] = g(z[l+2] + a[l]), else a[l+2] = g(z[l+2])."""

    def __init__(
        self,
        layer1: nn.Module,
        norm1: nn.Module,
        layer2: nn.Module,
        norm2: nn.Module,
        shortcut: nn.Module | None,
        act: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.layer1, self.norm1 = layer1, norm1
        self.layer2, self.norm2 = layer2, norm2
        self.shortcut = shortcut
        self.act = act if act is not None else nn.ReLU()
        self.multiplier: nn.Module = nn.Identity()  # of the branch: depth-μP's, where asked

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        a1 = self.act(self.norm1(self.layer1(a)))
        z2 = self.norm2(self.layer2(a1))
        if self.shortcut is not None:
            z2 = self.multiplier(z2) + self.shortcut(a)  # the only difference from plain
        return self.act(z2)

    @property
    def branch_end(self) -> nn.Module:
        """The branch's last norm (zero_init_residual zeroes its scale)."""
        return self.norm2


class Bottleneck(Block):
    """Block with three weight layers, 1-3-1 (He et al. 2015): g(z3 + a) or, plain, g(z3)."""

    def __init__(
        self,
        layers: Sequence[nn.Module],
        norms: Sequence[nn.Module],
        shortcut: nn.Module | None,
        act: nn.Module,
    ) -> None:
        super().__init__(layers[0], norms[0], layers[1], norms[1], shortcut, act)
        self.layer3, self.norm3 = layers[2], norms[2]

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        a1 = self.act(self.norm1(self.layer1(a)))
        a2 = self.act(self.norm2(self.layer2(a1)))
        z3 = self.norm3(self.layer3(a2))
        if self.shortcut is not None:
            z3 = self.multiplier(z3) + self.shortcut(a)  # the only difference from plain
        return self.act(z3)

    @property
    def branch_end(self) -> nn.Module:
        return self.norm3


class _Branched(nn.Module):
    """A block with a branch of weight layers and norms (2 or 3 of each) and a shortcut."""

    def __init__(
        self,
        layers: Sequence[nn.Module],
        norms: Sequence[nn.Module],
        shortcut: nn.Module,
        act: nn.Module,
    ) -> None:
        super().__init__()
        self.layers, self.norms = nn.ModuleList(layers), nn.ModuleList(norms)
        self.shortcut, self.act = shortcut, act

    def post_branch(self, a: torch.Tensor) -> torch.Tensor:
        """W -> N -> g for each layer, the last one without g: the branch of `Block`."""
        for i, (layer, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
            a = norm(layer(a))
            if i < len(self.layers) - 1:
                a = self.act(a)
        return a

    def pre_branch(self, a: torch.Tensor) -> torch.Tensor:
        """N -> g -> W for each layer: the pre-activation branch."""
        for layer, norm in zip(self.layers, self.norms, strict=True):
            a = layer(self.act(norm(a)))
        return a


class ResidualUnit(_Branched):
    """A branched block that adds its branch to its shortcut: s(a) + m·F(a), m the branch
    multiplier (1 unless depth-μP sets it: `resbench.models.depth_scaling`)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.multiplier: nn.Module = nn.Identity()


class PreActBlock(ResidualUnit):
    """Pre-activation unit (He et al. 2016, Identity Mappings in Deep Residual Networks):
    out = s(a) + W2·g(N2(W1·g(N1(a)))), nothing after the addition; each norm is over the
    input of its weight layer, and the network ends with N -> g before pooling."""

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.shortcut(a) + self.multiplier(self.pre_branch(a))


class _Scaled(ResidualUnit):
    """A branch multiplied by a learnable scalar α, started at 0: the block starts as its
    shortcut."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.alpha = nn.Parameter(torch.zeros(()))


class SkipInitBlock(_Scaled):
    """SkipInit (De & Smith 2020): the pre-activation unit with its branch multiplied by a
    learnable scalar α started at 0, out = s(a) + α·W2·g(N2(W1·g(N1(a)))), the identity (or
    the shortcut) at initialisation; meant to replace batch norm."""

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.shortcut(a) + self.multiplier(self.alpha * self.pre_branch(a))


class ReZeroBlock(_Scaled):
    """ReZero (Bachlechner et al. 2020): x[i+1] = x[i] + α·F(x[i]), α learnable and started at
    0, nothing after the addition; F is the lecture's branch, N2(W2·g(N1(W1·a)))."""

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.shortcut(a) + self.multiplier(self.alpha * self.post_branch(a))


class HighwayBlock(_Branched):
    """Highway block (Srivastava, Greff & Schmidhuber 2015; the ResNet paper's comparison):
    y = H(a)·T(a) + s(a)·(1 − T(a)), H the plain block g(F(a)), T = σ(Wt·a + bt) a transform
    gate per channel (a 1x1 layer, as He et al. 2016's exclusive gating), bt started at -1 so
    that each block first mostly carries its input."""

    def __init__(
        self,
        layers: Sequence[nn.Module],
        norms: Sequence[nn.Module],
        shortcut: nn.Module,
        act: nn.Module,
        gate: nn.Module,
    ) -> None:
        super().__init__(layers, norms, shortcut, act)
        self.gate = gate
        nn.init.constant_(gate.bias, HIGHWAY_GATE_BIAS)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(a))
        return t * self.act(self.post_branch(a)) + (1 - t) * self.shortcut(a)


class FixupBlock(nn.Module):
    """Fixup (Zhang, Dauphin & Ma 2019): a residual block without normalisation,
    out = g(s(a) + m·F(a) + b) where F has a scalar bias before each weight layer and each
    activation, m a scalar multiplier started at 1, every bias at 0. At initialisation the
    branch's last layer is 0, so the block is g(s(a)): the identity on its (non-negative)
    input; `resbench.models.init` scales the other branch layers by L^(-1/(2m-2))."""

    def __init__(self, layers: Sequence[nn.Module], shortcut: nn.Module, act: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.shortcut, self.act = shortcut, act
        m = len(self.layers)
        self.bias_in = nn.Parameter(torch.zeros(m))  # before each weight layer
        self.bias_act = nn.Parameter(torch.zeros(m - 1))  # before each inner activation
        self.scale = nn.Parameter(torch.ones(()))
        self.bias_out = nn.Parameter(torch.zeros(()))
        self.multiplier: nn.Module = nn.Identity()  # depth-μP's, where asked

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        z = a
        for i, layer in enumerate(self.layers):
            z = layer(z + self.bias_in[i])
            if i < len(self.layers) - 1:
                z = self.act(z + self.bias_act[i])
        return self.act(self.shortcut(a) + self.multiplier(z * self.scale) + self.bias_out)
