"""The `model:` section of a sweep and `ModelConfig`, a network fully described (the section
plus the swept depth and arch): what every family builds from.

Families, archs, blocks and depths are checked against `resbench.models.registry` when a sweep
is validated (so ones registered after import are known), never when a record is read back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, ValidationInfo, field_validator, model_validator

from resbench.core.strict import Strict, stored
from resbench.models import plugin as model_plugin
from resbench.models import registry


class ModelSection(Strict):
    """The `model:` section: everything about the network except depth and arch (swept).

    Families, archs and blocks are looked up in `resbench.models.registry` when a sweep is
    validated, so ones registered after import are known.
    """

    family: str = Field(
        "conv1d",
        description="a family: mlp, conv1d, cifar, an installed plugin's, or user code as "
        "module:callable (docs/plugins.md)",
    )
    width: PositiveInt = Field(
        16, description="hidden width (mlp); first stage's channels (conv1d, cifar: the paper's 16)"
    )
    batch_norm: bool = True
    shortcut: Literal["A", "B"] = Field(
        "A", description="where widths change: A zero-pads (no parameters), B projects (1x1)"
    )
    zero_init_residual: bool = Field(
        False, description="start each residual branch's last batch norm at 0 (Goyal et al. 2017)"
    )
    block: str = Field(
        "basic",
        description="basic: two 3-wide layers; bottleneck: 1, 3, 1 with 4x wider outputs "
        "(conv1d, cifar; depth 9n+2)",
    )
    init: Literal["he", "lecun", "orthogonal", "delta_orthogonal", "xavier"] = Field(
        "he",
        description="hidden weight layers: he (Kaiming normal), lecun (N(0, 1/fan_in)), "
        "orthogonal, delta_orthogonal (conv kernels zero but an orthogonal centre tap; Xiao et "
        "al. 2018), or xavier (Glorot normal; the transformer's, always)",
    )
    activation: Literal["relu", "tanh"] = Field("relu", description="the nonlinearity g")
    options: dict[str, Any] = Field(
        default_factory=dict,
        validate_default=True,  # a built-in family's options get their defaults
        description="the family's own settings: the transformer's heads, mlp_ratio and "
        "layer_norm; a user family's (model.family: module:callable), passed on",
    )
    version: str | None = Field(
        None,
        description="set by resbench for a user family: its package's version, or a hash of "
        "its module's source; part of the run id",
    )
    branch_multiplier: Literal["none", "inv_sqrt_depth", "depth_power"] = Field(
        "none",
        description="depth-muP: each residual branch multiplied by 1/sqrt(L) (inv_sqrt_depth: "
        "Yang et al. 2023, Bordelon et al. 2023) or (L/L0)^-alpha (depth_power: Dey et al. "
        "2025), L the net's residual blocks; with Adam the blocks' learning rate is scaled by "
        "(L/L0)^(alpha-1) too (resbench.models.depth_scaling)",
    )
    branch_base_depth: PositiveInt | None = Field(
        None, description="depth_power: L0, the residual blocks of the base net (multiplier 1)"
    )
    branch_exponent: Annotated[float, Field(ge=0.5, le=1.0)] | None = Field(
        None,
        description="depth_power: alpha, from 0.5 (depth-muP's 1/sqrt(L)) to 1 (CompleteP)",
    )
    branch_eps: Literal["scaled", "unscaled"] | None = Field(
        None,
        description="with a branch_multiplier and Adam: scaled (the default) multiplies the "
        "blocks' eps by (L/L0)^-alpha as CompleteP does; unscaled leaves it (runs recorded "
        "before the option, which say null)",
    )

    @model_validator(mode="before")
    @classmethod
    def _user_code_version(cls, data: Any, info: ValidationInfo) -> Any:
        # A user family's code is part of what a run computes: its version joins the run id.
        return data if stored(info) else model_plugin.with_version(data)

    @model_validator(mode="before")
    @classmethod
    def _family_fixed_fields(cls, data: Any, info: ValidationInfo) -> Any:
        # e.g. the transformer has no batch norm: a section that does not say so is given it.
        return data if stored(info) else registry.with_fixed(data)

    @field_validator("family")
    @classmethod
    def _family_registered(cls, family: str, info: ValidationInfo) -> str:
        if stored(info):
            return family
        if problem := registry.family_problem(family):
            raise ValueError(problem)
        return family

    @field_validator("batch_norm", "init", "branch_multiplier")
    @classmethod
    def _fixed_by_family(cls, value: Any, info: ValidationInfo) -> Any:
        if stored(info):
            return value
        if problem := registry.fixed_problem(info.data.get("family"), info.field_name, value):
            raise ValueError(problem)
        return value

    @field_validator("options")
    @classmethod
    def _options_of_family(cls, options: dict[str, Any], info: ValidationInfo) -> dict:
        family = info.data.get("family")
        if not family or stored(info):
            return options
        known = registry.get_family(family)
        if not known.user:
            options = registry.options_of(family, options)
            if problem := registry.model_problem(family, {**info.data, "options": options}):
                raise ValueError(problem)
            return options
        if not options:
            return options
        unknown = [k for k in options if known.options is not None and k not in known.options]
        if unknown:
            takes = ", ".join(known.options or ()) or "none"
            raise ValueError(f"{family} takes no option {unknown[0]!r} (its options: {takes})")
        return options

    @model_validator(mode="after")
    def _power_needs_base_and_exponent(self) -> ModelSection:
        fields = ("branch_base_depth", "branch_exponent")
        given = [f for f in fields if getattr(self, f) is not None]
        if self.branch_multiplier == "depth_power" and len(given) < 2:
            raise ValueError(
                "branch_multiplier depth_power needs branch_base_depth (L0) and branch_exponent "
                "(alpha)"
            )
        if self.branch_multiplier != "depth_power" and given:
            raise ValueError(f"{given[0]} goes with branch_multiplier: depth_power")
        if self.branch_multiplier == "none" and self.branch_eps is not None:
            raise ValueError(
                "branch_eps goes with a branch_multiplier (inv_sqrt_depth, depth_power)"
            )
        return self

    @field_validator("zero_init_residual")
    @classmethod
    def _zero_init_needs_batch_norm(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("batch_norm", True):
            raise ValueError("zero_init_residual needs batch_norm: true")
        return value

    @field_validator("block")
    @classmethod
    def _block_of_family(cls, block: str, info: ValidationInfo) -> str:
        if (
            "family" in info.data
            and not stored(info)
            and (problem := registry.block_problem(info.data["family"], block))
        ):
            raise ValueError(problem)
        return block


class ModelConfig(ModelSection):
    """A network fully described: the section plus the swept depth and arch.

    Where a default changed what a net computes, the new default is written into the run's
    config (and so hashed into its run id) and an old record, which lacks it, keeps its id and
    reads as what it was: Adam's eps under a branch multiplier (`branch_eps`), and the options
    an arch's family fills in for it (`Family.arch_options`: ReZero's α, T-Fixup's embedding).
    """

    depth: PositiveInt
    arch: str

    @model_validator(mode="before")
    @classmethod
    def _new_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        if stored(info) or not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("branch_multiplier", "none") != "none" and data.get("branch_eps") is None:
            data["branch_eps"] = "scaled"
        filled = registry.arch_options(data.get("family", ""), data.get("arch", ""))
        if filled:
            options = dict(data.get("options") or {})
            for key, value in filled.items():
                if options.get(key) is None:
                    options[key] = value
            data["options"] = options
        return data

    @field_validator("depth")
    @classmethod
    def _depth_buildable(cls, depth: int, info: ValidationInfo) -> int:
        if "family" not in info.data or "block" not in info.data or stored(info):
            return depth  # already refused: the error is theirs (or read back: checked then)
        if problem := registry.depth_problem(info.data["family"], depth, info.data["block"]):
            raise ValueError(problem)
        return depth

    @field_validator("arch")
    @classmethod
    def _arch_placeable(cls, arch: str, info: ValidationInfo) -> str:
        if stored(info):
            return arch
        if "family" not in info.data:
            problem = registry.arch_known_problem(arch)
        else:
            problem = registry.arch_problem(
                info.data["family"],
                arch,
                info.data.get("batch_norm", True),
                info.data.get("zero_init_residual", False),
                info.data.get("branch_multiplier", "none"),
            )
        if not problem and "family" in info.data:
            problem = registry.model_problem(info.data["family"], {**info.data, "arch": arch})
        if problem:
            raise ValueError(problem)
        return arch
