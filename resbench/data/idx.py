"""MNIST and Fashion-MNIST from the standard IDX files, gzipped or not.

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

Both datasets use the same four names, so each has its own folder under the data root:
`mnist/` and `fashion-mnist/` (torchvision's `MNIST/raw/` and `FashionMNIST/raw/` work too),
or `dataset.root` may be the folder itself. An IDX file is two zero bytes, a type byte
(0x08: unsigned bytes), the number of dimensions, each dimension as a big-endian uint32, then
the values.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from resbench.data.dataset import Data, DatasetError, DatasetOptions, Report
from resbench.data.files import DATA_ENV, data_root

if TYPE_CHECKING:
    import numpy as np

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Folders under the data root, in the order they are looked in: ours, then torchvision's.
FOLDERS = {"mnist": ("mnist", "MNIST/raw"), "fashion-mnist": ("fashion-mnist", "FashionMNIST/raw")}
PAGES = {
    "mnist": "https://yann.lecun.com/exdb/mnist/",
    "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist",
}


class IdxOptions(DatasetOptions):
    """Options shared by MNIST and Fashion-MNIST."""

    root: str | None = Field(
        None,
        description=f"folder holding mnist/ or fashion-mnist/, or the files (else ${DATA_ENV})",
    )
    validation: int = Field(
        0, ge=0, description="hold out the last N training images as the test split"
    )

    def ensure_files(self, report: Report | None = None) -> None:
        locate(self)

    def data_kind(self) -> str:
        return "image"

    def num_classes(self) -> int:
        return 10


class MnistOptions(IdxOptions):
    """MNIST: 60,000 training and 10,000 test digits, 28x28 grey, 10 classes."""

    name: Literal["mnist"] = "mnist"


class FashionMnistOptions(IdxOptions):
    """Fashion-MNIST: MNIST's format and sizes, with pictures of clothes."""

    name: Literal["fashion-mnist"] = "fashion-mnist"


def locate(options: IdxOptions) -> dict[str, Path]:
    """Each of the four files -> its path (plain or .gz), from the first folder that has them."""
    root = data_root(options.root)
    folders = [root / sub for sub in FOLDERS[options.name]] + [root]
    for folder in folders:
        found = {name: _find(folder, name) for name in FILES}
        if found[FILES[0]] is None:
            continue
        if missing := [name for name, path in found.items() if path is None]:
            raise DatasetError(f"{folder}: has {FILES[0]} but not {', '.join(missing)} (or .gz)")
        return found  # type: ignore[return-value]
    looked = ", ".join(str(f) for f in folders)
    raise DatasetError(
        f"{options.name}: no IDX files: put {', '.join(f'{n}.gz' for n in FILES)} (gzipped or "
        f"not; from {PAGES[options.name]}) in {folders[0]}; or set dataset.root, --data-dir or "
        f"${DATA_ENV} to where they are (looked in {looked})"
    )


def load_idx(options: DatasetOptions) -> Data:
    from resbench.data.images import image_data

    assert isinstance(options, IdxOptions)
    arrays = [read_idx(path) for path in locate(options).values()]
    x_train, y_train, x_test, y_test = arrays
    for images, labels, path in ((x_train, y_train, FILES[0]), (x_test, y_test, FILES[2])):
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise DatasetError(
                f"{options.name}: {path} holds {images.shape}, its labels {labels.shape}: "
                "expected (N, H, W) images and N labels"
            )
    return image_data(
        x_train[:, None],  # (N, H, W) -> (N, 1, H, W): one channel
        y_train,
        x_test[:, None],
        y_test,
        num_classes=10,
        validation=options.validation,
    )


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array in the IDX file at `path` (gzipped when its name ends in .gz)."""
    import numpy as np

    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetError(f"{path}: not a readable gzip file ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0":
        raise DatasetError(f"{path}: not an IDX file (it must start with two zero bytes)")
    if raw[2] != 0x08:
        raise DatasetError(f"{path}: IDX type 0x{raw[2]:02x}, not unsigned bytes (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DatasetError(
            f"{path}: the header promises {shape} = {size} bytes, but {len(raw) - header} follow"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None
