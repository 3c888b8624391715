"""The registry of network families and archs (`resbench.models.family`): names, depth rules
and what goes with what.

Plain data, without torch: the driver of a sweep validates every run against it and never
imports torch. A family names its builder by import path (`module:function`), imported only
where networks are built, in the workers. Sweeps consult the registry when they are validated,
not when resbench is imported, so a family or arch registered at any time before a sweep is
loaded is known to it; the built-in ones are registered at the end of this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resbench.core import plugins
from resbench.models import plugin
from resbench.models.family import Arch, DepthRule, Family, stages_rule

_FAMILIES: dict[str, Family] = {}
_ARCHS: dict[str, Arch] = {}

# What one example of a dataset is (`DatasetOptions.data_kind`), in words for errors.
DATA_KINDS = {
    "sequence": "sequences (channels, length)",
    "image": "images (channels, height, width)",
    "tokens": "token sequences for next-token prediction",
}


def register_family(family: Family) -> None:
    """Make `family` known to sweeps validated from now on (a name registered again is replaced)."""
    _FAMILIES[family.name] = family


def register_arch(arch: Arch) -> None:
    """Make `arch` known to sweeps validated from now on."""
    _ARCHS[arch.name] = arch


def family_names() -> list[str]:
    return list(_FAMILIES)


def arch_names() -> list[str]:
    """The registered archs in the order they were registered (the order tables show them)."""
    return list(_ARCHS)


def get_family(name: str) -> Family:
    """The family `name`, user code registered on first use; KeyError when there is none,
    PluginError when its user code cannot be used."""
    if name not in _FAMILIES and plugins.is_plugin(name, plugins.FAMILIES):
        # A worker meets the sweep's user family here: its archs, new ones too, become known.
        family = plugin.declared_family(name)
        for arch in family.archs:
            if arch not in _ARCHS:
                register_arch(Arch(arch))
        register_family(family)
    return _FAMILIES[name]


def get_arch(name: str) -> Arch:
    """The arch `name`; KeyError when there is none."""
    return _ARCHS[name]


# --------------------------------------------------------------------------- validation
# Each returns why a value cannot be used, in one line, or None when it can.


def family_problem(name: str) -> str | None:
    try:
        get_family(name)  # registers user code
    except plugins.PluginError as e:
        return str(e)
    except KeyError:
        valid = [*_FAMILIES, *plugins.entry_points(plugins.FAMILIES), "or module:callable"]
        return f"unknown family {name!r} (valid: {', '.join(valid)})"
    return None


def arch_known_problem(name: str) -> str | None:
    if name in _ARCHS:
        return None
    return f"unknown arch {name!r} (valid: {', '.join(_ARCHS)})"


def block_problem(family: str, block: str) -> str | None:
    blocks = get_family(family).blocks
    if block in blocks:
        return None
    return f"{family} has no {block!r} blocks (valid: {', '.join(blocks)})"


def depth_problem(family: str, depth: int, block: str = "basic") -> str | None:
    """Why `family` cannot be built at `depth` with `block`s, or None when it can."""
    rule = get_family(family).depths[block]
    if rule.is_valid(depth):
        return None
    shown = f" ({', '.join(map(str, rule.examples))}, ...)" if rule.examples else ""
    kind = "" if block == "basic" else f" with {block} blocks"
    return f"{family} depth{kind} must be {rule.rule}{shown}"


def fixed_problem(family: str | None, name: str, value: Any) -> str | None:
    """Why model field `name` cannot be `value` in `family`, which needs it at one value."""
    f = _FAMILIES.get(family or "")
    if f is None or name not in f.fixed or f.fixed[name][0] == value:
        return None
    return f.fixed[name][1]


def with_fixed(section: Any) -> Any:
    """A `model:` section with the fields its built-in family fixes filled in where not given."""
    family = section.get("family") if isinstance(section, dict) else None
    if not isinstance(family, str) or family not in _FAMILIES:
        return section
    fixed = _FAMILIES[family].fixed
    return {**{name: value for name, (value, _) in fixed.items()}, **section}


def options_of(family: str, options: dict[str, Any]) -> dict[str, Any]:
    """A built-in family's model.options, checked and with their defaults (ValueError, one
    line, when they are not its own)."""
    from pydantic import ValidationError

    path = get_family(family).settings
    if path is None:
        if options:
            raise ValueError(f"{family} takes no options: they are for user families")
        return options
    settings = plugins.resolve(path)
    try:
        return settings.model_validate(options).model_dump()
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(map(str, err["loc"]))
        takes = ", ".join(settings.model_fields)
        if err["type"] == "extra_forbidden":
            raise ValueError(f"{family} takes no option {where!r} (its options: {takes})") from None
        raise ValueError(f"{where}: {err['msg']} (got {err['input']!r})") from None


def arch_options(family: str, arch: str) -> Mapping[str, Any]:
    """The model.options a built-in `family` fills in for `arch` where not given (none for a
    family or arch it does not know: their errors are the validators')."""
    if not isinstance(family, str) or not isinstance(arch, str):
        return {}  # a family or arch of the wrong kind: the validators name it
    f = _FAMILIES.get(family)
    return f.arch_options.get(arch, {}) if f is not None else {}


def model_problem(family: str, fields: Mapping[str, Any]) -> str | None:
    """Why `family` cannot build a net with these model fields together, or None."""
    problem = get_family(family).fields_problem
    return problem(fields) if problem is not None else None


def depth_unit(families: Iterable[str]) -> str:
    """What depth counts in nets of these families: "block" where every one is a built-in
    family counting blocks (the transformer), else "layer"."""
    units = {_FAMILIES[f].unit if f in _FAMILIES else "layer" for f in families}
    return units.pop() if len(units) == 1 else "layer"


def reads_problem(family: str, kind: str | None) -> str | None:
    """Why `family` cannot read a dataset whose examples are of `kind`, or None."""
    reads = get_family(family).reads
    if kind is None or reads is None or kind in reads:
        return None
    return f"{family} reads {' or '.join(DATA_KINDS[k] for k in reads)}, not {DATA_KINDS[kind]}"


def arch_problem(
    family: str,
    arch: str,
    batch_norm: bool = True,
    zero_init_residual: bool = False,
    branch_multiplier: str = "none",
) -> str | None:
    """Why `family` cannot place `arch` with these options, or None when it can."""
    if problem := arch_known_problem(arch):
        return problem
    f, a = get_family(family), get_arch(arch)
    if arch not in f.archs:
        return f"{family} has no arch {arch!r} (valid: {', '.join(f.archs)})"
    if batch_norm and a.batch_norm == "refused":
        return f"{arch} takes no batch norm: set model.batch_norm: false ({a.why_not_batch_norm})"
    if zero_init_residual and not a.zero_init_residual:
        able = ", ".join(n for n, x in _ARCHS.items() if x.zero_init_residual)
        return f"model.zero_init_residual applies only to {able}, not to {arch}"
    if branch_multiplier != "none" and not f.branch_multiplier:
        return (
            f"model.branch_multiplier applies to the mlp, conv1d and cifar families, not to "
            f"{family}: its archs scale their residual branches as their papers say"
        )
    if branch_multiplier != "none" and not (a.residual_branch and not f.user):
        able = ", ".join(n for n, x in _ARCHS.items() if x.residual_branch)
        return (
            f"model.branch_multiplier applies to archs with a residual branch ({able}) of the "
            f"built-in families, not to {arch} of {family}"
        )
    return None


# --------------------------------------------------------------------------- the built-in ones

_NETS = "resbench.models.nets"

for _arch in (
    Arch("plain", zero_init_residual=True),  # no branch to zero: the option leaves it as it is
    Arch("residual", zero_init_residual=True, residual_branch=True),
    Arch("preact", residual_branch=True),
    # A highway block mixes T·H(a) and (1 - T)·a: a gate, not a branch added to its input.
    Arch("highway"),
    Arch(
        "fixup",
        batch_norm="refused",
        why_not_batch_norm="Fixup is the initialisation that replaces normalisation",
        residual_branch=True,
    ),
    Arch("skipinit", residual_branch=True),
    Arch("rezero", residual_branch=True),
):
    register_arch(_arch)

_ALL = tuple(_ARCHS)

for _family in (
    Family(
        "mlp",
        f"{_NETS}:mlp",
        {"basic": DepthRule("an even number >= 4", lambda d: d >= 4 and d % 2 == 0, (4, 6, 8, 10))},
        (40,),
        _ALL,
        reads=("sequence", "image"),  # flattened
    ),
    Family(
        "conv1d",
        f"{_NETS}:conv1d",
        {"basic": stages_rule(2, (8, 14, 20, 26)), "bottleneck": stages_rule(3, (11, 20, 29, 38))},
        (1, 40),
        _ALL,
        reads=("sequence",),
    ),
    Family(
        "cifar",
        f"{_NETS}:cifar",
        {
            "basic": stages_rule(2, (20, 32, 44, 56, 110, 1202)),
            "bottleneck": stages_rule(3, (29, 56, 110, 164, 1001)),
        },
        (3, 32, 32),
        _ALL,
        reads=("image",),
    ),
):
    register_family(_family)


# --------------------------------------------------------------------------- the transformer
# Where the LayerNorm goes and how the residual is scaled: resbench.models.transformer has each
# arch's formula and paper.


# The transformer family's model.options, as their defaults (the typed model that checks them
# is resbench.models.transformer_options', imported where options are validated: the
# registry itself stays free of pydantic for processes that only build nets).
TRANSFORMER_OPTIONS = "resbench.models.transformer_options:TransformerOptions"
TRANSFORMER_DEFAULTS = {
    "heads": 4,
    "mlp_ratio": 4,
    "layer_norm": None,
    # One arch's each: None, what configs meant before the option existed (resbench.models.
    # transformer says what each does); the arch's runs are given TRANSFORMER_ARCH_OPTIONS.
    "rezero_alpha": None,
    "tfixup_embedding": None,
    "admin_omega": None,
}
# The options that apply to one arch only, and that arch.
ARCH_OF_OPTION = {"rezero_alpha": "rezero", "tfixup_embedding": "tfixup", "admin_omega": "admin"}
# The defaults that changed what an arch computes, written into its runs' configs (new run ids).
TRANSFORMER_ARCH_OPTIONS = {
    "rezero": {"rezero_alpha": "layer"},
    "tfixup": {"tfixup_embedding": "reference"},
}


# Whether each transformer arch has LayerNorms: True, it is defined by where they go; False, by
# doing without them (asking for them is refused, and asking the others to drop theirs); None,
# either (with them unless model.options.layer_norm is false).
LAYER_NORM: dict[str, bool | None] = {
    "postln": True,
    "preln": True,
    "lnscaling": True,
    "deepnorm": True,
    "admin": True,
    "rezero": False,
    "tfixup": False,
    "plain": None,
}
_WITHOUT_LAYER_NORM = {
    "rezero": "its α, started at 0, takes the LayerNorm's place (Bachlechner et al. 2020)",
    "tfixup": "its initialisation takes the LayerNorm's place (Huang et al. 2020)",
}


def _transformer_problem(fields: Mapping[str, Any]) -> str | None:
    """Heads that do not divide the width; LayerNorms asked of an arch against its form."""
    options, width, arch = fields.get("options") or {}, fields.get("width"), fields.get("arch")
    heads = options.get("heads", TRANSFORMER_DEFAULTS["heads"])
    if width is not None and width % heads:
        return (
            f"heads ({heads}) must divide model.width ({width}): each head attends in "
            "width / heads dimensions"
        )
    for option, owner in ARCH_OF_OPTION.items():
        if options.get(option) is not None and arch is not None and arch != owner:
            return f"model.options.{option} applies to {owner} only, not to {arch}"
    asked, form = options.get("layer_norm"), LAYER_NORM.get(arch or "")
    if asked is None or form is None or asked == form:
        return None
    if form:
        return (
            f"{arch} is defined by where its LayerNorms go: model.options.layer_norm cannot be "
            "false (residual transformers without LayerNorm: rezero, tfixup)"
        )
    return f"{arch} takes no LayerNorm (model.options.layer_norm): {_WITHOUT_LAYER_NORM[arch]}"


for _name in ("postln", "preln", "lnscaling", "deepnorm", "admin", "tfixup"):
    register_arch(Arch(_name))

register_family(
    Family(
        "transformer",
        "resbench.models.transformer:transformer",
        {"basic": DepthRule("n >= 1 blocks", lambda d: d >= 1, (2, 6, 12, 24, 48))},
        (1, 40),  # MNIST-1D: 40 tokens of one value
        ("postln", "preln", "lnscaling", "deepnorm", "admin", "rezero", "tfixup", "plain"),
        reads=("sequence", "tokens"),
        settings=TRANSFORMER_OPTIONS,
        fixed={
            "batch_norm": (
                False,
                "the transformer has no batch norm (leave model.batch_norm out): its "
                "LayerNorms are where its arch puts them",
            ),
            "init": (
                "xavier",
                "the transformer starts from xavier (leave model.init out): its archs' papers "
                "state their scales on Xavier's initialisation",
            ),
            "branch_multiplier": (
                "none",
                "the transformer's archs scale their residual branches by their own rules "
                "(deepnorm's, admin's, rezero's, tfixup's): model.branch_multiplier is for "
                "the mlp, conv1d and cifar families",
            ),
        },
        fields_problem=_transformer_problem,
        unit="block",
        arch_options=TRANSFORMER_ARCH_OPTIONS,
        branch_multiplier=False,
    )
)
