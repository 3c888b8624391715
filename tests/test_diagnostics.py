"""Gradient-flow diagnostics: right numbers, input-to-output order, and training left untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_SWEEP
from torch import nn

from resbench import data
from resbench.models import build_model
from resbench.models.config import ModelConfig
from resbench.models.registry import get_family
from resbench.results import Results
from resbench.store.tables import LAYER_COLUMNS
from resbench.sweep.load import expand, load_sweep, parse_sweep
from resbench.sweep.schema import EXECUTION_FIELDS, LATER_FIELDS, RunSpec, SweepError
from resbench.train.diagnostics import measure, signal_layers, weight_layers
from resbench.train.run import train_run

BOTH = ["grad_norms", "activations"]
DEPTHS = {"mlp": (4, 10), "conv1d": (8, 20), "cifar": (8, 20)}
CASES = [(f, d, a) for f in DEPTHS for d in DEPTHS[f] for a in ("plain", "residual")]


def tiny(**overrides) -> RunSpec:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[0]


def build(family: str, depth: int, arch: str, **kw) -> nn.Sequential:
    torch.manual_seed(0)
    cfg = ModelConfig(family=family, depth=depth, arch=arch, width=4, **kw)
    return build_model(cfg, get_family(family).input_shape, 10)


def batch(family: str, n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, *get_family(family).input_shape, generator=gen)
    return x, torch.randint(0, 10, (n,), generator=gen)


# --------------------------------------------------------------------------- the numbers


def test_recorded_gradient_norms_equal_autograd_on_the_same_batch() -> None:
    spec = tiny(**{"train.diagnostics": ["grad_norms"]})
    recorded = train_run(spec)
    at_init = sorted((p.layer, p.value) for p in recorded.layers if p.step == 0)
    # Rebuild the run's model from its seed, and backpropagate the first batch_size examples.
    ds = data.load(spec.dataset, "cpu")
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, ds.input_shape, ds.num_classes)
    model.train()
    n = spec.train.batch_size
    F.cross_entropy(model(ds.inputs(ds.x_train[:n])), ds.y_train[:n]).backward()
    expected = [
        m.weight.grad.norm().item() for m in model.modules() if isinstance(m, nn.Conv1d | nn.Linear)
    ]
    assert [layer for layer, _ in at_init] == list(range(spec.model.depth))
    assert [value for _, value in at_init] == pytest.approx(expected, rel=1e-5)


def test_diagnostics_are_measured_at_step_0_and_at_every_curve_point() -> None:
    r = train_run(tiny(**{"train.diagnostics": BOTH}))
    steps = [0, *(p.step for p in r.curve)]
    depth, blocks = r.spec.model.depth, r.spec.model.depth // 2  # stem + (depth - 2) / 2 blocks
    for kind, count in (("grad_norm", depth), ("activation_std", blocks)):
        points = [p for p in r.layers if p.kind == kind]
        assert [(p.step, p.layer) for p in points] == [(s, i) for s in steps for i in range(count)]
        assert all(p.value is not None and p.value > 0 for p in points)


def test_activation_std_is_that_of_each_block_output() -> None:
    model = build("conv1d", 8, "plain")
    x, y = batch("conv1d")
    expected, a = [], x
    for part in signal_layers(model):
        a = part(a)
        expected.append(a.std().item())
    points = measure(model, x, y, ["activations"], step=3)
    assert [p.step for p in points] == [3] * 4 and [p.layer for p in points] == [0, 1, 2, 3]
    assert [p.value for p in points] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("family", "depth", "arch"), CASES)
def test_layer_index_runs_input_to_output_and_covers_every_weight_layer(
    family: str, depth: int, arch: str
) -> None:
    model = build(family, depth, arch)
    layers = weight_layers(model)
    assert len(layers) == depth  # option A: every weight layer is counted by depth
    called: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda m, i, o: called.append(m)) for m in layers]
    model(batch(family)[0])
    for hook in hooks:
        hook.remove()
    assert called == layers  # the order a forward pass meets them
    assert layers[-1].out_features == 10  # the head is the last


def test_projection_shortcuts_are_not_counted_as_layers() -> None:
    model = build("conv1d", 20, "residual", shortcut="B")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert len(convs) == 19 + 2  # two 1x1 projections where the width doubles
    assert len(weight_layers(model)) == 20


# --------------------------------------------------------------------------- training untouched


def test_enabling_diagnostics_leaves_the_run_unchanged_on_cpu() -> None:
    off = train_run(tiny(**{"train.epochs": 3}))
    on = train_run(tiny(**{"train.epochs": 3, "train.diagnostics": BOTH}))
    assert on.layers and not off.layers
    assert (on.train_error, on.train_loss, on.test_error) == (
        off.train_error,
        off.train_loss,
        off.test_error,
    )
    assert on.curve == off.curve


def test_measure_leaves_batch_norm_statistics_gradients_rng_and_mode_alone() -> None:
    model = build("conv1d", 8, "residual")
    x, y = batch("conv1d")
    model(x)  # running statistics away from their initial values
    model.eval()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    rng = torch.get_rng_state()
    measure(model, x, y, BOTH, step=0)
    assert all(torch.equal(buffers[k], v) for k, v in model.named_buffers())
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng) and not model.training


def test_measure_asks_nothing_of_the_model_when_off() -> None:
    assert measure(nn.Sequential(), torch.empty(0), torch.empty(0), (), step=0) == []


# --------------------------------------------------------------------------- records and ids


def test_run_id_changes_with_diagnostics_and_stays_as_it_was_without() -> None:
    spec = tiny()
    data_ = spec.model_dump(mode="json", exclude={"sweep"})
    for section, key in EXECUTION_FIELDS:
        data_[section].pop(key, None)
    for section, key in LATER_FIELDS:  # diagnostics, deterministic, the model fields added
        del data_[section][key]  # as the spec hashed before these fields existed
    canonical = json.dumps(data_, sort_keys=True, separators=(",", ":"))
    assert spec.run_id == hashlib.sha256(canonical.encode()).hexdigest()[:12]
    on = tiny(**{"train.diagnostics": BOTH})
    assert on.run_id != spec.run_id
    # One order, no repeats: the same request is the same run.
    same = tiny(**{"train.diagnostics": ["activations", "grad_norms", "activations"]})
    assert same.train.diagnostics == tuple(BOTH) and same.run_id == on.run_id


def test_an_unknown_diagnostic_is_refused_at_load_time() -> None:
    with pytest.raises(SweepError, match=r"train\.diagnostics"):
        tiny(**{"train.diagnostics": ["hessian"]})


def test_records_without_diagnostics_stay_valid_and_old_records_load(tmp_path: Path) -> None:
    store = Results(tmp_path)
    r = train_run(tiny())
    assert r.layers == []
    path = store.save(r)
    record = json.loads(path.read_text())
    del record["layers"]  # a record written before the field existed
    path.write_text(json.dumps(record))
    (back,) = store.records()
    assert back.layers == [] and back.train_error == r.train_error
    store.export()
    assert not (tmp_path / "layers.csv").exists()


def test_a_diverging_run_keeps_its_diagnostics_as_a_valid_record(tmp_path: Path) -> None:
    spec = tiny(
        **{
            "model.batch_norm": False,
            "train.lr": 1e6,
            "train.momentum": 0.0,
            "train.diagnostics": BOTH,
        }
    )
    r = train_run(spec)
    assert r.status == "diverged"
    assert all(p.value is not None for p in r.layers if p.step == 0)
    Results(tmp_path).save(r)
    (back,) = Results(tmp_path).records()  # non-finite values were written as null
    assert back.layers == r.layers


def test_export_writes_a_tidy_layers_csv(tmp_path: Path) -> None:
    store = Results(tmp_path)
    specs = expand(parse_sweep(TINY_SWEEP, "tiny", {"train.diagnostics": BOTH}))[:2]
    results = [train_run(s) for s in specs]
    for r in results:
        store.save(r)
    written = store.export()
    assert written == [tmp_path / name for name in ("runs.csv", "curves.csv", "layers.csv")]
    layers = pd.read_csv(tmp_path / "layers.csv")
    assert list(layers.columns) == LAYER_COLUMNS
    assert len(layers) == sum(len(r.layers) for r in results)
    assert set(layers["kind"]) == {"grad_norm", "activation_std"}
    point = results[1].layers[-1]
    row = layers[
        (layers.run_id == results[1].run_id)
        & (layers.step == point.step)
        & (layers.layer == point.layer)
        & (layers.kind == point.kind)
    ]
    assert row["value"].item() == pytest.approx(point.value)
    assert row["depth"].item() == results[1].spec.model.depth
    # Exported again without those runs, the derived file goes with them.
    assert store.export([]) == [tmp_path / "runs.csv", tmp_path / "curves.csv"]
    assert not (tmp_path / "layers.csv").exists()


# --------------------------------------------------------------------------- presets


def test_gradients_preset_covers_both_families_with_and_without_batch_norm() -> None:
    specs = expand(load_sweep("gradients"))
    variants = {(s.model.family, s.model.batch_norm) for s in specs}
    assert variants == {(f, bn) for f in ("mlp", "conv1d") for bn in (True, False)}
    for family, bn in variants:
        chosen = [s for s in specs if (s.model.family, s.model.batch_norm) == (family, bn)]
        assert {s.model.arch for s in chosen} == {"plain", "residual"}
        assert max(s.model.depth for s in chosen) >= 100
    assert all(s.train.diagnostics == tuple(BOTH) for s in specs)


def test_quick_preset_records_diagnostics() -> None:
    assert all(s.train.diagnostics == tuple(BOTH) for s in expand(load_sweep("quick")))
