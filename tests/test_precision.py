"""What `train.precision` and `train.deterministic` set: the switches, the probe, the run id."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch
from conftest import TINY_SWEEP

from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec
from resbench.train.precision import CUBLAS_DETERMINISTIC, configure, tf32
from resbench.train.run import train_run

CUDA = torch.device("cuda")  # the switches are the process's: setting them needs no GPU


def tiny(**overrides: object) -> RunSpec:
    return expand(parse_sweep(TINY_SWEEP, "tiny", {"grid.seed": [0], **overrides}))[0]


@pytest.fixture
def switches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The backend switches as they were, put back after the test."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.are_deterministic_algorithms_enabled(),
    )
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[:2]
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2:4]
    torch.use_deterministic_algorithms(saved[4])


def test_fp32_on_cuda_is_strict_and_tf32_allows_tensor_cores(switches: None) -> None:
    configure(CUDA, "fp32", deterministic=False)
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert torch.backends.cudnn.benchmark and not torch.are_deterministic_algorithms_enabled()
    configure(CUDA, "tf32", deterministic=False)
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32


def test_deterministic_turns_autotuning_off_and_deterministic_kernels_on(switches: None) -> None:
    configure(CUDA, "fp32", deterministic=True)
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_DETERMINISTIC
    configure(CUDA, "fp32", deterministic=False)  # the next run in the worker: all undone
    assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark


def test_the_peak_probe_runs_in_the_precision_s_arithmetic_and_puts_it_back(
    switches: None,
) -> None:
    configure(CUDA, "fp32", deterministic=False)
    with tf32("tf32"):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32


def test_deterministic_and_tf32_change_the_run_id_and_nothing_of_a_cpu_run() -> None:
    plain = tiny()
    assert len({plain.run_id, tiny(**{"train.deterministic": True}).run_id}) == 2
    assert tiny(**{"train.precision": "tf32"}).run_id != plain.run_id
    a, b = train_run(plain), train_run(tiny(**{"train.deterministic": True}))
    c = train_run(tiny(**{"train.precision": "tf32"}))
    assert a.train_loss == b.train_loss == c.train_loss and a.curve == b.curve == c.curve
