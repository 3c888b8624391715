"""Fabricated dataset files in the official formats: tiny, random, and known pixel for pixel."""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resbench.data.cifar import LAYOUTS


@dataclass
class Arrays:
    """What a fabricated dataset holds: images (N, C, H, W) uint8 and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def random_images(n: int, shape: tuple[int, ...], classes: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    return x, rng.integers(0, classes, n).astype(np.int64)


def write_cifar(
    root: Path, name: str, version: str, archive: bool, per_file: int = 6, seed: int = 0
) -> Arrays:
    """CIFAR-`name` in the official `version` under `root`, as its .tar.gz or extracted folder."""
    layout = LAYOUTS[name, version]
    classes = 10 if name == "cifar10" else 100
    per_file_train = per_file * 5 // len(layout.train)  # CIFAR-100 keeps all in one train file
    folder = root / layout.folder if not archive else root / f".{layout.folder}.staging"
    folder.mkdir(parents=True)
    parts = {}
    for i, file in enumerate(layout.train + layout.test):
        n = per_file_train if file in layout.train else per_file
        x, y = random_images(n, (3, 32, 32), classes, seed * 100 + i)
        parts[file] = (x, y)
        if version == "binary":
            (folder / file).write_bytes(_cifar_records(x, y, name))
        else:
            (folder / file).write_bytes(_cifar_pickle(x, y, str(layout.label)))
    if archive:
        with tarfile.open(root / layout.archive, "w:gz") as tar:
            tar.add(folder, arcname=layout.folder)
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()

    def join(files: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate([parts[f][0] for f in files]), np.concatenate(
            [parts[f][1] for f in files]
        )

    return Arrays(*join(layout.train), *join(layout.test))


def _cifar_records(x: np.ndarray, y: np.ndarray, name: str) -> bytes:
    """Binary version: per image, the label byte(s), then 3072 pixels (R, G, B planes)."""
    labels = y[:, None] if name == "cifar10" else np.stack([y // 5, y], axis=1)  # coarse, fine
    return np.concatenate([labels.astype(np.uint8), x.reshape(len(x), -1)], axis=1).tobytes()


def _cifar_pickle(x: np.ndarray, y: np.ndarray, label_key: str) -> bytes:
    """Python version: a dict with bytes keys, as the official files (Python 2, numpy 1) have."""
    batch = {
        b"batch_label": b"fabricated batch",
        label_key.encode(): [int(v) for v in y],
        b"data": x.reshape(len(x), -1),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(x))],
    }
    # Protocol 3 writes globals as text, so numpy 2's module name can become numpy 1's.
    raw = pickle.dumps(batch, protocol=3)
    return raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_idx(path: Path, array: np.ndarray) -> None:
    """`array` (uint8) as an IDX file; gzipped when `path` ends in .gz."""
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, 0x08, array.ndim, *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)


def write_mnist(
    folder: Path, gz: bool, n_train: int = 12, n_test: int = 5, seed: int = 0
) -> Arrays:
    """The four IDX files of an MNIST-like dataset (28x28 grey, 10 classes) in `folder`."""
    x_train, y_train = random_images(n_train, (28, 28), 10, seed)
    x_test, y_test = random_images(n_test, (28, 28), 10, seed + 1)
    suffix = ".gz" if gz else ""
    for name, array in (
        ("train-images-idx3-ubyte", x_train),
        ("train-labels-idx1-ubyte", y_train),
        ("t10k-images-idx3-ubyte", x_test),
        ("t10k-labels-idx1-ubyte", y_test),
    ):
        write_idx(folder / f"{name}{suffix}", array)
    return Arrays(x_train[:, None], y_train, x_test[:, None], y_test)
