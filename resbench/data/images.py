"""Pixels to a `Data`: the optional train/validation split, normalisation, augmentation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resbench.data.dataset import Data, DatasetError

if TYPE_CHECKING:
    import numpy as np
    import torch

CROP_PAD = 4  # the paper's augmentation pads 4 pixels on each side


def image_data(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: int,
    validation: int = 0,
    augment: bool = False,
) -> Data:
    """uint8 images (N, C, H, W) and their labels as a `Data`.

    With `validation` > 0 the last `validation` training images are held out and become the
    test split (the official test set is then unused), as in the paper's 45k/5k split. Inputs
    are normalised by the per-channel mean and std of the images trained on.
    """
    import torch

    for labels, split in ((y_train, "training"), (y_test, "test")):
        if len(labels) and not 0 <= labels.min() <= labels.max() < num_classes:
            raise DatasetError(
                f"{split} labels span {labels.min()}..{labels.max()}, "
                f"outside 0..{num_classes - 1}: not this dataset's files"
            )
    if validation:
        if validation >= len(x_train):
            raise DatasetError(
                f"dataset.validation: {validation} would leave no training images "
                f"(the training set has {len(x_train)})"
            )
        x_train, x_test = x_train[:-validation], x_train[-validation:]
        y_train, y_test = y_train[:-validation], y_train[-validation:]
    xs = [torch.from_numpy(x.copy()) for x in (x_train, x_test)]  # copy: own, writable memory
    ys = [torch.from_numpy(y.astype("int64")) for y in (y_train, y_test)]
    mean, std = channel_stats(xs[0])
    return Data(
        xs[0],
        ys[0],
        xs[1],
        ys[1],
        num_classes,
        mean=mean,
        std=std,
        crop_pad=CROP_PAD if augment else 0,
        flip=augment,
    )


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of (N, C, ...) `x`, shaped (C, 1, ...) to broadcast over a batch."""
    import torch

    dims = [0, *range(2, x.dim())]
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for chunk in x.split(4096):  # in float64, a chunk at a time: exact, and no 8x copy of x
        chunk = chunk.double()
        total += chunk.sum(dims)
        squares += chunk.square().sum(dims)
    count = max(1, x.numel() // x.shape[1])
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(1e-6).sqrt()
    shape = (-1,) + (1,) * (x.dim() - 2)
    return mean.float().reshape(shape), std.float().reshape(shape)
