"""The transformer family: a stack of N blocks, each self-attention then an MLP, every sublayer
joined to the residual stream as its arch says.

Depth is N, the number of blocks. Each block has two sublayers, so a net of depth N has 2N;
the embedding and the head are not counted. Width is d_model, the size of the stream's vector
at each token; `model.options` give the heads (4) and the MLP's hidden width in multiples of
the width (`mlp_ratio`, 4). Notation: x the stream, F a sublayer (attention or MLP), LN a
LayerNorm:

| arch     | each sublayer computes x ←  | at initialisation                   | source           |
|----------|-----------------------------|-------------------------------------|------------------|
| postln   | LN(x + F(x))                |                                     | Vaswani 2017     |
| preln    | x + F(LN(x)); the net ends  |                                     | Xiong 2020       |
|          | with LN before its head     |                                     |                  |
| deepnorm | LN(α·x + F(x))              | α = (2N)^¼; value, output and MLP   | Wang 2022        |
|          |                             | weights Xavier, gain β = (8N)^−¼    |                  |
| admin    | LN(ω⊙x + F(x)), ω learnable | ω = √((2N + 1)/ln(2N + 1) − 1) in   | Liu 2020         |
|          | (one per feature)           | every entry: 2N sublayers           |                  |
| rezero   | x + α·F(x), no LN           | α learnable, 0: the identity        | Bachlechner 2020 |
| tfixup   | x + F(x), no LN             | value, output and MLP weights times | Huang 2020       |
|          |                             | 0.67·N^−¼, embeddings (9N)^−¼       |                  |
| plain    | LN(F(x)): postln without    |                                     | the baseline     |
|          | the addition                |                                     |                  |

Papers: Vaswani et al. 2017, Attention Is All You Need; Xiong et al. 2020, On Layer
Normalization in the Transformer Architecture; Wang et al. 2022, DeepNet: Scaling Transformers
to 1,000 Layers (the encoder's constants; a decoder-only net's, with M blocks, are the same
formulas in M); Liu et al. 2020, Understanding the Difficulty of Training Transformers;
Bachlechner et al. 2020, ReZero is All You Need; Huang et al. 2020, Improving Transformer
Optimization Through Better Initialization (T-Fixup; its encoder's scales).

DeepNorm follows the paper's form, the shortcut multiplied by α: a public implementation
multiplies the branch instead. Admin's ω is the closed form from the number of sublayers of
its authors' `admin-torch` package (the output change O(log N) that the paper argues for); the
paper sets it by measuring each sublayer's output variance at initialisation. ReZero has an α
per sublayer, the paper's x ← x + α·F(x) with F a sublayer. plain keeps its LayerNorms unless
`model.options.layer_norm` is false; the other archs are what their LayerNorms make them.

The data decides the task. Sequences (channels, length), like MNIST-1D's (1, 40): each position
is a token, embedded by one Linear layer; attention sees every token, and the head classifies
the mean over tokens. Token ids (length,): an embedding table; attention is causal, and the head
predicts the next token at every position, logits shaped (n, vocab, length). Both add a learned
position embedding.

Initialisation, every arch: each projection (query, key, value, output, the MLP's two) Xavier
normal as its own width x width (or MLP-shaped) matrix, biases 0, LayerNorms 1 and 0, the
token and position embeddings N(0, 1/width) (T-Fixup's), the sequence embedding Xavier, the
classifier PyTorch's default (as the convnets'); then the arch's gains above.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from resbench.models.layers import ACTIVATIONS
from resbench.models.registry import LAYER_NORM, TRANSFORMER_DEFAULTS

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig


# --------------------------------------------------------------------------- the arch constants


def deepnorm_alpha(blocks: int) -> float:
    """DeepNorm's shortcut multiplier, (2N)^¼ (Wang et al. 2022, encoder)."""
    return (2 * blocks) ** 0.25


def deepnorm_beta(blocks: int) -> float:
    """DeepNorm's gain on the value, output and MLP weights, (8N)^−¼."""
    return (8 * blocks) ** -0.25


