"""The transformer family: a stack of N blocks, each self-attention then an MLP, every sublayer
joined to the residual stream as its arch says.

Depth is N, the number of blocks. Each block has two sublayers, so a net of depth N has 2N;
the embedding and the head are not counted. Width is d_model, the size of the stream's vector
at each token; `model.options` give the heads (4) and the MLP's hidden width in multiples of
the width (`mlp_ratio`, 4). Notation: x the stream, F a sublayer (attention or MLP), LN a
LayerNorm:

| arch      | each sublayer computes x ← | at initialisation                   | source           |
|-----------|----------------------------|-------------------------------------|------------------|
| postln    | LN(x + F(x))               |                                     | Vaswani 2017     |
| preln     | x + F(LN(x)); the net ends |                                     | Xiong 2020       |
|           | with LN before its head    |                                     |                  |
| lnscaling | x + F(LN(x)/√l) in block l |                                     | Sun 2025         |
|           | (from 1); preln otherwise  |                                     |                  |
| deepnorm  | LN(α·x + F(x))             | α = (2N)^¼; value, output and MLP   | Wang 2022        |
|           |                            | weights Xavier, gain β = (8N)^−¼    |                  |
| admin     | LN(ω⊙x + F(x)), ω          | ω = √((2N + 1)/ln(2N + 1) − 1) in   | Liu 2020         |
|           | learnable (per feature)    | every entry, or profiled            |                  |
| rezero    | x + α·F(x), no LN          | α learnable, 0: the identity; one α | Bachlechner 2020 |
|           |                            | per block (per sublayer: an option) |                  |
| tfixup    | x + F(x), no LN            | value, output and MLP weights times | Huang 2020       |
|           |                            | 0.67·N^−¼; the token embedding      |                  |
|           |                            | (9N)^−¼ at init, times √width in    |                  |
|           |                            | the forward                         |                  |
| plain     | LN(F(x)): postln without   |                                     | the baseline     |
|           | the addition               |                                     |                  |

Papers: Vaswani et al. 2017, Attention Is All You Need; Xiong et al. 2020, On Layer
Normalization in the Transformer Architecture; Sun et al. 2025, The Curse of Depth in Large
Language Models (LayerNorm Scaling); Wang et al. 2022, DeepNet: Scaling Transformers to 1,000
Layers (the encoder's constants; a decoder-only net's, with M blocks, are the same formulas in
M); Liu et al. 2020, Understanding the Difficulty of Training Transformers; Bachlechner et al.
2020, ReZero is All You Need; Huang et al. 2020, Improving Transformer Optimization Through
Better Initialization (T-Fixup; its encoder's scales).

As the papers' code builds them, read against it (`model.options`, each hashed into the run id
where it changed what an arch computes; records made before say nothing and were the second
form):

- DeepNorm follows the paper's form, the shortcut multiplied by α (a public implementation
  multiplies the branch instead).
- Admin's ω (`admin_omega`): `closed_form`, the default, is not the paper's measured ω but the
  closed form of its authors' `admin-torch` package, √((2N+1)/ln(2N+1) − 1) from the number of
  sublayers, for an output change O(log N); `profiled` is what the paper and its
  Transformer-Clinic code do: one forward pass on the first training batch sets each ω from
  the variances of the sublayers before it (`transformer_archs.profile_admin_omega`).
- ReZero (`rezero_alpha`): `layer`, the default, one α per block shared by its attention and
  MLP, as the ReZero code's `resweight`; `sublayer`, one α each (records before the option).
- T-Fixup (`tfixup_embedding`): `reference`, the default, as its fairseq code: the token
  embedding N(0, 1/width) times (9N)^−¼ at initialisation, times √width (fairseq's
  `embed_scale`) in the forward pass, the position embedding N(0, 1/width) unscaled;
  `initial`, token and position embeddings times (9N)^−¼ and no √width (records before the
  option: their tokens started √width times smaller than the reference's).

plain keeps its LayerNorms unless `model.options.layer_norm` is false; the other archs are what
their LayerNorms make them. `model.branch_multiplier` (depth-μP) does not apply to this family:
its archs scale their residuals as their papers say.

The data decides the task. Sequences (channels, length), like MNIST-1D's (1, 40): each position
is a token, embedded by one Linear layer; attention sees every token, and the head classifies
the mean over tokens. Token ids (length,): an embedding table; attention is causal, and the head
predicts the next token at every position, logits shaped (n, vocab, length). Both add a learned
position embedding.

Initialisation, every arch: each projection (query, key, value, output, the MLP's two) Xavier
normal as its own width x width (or MLP-shaped) matrix, biases 0, LayerNorms 1 and 0, the
token and position embeddings N(0, 1/width), the sequence embedding Xavier, the classifier
PyTorch's default (as the convnets'); then the arch's gains above.
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
from resbench.models.transformer_archs import (
    SUBLAYERS,
    ReZero,
    Sublayer,
    profile_admin_omega,
    share_alpha,
    tfixup_embedding_gain,
)

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig


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


class TransformerBlock(nn.Module):
    """Self-attention, then the MLP, each joined to the stream by the arch's sublayer."""

    def __init__(self, attention: Sublayer, mlp: Sublayer) -> None:
        super().__init__()
        self.attention, self.mlp = attention, mlp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(x))


