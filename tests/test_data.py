"""Datasets: MNIST-1D from its own generator (cached), synthetic tensors of any shape."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from resbench import data
from resbench.data import DATASETS, Mnist1dOptions, SyntheticOptions


def test_mnist1d_is_the_canonical_4000_1000_length_40() -> None:
    d = data.load(Mnist1dOptions())
    assert d.x_train.shape == (4000, 1, 40) and d.x_test.shape == (1000, 1, 40)
    assert d.y_train.dtype == torch.long and set(d.y_train.unique().tolist()) == set(range(10))
    assert d.num_classes == 10 and d.input_shape == (1, 40)
    # The generator standardises the whole set.
    assert abs(d.x_train.mean().item()) < 0.1 and abs(d.x_train.std().item() - 1) < 0.1


def test_mnist1d_is_cached_under_resbench_cache() -> None:
    data.load(Mnist1dOptions())
    files = list(Path(os.environ["RESBENCH_CACHE"]).glob("mnist1d-*.npz"))
    assert files, "the generated dataset was not cached"
    fresh = data.load_mnist1d(Mnist1dOptions())  # reads the cache, no generation
    assert torch.equal(fresh.x_train, data.load(Mnist1dOptions()).x_train)


def test_mnist1d_options_change_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESBENCH_CACHE", str(tmp_path))
    small = data.load_mnist1d(Mnist1dOptions(num_samples=200, train_split=0.5))
    assert small.x_train.shape == (100, 1, 40) and small.x_test.shape == (100, 1, 40)
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 1


@pytest.mark.parametrize("shape", [(16,), (2, 16), (3, 8, 8)])
def test_synthetic_has_any_shape_and_is_seeded(shape: tuple[int, ...]) -> None:
    options = SyntheticOptions(shape=shape, classes=3, n_train=20, n_test=10)
    d = data.load_synthetic(options)
    assert d.x_train.shape[0] == 20 and d.x_test.shape[0] == 10
    assert d.x_train[0].numel() == torch.Size(shape).numel()
    assert torch.equal(d.x_train, data.load_synthetic(options).x_train)
    assert int(d.y_train.max()) < 3


def test_registry_names_match_option_classes() -> None:
    for name, (options, _) in DATASETS.items():
        assert options().name == name
