"""Gradient-flow diagnostics: each weight layer's gradient norm, each block's activation std.

The lecture and the paper explain the degradation by optimisation difficulty: gradients that
vanish or explode on their way back to the first layers, signals that fade or blow up through
many layers. `measure` reads both on a fixed batch, in a forward and backward pass of its own
that leaves training exactly as it was:

- gradients come from `torch.autograd.grad`, so nothing is written to `.grad` and the
  optimiser never sees them;
- batch norm runs in train mode (batch statistics, as in training), and its running
  statistics are put back afterwards;
- no random numbers are drawn, and the pass runs in fp32 whatever `train.precision` says.

Indices run from input to output. Weight layers: every Conv/Linear weight on the main path —
the stem, both layers of each block, the head — so 0..depth-1; a projection shortcut (option B)
is left out, as depth leaves it out. Activations: the output of the stem (0) and of each block
(1..n), after its ReLU; the head's logits are not a signal through depth.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from resbench.models import CONV, Block
from resbench.result import LayerPoint, finite


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The Conv/Linear layers on the main path, input to output (registration order)."""
    blocks = [b for b in model.modules() if isinstance(b, Block) and b.shortcut is not None]
    skipped = {id(m) for b in blocks for m in b.shortcut.modules()}
    return [
        m
        for m in model.modules()
        if isinstance(m, (*CONV.values(), nn.Linear)) and id(m) not in skipped
    ]


def signal_layers(model: nn.Sequential) -> list[nn.Module]:
    """The stem and each block: every part of `nn.Sequential(stem, *blocks, head)` but the head."""
    return list(model.children())[:-1]


def measure(
    model: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    kinds: Sequence[str],
    step: int,
) -> list[LayerPoint]:
    """`kinds` (of `train.diagnostics`) of `model` on the batch (x, y), as points at `step`."""
    if not kinds:
        return []
    weights = [m.weight for m in weight_layers(model)] if "grad_norms" in kinds else []
    stds: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _in, out: stds.append(out.detach().float().std()))
        for m in (signal_layers(model) if "activations" in kinds else [])
    ]
    buffers = list(model.buffers())  # batch norm's running statistics (and batch counts)
    saved = [b.clone() for b in buffers]
    was_training = model.training
    model.train()
    try:
        with torch.set_grad_enabled(bool(weights)):
            loss = F.cross_entropy(model(x).float(), y)
            grads = torch.autograd.grad(loss, weights) if weights else ()
    finally:
        for hook in hooks:
            hook.remove()
        with torch.no_grad():
            for buffer, old in zip(buffers, saved, strict=True):
                buffer.copy_(old)  # as training left them: this pass must not count as one
        model.train(was_training)
    measured = [torch.linalg.vector_norm(g.float()) for g in grads] + stds
    values = torch.stack(measured).tolist() if measured else []  # one host sync for all
    where = [("grad_norm", i) for i in range(len(grads))]
    where += [("activation_std", i) for i in range(len(stds))]
    return [
        LayerPoint(step=step, layer=layer, kind=kind, value=finite(value))
        for (kind, layer), value in zip(where, values, strict=True)
    ]
