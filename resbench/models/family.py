"""What the registry holds: a family of networks, an arch, and a depth rule. Plain data, no torch.

A family names its builder by import path (`module:function`), imported only where networks are
built, in the workers; user code's families are made from what their builder declares
(`resbench.models.plugin`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from resbench.core import plugins


@dataclass(frozen=True)
class DepthRule:
    """Which depths a family can build with one kind of block, and the rule in words."""

    rule: str  # e.g. "6n+2 with n >= 1", for error messages
    is_valid: Callable[[int], bool]
    examples: tuple[int, ...]  # shown in errors; `resbench models` lists them by default


def stages_rule(layers_per_block: int, examples: tuple[int, ...]) -> DepthRule:
    """Stem, three stages of n blocks of `layers_per_block` weight layers, classifier."""
    k = 3 * layers_per_block

    def is_valid(depth: int) -> bool:
        return depth >= k + 2 and (depth - 2) % k == 0

    return DepthRule(f"{k}n+2 with n >= 1", is_valid, examples)


@dataclass(frozen=True)
class Family:
    """A family of networks: its builder, how depth is counted, which archs it places."""

    name: str
    build: str  # "module:function", called (ModelConfig, input shape, classes) -> nn.Module
    depths: Mapping[str, DepthRule]  # block kind -> its depth rule; the first is the default
    input_shape: tuple[int, ...]  # one example of its natural data, for counting FLOPs
    archs: tuple[str, ...] = ("plain", "residual")
    user: bool = False  # user code (`resbench.models.plugin`): it initialises its own nets
    options: tuple[str, ...] | None = ()  # the model.options it takes (None: any)
    # What a built-in family reads (kinds of `DatasetOptions.data_kind`; None: anything), its
    # own model.options (a strict model with their defaults), the model fields it needs at one
    # value (field -> (value, why)), and what its fields must satisfy together.
    reads: tuple[str, ...] | None = None
    settings: str | None = None  # its model.options' typed model, by import path
    fixed: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    fields_problem: Callable[[Mapping[str, Any]], str | None] | None = None
    unit: str = "layer"  # what its depth counts (figures say so)
    # The model.options an arch's runs are given when they do not set them: defaults that
    # changed what the arch computes, written into the config so that the run id tells the new
    # computation from records made before (which lack them). arch -> option -> value.
    arch_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Does model.branch_multiplier (depth-μP) apply to its archs with a residual branch?
    branch_multiplier: bool = True

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(self.depths)

    def builder(self) -> Callable[..., Any]:
        """The builder function itself (imports its module: torch, for the built-in ones)."""
        return plugins.resolve(self.build)


@dataclass(frozen=True)
class Arch:
    """An architecture a family may place: what it can be combined with.

    Its formula and paper are in the docstring of its block (`resbench.models.blocks`).
    """

    name: str
    batch_norm: Literal["optional", "refused"] = "optional"
    why_not_batch_norm: str = ""  # when refused: the reason, for the error
    zero_init_residual: bool = False  # does model.zero_init_residual apply to it?
    # Does a block add a branch to its input, x + F(x), which model.branch_multiplier scales?
    residual_branch: bool = False
