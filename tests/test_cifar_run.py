"""Fabricated CIFAR trains through `resbench run` on the CPU in each official version; MNIST too."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from fakes import write_cifar, write_mnist
from typer.testing import CliRunner

from resbench.cli import app
from resbench.sweep.load import expand, parse_sweep
from resbench.train.run import train_run

runner = CliRunner()
# Not about where runs execute: in-process, so no worker start-up per test.
INLINE = ("--executor", "inline")

CIFAR_SWEEP = """\
name: tiny-cifar
dataset: {{name: cifar10, root: {root}, augment: true}}
model: {{family: cifar, width: 4, shortcut: {shortcut}}}
train: {{steps: 4, batch_size: 8, lr: 0.05, eval_every: 2, device: cpu, precision: {precision}}}
grid:
  depth: [8]
  arch: [plain, residual]
  seed: [0]
"""


def sweep_file(tmp_path: Path, root: Path | str, shortcut: str = "A", precision: str = "fp32"):
    path = tmp_path / "tiny-cifar.yaml"
    path.write_text(CIFAR_SWEEP.format(root=root, shortcut=shortcut, precision=precision))
    return path


@pytest.mark.parametrize(
    ("version", "archive"), [("binary", False), ("python", False), ("python", True)]
)
def test_fabricated_cifar10_trains_through_resbench_run(
    tmp_path: Path, version: str, archive: bool
) -> None:
    write_cifar(tmp_path / "data", "cifar10", version, archive)
    result = runner.invoke(
        app, ["run", str(sweep_file(tmp_path, tmp_path / "data")), "--out", str(tmp_path / "res")]
    )
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(tmp_path / "res" / "tiny-cifar" / "runs.csv")
    assert list(runs["status"]) == ["ok", "ok"] and set(runs["dataset"]) == {"cifar10"}
    assert runs["train_error"].between(0, 1).all() and (runs["steps"] == 4).all()
    assert (runs["params"] > 0).all()


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_both_shortcut_options_train_on_cifar(tmp_path: Path, shortcut: str) -> None:
    write_cifar(tmp_path / "data", "cifar10", "binary", archive=False)
    path = sweep_file(tmp_path, tmp_path / "data", shortcut=shortcut, precision="bf16")
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "res"), *INLINE])
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(tmp_path / "res" / "tiny-cifar" / "runs.csv")
    assert list(runs["status"]) == ["ok", "ok"] and runs["train_loss"].notna().all()


def test_data_dir_sets_the_root_without_changing_run_ids(tmp_path: Path) -> None:
    write_cifar(tmp_path / "data", "cifar10", "binary", archive=True)
    path = sweep_file(tmp_path, tmp_path / "elsewhere")
    out = str(tmp_path / "res")
    result = runner.invoke(
        app, ["run", str(path), "--out", out, "--data-dir", str(tmp_path / "data"), *INLINE]
    )
    assert result.exit_code == 0, result.output
    # The same sweep with its files somewhere else is the same runs: all recorded already.
    moved = tmp_path / "moved"
    (tmp_path / "data").rename(moved)
    again = runner.invoke(app, ["run", str(path), "--out", out, "--data-dir", str(moved), *INLINE])
    assert again.exit_code == 0 and "2 recorded, 0 to run" in again.output


def test_missing_files_stop_the_sweep_before_any_run(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", str(sweep_file(tmp_path, tmp_path / "empty")), "--out", str(tmp_path / "res")]
    )
    assert result.exit_code == 2
    assert "cifar-10-binary.tar.gz or cifar-10-python.tar.gz" in result.output
    assert not (tmp_path / "res" / "tiny-cifar" / "runs").exists()


def test_data_dir_on_a_generated_dataset_is_refused(tiny_sweep_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tiny_sweep_file), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--data-dir: dataset 'synthetic' has no root option" in result.output


@pytest.mark.parametrize("family", ["mlp", "cifar"])
def test_fabricated_mnist_trains_with_image_and_flat_families(tmp_path: Path, family: str) -> None:
    write_mnist(tmp_path / "fashion-mnist", gz=True, n_train=24)
    text = (
        f"name: tiny-mnist\ndataset: {{name: fashion-mnist, root: {tmp_path}, validation: 8}}\n"
        f"model: {{family: {family}, width: 4}}\n"
        "train: {steps: 3, batch_size: 8, device: cpu}\n"
        "grid: {depth: [8], arch: [residual], seed: [0]}\n"
    )
    result = train_run(expand(parse_sweep(text))[0])
    assert result.status == "ok", result.error
    assert result.test_error is not None and math.isclose(
        result.test_error * 8, round(result.test_error * 8)
    )
