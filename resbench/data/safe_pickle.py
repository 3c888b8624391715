"""Reading the pickles of CIFAR's python version without letting them run code.

Unpickling calls whatever callables a file names, so a crafted "data_batch_1" could run any
code. The official files name only what rebuilds a numpy array; this unpickler resolves
exactly those names and refuses every other one before it is imported, let alone called.
"""

from __future__ import annotations

import io
import pickle

from resbench.data.dataset import DatasetError

# What the official files contain: numpy arrays (as pickled by numpy 1 and by numpy 2).
ALLOWED = (
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
)


class UnsafePickleError(DatasetError):
    """A pickle that names something the official files never contain."""


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def __init__(self, raw: bytes, source: str) -> None:
        # encoding="bytes": the official files were written by Python 2; its str stays bytes.
        super().__init__(io.BytesIO(raw), encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in ALLOWED:
            allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED)
            raise UnsafePickleError(
                f"{self.source}: refused to unpickle {module}.{name}: an official CIFAR file "
                f"names only {allowed}, so this file is not one (replace it with the official one)"
            )
        import numpy as np

        if name == "_reconstruct":
            try:  # numpy 2 moved it; numpy 1 pickles still name the old place
                from numpy._core.multiarray import _reconstruct
            except ImportError:
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)


def loads(raw: bytes, source: str) -> object:
    """The object pickled in `raw` if it is made only of numpy arrays and plain Python data.

    `source` names the file in errors. Raises UnsafePickleError for anything else, and
    DatasetError for bytes that are not a pickle at all.
    """
    try:
        return _NumpyOnlyUnpickler(raw, source).load()
    except UnsafePickleError:
        raise
    except Exception as e:  # any malformed input: truncated, wrong opcodes, persistent ids
        raise DatasetError(f"{source}: not a readable pickle ({type(e).__name__}: {e})") from None
