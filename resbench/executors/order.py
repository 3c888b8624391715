"""The order a sweep's runs are handed out in: the longest first.

A depth sweep's runs differ in length by an order of magnitude (a 56-layer net trains about
seven times as long as an 8-layer one). In grid order the deepest come last, and a worker can
be left training one alone while the others stand idle. Handing out the longest first (the
LPT rule of scheduling on parallel machines) leaves only short runs for the end, where they
fill the gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resbench.sweep.schema import RunSpec


def longest_first(specs: Sequence[RunSpec]) -> list[RunSpec]:
    """`specs` by estimated cost, the largest first; equal costs keep their order (seeds)."""
    return sorted(specs, key=cost, reverse=True)


def cost(spec: RunSpec) -> float:
    """A run's training arithmetic, up to a factor that runs of one sweep share.

    For one family and input size, every family here does multiply-adds per example in
    proportion to depth x width²; times what it trains on: epochs, or steps x batch size
    when it is given steps (a sweep that mixes the two is ordered less well, never run
    differently). Only the order matters, so this needs no model, no data and no torch.
    """
    model, train = spec.model, spec.train
    examples = train.epochs if train.epochs is not None else (train.steps or 0) * train.batch_size
    return model.depth * model.width**2 * examples
