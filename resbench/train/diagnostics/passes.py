"""What every diagnostic pass shares: the net's parts, and passes that leave training as it was.

Every family's net is `nn.Sequential(stem, *blocks, head)`. A diagnostic either runs on the
model and puts back what a forward pass in train mode changes (`untouched`: batch norm's
running statistics, the mode), or runs on a copy (`frozen_copy`, `eval_copy`) that training
never sees. None draws from torch's global random streams: a diagnostic that needs random
numbers draws them from a generator of its own, seeded from the run's seed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

# The batch norm layers of every family (1d and 2d share this base class).
_BATCH_NORM = nn.modules.batchnorm._BatchNorm


def signal_layers(model: nn.Sequential) -> list[nn.Module]:
    """The stem and each block: every part of `nn.Sequential(stem, *blocks, head)` but the head."""
    return list(model.children())[:-1]


@contextmanager
def untouched(model: nn.Module, train: bool = True) -> Iterator[None]:
    """Run `model` in train mode (or eval) for a pass, then put its buffers (batch norm's running
    statistics and batch counts) and its mode back as they were: the pass is not a step."""
    buffers = list(model.buffers())
    saved = [b.clone() for b in buffers]
    was_training = model.training
    model.train(train)
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, old in zip(buffers, saved, strict=True):
                buffer.copy_(old)
        model.train(was_training)


def frozen_copy(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """A copy of `model` in eval mode whose batch norms normalise by the batch `x`'s statistics,
    held fixed, and whose parameters ask for no gradient.

    In train mode a sample's output depends on the rest of its batch; a Jacobian per input, or
    a gradient per point of a path, needs each sample's map to be its own. Held at the batch
    statistics training would use, the map is the one training sees, less the coupling (the
    variance kept is the unbiased one, n / (n - 1) of training's: 1.0002 for 128 examples of
    40 positions).
    """
    frozen = copy.deepcopy(model)
    for m in frozen.modules():
        if isinstance(m, _BATCH_NORM):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: after one batch, that batch's statistics
    frozen.requires_grad_(False)
    frozen.train()
    with torch.no_grad():
        frozen(x)
    return frozen.eval()


def eval_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` in eval mode (a trained net as its test error reads it) that asks for
    no gradient: lesions and loss slices change it, never the model itself."""
    return copy.deepcopy(model).requires_grad_(False).eval()


@torch.no_grad()
def loss_and_error(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Callable[[torch.Tensor], torch.Tensor],
    batch: int = 1024,
) -> tuple[float, float]:
    """(mean cross-entropy, error) of `model` on (x, y) as stored, `inputs` preparing each batch;
    per prediction (per token for next-token targets), in fp32."""
    loss = torch.zeros((), device=x.device)
    wrong = torch.zeros((), device=x.device)
    for i in range(0, len(x), batch):
        logits = model(inputs(x[i : i + batch])).float()
        target = y[i : i + batch]
        loss += F.cross_entropy(logits, target, reduction="sum")
        wrong += (logits.argmax(1) != target).sum()
    return loss.item() / y.numel(), wrong.item() / y.numel()


def from_input(model: nn.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, list[nn.Module], int]:
    """Where derivatives with respect to the input start: (the input, the parts after it, the
    layer index of the first part's output). Inputs of values are the input itself and every
    part but the head follows (stem first: layer 0); token ids have no derivative, so the start
    is the stem's output and the blocks follow (layer 1)."""
    parts = signal_layers(model)
    if x.is_floating_point():
        return x, parts, 0
    with torch.no_grad():
        return parts[0](x), parts[1:], 1
