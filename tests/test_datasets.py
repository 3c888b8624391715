"""Datasets read from files: CIFAR in both official versions, IDX files, safety, errors."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import Arrays, write_cifar, write_mnist

from resbench import data
from resbench.data import DatasetError, cifar, safe_pickle
from resbench.data.cifar import Cifar10Options, Cifar100Options
from resbench.data.files import md5sum
from resbench.data.generated import Mnist1dOptions, SyntheticOptions
from resbench.data.idx import FashionMnistOptions, MnistOptions
from resbench.sweep.load import parse_sweep

CIFAR = {"cifar10": Cifar10Options, "cifar100": Cifar100Options}


def assert_holds(d: data.Data, want: Arrays) -> None:
    """`d` holds exactly the fabricated pixels and labels, as uint8 and int64."""
    assert d.x_train.dtype == torch.uint8 and d.y_train.dtype == torch.long
    assert np.array_equal(d.x_train.numpy(), want.x_train)
    assert np.array_equal(d.y_train.numpy(), want.y_train)
    assert np.array_equal(d.x_test.numpy(), want.x_test)
    assert np.array_equal(d.y_test.numpy(), want.y_test)


# --------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("version", ["binary", "python"])
@pytest.mark.parametrize("archive", [True, False], ids=["tar.gz", "folder"])
def test_cifar_round_trips_in_every_official_form(
    tmp_path: Path, name: str, version: str, archive: bool
) -> None:
    want = write_cifar(tmp_path, name, version, archive)
    d = cifar.load_cifar(CIFAR[name](root=str(tmp_path)))
    assert_holds(d, want)
    assert d.num_classes == (10 if name == "cifar10" else 100)
    assert d.input_shape == (3, 32, 32)


def test_cifar_root_may_be_the_extracted_folder_itself(tmp_path: Path) -> None:
    want = write_cifar(tmp_path, "cifar10", "python", archive=False)
    d = cifar.load_cifar(Cifar10Options(root=str(tmp_path / "cifar-10-batches-py")))
    assert_holds(d, want)


def test_cifar_root_defaults_to_resbench_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = write_cifar(tmp_path, "cifar10", "binary", archive=True)
    monkeypatch.setenv("RESBENCH_DATA", str(tmp_path))
    assert_holds(cifar.load_cifar(Cifar10Options()), want)


def test_format_picks_the_version_and_auto_prefers_binary(tmp_path: Path) -> None:
    binary = write_cifar(tmp_path, "cifar10", "binary", archive=False, seed=1)
    python = write_cifar(tmp_path, "cifar10", "python", archive=True, seed=2)
    root = str(tmp_path)
    assert_holds(cifar.load_cifar(Cifar10Options(root=root)), binary)
    assert_holds(cifar.load_cifar(Cifar10Options(root=root, format="python")), python)


def test_loading_a_sweep_reads_no_dataset_files(tmp_path: Path) -> None:
    text = (
        f"name: c\ndataset: {{name: cifar10, root: {tmp_path / 'nothing-here'}}}\n"
        "model: {family: cifar}\ntrain: {steps: 10}\n"
        "grid: {depth: [20], arch: [plain, residual], seed: [0]}\n"
    )
    assert parse_sweep(text).dataset.name == "cifar10"


def test_missing_cifar_says_where_to_put_which_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as e:
        Cifar100Options(root=str(tmp_path)).ensure_files()
    message = str(e.value)
    assert "\n" not in message
    for text in (
        str(tmp_path),
        "cifar-100-binary.tar.gz or cifar-100-python.tar.gz",
        "cifar-100-binary/ or cifar-100-python/",
        "--data-dir",
        "RESBENCH_DATA",
        "--download",
    ):
        assert text in message


def test_a_folder_missing_a_batch_names_the_file(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10", "binary", archive=False)
    (tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin").unlink()
    with pytest.raises(DatasetError, match=r"data_batch_3\.bin: missing"):
        cifar.load_cifar(Cifar10Options(root=str(tmp_path)))


def test_a_truncated_binary_batch_is_a_clear_error(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10", "binary", archive=False)
    path = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="not a whole number of 3073-byte records"):
        cifar.load_cifar(Cifar10Options(root=str(tmp_path)))


# --------------------------------------------------------------------------- pickles


class _Payload:
    """Unpickling this object calls `fn(*args)`: the classic pickle exploit."""

    def __init__(self, fn: object, *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple:
        return self.fn, self.args


@pytest.mark.parametrize("how", ["os.system", "builtins.open"])
def test_a_crafted_cifar_pickle_is_refused_and_runs_nothing(tmp_path: Path, how: str) -> None:
    write_cifar(tmp_path, "cifar10", "python", archive=False)
    victim = tmp_path / "pwned"
    payload = (
        _Payload(os.system, f"touch {victim}")
        if how == "os.system"
        else _Payload(open, str(victim), "w")
    )
    batch = {b"labels": [0], b"data": payload}
    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(safe_pickle.UnsafePickleError, match=r"data_batch_2: refused to unpickle"):
        cifar.load_cifar(Cifar10Options(root=str(tmp_path)))
    assert not victim.exists()
    # Control: the same pickle through plain pickle does run its payload.
    pickle.loads(pickle.dumps(payload))
    assert victim.exists()


@pytest.mark.parametrize(
    "module_name",
    [b"numpy\nload", b"numpy.lib.format\nread_array", b"subprocess\nPopen", b"builtins\neval"],
)
def test_only_numpy_array_reconstruction_is_admitted(module_name: bytes) -> None:
    crafted = b"\x80\x02c" + module_name + b"\n)R."  # GLOBAL, empty tuple, REDUCE
    with pytest.raises(safe_pickle.UnsafePickleError, match="refused"):
        safe_pickle.loads(crafted, "crafted")


@pytest.mark.parametrize("numpy_module", [b"numpy.core.multiarray", b"numpy._core.multiarray"])
def test_arrays_pickled_by_numpy_1_and_2_load(numpy_module: bytes) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw = pickle.dumps({b"data": array}, protocol=3)
    raw = raw.replace(b"cnumpy._core.multiarray\n", b"c" + numpy_module + b"\n")
    assert numpy_module in raw
    assert np.array_equal(safe_pickle.loads(raw, "x")[b"data"], array)


def test_bytes_that_are_not_a_pickle_are_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="x: not a readable pickle"):
        safe_pickle.loads(b"not a pickle", "x")


# --------------------------------------------------------------------------- downloads


def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fabricated cifar-10-binary.tar.gz behind a file:// URL in place of the official one."""
    server = tmp_path / "server"
    server.mkdir()
    write_cifar(server, "cifar10", "binary", archive=True)
    monkeypatch.setattr(cifar, "BASE_URL", server.as_uri() + "/")
    return server / "cifar-10-binary.tar.gz"