# --------------------------------------------------------------------------- stems and head


class Stem(nn.Module):
    """What embeds the tokens, then a learned position embedding: `gain` scales the embedding
    and `position_gain` the positions at initialisation, `scale` multiplies the embedding in the
    forward pass (T-Fixup's reference code: √width, fairseq's `embed_scale`)."""

    embed: nn.Module

    def __init__(self, length: int, width: int, gain: float, position_gain: float) -> None:
        super().__init__()
        self.position = nn.Parameter(torch.zeros(length, width))
        self.gain, self.position_gain, self.scale = gain, position_gain, 1.0

    def embedded(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embedded(x)
        return (e if self.scale == 1.0 else e * self.scale) + self.position


class SequenceStem(Stem):
    """(n, channels, length) -> (n, length, width): each position a token, embedded linearly."""

    def __init__(
        self, channels: int, length: int, width: int, gain: float, position_gain: float
    ) -> None:
        super().__init__(length, width, gain, position_gain)
        self.embed = nn.Linear(channels, width)

    def embedded(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x.transpose(1, 2))


class TokenStem(Stem):
    """(n, length) token ids -> (n, length, width)."""

    def __init__(
        self, vocab: int, length: int, width: int, gain: float, position_gain: float
    ) -> None:
        super().__init__(length, width, gain, position_gain)
        self.embed = nn.Embedding(vocab, width)

    def embedded(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


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
    # that a net can be built where pydantic is not installed. An option a config lacks means
    # what configs meant before it existed.
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

    stem = _stem(cfg, input_shape, num_classes, options)
    hidden = options.mlp_ratio * width
    layers = []
    for layer in range(1, blocks + 1):
        attention = join(Attention(width, options.heads, causal=tokens), norm(), blocks, layer)
        mlp = join(MLP(width, hidden, ACTIVATIONS[cfg.activation]()), norm(), blocks, layer)
        if isinstance(attention, ReZero) and options.rezero_alpha == "layer":
            share_alpha(attention, mlp)  # type: ignore[arg-type]
        layers.append(TransformerBlock(attention, mlp))
    final = norm() if cfg.arch in ("preln", "lnscaling") else nn.Identity()
    net = Transformer(stem, *layers, Head(final, width, num_classes, per_token=tokens))
    net.tokens = tokens
    return net


def _stem(
    cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int, options: SimpleNamespace
) -> Stem:
    """The embedding of tokens or of values, with T-Fixup's scales where the arch is tfixup."""
    gain = position_gain = 1.0
    reference = cfg.arch == "tfixup" and options.tfixup_embedding == "reference"
    if cfg.arch == "tfixup":
        gain = tfixup_embedding_gain(cfg.depth)
        position_gain = 1.0 if reference else gain
    if len(input_shape) == 1:
        stem: Stem = TokenStem(num_classes, input_shape[0], cfg.width, gain, position_gain)
    else:
        stem = SequenceStem(input_shape[0], input_shape[1], cfg.width, gain, position_gain)
    if reference:
        stem.scale = math.sqrt(cfg.width)
    return stem


def data_dependent_start(net: Transformer, cfg: ModelConfig, x: torch.Tensor) -> None:
    """What an arch sets from data before training: Admin's profiled ω, on the batch `x` (a
    forward pass; no random numbers drawn). Nothing for the others."""
    if cfg.arch == "admin" and (cfg.options or {}).get("admin_omega") == "profiled":
        profile_admin_omega(net[0], net.blocks, x)


@torch.no_grad()
def initialise(net: Transformer) -> None:
    """Every arch's start (module docstring): Xavier projections with the arch's gains, zero
    biases, unit LayerNorms, N(0, 1/width) embeddings scaled by the stem's gains."""
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
        elif isinstance(m, Stem):
            std = 1 / math.sqrt(m.position.shape[1])
            if isinstance(m, TokenStem):
                nn.init.normal_(m.embed.weight, std=m.gain * std)
            else:
                nn.init.xavier_normal_(m.embed.weight, gain=m.gain)
                nn.init.zeros_(m.embed.bias)
            nn.init.normal_(m.position, std=m.position_gain * std)
