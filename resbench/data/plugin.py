"""Datasets made by user code: `dataset.name: "my_pkg.data:load"` (or an installed plugin's name).

The callable is called with `dataset.options` as keyword arguments and returns the data, as a
`resbench.data.Data` (which can ask for the paper's crop-and-flip augmentation, and carry the
channel statistics of uint8 images), or as a tuple `(x_train, y_train, x_test, y_test)` of
tensors (inputs shaped (N, ...), integer labels from 0). What it returns is checked where the
run executes: mismatched shapes or labels fail that run, with the reason; the sweep goes on.
It is cached on disk under resbench's cache directory, keyed by the path, the options and the
code's version, so a worker loads it once and later sweeps do not make it again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field

from resbench.core import plugins
from resbench.core.atomic import replacing
from resbench.core.cache import cache_dir
from resbench.data.dataset import Data, DatasetError, DatasetOptions


class PluginOptions(DatasetOptions):
    """A dataset made by user code, called with `options` as keyword arguments."""

    name: str = Field(
        description="module:callable, or the name of an installed plugin (entry point group "
        "resbench.datasets)",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments of the callable"
    )
    version: str | None = Field(
        None,
        description="set by resbench when the sweep is loaded: the installed package's "
        "version, or a hash of the module's source; part of the run id",
    )

    @property
    def path(self) -> str:
        return plugins.import_path(self.name, plugins.DATASETS)


def validate(value: dict[str, Any]) -> PluginOptions:
    """The options of a user dataset; its code imported now (a bad path is a PluginError, options
    it does not take an OptionsError) and its version taken, unless the value already carries
    one (a record read back)."""
    if value.get("version") is None:
        path = plugins.import_path(value["name"], plugins.DATASETS)
        load = plugins.resolve(path)
        options = value.get("options") or {}
        if isinstance(options, dict) and (problem := plugins.options_problem(path, load, options)):
            raise OptionsError(problem)
        value = {**value, "version": plugins.identity(path)}
    return PluginOptions.model_validate(value)


class OptionsError(plugins.PluginError):
    """Options that the user's callable does not take, in one line."""


def load_plugin(options: DatasetOptions) -> Data:
    """Call the user's code (or read what it made from the cache) and check what it returned."""
    import torch

    assert isinstance(options, PluginOptions)
    key = hashlib.sha256(options.model_dump_json().encode()).hexdigest()[:12]
    path = cache_dir() / f"dataset-{key}.pt"
    if path.is_file():
        return Data(**torch.load(path, weights_only=True))
    made = plugins.resolve(options.path)(**options.options)
    data = _as_data(made, options.path)
    with replacing(path) as tmp:
        torch.save({f: getattr(data, f) for f in Data.__dataclass_fields__}, tmp)
    return data


def _as_data(made: Any, where: str) -> Data:
    import torch

    if isinstance(made, Data):
        data = made
    elif isinstance(made, (tuple, list)) and len(made) == 4:
        if not all(isinstance(t, torch.Tensor) for t in made):
            raise DatasetError(f"{where} returned a 4-tuple that is not all tensors")
        x_train, y_train, x_test, y_test = made
        labels = torch.cat([y_train.flatten(), y_test.flatten()])
        classes = int(labels.max()) + 1 if labels.numel() else 0
        data = Data(x_train, _long(y_train), x_test, _long(y_test), num_classes=classes)
    else:
        raise DatasetError(
            f"{where} returned a {type(made).__name__}: return a resbench.data.Data or "
            "(x_train, y_train, x_test, y_test)"
        )
    _validate(data, where)
    return data


def _long(labels: Any) -> Any:
    """Integer labels as int64, which the loss takes; float labels as they are, for `_check` to
    refuse: cast, 0.7 would quietly become class 0."""
    return labels if labels.is_floating_point() else labels.long()


def _validate(data: Data, where: str) -> None:
    """One line for each way a dataset can be unusable; nothing when it can be used."""
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        if len(x) != len(y) or y.dim() != 1:
            raise DatasetError(
                f"{where}: {split} inputs {tuple(x.shape)} and labels {tuple(y.shape)} do not "
                "match: give N inputs and N integer labels"
            )
        if y.is_floating_point():
            raise DatasetError(f"{where}: {split} labels are {y.dtype}: give integer labels")
        if len(y) and not 0 <= int(y.min()) <= int(y.max()) < data.num_classes:
            raise DatasetError(
                f"{where}: {split} labels span {int(y.min())}..{int(y.max())}, outside "
                f"0..{data.num_classes - 1}"
            )
    if data.x_train.shape[1:] != data.x_test.shape[1:]:
        raise DatasetError(
            f"{where}: train inputs are {tuple(data.x_train.shape[1:])} each, test inputs "
            f"{tuple(data.x_test.shape[1:])}: they must be alike"
        )
    if not len(data.x_train):
        raise DatasetError(f"{where}: no training examples")
