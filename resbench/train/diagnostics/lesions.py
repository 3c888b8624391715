"""Lesions: after training, the error with each block removed (Veit, Wilber & Belongie 2016,
Residual Networks Behave Like Ensembles of Relatively Shallow Networks).

Each block in turn is replaced by its shortcut, the path that skips its branch: the identity
where the block keeps its input's shape, option A's or B's projection where it does not. A
block with no shortcut (a plain block) is replaced by the identity where the shapes allow and
left unmeasured where they do not (a plain block entering a new stage). Veit et al. deleted a
residual block from a trained ResNet-110 and its test error barely moved, while deleting a
layer of VGG broke it: a residual net behaves like an ensemble of paths, most of them short.

On the first `train.probes.lesion_examples` test examples, in eval mode, fp32: `intact_error`
(layer -1: the net as a whole) and `lesion_error` at layer b, the net without block b (1..n,
as the activations count them). A transformer's block is attention and MLP together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from resbench.train.diagnostics.passes import eval_copy, loss_and_error
from resbench.train.run_result import WHOLE_NET, LayerPoint

if TYPE_CHECKING:
    from resbench.data import Data


class Skipped(nn.Module):
    """A block replaced by its shortcut."""

    def __init__(self, shortcut: nn.Module) -> None:
        super().__init__()
        self.shortcut = shortcut

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.shortcut(a)


def replacement(block: nn.Module, keeps_shape: bool) -> nn.Module | None:
    """What stands in for `block` when it is removed, or None where nothing can."""
    shortcut = getattr(block, "shortcut", None)
    if isinstance(shortcut, nn.Module):
        return Skipped(shortcut)
    return nn.Identity() if keeps_shape else None


def keeps_shape(net: nn.Sequential, x: torch.Tensor) -> list[bool]:
    """For each block of `net` (the parts between stem and head): is its output shaped as its
    input? Read from one example."""
    kept: list[bool] = []
    hooks = [
        m.register_forward_hook(lambda _m, inp, out: kept.append(inp[0].shape == out.shape))
        for m in list(net.children())[1:-1]
    ]
    try:
        with torch.no_grad():
            net(x[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return kept


def lesion_errors(
    net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, inputs=lambda b: b
) -> tuple[float, dict[int, float]]:
    """(the error of `net` on (x, y), {block b: the error without block b}); `net` is changed
    while it runs and put back."""
    _, intact = loss_and_error(net, x, y, inputs)
    errors = {}
    shapes = keeps_shape(net, inputs(x[:1]))
    for b, (block, same) in enumerate(zip(list(net.children())[1:-1], shapes, strict=True), 1):
        stand_in = replacement(block, same)
        if stand_in is None:
            continue
        net[b] = stand_in
        try:
            errors[b] = loss_and_error(net, x, y, inputs)[1]
        finally:
            net[b] = block
    return intact, errors


def lesion_points(model: nn.Sequential, data: Data, step: int, examples: int) -> list[LayerPoint]:
    """`lesions` of the trained `model` on the first `examples` test examples, as points."""
    x, y = data.x_test[:examples], data.y_test[:examples]
    intact, errors = lesion_errors(eval_copy(model), x, y, data.inputs)
    points = [LayerPoint(step=step, layer=WHOLE_NET, kind="intact_error", value=intact)]
    points += [
        LayerPoint(step=step, layer=b, kind="lesion_error", value=error)
        for b, error in errors.items()
    ]
    return points