def test_md5_mismatch_is_one_clear_line_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = serve(tmp_path, monkeypatch)
    root = tmp_path / "data"
    with pytest.raises(DatasetError) as e:
        Cifar10Options(root=str(root), download=True).ensure_files()
    message = str(e.value)
    assert "\n" not in message
    assert f"MD5 {md5sum(archive)} is not the official c32a1d4ab5d03f1284b67883e8d87530" in message
    assert "discarded" in message and not list(root.iterdir())


def test_download_keeps_a_verified_archive_and_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = serve(tmp_path, monkeypatch)
    key = ("cifar10", "binary")
    monkeypatch.setitem(
        cifar.LAYOUTS, key, dataclasses.replace(cifar.LAYOUTS[key], md5=md5sum(archive))
    )
    root = tmp_path / "data"
    reports: list[str] = []
    Cifar10Options(root=str(root), download=True).ensure_files(reports.append)
    assert (root / "cifar-10-binary.tar.gz").read_bytes() == archive.read_bytes()
    assert len(reports) == 1 and "downloading" in reports[0]
    assert len(cifar.load_cifar(Cifar10Options(root=str(root))).x_train) == 30


def test_a_failed_download_says_what_to_fetch_and_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cifar, "BASE_URL", (tmp_path / "nowhere").as_uri() + "/")
    root = tmp_path / "data"
    with pytest.raises(
        DatasetError, match=r"download failed .*put it at .*cifar-10-binary\.tar\.gz"
    ):
        Cifar10Options(root=str(root), download=True).ensure_files()


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize(
    ("options", "folder"),
    [(MnistOptions, "mnist"), (FashionMnistOptions, "fashion-mnist"), (MnistOptions, "MNIST/raw")],
)
def test_idx_files_round_trip(tmp_path: Path, gz: bool, options: type, folder: str) -> None:
    want = write_mnist(tmp_path / folder, gz)
    d = data.load(options(root=str(tmp_path)))
    assert_holds(d, want)
    assert d.input_shape == (1, 28, 28) and d.num_classes == 10


