"""The registry of network families and archs (`resbench.models.family`): names, depth rules
and what goes with what.

Plain data, without torch: the driver of a sweep validates every run against it and never
imports torch. A family names its builder by import path (`module:function`), imported only
where networks are built, in the workers. Sweeps consult the registry when they are validated,
not when resbench is imported, so a family or arch registered at any time before a sweep is
loaded is known to it; the built-in ones are registered at the end of this module.
"""

from __future__ import annotations

from resbench import plugins
from resbench.models import plugin
from resbench.models.family import Arch, DepthRule, Family, stages_rule

_FAMILIES: dict[str, Family] = {}
_ARCHS: dict[str, Arch] = {}


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
    ),
    Family(
        "conv1d",
        f"{_NETS}:conv1d",
        {"basic": stages_rule(2, (8, 14, 20, 26)), "bottleneck": stages_rule(3, (11, 20, 29, 38))},
        (1, 40),
        _ALL,
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
    ),
):
    register_family(_family)
