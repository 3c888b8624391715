"""Families of networks made by user code: `model.family: "my_pkg.nets:build"`, or the name of
an installed plugin (entry point group `resbench.families`). No torch here: sweeps validate
against what the builder declares, and only the workers call it.

The builder is called as `build(model_config, input_shape, num_classes)` and returns a
`torch.nn.Module`; the config holds depth, arch, width, batch_norm, and the other `model:`
fields, with `model.options` for the family's own settings. torch is seeded with the run's
seed just before, and the net it returns is used as it is: it initialises itself.

What it may declare, as attributes of the builder (all optional):

| attribute      | what                                       | default                      |
|----------------|--------------------------------------------|------------------------------|
| `archs`        | the archs it builds (names; new ones fine) | ("plain", "residual")        |
| `depths`       | the depths it builds: a collection of ints, | any depth >= 1               |
|                | or a function depth -> bool                |                              |
| `depth_rule`   | the rule in words, for errors              | "accepted by <path>"         |
| `input_shape`  | one example's shape, for `resbench models` | none: give --input-shape     |
| `options`      | the names of the model.options it takes    | any                          |
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from resbench.core import plugins
from resbench.models.family import DepthRule, Family


def declared_family(name: str) -> Family:
    """The family that the builder `name` stands for declares, its module imported now
    (PluginError if it cannot be used); the registry registers it (`registry.get_family`)."""
    path = plugins.import_path(name, plugins.FAMILIES)
    build = plugins.resolve(path)
    archs = tuple(str(a) for a in _declared(build, path, "archs", ("plain", "residual")))
    if not archs:
        raise plugins.PluginError(f"{path}.archs is empty: name the archs it builds")
    return Family(
        name,
        path,
        {"basic": _depth_rule(build, path)},
        tuple(_declared(build, path, "input_shape", ())),
        archs,
        user=True,
        options=_options(build, path),
    )


def with_version(section: Any) -> Any:
    """A `model:` section, as given, with its user family's version added when it names one and
    carries none (a record read back carries its own)."""
    if not isinstance(section, dict) or section.get("version") is not None:
        return section
    family = section.get("family")
    if not isinstance(family, str) or not plugins.is_plugin(family, plugins.FAMILIES):
        return section
    try:
        version = plugins.identity(plugins.import_path(family, plugins.FAMILIES))
    except Exception:  # code that does not import: the family's own check says so
        return section
    return {**section, "version": version}


def _declared(build: Any, path: str, name: str, default: Iterable[Any]) -> Iterable[Any]:
    """What the builder declares as `name`: a collection (a list, a tuple), or one line."""
    declared = getattr(build, name, default)
    if isinstance(declared, str | bytes) or not isinstance(declared, Iterable):
        raise plugins.PluginError(
            f"{path}.{name} is a {type(declared).__name__}: give a list (see docs/plugins.md)"
        )
    return declared


def _options(build: Any, path: str) -> tuple[str, ...] | None:
    declared = getattr(build, "options", None)
    if declared is None:
        return None
    if (
        isinstance(declared, str)
        or not isinstance(declared, Iterable)
        or not all(isinstance(o, str) for o in declared)
    ):
        raise plugins.PluginError(f"{path}.options: give the names of the options it takes")
    return tuple(declared)


def _depth_rule(build: Any, path: str) -> DepthRule:
    depths = getattr(build, "depths", None)
    words = getattr(build, "depth_rule", None)
    if depths is None:
        return DepthRule(words or "a positive integer", lambda d: d >= 1, (2, 4, 8))
    if isinstance(depths, DepthRule):
        return depths
    if callable(depths):
        check: Callable[[int], bool] = depths
        return DepthRule(words or f"accepted by {path}.depths", lambda d: bool(check(d)), ())
    if isinstance(depths, Collection) and depths and all(isinstance(d, int) for d in depths):
        allowed = tuple(sorted(depths))
        if allowed == tuple(range(allowed[0], allowed[-1] + 1)):
            told = f"from {allowed[0]} to {allowed[-1]}"
        else:
            told = "one of " + ", ".join(map(str, allowed[:8])) + (", ..." if allowed[8:] else "")
        return DepthRule(words or told, lambda d: d in allowed, ())
    raise plugins.PluginError(
        f"{path}.depths is a {type(depths).__name__}: give depths (ints) or a depth -> bool"
    )