def admin_omega(blocks: int) -> float:
    """Admin's shortcut multiplier at the start, from the 2N sublayers: √((2N+1)/ln(2N+1) − 1)."""
    sublayers = 2 * blocks
    return math.sqrt((sublayers + 1) / math.log(sublayers + 1) - 1)


def tfixup_gain(blocks: int) -> float:
    """T-Fixup's factor on the encoder's value, output and MLP weights, 0.67·N^−¼."""
    return 0.67 * blocks**-0.25


def tfixup_embedding_gain(blocks: int) -> float:
    """T-Fixup's factor on the input embeddings, (9N)^−¼."""
    return (9 * blocks) ** -0.25


# --------------------------------------------------------------------------- the two sublayers


class Attention(nn.Module):
    """Multi-head self-attention: one projection to queries, keys and values, one back out."""

    def __init__(self, width: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.width, self.heads, self.causal = width, heads, causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        # (n, length, 3·width) -> three of (n, heads, length, width / heads)
        q, k, v = self.qkv(x).view(n, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.out(a.transpose(1, 2).reshape(n, length, width))

    def projections(self) -> Iterator[tuple[torch.Tensor, bool]]:
        """Each projection's weight, and whether the archs' gains scale it (value, output)."""
        q, k, v = self.qkv.weight.chunk(3)  # views: initialising one initialises qkv's rows
        yield from ((q, False), (k, False), (v, True), (self.out.weight, True))


class MLP(nn.Module):
    """Two Linear layers with the activation between them."""

    def __init__(self, width: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.up, self.act, self.down = nn.Linear(width, hidden), act, nn.Linear(hidden, width)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(x)))

    def projections(self) -> Iterator[tuple[torch.Tensor, bool]]:
        yield from ((self.up.weight, True), (self.down.weight, True))


# --------------------------------------------------------------------------- archs: the joins


class Sublayer(nn.Module):
    """A sublayer F (attention or MLP) joined to the stream, with its LayerNorm (or none).

    `gain` multiplies the value, output and MLP weights at initialisation (1: Xavier's).
    """

    gain = 1.0

    def __init__(self, branch: Attention | MLP, norm: nn.Module, blocks: int) -> None:
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


class DeepNorm(Sublayer):
    """DeepNorm (Wang et al. 2022): x ← LN(α·x + F(x)), α = (2N)^¼ a constant; value, output
    and MLP weights start Xavier with gain β = (8N)^−¼."""

    def __init__(self, branch: Attention | MLP, norm: nn.Module, blocks: int) -> None:
        super().__init__(branch, norm, blocks)
        self.alpha, self.gain = deepnorm_alpha(blocks), deepnorm_beta(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.alpha * x + self.branch(x))  # α on the shortcut, as in the paper


class Admin(Sublayer):
    """Admin (Liu et al. 2020): x ← LN(ω⊙x + F(x)), ω a learnable vector started at
    `admin_omega(N)` in every entry."""

    def __init__(self, branch: Attention | MLP, norm: nn.Module, blocks: int) -> None:
        super().__init__(branch, norm, blocks)
        self.omega = nn.Parameter(torch.full((branch.width,), admin_omega(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.omega * x + self.branch(x))


class ReZero(Sublayer):
    """ReZero (Bachlechner et al. 2020): x ← x + α·F(x), α learnable and 0 at the start, no
    LayerNorm: each sublayer starts as the identity."""

    def __init__(self, branch: Attention | MLP, norm: nn.Module, blocks: int) -> None:
        super().__init__(branch, norm, blocks)
        self.alpha = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.alpha * self.branch(x)


class TFixup(Sublayer):
    """T-Fixup (Huang et al. 2020): x ← x + F(x) without LayerNorm; value, output and MLP
    weights scaled by 0.67·N^−¼ at the start (and the embeddings by (9N)^−¼)."""

    def __init__(self, branch: Attention | MLP, norm: nn.Module, blocks: int) -> None:
        super().__init__(branch, norm, blocks)
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
}


class TransformerBlock(nn.Module):
    """Self-attention, then the MLP, each joined to the stream by the arch's sublayer."""

    def __init__(self, attention: Sublayer, mlp: Sublayer) -> None:
        super().__init__()
        self.attention, self.mlp = attention, mlp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(x))


# --------------------------------------------------------------------------- stems and head


class SequenceStem(nn.Module):
    """(n, channels, length) -> (n, length, width): each position a token, embedded linearly."""

    def __init__(self, channels: int, length: int, width: int, gain: float) -> None:
        super().__init__()
        self.embed = nn.Linear(channels, width)
        self.position = nn.Parameter(torch.zeros(length, width))
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x.transpose(1, 2)) + self.position


