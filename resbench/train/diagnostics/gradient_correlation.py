"""Shattered gradients: how alike the input gradients of nearby inputs are, at initialisation.

Balduzzi et al. 2017 (The Shattered Gradients Problem) follow the gradient of a net's output
with respect to its input along a line of inputs: in a deep plain net the gradients of
neighbouring inputs decorrelate as depth grows, towards white noise, while with shortcuts the
correlation decays slowly. Here the line is the segment between the first two examples of the
diagnostics' batch, `train.probes.path_points` points evenly spaced, ends included. For each
layer l (the stem's output, 0, and each block's, 1..n) a fixed random unit direction u_l of
that layer's output makes it a scalar s_l(x) = ⟨u_l, h_l(x)⟩, and `grad_correlation` is the
mean cosine similarity between ∇ₓs_l at neighbouring points of the path. A linear map has the
same gradient everywhere: 1. Token ids have no gradient: there the path runs between the
stem's outputs and the layers start at the first block. Batch norm normalises by the
diagnostics' batch's statistics, held fixed (`passes.frozen_copy`). The directions come from
a generator seeded from the run's seed: the same spec measures along the same directions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from resbench.train.diagnostics.passes import from_input, frozen_copy
from resbench.train.run_result import LayerPoint, finite

DIRECTION_SEED = 2_000_003  # added to the run's seed: the directions u_l draw their own stream


def path(a: torch.Tensor, b: torch.Tensor, points: int) -> torch.Tensor:
    """`points` inputs evenly spaced from `a` to `b`, ends included, as a batch."""
    t = torch.linspace(0, 1, points, device=a.device, dtype=a.dtype)
    t = t.view(-1, *([1] * a.dim()))
    return (1 - t) * a + t * b


def path_correlations(
    parts: list[nn.Module],
    xs: torch.Tensor,
    directions: list[torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """For each part's output h_l along the path `xs` (points, ...): the mean cosine between
    ∇ₓ⟨u_l, h_l⟩ at neighbouring points. `directions` gives the u_l (each shaped as one point's
    h_l); else they are drawn from `generator` (CPU), unit normal."""
    xs = xs.detach().requires_grad_(True)
    outputs, h = [], xs
    for part in parts:
        h = part(h)
        outputs.append(h)
    found = []
    for i, out in enumerate(outputs):
        if directions is not None:
            u = directions[i]
        else:
            u = torch.randn(out[0].shape, generator=generator)
            u = (u / torch.linalg.vector_norm(u)).to(out.device)
        scalar = (out.flatten(1) * u.flatten().to(out.dtype)).sum()
        (grad,) = torch.autograd.grad(scalar, xs, retain_graph=i < len(outputs) - 1)
        g = grad.flatten(1).double()
        found.append(F.cosine_similarity(g[:-1], g[1:], dim=1, eps=1e-30).mean())
    return found


def correlation_points(
    model: nn.Sequential, x: torch.Tensor, step: int, points: int, seed: int
) -> list[LayerPoint]:
    """`grad_correlation`, each layer's, along the path between the first two examples of `x`
    (batch norm at the statistics of the whole of `x`), as points at `step`."""
    frozen = frozen_copy(model, x)
    start, parts, first = from_input(frozen, x[:2])
    generator = torch.Generator().manual_seed(seed + DIRECTION_SEED)
    with torch.enable_grad():
        found = path_correlations(parts, path(start[0], start[1], points), None, generator)
    values = torch.stack(found).tolist()  # one host sync for all
    return [
        LayerPoint(step=step, layer=first + i, kind="grad_correlation", value=finite(value))
        for i, value in enumerate(values)
    ]
