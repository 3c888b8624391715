"""Dynamical isometry: the singular values of the input-output Jacobian at initialisation.

For a few training examples x (`train.probes.jacobian_inputs`, the first of the diagnostics'
batch), the Jacobian J_l = ∂h_l/∂x of each layer's output h_l (the stem's, layer 0, and each
block's, 1..n) with respect to the input, exactly, by forward-mode differentiation: one
tangent per input dimension (MNIST-1D: 40), so its cost is that of a forward pass on
inputs x dimensions examples. Token ids have no derivative: there x is the stem's output and
the layers start at the first block. Batch norm normalises by the diagnostics' batch's
statistics, held fixed (`passes.frozen_copy`), so that each input's map is its own.

Each layer's singular values, pooled over the inputs, are summarised as `jacobian_sv_max`,
`jacobian_sv_median`, `jacobian_sv_min` and `jacobian_sv_rms` (√ of the mean squared singular
value: ‖J‖_F / √(number of singular values), the mean gain). A net is dynamically isometric
when they all stay near 1 through depth (Pennington, Schoenholz & Ganguli 2017: ReLU nets
cannot be; Xiao et al. 2018: orthogonal, delta-orthogonal convolutions at the critical point
can).
"""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as fwad
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from resbench.train.diagnostics.passes import from_input, frozen_copy
from resbench.train.run_result import LayerPoint, finite

CHUNK = 512  # examples a forward pass carries at once (inputs x tangents)
SUMMARIES = ("jacobian_sv_max", "jacobian_sv_median", "jacobian_sv_min", "jacobian_sv_rms")


def layer_jacobians(parts: list[nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
    """∂h_l/∂x for every part's output h_l of the chain `parts` applied to each input of `x`
    (k, ...), each (k, outputs of h_l, entries of one input): the parts must treat samples
    independently (eval mode)."""
    k, dims = len(x), x[0].numel()
    rows = torch.arange(k * dims, device=x.device)  # (input, tangent) pairs
    columns: list[list[torch.Tensor]] = [[] for _ in parts]
    # The flash and memory-efficient attention kernels have no forward-mode derivative; the
    # math kernel is the same attention in plain operations.
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]):
        for chunk in rows.split(CHUNK):
            primal = x[chunk // dims]
            tangent = torch.zeros(len(chunk), dims, device=x.device, dtype=x.dtype)
            tangent[torch.arange(len(chunk)), chunk % dims] = 1.0
            with fwad.dual_level():
                h = fwad.make_dual(primal, tangent.view_as(primal))
                for i, part in enumerate(parts):
                    h = part(h)
                    columns[i].append(fwad.unpack_dual(h).tangent.flatten(1))
    return [torch.cat(c).view(k, dims, -1).transpose(1, 2) for c in columns]


def spectrum_summary(jacobians: torch.Tensor) -> list[torch.Tensor]:
    """max, median, min and rms of the singular values of `jacobians` (k, m, n), pooled."""
    sv = torch.linalg.svdvals(jacobians.double()).flatten()
    return [sv.max(), sv.median(), sv.min(), sv.pow(2).mean().sqrt()]


def jacobian_points(
    model: nn.Sequential, x: torch.Tensor, step: int, inputs: int
) -> list[LayerPoint]:
    """`jacobian`: each layer's singular-value summary on the first `inputs` examples of `x`
    (batch norm at the statistics of the whole of `x`), as points at `step`."""
    frozen = frozen_copy(model, x)
    start, parts, first = from_input(frozen, x[:inputs])
    measured = [
        (first + i, kind, value)
        for i, jac in enumerate(layer_jacobians(parts, start))
        for kind, value in zip(SUMMARIES, spectrum_summary(jac), strict=True)
    ]
    values = torch.stack([v for _, _, v in measured]).tolist()  # one host sync for all
    return [
        LayerPoint(step=step, layer=layer, kind=kind, value=finite(value))  # type: ignore[arg-type]
        for (layer, kind, _), value in zip(measured, values, strict=True)
    ]
