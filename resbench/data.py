"""Datasets: a registry of name -> (options, loader), loaded as tensors that live on the device.

Every dataset becomes one `Data`: inputs shaped (N, C, ...) and int64 labels. Generated data
is stored as floats; image files are stored as their uint8 pixels, which `Data.inputs` turns
into normalised floats batch by batch, and `Data.augment` crops and flips on the device.
Batches are index gathers into those tensors; there is no DataLoader and nothing is copied
per step. torch is imported inside the loaders so that validating a sweep stays light; the
datasets read from files live in `resbench.datasets` and register themselves here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from resbench import ResbenchError

if TYPE_CHECKING:
    import torch


class DatasetError(ResbenchError):
    """Dataset files that are missing, damaged or unsafe, explained in one line."""


class DatasetOptions(BaseModel):
    """Base of every dataset's options: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def ensure_files(self, report: Callable[[str], None] | None = None) -> None:
        """Check that the files this dataset reads are there (downloading where asked).

        Raises DatasetError saying where to put what. Generated datasets read no files.
        """


class Mnist1dOptions(DatasetOptions):
    """MNIST-1D from the `mnist1d` package's own generator (defaults: its canonical 4000/1000)."""

    name: Literal["mnist1d"] = "mnist1d"
    num_samples: int = Field(5000, ge=20, description="train + test examples generated")
    train_split: float = Field(0.8, gt=0, lt=1, description="fraction used for training")
    final_seq_length: int = Field(40, ge=8, description="length of each sequence")
    seed: int = Field(42, description="the generator's seed (42 is the canonical dataset)")


class SyntheticOptions(DatasetOptions):
    """Random inputs labelled by a fixed random linear map: learnable, any shape, for tests."""

    name: Literal["synthetic"] = "synthetic"
    shape: tuple[int, ...] = Field((1, 40), min_length=1, description="one input's shape")
    classes: int = Field(10, ge=2)
    n_train: int = Field(512, ge=1)
    n_test: int = Field(128, ge=1)
    seed: int = 0


@dataclass(frozen=True)
class Data:
    """A dataset as tensors on one device.

    `x_*` hold stored examples: floats ready for the model, or uint8 pixels with the training
    set's per-channel `mean` and `std` (in pixel units, shaped to broadcast over one batch),
    which `inputs` applies. `crop_pad` and `flip` describe the augmentation `augment` applies.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    crop_pad: int = 0  # zero-pad by this much, then crop back to size at a random offset
    flip: bool = False  # flip left-right with probability 1/2

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def to(self, device: torch.device | str) -> Data:
        import torch

        tensors = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        moved = {k: v.to(device) for k, v in tensors.items() if isinstance(v, torch.Tensor)}
        return dataclasses.replace(self, **moved)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Stored examples -> the model's inputs: uint8 pixels become normalised floats."""
        if self.mean is None or self.std is None:
            return x
        return (x.float() - self.mean) / self.std

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A batch of inputs, randomly cropped and flipped (unchanged without augmentation).

        `generator` must live on x's device: the random draws are made there, never on the host.
        """
        if not self.crop_pad and not self.flip:
            return x
        from resbench.augment import crop_flip

        return crop_flip(x, self.crop_pad, self.flip, generator)


Loader = Callable[[DatasetOptions], Data]
DATASETS: dict[str, tuple[type[DatasetOptions], Loader]] = {}


def register(options: type[DatasetOptions]) -> Callable[[Loader], Loader]:
    """Register a loader under the name its options class declares."""

    def wrap(loader: Loader) -> Loader:
        name = options.model_fields["name"].default
        DATASETS[name] = (options, loader)
        return loader

    return wrap


def cache_dir() -> Path:
    """Where generated datasets are kept: $RESBENCH_CACHE, else the user's cache directory."""
    if env := os.environ.get("RESBENCH_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "resbench"


@register(Mnist1dOptions)
def load_mnist1d(options: DatasetOptions) -> Data:
    import numpy as np
    import torch

    assert isinstance(options, Mnist1dOptions)
    key = hashlib.sha256(options.model_dump_json().encode()).hexdigest()[:10]
    path = cache_dir() / f"mnist1d-{key}.npz"
    if not path.exists():
        arrays = _generate_mnist1d(options)
        path.parent.mkdir(parents=True, exist_ok=True)
        # np.savez appends .npz to names without it, so the temp name keeps the suffix.
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    x = torch.from_numpy(arrays["x"]).float().unsqueeze(1)  # (N, 1, L): one channel
    x_test = torch.from_numpy(arrays["x_test"]).float().unsqueeze(1)
    return Data(
        x,
        torch.from_numpy(arrays["y"]).long(),
        x_test,
        torch.from_numpy(arrays["y_test"]).long(),
        num_classes=10,
    )


def _generate_mnist1d(options: Mnist1dOptions) -> dict:
    import numpy as np
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = options.num_samples
    args.train_split = options.train_split
    args.final_seq_length = options.final_seq_length
    args.seed = options.seed
    # The generator seeds numpy's global RNG; restore it so callers are unaffected.
    state = np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    return {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}


@register(SyntheticOptions)
def load_synthetic(options: DatasetOptions) -> Data:
    import torch

    assert isinstance(options, SyntheticOptions)
    g = torch.Generator().manual_seed(options.seed)
    n = options.n_train + options.n_test
    x = torch.randn(n, *options.shape, generator=g)
    w = torch.randn(x[0].numel(), options.classes, generator=g)
    y = (x.flatten(1) @ w).argmax(1)
    if len(options.shape) == 1:
        x = x.unsqueeze(1)  # a flat vector is one channel
    k = options.n_train
    return Data(x[:k], y[:k], x[k:], y[k:], num_classes=options.classes)


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
            able = [n for n, (o, _) in DATASETS.items() if key in o.model_fields]
            raise DatasetError(
                f"{flag}: dataset {options.name!r} has no {key} option "  # type: ignore[attr-defined]
                f"(datasets that do: {', '.join(able)})"
            )
        out[f"dataset.{key}"] = value
    return out


def load(options: DatasetOptions, device: str = "cpu") -> Data:
    """The dataset `options` describes, on `device` (kept per process: sweeps reuse it)."""
    return _load_cached(options.model_dump_json(), device)


@functools.lru_cache(maxsize=4)
def _load_cached(options_json: str, device: str) -> Data:
    name = json.loads(options_json)["name"]
    options_cls, loader = DATASETS[name]
    return loader(options_cls.model_validate_json(options_json)).to(device)


# The datasets read from files register themselves; import them last, once the registry exists.
import resbench.datasets  # noqa: E402, F401
