"""Per-run speed figures: forward FLOPs per example, achieved GFLOP/s, and MFU.

MFU (model FLOPs utilisation) is the training arithmetic a run did per second over what the
device can do: its matrix-multiply peak, as `resbench.train.peak` measures it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from resbench.train import peak

if TYPE_CHECKING:
    import torch

    from resbench.models.config import ModelConfig


# A training step costs about 3 forward passes: the forward, and a backward that computes
# gradients for both activations and weights (Kaplan et al. 2020, section 2.1).
TRAIN_FLOPS_PER_FORWARD = 3


def flops_per_sample(model: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> int:
    """Forward FLOPs for one example (a multiply-add counts 2), counted once per process.

    Counted on the meta device (`models.profile`), never on the run's model: no memory is
    taken from the run's device, and no kernel is tuned for a batch of one.
    """
    return _count_flops(model.model_dump_json(), tuple(input_shape), num_classes)


@cache  # keyed by the config's JSON: a pydantic model is not hashable
def _count_flops(model_json: str, input_shape: tuple[int, ...], num_classes: int) -> int:
    from resbench.models import profile
    from resbench.models.config import ModelConfig

    return profile(ModelConfig.model_validate_json(model_json), input_shape, num_classes)[1]


def figures(
    flops: int, samples_per_s: float | None, device: torch.device, precision: str
) -> tuple[float | None, float | None]:
    """(achieved training GFLOP/s, MFU) of a run that trained `samples_per_s` examples a second."""
    if not samples_per_s or flops <= 0:
        return None, None
    gflops = TRAIN_FLOPS_PER_FORWARD * flops * samples_per_s / 1e9
    best = peak.peak_gflops(device, precision)
    if best is not None and gflops > best:
        best = peak.raise_to(device, precision, gflops)  # the cached peak was measured busy
    return gflops, (gflops / best if best else None)