class TokenStem(nn.Module):
    """(n, length) token ids -> (n, length, width)."""

    def __init__(self, vocab: int, length: int, width: int, gain: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Parameter(torch.zeros(length, width))
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x) + self.position


class Head(nn.Module):
    """The final LayerNorm (Pre-LN's; nothing for the others), then the classifier: of the mean
    over tokens, or, for next tokens, at every position, as (n, vocab, length)."""

    def __init__(self, norm: nn.Module, width: int, classes: int, per_token: bool) -> None:
        super().__init__()
        self.norm, self.classifier, self.per_token = norm, nn.Linear(width, classes), per_token

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        if self.per_token:
            return self.classifier(x).transpose(1, 2)  # the layout cross_entropy takes
        return self.classifier(x.mean(1))


class Transformer(nn.Sequential):
    """`nn.Sequential(stem, *blocks, head)`, as every family's nets are."""

    tokens: bool  # reads token ids (long), not sequences of values

    @property
    def blocks(self) -> list[TransformerBlock]:
        return [m for m in self if isinstance(m, TransformerBlock)]


# --------------------------------------------------------------------------- the family


def transformer(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> Transformer:
    """N blocks of self-attention and MLP, joined as `cfg.arch` says; uninitialised."""
    # Validated with the sweep (resbench.models.transformer_options); here only filled in, so
    # that a net can be built where pydantic is not installed.
    options = SimpleNamespace(**{**TRANSFORMER_DEFAULTS, **(cfg.options or {})})
    tokens = len(input_shape) == 1
    if not tokens and len(input_shape) != 2:
        raise ValueError(
            f"transformer reads (channels, length) or token ids (length,), got {input_shape}"
        )
    width, blocks, join = cfg.width, cfg.depth, SUBLAYERS[cfg.arch]
    layer_norm = LAYER_NORM[cfg.arch]
    layer_norm = (layer_norm is not False) if options.layer_norm is None else options.layer_norm

    def norm() -> nn.Module:
        return nn.LayerNorm(width) if layer_norm else nn.Identity()

    embedding_gain = tfixup_embedding_gain(blocks) if cfg.arch == "tfixup" else 1.0
    if tokens:
        stem: nn.Module = TokenStem(num_classes, input_shape[0], width, embedding_gain)
    else:
        stem = SequenceStem(input_shape[0], input_shape[1], width, embedding_gain)
    hidden = options.mlp_ratio * width
    layers = [
        TransformerBlock(
            join(Attention(width, options.heads, causal=tokens), norm(), blocks),
            join(MLP(width, hidden, ACTIVATIONS[cfg.activation]()), norm(), blocks),
        )
        for _ in range(blocks)
    ]
    final = norm() if cfg.arch == "preln" else nn.Identity()
    net = Transformer(stem, *layers, Head(final, width, num_classes, per_token=tokens))
    net.tokens = tokens
    return net


@torch.no_grad()
def initialise(net: Transformer) -> None:
    """Every arch's start (module docstring): Xavier projections with the arch's gains, zero
    biases, unit LayerNorms, N(0, 1/width) embeddings scaled by the stem's gain."""
    for m in net.modules():
        if isinstance(m, Sublayer):
            for weight, scaled in m.branch.projections():
                nn.init.xavier_normal_(weight, gain=m.gain if scaled else 1.0)
            for layer in m.branch.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.zeros_(layer.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (SequenceStem, TokenStem)):
            std = m.gain / math.sqrt(m.position.shape[1])
            if isinstance(m, TokenStem):
                nn.init.normal_(m.embed.weight, std=std)
            else:
                nn.init.xavier_normal_(m.embed.weight, gain=m.gain)
                nn.init.zeros_(m.embed.bias)
            nn.init.normal_(m.position, std=std)
