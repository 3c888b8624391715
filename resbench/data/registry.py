"""The dataset registry: name -> (options class, loader), open to datasets registered later.

The built-in datasets are listed here, in one place. Sweeps look a dataset up when they are
validated, not when resbench is imported, so a dataset registered at any time before a sweep
is loaded is known to it. Loaded data is kept per process: a worker that trains many runs of a
sweep reads or generates its data once.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import resbench.data.plugin as plugin
from resbench.core import plugins
from resbench.data.cifar import Cifar10Options, Cifar100Options, load_cifar
from resbench.data.dataset import DatasetError, DatasetOptions, Loader
from resbench.data.generated import (
    CopyOptions,
    Mnist1dOptions,
    SyntheticOptions,
    load_copy,
    load_mnist1d,
    load_synthetic,
)
from resbench.data.idx import FashionMnistOptions, MnistOptions, load_idx

if TYPE_CHECKING:
    from resbench.data.dataset import Data

_REGISTRY: dict[str, tuple[type[DatasetOptions], Loader]] = {}


def register(options: type[DatasetOptions], loader: Loader) -> None:
    """Make `loader` the dataset named by `options`' `name` default."""
    name = options.model_fields["name"].default
    if not isinstance(name, str):
        raise TypeError(f"{options.__name__}: its name field needs a default, the dataset's name")
    _REGISTRY[name] = (options, loader)
    _load_cached.cache_clear()  # a name may now load differently


def names() -> list[str]:
    """The registered datasets' names, in the order they were registered."""
    return list(_REGISTRY)


def options_class(name: str) -> type[DatasetOptions]:
    """The options class of the dataset `name`; KeyError when there is none."""
    return _REGISTRY[name][0]


def options_classes() -> list[type[DatasetOptions]]:
    return [options for options, _ in _REGISTRY.values()]


def validate(value: Any) -> DatasetOptions:
    """A `dataset:` section (a mapping with a `name`) -> that dataset's validated options."""
    from pydantic_core import PydanticCustomError

    if isinstance(value, DatasetOptions):
        return value
    if not isinstance(value, dict):
        raise PydanticCustomError(
            "dataset_type", "expected a mapping with a name (got {got})", {"got": repr(value)}
        )
    name = value.get("name")
    if name is None:
        raise PydanticCustomError(
            "dataset_name_missing", "required (one of {valid})", {"valid": ", ".join(_REGISTRY)}
        )
    if isinstance(name, str) and name in _REGISTRY:
        return options_class(name).model_validate(value)
    if not isinstance(name, str) or not plugins.is_plugin(name, plugins.DATASETS):
        valid = [*_REGISTRY, *plugins.entry_points(plugins.DATASETS), "or module:callable"]
        raise PydanticCustomError(
            "dataset_name_unknown",
            "unknown dataset {name} (valid: {valid})",
            {"name": repr(name), "valid": ", ".join(valid)},
        )
    try:
        return plugin.validate(value)
    except plugin.OptionsError as e:
        raise PydanticCustomError("dataset_plugin_options", str(e)) from None
    except plugins.PluginError as e:
        raise PydanticCustomError("dataset_plugin", str(e)) from None


def load(options: DatasetOptions, device: str = "cpu") -> Data:
    """The dataset `options` describes, on `device` (kept per process: sweeps reuse it)."""
    return _load_cached(options.model_dump_json(), device)


@functools.lru_cache(maxsize=4)
def _load_cached(options_json: str, device: str) -> Data:
    name = json.loads(options_json)["name"]
    user_code = (plugin.PluginOptions, plugin.load_plugin)
    options_cls, loader = _REGISTRY.get(name, user_code)
    return loader(options_cls.model_validate_json(options_json)).to(device)


def file_overrides(
    options: DatasetOptions, root: str | None = None, download: bool = False
) -> dict[str, object]:
    """Sweep overrides that point the dataset at `root` and/or let it download its files.

    Raises DatasetError when the dataset reads no files that way (generated ones read none).
    """
    out: dict[str, object] = {}
    for flag, key, value in (("--data-dir", "root", root), ("--download", "download", download)):
        if not value:
            continue
        if key not in type(options).model_fields:
            able = [n for n, (o, _) in _REGISTRY.items() if key in o.model_fields]
            raise DatasetError(
                f"{flag}: dataset {options.name!r} has no {key} option "
                f"(datasets that do: {', '.join(able)})"
            )
        out[f"dataset.{key}"] = value
    return out


for _options, _loader in (
    (Mnist1dOptions, load_mnist1d),
    (SyntheticOptions, load_synthetic),
    (Cifar10Options, load_cifar),
    (Cifar100Options, load_cifar),
    (MnistOptions, load_idx),
    (FashionMnistOptions, load_idx),
    (CopyOptions, load_copy),
):
    register(_options, _loader)
