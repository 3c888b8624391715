"""The paper's recipe and the speed options: steps, milestones, error-gated warm-up, bf16."""

from __future__ import annotations

import math

import pytest
from conftest import TINY_SWEEP

from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec, SweepError, TrainConfig
from resbench.train.recipe import WARMUP_CHECK_EVERY, lr_factor
from resbench.train.run import train_run


def tiny(**overrides) -> RunSpec:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[0]


def test_paper_milestones_are_in_steps_when_the_length_is_in_steps() -> None:
    cfg = TrainConfig(steps=64000, schedule="multistep", milestones=[32000, 48000])
    factor = lr_factor(cfg, total_steps=64000, scale=1)
    assert [factor(s) for s in (0, 31999, 32000, 47999, 48000, 63999)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )


def lrs_and_result(**overrides):
    result = train_run(tiny(**{"train.eval_every": 10, "train.schedule": "constant", **overrides}))
    assert result.status == "ok", result.error
    return [p.lr for p in result.curve], result


def test_warmup_holds_its_lr_until_the_running_error_is_below_the_threshold() -> None:
    # Any error is below 1.0, so the warm-up ends at its first look.
    lrs, result = lrs_and_result(
        **{"train.epochs": None, "train.steps": 70, "train.warmup_lr": 0.001},
        **{"train.warmup_until_error": 1.0},
    )
    assert result.warmup_steps == WARMUP_CHECK_EVERY == 50
    assert lrs == pytest.approx([0.001] * 4 + [0.05] * 3)  # curve points at 10, 20, ..., 70


def test_warmup_lasts_while_the_error_stays_above_the_threshold() -> None:
    lrs, result = lrs_and_result(
        **{"train.epochs": None, "train.steps": 60, "train.warmup_lr": 0.001},
        **{"train.warmup_until_error": 0.01},  # a tiny lr never gets the error this low
    )
    assert result.warmup_steps == 60 and lrs == pytest.approx([0.001] * 6)


def test_without_warmup_lr_there_is_no_warmup() -> None:
    lrs, result = lrs_and_result()
    assert result.warmup_steps is None and lrs == pytest.approx([0.05] * len(lrs))


def test_linear_and_error_gated_warmup_together_are_refused() -> None:
    with pytest.raises(SweepError, match=r"train\.warmup .* or train\.warmup_lr"):
        tiny(**{"train.warmup": 1, "train.warmup_lr": 0.01})


def test_warmup_until_error_must_be_a_rate() -> None:
    with pytest.raises(SweepError, match=r"train\.warmup_until_error"):
        tiny(**{"train.warmup_lr": 0.01, "train.warmup_until_error": 80})


def test_a_short_bf16_run_on_the_cpu_ends_with_finite_loss() -> None:
    result = train_run(tiny(**{"train.precision": "bf16"}))
    assert result.status == "ok" and math.isfinite(result.train_loss)
    assert all(p.train_loss is not None and math.isfinite(p.train_loss) for p in result.curve)


def test_precision_and_compile_change_the_run_id_but_data_location_does_not() -> None:
    cifar = TINY_SWEEP.replace(
        "dataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}",
        "dataset: {name: cifar10}",
    ).replace("family: conv1d", "family: cifar")
    base = expand(parse_sweep(cifar))[0].run_id
    for key, value in (
        ("dataset.root", "/elsewhere"),
        ("dataset.download", True),
        ("dataset.format", "python"),
    ):
        assert expand(parse_sweep(cifar, "s", {key: value}))[0].run_id == base, key
    for key, value in (("train.precision", "bf16"), ("train.compile", True)):
        assert expand(parse_sweep(cifar, "s", {key: value}))[0].run_id != base, key


def test_include_entries_may_set_any_field() -> None:
    text = TINY_SWEEP + (
        "include:\n  - {arch: residual, depth: 20, seed: 0, train.warmup_lr: 0.01, train.lr: 0.2}\n"
    )
    specs = expand(parse_sweep(text))
    extra = [s for s in specs if s.model.depth == 20]
    assert len(extra) == 1 and extra[0].train.warmup_lr == 0.01 and extra[0].train.lr == 0.2
    assert all(s.train.warmup_lr is None for s in specs if s.model.depth != 20)


def test_a_compiled_run_is_compiled_and_computes_what_the_eager_one_does() -> None:
    # The smallest net that still has batch norm and two blocks: inductor compiles its forward
    # and backward in C++ on a CPU, which takes most of this test's half a minute.
    from torch._dynamo.utils import counters

    small = {"model.family": "mlp", "grid.depth": [6], "grid.arch": ["residual"]}
    counters.clear()
    compiled = train_run(tiny(**small, **{"train.compile": True}))
    assert compiled.status == "ok", compiled.error
    assert counters["stats"]["unique_graphs"] > 0  # Dynamo captured the model: it was compiled
    eager = train_run(tiny(**small))
    assert compiled.train_error == eager.train_error
    assert compiled.train_loss == pytest.approx(eager.train_loss, rel=1e-4)


def test_cifar10_paper_preset_is_the_papers_recipe() -> None:
    from resbench.sweep.load import load_sweep

    specs = expand(load_sweep("cifar10-paper"))
    t = specs[0].train
    assert (t.steps, t.batch_size, t.optimizer, t.lr, t.momentum, t.weight_decay) == (
        64000,
        128,
        "sgd",
        0.1,
        0.9,
        1e-4,
    )
    assert t.schedule == "multistep" and t.milestones == (32000, 48000) and t.gamma == 0.1
    assert all(s.dataset.augment and s.model.shortcut == "A" for s in specs)
    nets = {(s.model.arch, s.model.depth): s.train.warmup_lr for s in specs}
    assert set(nets) == {(a, d) for a in ("plain", "residual") for d in (20, 32, 44, 56)} | {
        ("residual", 110)
    }
    # Only the 110-layer net warms up, at 0.01 until the training error is below 80%.
    assert nets.pop(("residual", 110)) == 0.01 and set(nets.values()) == {None}
    assert {s.train.warmup_until_error for s in specs} == {0.8}