def test_idx_root_may_be_the_folder_of_files(tmp_path: Path) -> None:
    want = write_mnist(tmp_path, gz=True)
    assert_holds(data.load(FashionMnistOptions(root=str(tmp_path))), want)


def test_missing_idx_files_say_where_to_put_which_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as e:
        FashionMnistOptions(root=str(tmp_path)).ensure_files()
    message = str(e.value)
    assert str(tmp_path / "fashion-mnist") in message
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "gzipped or not"):
        assert name in message


def test_a_partial_idx_folder_names_the_missing_file(tmp_path: Path) -> None:
    write_mnist(tmp_path / "mnist", gz=False)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="not t10k-labels-idx1-ubyte"):
        MnistOptions(root=str(tmp_path)).ensure_files()


def test_a_damaged_idx_file_is_a_clear_error(tmp_path: Path) -> None:
    write_mnist(tmp_path / "mnist", gz=False)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DatasetError, match=r"promises .* bytes, but .* follow"):
        data.load(MnistOptions(root=str(tmp_path / "mnist")))


# --------------------------------------------------------------------------- pixels to inputs


def test_inputs_are_normalised_by_the_training_sets_channel_statistics(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10", "binary", archive=False)
    d = cifar.load_cifar(Cifar10Options(root=str(tmp_path)))
    x = d.inputs(d.x_train)
    assert x.dtype == torch.float32 and x.shape == d.x_train.shape
    assert torch.allclose(x.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)


def test_validation_holds_out_the_last_training_images_as_the_test_split(tmp_path: Path) -> None:
    want = write_cifar(tmp_path, "cifar10", "python", archive=False)
    d = cifar.load_cifar(Cifar10Options(root=str(tmp_path), validation=8))
    assert np.array_equal(d.x_train.numpy(), want.x_train[:-8])
    assert np.array_equal(d.x_test.numpy(), want.x_train[-8:])
    assert np.array_equal(d.y_test.numpy(), want.y_train[-8:])
    # Statistics come from the images trained on, not the held-out ones.
    assert torch.allclose(d.inputs(d.x_train).mean((0, 2, 3)), torch.zeros(3), atol=1e-4)


def test_validation_that_leaves_nothing_to_train_on_is_refused(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10", "binary", archive=False)
    with pytest.raises(DatasetError, match=r"dataset\.validation: 30 would leave no training"):
        cifar.load_cifar(Cifar10Options(root=str(tmp_path), validation=30))


def test_generated_datasets_pass_inputs_through_and_do_not_augment() -> None:
    d = data.load(SyntheticOptions(shape=(3, 8, 8), n_train=4, n_test=2))
    assert d.inputs(d.x_train) is d.x_train
    assert d.augment(d.x_train, torch.Generator()) is d.x_train


def test_file_overrides_refuse_datasets_without_files() -> None:
    assert data.file_overrides(Cifar10Options(), "/d", True) == {
        "dataset.root": "/d",
        "dataset.download": True,
    }
    with pytest.raises(DatasetError, match=r"--download: dataset 'mnist' has no download option"):
        data.file_overrides(MnistOptions(), None, True)
    with pytest.raises(DatasetError, match="--data-dir: dataset 'mnist1d' has no root"):
        data.file_overrides(Mnist1dOptions(), "/d")
