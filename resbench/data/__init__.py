"""Datasets: options, loaders and the registry that names them; data lives on the device.

| name            | made by                                          | module       |
|-----------------|--------------------------------------------------|--------------|
| `mnist1d`       | the `mnist1d` package's generator (cached)       | generated.py |
| `synthetic`     | random inputs, labelled by a random linear map   | generated.py |
| `cifar10`       | the official archive, binary or python version   | cifar.py     |
| `cifar100`      | the official archive, binary or python version   | cifar.py     |
| `mnist`         | the four IDX files, gzipped or not               | idx.py       |
| `fashion-mnist` | the four IDX files, gzipped or not               | idx.py       |
| `copy`          | random tokens, then the same again (next-token)  | generated.py |

`base.py` holds what they share (options, `Data`, errors); `registry.py` names them and loads
them; `files.py` finds, reads and downloads files; `safe_pickle.py` reads CIFAR's pickles
without letting them run code; `images.py` turns pixels into a `Data`; `augment.py` the paper's
pad, crop and flip on the device. Names are imported on first use, so that `augment.py` (and a
GPU image without pydantic) does not pay for the options' schema.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resbench.data.dataset import Data, DatasetError, DatasetOptions, Loader
    from resbench.data.registry import (
        file_overrides,
        load,
        names,
        options_class,
        options_classes,
        register,
        validate,
    )

_LAZY = {
    **dict.fromkeys(("Data", "DatasetError", "DatasetOptions", "Loader"), "resbench.data.dataset"),
    **dict.fromkeys(
        ("file_overrides", "load", "names", "options_class", "options_classes", "register",
         "validate"),
        "resbench.data.registry",
    ),
}  # fmt: skip

__all__ = [
    "Data",
    "DatasetError",
    "DatasetOptions",
    "Loader",
    "file_overrides",
    "load",
    "names",
    "options_class",
    "options_classes",
    "register",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'resbench.data' has no attribute {name!r}")
