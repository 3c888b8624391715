"""Loss slices: the training loss around the trained weights, along filter-normalised random
directions (Li, Xu, Taylor, Studer & Goldstein 2018, Visualizing the Loss Landscape of Neural
Nets).

A direction d has the shape of the weights θ: Gaussian, then each filter d_i (a weight
tensor's slice along its first axis: an output channel, a Linear layer's row, an embedding's
row) rescaled to the norm of θ's filter, ‖d_i‖ = ‖θ_i‖, so that a step of 1 moves every filter
by its own size whatever the scale of the net; biases, norms' scales and shifts and other
tensors of one dimension or none get 0 (the paper's "ignore biases and BN"). The loss, in eval
mode (batch norm at its running statistics, as the paper's code), fp32, on the first
`train.probes.slice_examples` training examples as stored:

- `loss_slice`: L(θ + α·d₁) at `slice_points` values of α evenly spaced over
  [−slice_span, slice_span], the point's x = α;
- `loss_surface`: L(θ + α·d₁ + β·d₂) on a `surface_points` x `surface_points` grid, x = α,
  y = β; its β = 0 row is the slice's direction.

Layer -1: the net as a whole. The paper's pictures use 51 points (1D) and 51 x 51 (2D) on the
whole training set; the grids here are smaller by default, at laptop scale. The directions
come from a generator seeded from the run's seed (CPU, then moved to the device).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn

from resbench.train.diagnostics.passes import eval_copy, loss_and_error
from resbench.train.run_result import WHOLE_NET, LayerPoint, finite

if TYPE_CHECKING:
    from resbench.data import Data
    from resbench.sweep.probes import ProbeOptions

SLICE_SEED = 3_000_017  # added to the run's seed: the directions draw their own stream


def filter_normalised(
    weights: list[torch.Tensor], generator: torch.Generator
) -> list[torch.Tensor]:
    """A random direction for `weights`: each filter scaled to its weight's filter's norm, and 0
    for tensors of fewer than 2 dimensions."""
    direction = []
    for w in weights:
        d = torch.randn(w.shape, generator=generator, dtype=torch.float32).to(w.device, w.dtype)
        if w.dim() < 2:
            direction.append(torch.zeros_like(w))
            continue
        d_norm = torch.linalg.vector_norm(d.flatten(1), dim=1)
        w_norm = torch.linalg.vector_norm(w.flatten(1), dim=1)
        scale = w_norm / d_norm.clamp_min(1e-30)
        direction.append(d * scale.view(-1, *([1] * (w.dim() - 1))))
    return direction


@contextmanager
def moved(params: list[nn.Parameter]) -> Iterator[Callable[..., None]]:
    """`move(*(coefficient, direction))` sets `params` to θ + Σ coefficient·direction, θ their
    values on entry, which come back on exit."""
    theta = [p.detach().clone() for p in params]

    def move(*terms: tuple[float, list[torch.Tensor]]) -> None:
        with torch.no_grad():
            for i, p in enumerate(params):
                p.copy_(theta[i])
                for coefficient, direction in terms:
                    p.add_(direction[i], alpha=coefficient)

    try:
        yield move
    finally:
        with torch.no_grad():
            for p, t in zip(params, theta, strict=True):
                p.copy_(t)


def slice_points(
    model: nn.Sequential,
    data: Data,
    step: int,
    probes: ProbeOptions,
    seed: int,
    kinds: tuple[str, ...] = ("loss_slice", "loss_surface"),
) -> list[LayerPoint]:
    """`loss_slice` and `loss_surface`, those of `kinds`, around the trained `model`."""
    net = eval_copy(model)
    params = list(net.parameters())
    generator = torch.Generator().manual_seed(seed + SLICE_SEED)
    first = filter_normalised([p.detach() for p in params], generator)
    x, y = data.x_train[: probes.slice_examples], data.y_train[: probes.slice_examples]
    span = probes.slice_span
    points = []
    with moved(params) as move:
        if "loss_slice" in kinds:
            for a in torch.linspace(-span, span, probes.slice_points).tolist():
                move((a, first))
                loss = loss_and_error(net, x, y, data.inputs)[0]
                points.append(_point(step, "loss_slice", loss, a))
        if "loss_surface" in kinds:
            second = filter_normalised([p.detach() for p in params], generator)
            grid = torch.linspace(-span, span, probes.surface_points).tolist()
            for a in grid:
                for b in grid:
                    move((a, first), (b, second))
                    loss = loss_and_error(net, x, y, data.inputs)[0]
                    points.append(_point(step, "loss_surface", loss, a, b))
    return points


def _point(step: int, kind: str, loss: float, x: float, y: float | None = None) -> LayerPoint:
    return LayerPoint(step=step, layer=WHOLE_NET, kind=kind, value=finite(loss), x=x, y=y)  # type: ignore[arg-type]
