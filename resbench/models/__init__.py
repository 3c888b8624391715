"""Networks: the registry of families and archs, the blocks, the families built from them.

| module   | one job                                                                     |
|----------|-----------------------------------------------------------------------------|
| family   | what the registry holds: `Family`, `Arch`, `DepthRule`; no torch            |
| registry | names, depth rules, valid combinations; no torch (sweeps validate against it) |
| plugin   | a user family: the `Family` its builder declares; no torch                  |
| layers   | the layer factory (`Parts`): weight layers, norms, activations, shortcuts   |
| blocks   | `Block` (plain and residual: one line apart), each remedy's block, its paper |
| nets     | the families mlp, conv1d and cifar, placing the arch's blocks; `build_model` |
| init     | initialisation schemes by name, zero_init_residual, Fixup's rescaling       |
| sizes    | parameters and FLOPs without training (`resbench models`)                   |

Importing this package does not import torch: the names below load their module on first use,
so the torch-free driver can import `resbench.models.registry`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resbench.models.blocks import Block
    from resbench.models.layers import CONV
    from resbench.models.nets import build_model
    from resbench.models.sizes import count_parameters, profile, size_table

_LAZY = {
    "Block": "resbench.models.blocks",
    "CONV": "resbench.models.layers",
    "build_model": "resbench.models.nets",
    "count_parameters": "resbench.models.sizes",
    "profile": "resbench.models.sizes",
    "size_table": "resbench.models.sizes",
}

__all__ = ["CONV", "Block", "build_model", "count_parameters", "profile", "size_table"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'resbench.models' has no attribute {name!r}")
