"""Datasets: MNIST-1D from its own generator (cached), synthetic tensors of any shape."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pytest
import torch

from resbench import data
from resbench.data import registry
from resbench.data.generated import Mnist1dOptions, SyntheticOptions, load_mnist1d, load_synthetic
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import SweepError


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
    fresh = load_mnist1d(Mnist1dOptions())  # reads the cache, no generation
    assert torch.equal(fresh.x_train, data.load(Mnist1dOptions()).x_train)


def test_mnist1d_options_change_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESBENCH_CACHE", str(tmp_path))
    small = load_mnist1d(Mnist1dOptions(num_samples=200, train_split=0.5))
    assert small.x_train.shape == (100, 1, 40) and small.x_test.shape == (100, 1, 40)
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 1


@pytest.mark.parametrize("shape", [(16,), (2, 16), (3, 8, 8)])
def test_synthetic_has_any_shape_and_is_seeded(shape: tuple[int, ...]) -> None:
    options = SyntheticOptions(shape=shape, classes=3, n_train=20, n_test=10)
    d = load_synthetic(options)
    assert d.x_train.shape[0] == 20 and d.x_test.shape[0] == 10
    assert d.x_train[0].numel() == torch.Size(shape).numel()
    assert torch.equal(d.x_train, load_synthetic(options).x_train)
    assert int(d.y_train.max()) < 3


def test_the_built_in_datasets_are_registered_under_their_names() -> None:
    assert data.names() == [
        *("mnist1d", "synthetic", "cifar10", "cifar100", "mnist", "fashion-mnist", "copy")
    ]
    assert data.options_class("cifar10")().name == "cifar10"


class ConstantOptions(data.DatasetOptions):
    """A dataset registered after resbench was imported: every input is `value`."""

    name: Literal["constant-test"] = "constant-test"
    value: float = 1.0


def load_constant(options: data.DatasetOptions) -> data.Data:
    assert isinstance(options, ConstantOptions)
    x = torch.full((8, 1, 14), options.value)
    y = torch.arange(8) % 2
    return data.Data(x, y, x, y, num_classes=2)


SWEEP_ON = """
name: late
dataset: {{name: {name}, value: 3.0}}
model: {{family: conv1d, width: 2}}
train: {{steps: 1, batch_size: 4}}
grid: {{depth: [8], arch: [plain], seed: [0]}}
"""


def test_a_dataset_registered_later_is_known_to_sweeps_loaded_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # undone after
    with pytest.raises(SweepError, match="unknown dataset 'constant-test'"):
        parse_sweep(SWEEP_ON.format(name="constant-test"))
    data.register(ConstantOptions, load_constant)
    (spec,) = expand(parse_sweep(SWEEP_ON.format(name="constant-test")))
    assert isinstance(spec.dataset, ConstantOptions) and spec.dataset.value == 3.0
    assert spec.model_dump()["dataset"] == {"name": "constant-test", "value": 3.0}
    assert float(data.load(spec.dataset).x_train[0, 0, 0]) == 3.0
