"""Checkpoints: a resumed run equals an uninterrupted one, and they never change what a run is."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import TINY_SWEEP
from fakes import write_cifar

from resbench.results import Results
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec
from resbench.train.run import train_run
from resbench.train.run_result import Progress


def tiny(**overrides) -> RunSpec:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[0]


class Interrupt(Exception):
    pass


def interrupted_at(step: int) -> Progress:
    """A progress callback that stops the run at `step`, as a crash would."""

    def progress(s: int, total: int, loss: float | None) -> None:
        if s == step:
            raise Interrupt(f"stopped at step {s}")

    return progress


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path: Path, optimizer: str) -> None:
    lr = 0.05 if optimizer == "sgd" else 0.003
    spec = tiny(**{"train.checkpoint_every": 3, "train.optimizer": optimizer, "train.lr": lr})
    ckpt = tmp_path / "run.ckpt"
    # Stopped at step 7, mid-epoch (4 steps each) and between curve points (every 2): the
    # shuffle order, the running sums and the scheduler must all come back.
    stopped = train_run(spec, progress=interrupted_at(7), checkpoint=ckpt)
    assert stopped.status == "failed" and ckpt.is_file()
    resumed = train_run(spec, checkpoint=ckpt)
    whole = train_run(spec)
    assert resumed.resumed_at == 6 and whole.resumed_at is None
    assert resumed.status == whole.status == "ok"
    assert resumed.train_error == whole.train_error and resumed.test_error == whole.test_error
    assert resumed.train_loss == whole.train_loss and resumed.curve == whole.curve


def test_a_resumed_run_keeps_its_diagnostics(tmp_path: Path) -> None:
    spec = tiny(**{"train.checkpoint_every": 3, "train.diagnostics": ["grad_norms"]})
    ckpt = tmp_path / "run.ckpt"
    train_run(spec, progress=interrupted_at(7), checkpoint=ckpt)
    resumed, whole = train_run(spec, checkpoint=ckpt), train_run(spec)
    assert resumed.resumed_at == 6
    assert resumed.layers == whole.layers and {p.step for p in whole.layers} == {0, 2, 4, 6, 8}


def test_the_checkpoint_loads_as_weights_only_data(tmp_path: Path) -> None:
    spec = tiny(**{"train.checkpoint_every": 2})
    ckpt = tmp_path / "run.ckpt"
    train_run(spec, progress=interrupted_at(5), checkpoint=ckpt)
    saved = torch.load(ckpt, weights_only=True)
    loop = saved["loop"]
    assert saved["run_id"] == spec.run_id and loop["step"] == 4 and len(loop["curve"]) == 2


def test_without_checkpoint_every_nothing_is_written(tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt"
    assert train_run(tiny(), checkpoint=ckpt).status == "ok"
    assert not ckpt.exists()


def test_a_checkpoint_of_another_run_is_ignored(tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt"
    other = tiny(**{"train.checkpoint_every": 2, "train.lr": 0.01})
    train_run(other, progress=interrupted_at(5), checkpoint=ckpt)
    spec = tiny(**{"train.checkpoint_every": 2})
    assert train_run(spec, checkpoint=ckpt).resumed_at is None


def test_an_unreadable_checkpoint_means_starting_over(tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(b"not a checkpoint")
    r = train_run(tiny(**{"train.checkpoint_every": 2}), checkpoint=ckpt)
    assert r.status == "ok" and r.resumed_at is None


def test_checkpoint_every_does_not_change_the_run_id() -> None:
    assert tiny(**{"train.checkpoint_every": 5}).run_id == tiny().run_id


def test_saving_the_record_deletes_the_checkpoint(tmp_path: Path) -> None:
    store = Results(tmp_path)
    spec = tiny(**{"train.checkpoint_every": 2})
    ckpt = store.checkpoint_path(spec.run_id)
    run = store.checkpointed(train_run)
    assert run(spec, progress=interrupted_at(5)).status == "failed" and ckpt.is_file()
    result = run(spec)
    assert result.resumed_at == 4
    store.save(result)
    assert not ckpt.exists() and store.statuses() == {spec.run_id: "ok"}


AUGMENTED_CIFAR = """\
name: tiny-cifar
dataset: {{name: cifar10, root: {root}, augment: true}}
model: {{family: cifar, width: 4}}
train: {{steps: 60, batch_size: 8, lr: 0.05, warmup_lr: 0.01, warmup_until_error: 0.99,
         eval_every: 20, device: cpu, checkpoint_every: 55}}
grid: {{depth: [8], arch: [residual], seed: [0]}}
"""


def test_a_resumed_run_draws_the_same_augmentations_and_warm_up(tmp_path: Path) -> None:
    # The warm-up ends at its look at step 50, before the checkpoint at 55: a resumed run must
    # not warm up again, and must go on drawing the same crops and flips.
    write_cifar(tmp_path / "data", "cifar10", "binary", archive=False)
    (spec,) = expand(parse_sweep(AUGMENTED_CIFAR.format(root=tmp_path / "data")))
    ckpt = tmp_path / "run.ckpt"
    assert train_run(spec, progress=interrupted_at(57), checkpoint=ckpt).status == "failed"
    resumed, whole = train_run(spec, checkpoint=ckpt), train_run(spec)
    assert resumed.resumed_at == 55 and resumed.status == whole.status == "ok"
    assert resumed.warmup_steps == whole.warmup_steps == 50
    assert resumed.train_loss == whole.train_loss and resumed.curve == whole.curve


def test_a_checkpoint_made_on_another_device_type_resumes_and_says_so(tmp_path: Path) -> None:
    # A GPU's checkpoint as a CPU-only machine meets it: the augmentation stream's state is a
    # CUDA generator's (16 bytes of Philox state, not a CPU generator's 5056), and so is the
    # CUDA random state. Such a state cannot be set on a CPU generator.
    write_cifar(tmp_path / "data", "cifar10", "binary", archive=False)
    (spec,) = expand(parse_sweep(AUGMENTED_CIFAR.format(root=tmp_path / "data")))
    ckpt = tmp_path / "run.ckpt"
    train_run(spec, progress=interrupted_at(57), checkpoint=ckpt)
    saved = torch.load(ckpt, weights_only=True)
    philox = torch.zeros(16, dtype=torch.uint8)
    with pytest.raises(RuntimeError):
        torch.Generator().set_state(philox)
    saved["loop"].update(device="cuda", augment=philox, cuda_rng=philox)
    torch.save(saved, ckpt)
    resumed = train_run(spec, checkpoint=ckpt)
    assert resumed.status == "ok", resumed.error
    assert resumed.resumed_at == 55 and resumed.resumed_from_device == "cuda"
    assert train_run(spec).resumed_from_device is None
