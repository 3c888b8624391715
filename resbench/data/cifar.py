"""CIFAR-10 and CIFAR-100 from the official archives, in either official version.

    version  archive                  folder inside            files
    binary   cifar-10-binary.tar.gz   cifar-10-batches-bin/    data_batch_{1..5}.bin, test_batch.bin
    python   cifar-10-python.tar.gz   cifar-10-batches-py/     data_batch_{1..5}, test_batch
    binary   cifar-100-binary.tar.gz  cifar-100-binary/        train.bin, test.bin
    python   cifar-100-python.tar.gz  cifar-100-python/        train, test

A binary record is the label byte(s) then 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
row-major); CIFAR-100's records carry the coarse label, then the fine one, which is used. The
python version pickles a dict per file with `data` (N x 3072 uint8) and `labels` (CIFAR-10)
or `fine_labels` (CIFAR-100); those pickles are read by `safe_pickle`, which cannot run code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from resbench.data.dataset import Data, DatasetError, DatasetOptions, Report
from resbench.data.files import DATA_ENV, data_root, download, read_members

if TYPE_CHECKING:
    import numpy as np

PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
BASE_URL = "https://www.cs.toronto.edu/~kriz/"
PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class Layout:
    """One official distribution: its archive, the folder inside, the files, how labels are kept."""

    version: Literal["binary", "python"]
    archive: str
    md5: str
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label: str | int  # python: the dict key of the labels; binary: label bytes per record


BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
LAYOUTS = {
    ("cifar10", "binary"): Layout(
        "binary",
        "cifar-10-binary.tar.gz",
        "c32a1d4ab5d03f1284b67883e8d87530",
        "cifar-10-batches-bin",
        tuple(f"{b}.bin" for b in BATCHES),
        ("test_batch.bin",),
        1,
    ),
    ("cifar10", "python"): Layout(
        "python",
        "cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
        BATCHES,
        ("test_batch",),
        "labels",
    ),
    ("cifar100", "binary"): Layout(
        "binary",
        "cifar-100-binary.tar.gz",
        "03b5dce01913d631647c71ecec9e9cb8",
        "cifar-100-binary",
        ("train.bin",),
        ("test.bin",),
        2,
    ),
    ("cifar100", "python"): Layout(
        "python",
        "cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
        ("train",),
        ("test",),
        "fine_labels",
    ),
}


class CifarOptions(DatasetOptions):
    """Options shared by CIFAR-10 and CIFAR-100."""

    root: str | None = Field(
        None, description=f"folder holding the archive or its extracted folder (else ${DATA_ENV})"
    )
    download: bool = Field(False, description="download the archive when missing (MD5-checked)")
    format: Literal["auto", "binary", "python"] = Field(
        "auto", description="official version to read; auto: whichever is there, binary first"
    )
    augment: bool = Field(
        False, description="the paper's 4-pixel zero pad, random 32x32 crop and horizontal flip"
    )
    validation: int = Field(
        0, ge=0, description="hold out the last N training images as the test split (paper: 5000)"
    )

    def ensure_files(self, report: Report | None = None) -> None:
        locate(self, report)

    def data_kind(self) -> str:
        return "image"


class Cifar10Options(CifarOptions):
    """CIFAR-10: 50,000 training and 10,000 test images, 32x32 RGB, 10 classes."""

    name: Literal["cifar10"] = "cifar10"

    def num_classes(self) -> int:
        return 10


class Cifar100Options(CifarOptions):
    """CIFAR-100: like CIFAR-10 with 100 classes (the fine labels)."""

    name: Literal["cifar100"] = "cifar100"

    def num_classes(self) -> int:
        return 100


def locate(options: CifarOptions, report: Report | None = None) -> tuple[Layout, Path]:
    """The layout and the folder or archive to read; downloads the archive where asked."""
    root = data_root(options.root)
    versions = ("binary", "python") if options.format == "auto" else (options.format,)
    layouts = [LAYOUTS[options.name, v] for v in versions]
    for layout in layouts:
        if (root / layout.folder).is_dir():
            return layout, root / layout.folder
        if root.name == layout.folder and root.is_dir():  # root is the extracted folder itself
            return layout, root
        if (root / layout.archive).is_file():
            return layout, root / layout.archive
    if options.download:
        layout = layouts[0]
        download(BASE_URL + layout.archive, layout.md5, root / layout.archive, report)
        return layout, root / layout.archive
    archives = " or ".join(layout.archive for layout in layouts)
    folders = " or ".join(f"{layout.folder}/" for layout in layouts)
    raise DatasetError(
        f"{options.name}: no files in {root}: put {archives} (from {PAGE}), or the folder "
        f"{folders} extracted from it, in {root}; or set dataset.root, --data-dir or "
        f"${DATA_ENV} to where they are; or download with --download (dataset.download: true)"
    )


def load_cifar(options: DatasetOptions) -> Data:
    import numpy as np

    from resbench.data.images import image_data

    assert isinstance(options, CifarOptions)
    layout, source = locate(options)
    files = read_members(source, layout.folder, layout.train + layout.test)

    def split(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        parts = [_parse(layout, files[n], f"{source}/{n}") for n in names]
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    (x_train, y_train), (x_test, y_test) = split(layout.train), split(layout.test)
    return image_data(
        x_train,
        y_train,
        x_test,
        y_test,
        num_classes=10 if options.name == "cifar10" else 100,
        validation=options.validation,
        augment=options.augment,
    )


def _parse(layout: Layout, raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,) int64) of one file."""
    import numpy as np

    if layout.version == "binary":
        assert isinstance(layout.label, int)
        record = layout.label + PIXELS
        if len(raw) % record:
            raise DatasetError(
                f"{where}: {len(raw)} bytes is not a whole number of {record}-byte records"
            )
        rows = np.frombuffer(raw, np.uint8).reshape(-1, record)
        labels = rows[:, layout.label - 1].astype(np.int64)  # the last label byte: the fine one
        pixels = rows[:, layout.label :]
    else:
        from resbench.data.safe_pickle import loads

        batch = loads(raw, where)
        if not isinstance(batch, dict):
            raise DatasetError(f"{where}: expected a dict of arrays, got {type(batch).__name__}")
        pixels = np.asarray(_get(batch, "data", where))
        labels = np.asarray(_get(batch, str(layout.label), where))
        if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != PIXELS:
            raise DatasetError(
                f"{where}: data is {pixels.dtype} {pixels.shape}, not uint8 (N, {PIXELS})"
            )
        if labels.shape != (len(pixels),) or labels.dtype.kind not in "iu":
            raise DatasetError(f"{where}: expected {len(pixels)} integer labels")
        labels = labels.astype(np.int64)
    return pixels.reshape(-1, 3, 32, 32), labels


def _get(batch: dict, key: str, where: str) -> object:
    """batch[key], whether the file's keys are bytes (as written by Python 2) or str."""
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise DatasetError(f"{where}: no {key!r} in the file (keys: {sorted(map(str, batch))})")
