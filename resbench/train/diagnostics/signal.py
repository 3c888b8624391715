"""Signal propagation: how large each layer's output is, and how alike it makes different
inputs (and, in a transformer, different tokens of one input).

On the diagnostics' batch, in train mode as training sees it (batch norm's running statistics
put back), for the stem's output (layer 0) and each block's (1..n), flattened per sample:

- `signal_rms`: √(mean of h²) over every entry, the activation's scale;
- `sample_cosine`: the mean cosine similarity between the outputs of two different samples,
  over all pairs: near 1, the net maps every input to nearly one direction (Schoenholz et al.
  2017's correlation map, at its fixed point c* = 1);
- in a transformer, per sample then averaged over samples, with its tokens as the rows of
  X (length x width): `token_cosine`, the mean cosine between two different tokens (Noci et al.
  2022), and `token_spread`, ‖X − 1·x̄ᵀ‖ / ‖X‖ with x̄ the mean token, the relative distance
  to the rank-1 matrices whose tokens are all equal (Dong et al. 2021's residual): 0 is
  complete rank collapse.

A sample (or token) of all zeros counts as a direction of its own, orthogonal to every other.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from resbench.models.transformer import Transformer
from resbench.train.diagnostics.passes import signal_layers, untouched
from resbench.train.run_result import LayerPoint, finite


def mean_cosine(rows: torch.Tensor) -> torch.Tensor:
    """The mean cosine similarity between two different rows of `rows` (..., n, d), over all
    n(n − 1) ordered pairs: ‖Σ u‖² − Σ ‖u‖², u the rows normalised, over n(n − 1)."""
    n = rows.shape[-2]
    u = F.normalize(rows.float(), dim=-1)
    total = u.sum(-2).pow(2).sum(-1)
    self_terms = u.pow(2).sum((-2, -1))
    return (total - self_terms) / (n * (n - 1))


def token_spread(h: torch.Tensor) -> torch.Tensor:
    """‖X − 1·x̄ᵀ‖ / ‖X‖ of each sample's tokens X (n, length, width), averaged over samples."""
    h = h.float()
    centred = h - h.mean(1, keepdim=True)
    norm = torch.linalg.vector_norm(h, dim=(1, 2))
    return (torch.linalg.vector_norm(centred, dim=(1, 2)) / norm.clamp_min(1e-30)).mean()


def layer_statistics(h: torch.Tensor, tokens: bool) -> list[tuple[str, torch.Tensor]]:
    """(kind, value) of one layer's output `h` (n, ...); with `tokens`, h is (n, length, width)."""
    flat = h.float().flatten(1)
    stats = [("signal_rms", flat.pow(2).mean().sqrt())]
    if len(flat) > 1:
        stats.append(("sample_cosine", mean_cosine(flat)))
    if tokens and h.dim() == 3 and h.shape[1] > 1:
        stats.append(("token_cosine", mean_cosine(h).mean()))
        stats.append(("token_spread", token_spread(h)))
    return stats


def signal_points(model: nn.Sequential, x: torch.Tensor, step: int) -> list[LayerPoint]:
    """`signal`: each layer's scale and similarities on the batch `x`, as points at `step`."""
    outputs: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _in, out: outputs.append(out.detach()))
        for m in signal_layers(model)
    ]
    try:
        with untouched(model), torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    tokens = isinstance(model, Transformer)
    where: list[tuple[str, int]] = []
    measured: list[torch.Tensor] = []
    for layer, h in enumerate(outputs):
        for kind, value in layer_statistics(h, tokens):
            where.append((kind, layer))
            measured.append(value)
    values = torch.stack(measured).tolist() if measured else []  # one host sync for all
    return [
        LayerPoint(step=step, layer=layer, kind=kind, value=finite(value))  # type: ignore[arg-type]
        for (kind, layer), value in zip(where, values, strict=True)
    ]
