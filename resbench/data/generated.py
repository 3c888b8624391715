"""The datasets made by a generator rather than read from files: MNIST-1D, synthetic, copy.

MNIST-1D comes from the `mnist1d` package's own generator and is cached as a .npz under
resbench's cache directory, keyed by its options; synthetic and copy data are drawn afresh
each time (they are small, and seeded).
"""

from __future__ import annotations

import hashlib
import math
from contextlib import suppress
from typing import Any, Literal

from pydantic import Field

from resbench.core.atomic import replacing
from resbench.core.cache import cache_dir
from resbench.data.dataset import Data, DatasetOptions


class Mnist1dOptions(DatasetOptions):
    """MNIST-1D from the `mnist1d` package's own generator (defaults: its canonical 4000/1000)."""

    name: Literal["mnist1d"] = "mnist1d"
    num_samples: int = Field(5000, ge=20, description="train + test examples generated")
    train_split: float = Field(0.8, gt=0, lt=1, description="fraction used for training")
    final_seq_length: int = Field(40, ge=8, description="length of each sequence")
    seed: int = Field(42, description="the generator's seed (42 is the canonical dataset)")

    def data_kind(self) -> str:
        return "sequence"

    def num_classes(self) -> int:
        return 10


class SyntheticOptions(DatasetOptions):
    """Random inputs labelled by a fixed random linear map: learnable, any shape, for tests."""

    name: Literal["synthetic"] = "synthetic"
    shape: tuple[int, ...] = Field((1, 40), min_length=1, description="one input's shape")
    classes: int = Field(10, ge=2)
    n_train: int = Field(512, ge=1)
    n_test: int = Field(128, ge=1)
    seed: int = 0

    def data_kind(self) -> str | None:
        # A flat vector is stored as one channel: a sequence.
        return {1: "sequence", 2: "sequence", 3: "image"}.get(len(self.shape))

    def num_classes(self) -> int:
        return self.classes


def load_mnist1d(options: DatasetOptions) -> Data:
    import numpy as np
    import torch

    assert isinstance(options, Mnist1dOptions)
    key = hashlib.sha256(options.model_dump_json().encode()).hexdigest()[:10]
    path = cache_dir() / f"mnist1d-{key}.npz"
    if path.exists():
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
    else:
        arrays = _generate_mnist1d(options)
        # A cache that cannot be written (read-only, full) costs the next run the making, and
        # fails no run: the arrays serve from memory.
        with suppress(OSError), replacing(path, suffix=".npz") as tmp:
            np.savez(tmp, **arrays)
    x = torch.from_numpy(arrays["x"]).float().unsqueeze(1)  # (N, 1, L): one channel
    x_test = torch.from_numpy(arrays["x_test"]).float().unsqueeze(1)
    return Data(
        x,
        torch.from_numpy(arrays["y"]).long(),
        x_test,
        torch.from_numpy(arrays["y_test"]).long(),
        num_classes=10,
    )


def _generate_mnist1d(options: Mnist1dOptions) -> dict[str, Any]:
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


class CopyOptions(DatasetOptions):
    """Next-token prediction whose best achievable error is known: each sequence is `length`
    random tokens, then the same tokens again. Tokens of the first half cannot be predicted
    (error 1 - 1/vocab at best); every token of the second half can (error 0).
    """

    name: Literal["copy"] = "copy"
    length: int = Field(16, ge=2, description="random tokens, then the same again")
    vocab: int = Field(16, ge=2, description="distinct tokens, drawn uniformly")
    n_train: int = Field(4000, ge=1)
    n_test: int = Field(1000, ge=1)
    seed: int = 0

    def data_kind(self) -> str:
        return "tokens"

    def num_classes(self) -> int:
        return self.vocab

    def floor(self) -> tuple[float, float]:
        """(error, cross-entropy) of the best possible predictor, per predicted token.

        A sequence of 2k tokens is read as its first 2k - 1, each predicting the next: k - 1 of
        those are random first-half tokens, the other k are copies of earlier ones.
        """
        k, v = self.length, self.vocab
        share = (k - 1) / (2 * k - 1)
        return share * (1 - 1 / v), share * math.log(v)


def load_copy(options: DatasetOptions) -> Data:
    import torch

    assert isinstance(options, CopyOptions)
    g = torch.Generator().manual_seed(options.seed)
    n = options.n_train + options.n_test
    first = torch.randint(options.vocab, (n, options.length), generator=g)
    sequences = torch.cat([first, first], dim=1)
    x, y = sequences[:, :-1], sequences[:, 1:]  # each token predicts the next
    k = options.n_train
    return Data(x[:k], y[:k], x[k:], y[k:], num_classes=options.vocab)
