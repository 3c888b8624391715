"""train_run: seeded, learns, records curves, and turns every failure into a status."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from conftest import TINY_SWEEP

from resbench import data
from resbench.data.generated import SyntheticOptions
from resbench.models import build_model
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec, TrainConfig
from resbench.train.loop import evaluate
from resbench.train.recipe import lr_factor
from resbench.train.run import train_run


def tiny(**overrides) -> RunSpec:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[0]


def test_same_spec_gives_identical_results_on_cpu() -> None:
    spec = tiny(**{"train.epochs": 3})
    a, b = train_run(spec), train_run(spec)
    assert a.status == b.status == "ok"
    assert a.train_error == b.train_error and a.train_loss == b.train_loss
    assert [p.model_dump() for p in a.curve] == [p.model_dump() for p in b.curve]


def test_seed_changes_the_run() -> None:
    a = train_run(tiny(**{"grid.seed": [0]}))
    b = train_run(tiny(**{"grid.seed": [1]}))
    assert a.train_loss != b.train_loss


def test_training_learns_a_learnable_task() -> None:
    spec = tiny(**{"train.epochs": 30, "grid.depth": [8], "grid.arch": ["residual"]})
    result = train_run(spec)
    chance = 1 - 1 / 4
    assert result.status == "ok"
    assert result.train_error < chance / 2 < result.curve[0].train_error + 0.3


def test_result_records_curve_metrics_and_timings() -> None:
    spec = tiny()
    r = train_run(spec)
    steps_per_epoch = 64 // 16
    assert r.run_id == spec.run_id and r.spec == spec
    assert r.steps == 2 * steps_per_epoch and r.epochs == 2
    assert [p.step for p in r.curve] == [2, 4, 6, 8]  # eval_every: 2
    assert all(0 <= p.train_error <= 1 and 0 <= p.test_error <= 1 for p in r.curve)
    assert 0 <= r.train_error <= 1 and 0 <= r.test_error <= 1 and r.train_loss > 0
    assert r.seconds >= r.train_seconds + r.eval_seconds and r.samples_per_s > 0
    assert r.train_seconds > 0 and r.eval_seconds > 0
    assert r.params > 0 and r.device.startswith("cpu")
    assert r.env["torch"] == torch.__version__


def test_final_train_error_is_measured_on_the_whole_set_in_eval_mode() -> None:
    r = train_run(tiny())
    # 64 training examples: every error rate is a multiple of 1/64.
    assert math.isclose(r.train_error * 64, round(r.train_error * 64))


def test_the_headline_train_error_is_the_eval_mode_error_of_the_whole_training_set() -> None:
    # One step at a vanishing lr: the weights stay as they started, while batch norm's running
    # statistics take their first step away from (0, 1). So the net's eval-mode predictions
    # differ from its train-mode ones, and each definition of "train error" gives its own value.
    spec = tiny(
        **{"train.epochs": None, "train.steps": 1, "train.lr": 1e-12, "train.eval_every": 1}
    )
    r = train_run(spec)
    ds = data.load(spec.dataset)
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes)
    first = torch.randperm(64, generator=torch.Generator().manual_seed(spec.seed))[:16]
    model.train()
    with torch.no_grad():
        model(ds.x_train[first])  # the step's forward pass: running statistics move once
    _, eval_error = evaluate(model, ds.x_train, ds.y_train)
    model.train()
    with torch.no_grad():
        train_mode_error = (model(ds.x_train).argmax(1) != ds.y_train).float().mean().item()
    running_error = r.curve[-1].train_error  # that minibatch, in train mode, during training
    assert len({eval_error, train_mode_error, running_error}) == 3  # the test can tell them apart
    assert r.train_error == eval_error


def test_samples_per_s_counts_the_examples_trained_on_in_the_steady_state() -> None:
    # 70 examples in batches of 16: 5 steps an epoch, the last of 6 examples. The first curve
    # point (step 2, 32 examples) ends the start-up: compiling, autotuning, first touches.
    r = train_run(tiny(**{"dataset.n_train": 70}))
    assert r.steps == 10 and r.curve[0].step == 2
    assert 0 < r.startup_seconds < r.train_seconds
    steady = r.train_seconds - r.startup_seconds
    assert r.samples_per_s * steady == pytest.approx(140 - 32)


def test_a_run_with_one_curve_point_times_its_whole_loop() -> None:
    r = train_run(tiny(**{"train.eval_every": 100}))  # the only point is the last step
    assert len(r.curve) == 1 and r.startup_seconds <= r.train_seconds
    assert r.samples_per_s * r.train_seconds == pytest.approx(128)


def test_final_test_figures_are_the_last_curve_point_of_the_trained_model() -> None:
    # Curve points at steps 3, 6 and the last, 8: the final one is the finished model.
    r = train_run(tiny(**{"train.eval_every": 3}))
    assert [p.step for p in r.curve] == [3, 6, 8]
    assert (r.test_loss, r.test_error) == (r.curve[-1].test_loss, r.curve[-1].test_error)
    assert math.isclose(r.test_error * 32, round(r.test_error * 32))  # the whole test set


def test_non_finite_loss_is_recorded_as_diverged() -> None:
    spec = tiny(**{"model.batch_norm": False, "train.lr": 1e6, "train.momentum": 0.0})
    r = train_run(spec)
    assert r.status == "diverged"
    assert r.train_error is None and r.error is None
    assert r.curve and r.curve[-1].train_loss is None  # the non-finite point is kept
    assert r.steps < 8  # stopped early, at the first curve point


def test_an_exception_is_recorded_as_failed_with_its_message() -> None:
    # conv1d needs (channels, length) inputs: a 3D image makes the run fail, not the caller.
    # (Loading refuses such a sweep; a spec copied without validation gets past it.)
    images = SyntheticOptions(shape=(1, 4, 4), classes=4, n_train=64, n_test=32)
    r = train_run(tiny().model_copy(update={"dataset": images}))
    assert r.status == "failed"
    assert "conv1d needs inputs shaped" in r.error and "Traceback" in r.traceback


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_every_optimizer_trains(optimizer: str) -> None:
    lr = 0.05 if optimizer == "sgd" else 0.003
    r = train_run(tiny(**{"train.optimizer": optimizer, "train.lr": lr}))
    assert r.status == "ok" and math.isfinite(r.train_loss)


def schedule(**kw) -> list[float]:
    cfg = TrainConfig(**{"steps": 10, **kw})
    factor = lr_factor(cfg, total_steps=10, scale=1)
    return [factor(s) for s in range(10)]


def test_constant_schedule() -> None:
    assert schedule(schedule="constant") == [1.0] * 10


def test_cosine_schedule_falls_from_one_towards_zero() -> None:
    f = schedule(schedule="cosine")
    assert f[0] == 1.0 and all(a > b for a, b in itertools.pairwise(f)) and f[-1] < 0.05


def test_multistep_schedule_multiplies_by_gamma_at_milestones() -> None:
    f = schedule(schedule="multistep", milestones=[4, 7], gamma=0.1)
    assert (
        f[:4] == [1.0] * 4
        and f[4:7] == pytest.approx([0.1] * 3)
        and f[7:] == pytest.approx([0.01] * 3)
    )


def test_warmup_rises_linearly_then_follows_the_schedule() -> None:
    f = schedule(schedule="constant", warmup=4)
    assert f[:4] == [0.25, 0.5, 0.75, 1.0] and f[4:] == [1.0] * 6


def test_milestones_in_epochs_are_converted_to_steps() -> None:
    cfg = TrainConfig(epochs=4, schedule="multistep", milestones=[2])
    factor = lr_factor(cfg, total_steps=40, scale=10)
    assert factor(19) == 1.0 and factor(20) == pytest.approx(0.1)
