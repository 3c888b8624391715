"""Sizes of networks without training them: parameters and forward FLOPs, per net or as a table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from resbench.models.layers import WEIGHT_LAYERS
from resbench.models.registry import get_family

if TYPE_CHECKING:
    from resbench.models.config import ModelConfig


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_weights(model: nn.Module) -> int:
    """Parameters of the weight layers alone (convolutions, Linear), batch norms and scalars
    aside: how He et al. 2016 count their pre-activation nets (ResNet-1001: 10.2M)."""
    return sum(count_parameters(m) for m in model.modules() if isinstance(m, WEIGHT_LAYERS))


def profile(
    cfg: ModelConfig, input_shape: tuple[int, ...] | None = None, num_classes: int = 10
) -> tuple[int, int]:
    """(parameters, forward FLOPs for one example) of the network `cfg` describes."""
    params, _, flops = sizes(cfg, input_shape, num_classes)
    return params, flops


def sizes(
    cfg: ModelConfig, input_shape: tuple[int, ...] | None = None, num_classes: int = 10
) -> tuple[int, int, int]:
    """(parameters, weight-layer parameters, forward FLOPs for one example) of `cfg`'s network.

    Built and run on the meta device: shapes only, no memory and no arithmetic, so even the
    1202-layer net is instant. FLOPs are those of convolutions and matrix products as
    torch's FlopCounterMode counts them (a multiply-add is 2); the family's natural input
    shape is used unless `input_shape` is given.
    """
    from torch.utils.flop_counter import FlopCounterMode

    family = get_family(cfg.family)
    shape = input_shape or family.input_shape
    with torch.device("meta"):
        # No initialisation: it changes neither count, and on 1202 layers it is the slow part.
        model = family.builder()(cfg, shape, num_classes)
    model.eval()  # batch norm on one example needs running statistics
    tokens = getattr(model, "tokens", False)  # a transformer reading token ids
    example = torch.empty(1, *shape, device="meta", dtype=torch.long if tokens else None)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(example)
    return count_parameters(model), count_weights(model), counter.get_total_flops()


def size_table(
    family: str,
    depths: Sequence[int],
    archs: Sequence[str] = ("plain", "residual"),
    options: dict[str, Any] | None = None,
    num_classes: int = 10,
    input_shape: tuple[int, ...] | None = None,
) -> list[dict[str, Any]]:
    """One row per (depth, arch): depth, arch, batch_norm, params, weights (the weight layers'
    parameters), flops (forward, one example).

    `options` are `model:` fields (width, shortcut, block, batch_norm, options). Without
    batch_norm, each arch is built with batch norm where it takes it (and where its family has
    it). Bad values raise a one-line ResbenchError naming the option.
    """
    from pydantic import ValidationError

    from resbench.core.errors import ResbenchError
    from resbench.models import registry
    from resbench.models.config import ModelConfig

    options = dict(options or {})
    if problem := registry.family_problem(family):
        raise ResbenchError(problem)
    if not (input_shape or registry.get_family(family).input_shape):
        raise ResbenchError(
            f"{family} declares no input_shape: give one example's shape, e.g. --input-shape 1,40"
        )
    if "block" in options and (problem := registry.block_problem(family, options["block"])):
        raise ResbenchError(f"--block: {problem}")
    if options.get("shortcut", "A") not in ("A", "B"):
        raise ResbenchError(f"--shortcut: unknown shortcut {options['shortcut']!r} (valid: A, B)")
    chosen = options.pop("batch_norm", None)
    for depth in depths:
        if problem := registry.depth_problem(family, depth, options.get("block", "basic")):
            raise ResbenchError(f"--depths: {problem} (got {depth})")
    bn = {}
    has_batch_norm = registry.fixed_problem(family, "batch_norm", True) is None
    if chosen and not has_batch_norm:
        raise ResbenchError(f"--batch-norm: {registry.fixed_problem(family, 'batch_norm', True)}")
    for arch in archs:
        if problem := registry.arch_known_problem(arch):
            raise ResbenchError(f"--arch: {problem}")
        takes = has_batch_norm and registry.get_arch(arch).batch_norm != "refused"
        bn[arch] = takes if chosen is None else chosen
        if problem := registry.arch_problem(family, arch, bn[arch]):
            raise ResbenchError(f"--arch: {problem}")
    rows: list[dict[str, Any]] = []
    for depth in depths:
        for arch in archs:
            try:
                cfg = ModelConfig(
                    family=family, depth=depth, arch=arch, batch_norm=bn[arch], **options
                )
            except ValidationError as e:
                err = e.errors()[0]
                problem = err["msg"].removeprefix("Value error, ")
                flag = {"options": "option"}.get(str(err["loc"][0]), str(err["loc"][0]))
                raise ResbenchError(f"--{flag.replace('_', '-')}: {problem}") from None
            params, weights, flops = sizes(cfg, input_shape, num_classes)
            row = {"depth": depth, "arch": arch, "batch_norm": bn[arch], "params": params}
            rows.append(row | {"weights": weights, "flops": flops})
    return rows
