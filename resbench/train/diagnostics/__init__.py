"""Diagnostics (`train.diagnostics`): what a run measures of itself, beside its error, to show
why depth fails or does not. One module per measurement:

| name             | kinds recorded (layers.csv)        | when          | module               |
|------------------|------------------------------------|---------------|----------------------|
| grad_norms       | grad_norm                          | 0, each point | flow                 |
| activations      | activation_std                     | 0, each point | flow                 |
| signal           | signal_rms, sample_cosine,         | 0, each point | signal               |
|                  | token_cosine, token_spread         |               |                      |
| jacobian         | jacobian_sv_max, _median, _min,    | step 0        | jacobian             |
|                  | _rms                               |               |                      |
| grad_correlation | grad_correlation                   | step 0        | gradient_correlation |
| lesions          | intact_error, lesion_error         | after         | lesions              |
| loss_slice       | loss_slice (x = α)                 | after         | slices               |
| loss_surface     | loss_surface (x = α, y = β)        | after         | slices               |

What each measures, and its source:

| name             | definition                                          | source                  |
|------------------|-----------------------------------------------------|-------------------------|
| signal           | each layer's RMS; mean cosine between samples' (and | Schoenholz et al. 2017; |
|                  | a transformer's tokens') outputs; tokens' distance  | Dong et al. 2021; Noci  |
|                  | to rank 1                                           | et al. 2022             |
| jacobian         | singular values of ∂h_l/∂x on a few inputs, each    | Pennington et al. 2017; |
|                  | layer, summarised                                   | Xiao et al. 2018        |
| grad_correlation | mean cosine of ∇ₓ⟨u_l, h_l⟩ at neighbouring points  | Balduzzi et al. 2017    |
|                  | of a path between two inputs                        |                         |
| lesions          | test error with each block replaced by its shortcut | Veit et al. 2016        |
| loss_slice,      | training loss along 1 or 2 filter-normalised random | Li et al. 2018          |
| loss_surface     | directions around the trained weights               |                         |

Cost, in training steps (forward, backward and update on 128 examples) of the net measured:
the `why` preset's 48-block nets on MNIST-1D (conv1d width 8, 98 layers, a step 0.058 s of
CPU; the transformer width 16, a step 0.32 s), at the default `train.probes`, measured by
`python benchmarks/why_cost.py --repeats 2` on one thread of a 2-core AMD EPYC (CPU time, the
machine otherwise busy: load 7 to 9):

| name             | what one pass runs                               | conv1d | transformer |
|------------------|--------------------------------------------------|--------|-------------|
| grad_norms,      | a forward and backward on 128 examples           | 1.0    | 1.3         |
| activations      |                                                  |        |             |
| signal           | a forward on 128 examples                        | 0.5    | 0.4         |
| jacobian         | a forward-mode pass on 4 x 40 examples; SVDs     | 5.3    | 2.4         |
| grad_correlation | a forward on 16 points, a backward per layer     | 4.7    | 2.5         |
| lesions          | a forward on 512 test examples per block, + 1    | 26     | 62          |
| loss_slice       | a forward on 512 examples per point (21)         | 12     | 27          |
| loss_surface     | a forward on 512 examples per point (11 x 11)    | 70     | 158         |

A run of the preset trains 192 steps (conv1d) or 160 (the transformer); the first three are
measured at step 0 and after every epoch, jacobian and grad_correlation once, the rest once
after training.

Layer indices run from input to output: for grad_norms the weight layers (a transformer's
blocks), for every other per-layer kind 0 for the stem's output and 1..n for each block's
(token ids start at 1: their derivatives start after the stem), and -1 for a point about the
net as a whole (intact_error, the loss slices). Every pass leaves training exactly as it was
(`passes`): the same spec trains to the same numbers with and without diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from resbench.sweep.probes import ProbeOptions
from resbench.train.diagnostics.flow import gradient_groups, measure_flow, weight_layers
from resbench.train.diagnostics.gradient_correlation import correlation_points
from resbench.train.diagnostics.jacobian import jacobian_points
from resbench.train.diagnostics.lesions import lesion_points
from resbench.train.diagnostics.passes import signal_layers
from resbench.train.diagnostics.signal import signal_points
from resbench.train.diagnostics.slices import slice_points
from resbench.train.run_result import LayerPoint

if TYPE_CHECKING:
    from resbench.data import Data

__all__ = [
    "AFTER_TRAINING",
    "after_training",
    "gradient_groups",
    "measure",
    "signal_layers",
    "weight_layers",
]

AT_INITIALISATION = ("jacobian", "grad_correlation")  # measured at step 0 only
AFTER_TRAINING = ("lesions", "loss_slice", "loss_surface")  # on the trained net, once


def measure(
    model: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    kinds: Sequence[str],
    step: int,
    probes: ProbeOptions | None = None,
    seed: int = 0,
) -> list[LayerPoint]:
    """What `kinds` (of `train.diagnostics`) measure of `model` at `step` on the diagnostics'
    batch (x, y): grad_norms, activations and signal at every call; jacobian and
    grad_correlation when `step` is 0."""
    probes = probes or ProbeOptions()
    points = measure_flow(model, x, y, kinds, step)
    if "signal" in kinds:
        points += signal_points(model, x, step)
    if step == 0 and "jacobian" in kinds:
        points += jacobian_points(model, x, step, probes.jacobian_inputs)
    if step == 0 and "grad_correlation" in kinds and len(x) > 1:
        points += correlation_points(model, x, step, probes.path_points, seed)
    return points


def after_training(
    model: nn.Sequential,
    data: Data,
    kinds: Sequence[str],
    step: int,
    probes: ProbeOptions | None = None,
    seed: int = 0,
) -> list[LayerPoint]:
    """What `kinds` measure of the trained `model` (lesions, loss slices), as points at `step`."""
    probes = probes or ProbeOptions()
    points = []
    if "lesions" in kinds:
        points += lesion_points(model, data, step, probes.lesion_examples)
    slices = tuple(k for k in ("loss_slice", "loss_surface") if k in kinds)
    if slices:
        points += slice_points(model, data, step, probes, seed, slices)
    return points
