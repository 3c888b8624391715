"""Gradient flow: each weight layer's gradient norm, each block's activation std.

The lecture and the paper explain the degradation by optimisation difficulty: gradients that
vanish or explode on their way back to the first layers, signals that fade or blow up through
many layers. `measure_flow` reads both on a fixed batch, in a forward and backward pass of
its own that leaves training exactly as it was:

- gradients come from `torch.autograd.grad`, so nothing is written to `.grad` and the
  optimiser never sees them;
- batch norm runs in train mode (batch statistics, as in training), and its running
  statistics are put back afterwards;
- no random numbers are drawn, and the pass runs in fp32 whatever `train.precision` says.

Indices run from input to output. Weight layers: every Conv/Linear weight on the main path —
the stem, each block's branch, the head — so 0..depth-1; a projection shortcut (option B)
and a highway gate are left out, as depth leaves them out. A transformer's depth counts
blocks, and so do its gradient norms: one per block, all its parameters together, 0..depth-1
(the embedding and the head aside). Activations: the output of the stem (0) and of each block
(1..n); the head's logits are not a signal through depth.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from resbench.models.blocks import OFF_PATH
from resbench.models.layers import WEIGHT_LAYERS
from resbench.models.transformer import Transformer
from resbench.train.diagnostics.passes import signal_layers, untouched
from resbench.train.run_result import LayerPoint, finite


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The Conv/Linear layers on the main path, input to output (registration order): not a
    block's shortcut projection, nor a highway gate."""
    side = [getattr(b, name, None) for b in model.modules() for name in OFF_PATH]
    skipped = {id(m) for part in side if isinstance(part, nn.Module) for m in part.modules()}
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS) and id(m) not in skipped]


def gradient_groups(model: nn.Module) -> list[list[torch.Tensor]]:
    """The parameters whose gradient norms are measured, one list per index: each weight
    layer's weight, or each transformer block's parameters."""
    if isinstance(model, Transformer):
        return [list(block.parameters()) for block in model.blocks]
    return [[m.weight] for m in weight_layers(model)]


def measure_flow(
    model: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    kinds: Sequence[str],
    step: int,
) -> list[LayerPoint]:
    """grad_norms and activations, where `kinds` names them, of `model` on the batch (x, y), as
    points at `step`."""
    if "grad_norms" not in kinds and "activations" not in kinds:
        return []
    groups = gradient_groups(model) if "grad_norms" in kinds else []
    weights = [w for group in groups for w in group]
    stds: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _in, out: stds.append(out.detach().float().std()))
        for m in (signal_layers(model) if "activations" in kinds else [])
    ]
    try:
        with untouched(model), torch.set_grad_enabled(bool(weights)):
            loss = F.cross_entropy(model(x).float(), y)
            grads = torch.autograd.grad(loss, weights) if weights else ()
    finally:
        for hook in hooks:
            hook.remove()
    each = iter(torch.linalg.vector_norm(g.float()) for g in grads)
    norms = []
    for group in groups:  # several tensors: the norm of them all together
        mine = [next(each) for _ in group]
        norms.append(mine[0] if len(mine) == 1 else torch.linalg.vector_norm(torch.stack(mine)))
    measured = norms + stds
    values = torch.stack(measured).tolist() if measured else []  # one host sync for all
    where = [("grad_norm", i) for i in range(len(groups))]
    where += [("activation_std", i) for i in range(len(stds))]
    return [
        LayerPoint(step=step, layer=layer, kind=kind, value=finite(value))
        for (kind, layer), value in zip(where, values, strict=True)
    ]
