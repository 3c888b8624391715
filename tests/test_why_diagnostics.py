"""The diagnostics that explain depth: each against a case whose answer is known by hand, then
their records, tables and run ids, and training left exactly as it was."""

from __future__ import annotations

import itertools
import math
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
from resbench.models.transformer import Transformer
from resbench.results import Results
from resbench.store.tables import COORDINATE_COLUMNS, LAYER_COLUMNS
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import DIAGNOSTICS
from resbench.train.diagnostics import after_training, measure
from resbench.train.diagnostics.gradient_correlation import path, path_correlations
from resbench.train.diagnostics.jacobian import layer_jacobians, spectrum_summary
from resbench.train.diagnostics.lesions import lesion_errors
from resbench.train.diagnostics.passes import frozen_copy
from resbench.train.diagnostics.signal import mean_cosine, signal_points
from resbench.train.diagnostics.slices import filter_normalised, slice_points
from resbench.train.run import train_run

ALL = list(DIAGNOSTICS)


def tiny(**overrides) -> object:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[0]


def values(points, kind: str) -> dict[int, float]:
    return {p.layer: p.value for p in points if p.kind == kind}


class Negate(nn.Module):
    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return -a


class Square(nn.Module):
    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a * a


# --------------------------------------------------------------------------- signal


def test_signal_of_a_net_computed_by_hand() -> None:
    """Stem = identity, one block = ReLU. Inputs (1,0), (-1,1), (1,1): the stem's pairwise
    cosines are -1/√2, 1/√2, 0 (mean 0); after ReLU (1,0), (0,1), (1,1): 0, 1/√2, 1/√2."""
    net = nn.Sequential(nn.Identity(), nn.ReLU(), nn.Identity())
    x = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    points = signal_points(net, x, step=0)
    cosine, rms = values(points, "sample_cosine"), values(points, "signal_rms")
    assert cosine[0] == pytest.approx(0.0, abs=1e-7)
    assert cosine[1] == pytest.approx(math.sqrt(2) / 3)
    assert rms[0] == pytest.approx(math.sqrt(5 / 6)) and rms[1] == pytest.approx(math.sqrt(4 / 6))
    assert not values(points, "token_cosine")  # no tokens outside a transformer


def test_token_similarity_and_spread_computed_by_hand() -> None:
    """Tokens (1,0), (0,1): cosine 0, spread ‖X − mean‖/‖X‖ = 1/√2; tokens (1,1), (2,2): cosine
    1, spread 1/√10. The means over the two samples: 1/2 and (1/√2 + 1/√10)/2."""
    net = Transformer(nn.Identity(), nn.Identity())
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [2.0, 2.0]]])
    points = signal_points(net, x, step=0)
    assert values(points, "token_cosine")[0] == pytest.approx(0.5)
    spread = (1 / math.sqrt(2) + 1 / math.sqrt(10)) / 2
    assert values(points, "token_spread")[0] == pytest.approx(spread)


def test_mean_cosine_is_the_mean_over_pairs_of_distinct_rows() -> None:
    rows = torch.randn(7, 5, generator=torch.Generator().manual_seed(0))
    u = F.normalize(rows, dim=1)
    brute = [(u[i] @ u[j]).item() for i in range(7) for j in range(7) if i != j]
    assert mean_cosine(rows).item() == pytest.approx(sum(brute) / len(brute), abs=1e-6)


def test_attention_alone_collapses_tokens_with_depth_at_initialisation() -> None:
    """Dong et al. 2021: without the residual addition attention drives the tokens towards one
    another; the plain transformer's token spread at its last block is below its first's."""
    torch.manual_seed(0)
    cfg = ModelConfig(family="transformer", depth=12, arch="plain", width=16)
    model = build_model(cfg, (1, 40), 10)
    x = torch.randn(32, 1, 40, generator=torch.Generator().manual_seed(1))
    spread = values(signal_points(model, x, 0), "token_spread")
    assert spread[12] < 0.1 * spread[1]


# --------------------------------------------------------------------------- jacobian


def test_a_linear_nets_jacobian_is_the_product_of_its_matrices() -> None:
    torch.manual_seed(0)
    a, b = nn.Linear(5, 4), nn.Linear(4, 3)
    x = torch.randn(2, 5)
    first, second = layer_jacobians([a, b], x)
    assert first.shape == (2, 4, 5) and second.shape == (2, 3, 5)
    assert torch.allclose(first, a.weight.expand(2, 4, 5), atol=1e-6)
    assert torch.allclose(second, (b.weight @ a.weight).expand(2, 3, 5), atol=1e-6)
    sv = torch.linalg.svdvals((b.weight @ a.weight).double())
    top, median, bottom, rms = spectrum_summary(second)
    pooled = torch.cat([sv, sv])  # the same Jacobian at both inputs, pooled
    assert top.item() == pytest.approx(sv.max().item(), rel=1e-5)
    assert median.item() == pytest.approx(pooled.median().item(), rel=1e-5)
    assert bottom.item() == pytest.approx(sv.min().item(), rel=1e-5)
    assert rms.item() == pytest.approx(sv.pow(2).mean().sqrt().item(), rel=1e-5)


def test_batch_norm_is_held_at_the_batch_statistics_for_the_jacobian() -> None:
    """A batch norm alone: its Jacobian is diag(1/√(var + eps)), var the batch's (unbiased)."""
    bn = nn.BatchNorm1d(3)
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(2)) * torch.tensor([1, 2, 3])
    net = frozen_copy(nn.Sequential(bn, nn.Identity()), x)
    (jac,) = layer_jacobians([net[0]], x[:2])
    expected = torch.diag(1 / torch.sqrt(x.var(0) + bn.eps))
    assert torch.allclose(jac[0], expected, atol=1e-5) and torch.allclose(jac[1], expected)
    assert bn.running_mean.abs().max() == 0  # the model itself is untouched


def test_the_transformers_jacobian_by_forward_mode_equals_reverse_mode() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(family="transformer", depth=2, arch="postln", width=8, options={"heads": 2})
    model = build_model(cfg, (1, 6), 3).eval()
    x = torch.randn(1, 1, 6)
    parts = list(model.children())[:-1]
    last = layer_jacobians(parts, x)[-1][0]
    reverse = torch.autograd.functional.jacobian(lambda v: model[:-1](v).flatten(), x)
    assert torch.allclose(last, reverse.reshape(last.shape), atol=1e-5)


# --------------------------------------------------------------------------- gradients on a path


def test_a_linear_map_has_the_same_gradient_everywhere_on_the_path() -> None:
    torch.manual_seed(0)
    parts = [nn.Linear(6, 5), nn.Linear(5, 4)]
    xs = path(torch.randn(6), torch.randn(6), 9)
    for correlation in path_correlations(parts, xs, generator=torch.Generator().manual_seed(0)):
        assert correlation.item() == pytest.approx(1.0, abs=1e-9)


def test_gradient_correlation_of_a_square_computed_by_hand() -> None:
    """s(x) = ⟨u, x²⟩ has gradient 2u⊙x: the cosine between neighbours is that of u⊙x_k."""
    a, b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([-1.0, 1.0, 2.0])
    u = torch.tensor([0.6, 0.0, 0.8])
    xs = path(a, b, 5)
    (found,) = path_correlations([Square()], xs, [u])
    grads = [u * x for x in xs]
    by_hand = [F.cosine_similarity(g, h, dim=0).item() for g, h in itertools.pairwise(grads)]
    assert found.item() == pytest.approx(sum(by_hand) / len(by_hand), abs=1e-6)
    assert torch.allclose(xs[0], a) and torch.allclose(xs[-1], b)


# --------------------------------------------------------------------------- lesions


def test_removing_a_sign_flip_turns_every_answer_wrong() -> None:
    """Logits = −x: both examples right; without the block (the identity) both wrong."""
    net = nn.Sequential(nn.Identity(), Negate(), nn.Identity())
    x, y = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 0])
    intact, errors = lesion_errors(net, x, y)
    assert intact == 0.0 and errors == {1: 1.0}
    assert isinstance(net[1], Negate)  # put back


@pytest.mark.parametrize(("family", "depth"), [("conv1d", 14), ("transformer", 3)])
def test_blocks_that_are_their_shortcut_can_be_removed_without_a_trace(family, depth) -> None:
    """ReZero at initialisation: α = 0, every block is its shortcut (the identity, or option A
    where the stage changes): each lesion's error is the intact net's, for every block."""
    torch.manual_seed(0)
    cfg = ModelConfig(family=family, depth=depth, arch="rezero", width=8, batch_norm=False)
    model = build_model(cfg, (1, 40), 10).eval()
    x = torch.randn(64, 1, 40, generator=torch.Generator().manual_seed(3))
    y = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(4))
    intact, errors = lesion_errors(model, x, y)
    assert len(errors) == len(list(model.children())) - 2  # every block has a shortcut
    assert all(e == intact for e in errors.values())


def test_a_plain_block_that_changes_shape_is_left_unmeasured() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(family="conv1d", depth=14, arch="plain", width=4)
    model = build_model(cfg, (1, 40), 10).eval()
    x, y = torch.randn(8, 1, 40), torch.randint(0, 10, (8,))
    _, errors = lesion_errors(model, x, y)
    assert sorted(errors) == [1, 2, 4, 6]  # blocks 3 and 5 enter a new stage


# --------------------------------------------------------------------------- loss slices


def test_directions_are_filter_normalised_and_ignore_biases() -> None:
    layer = nn.Conv1d(3, 5, 3)
    (w, b) = (layer.weight.detach(), layer.bias.detach())
    dw, db = filter_normalised([w, b], torch.Generator().manual_seed(0))
    assert torch.allclose(dw.flatten(1).norm(dim=1), w.flatten(1).norm(dim=1), rtol=1e-5)
    assert not torch.equal(dw, w) and torch.count_nonzero(db) == 0


def ds_of(x: torch.Tensor, y: torch.Tensor):
    from types import SimpleNamespace

    return SimpleNamespace(x_train=x, y_train=y, x_test=x, y_test=y, inputs=lambda b: b)


def test_loss_slice_is_the_loss_at_the_moved_weights_and_flat_where_nothing_moves() -> None:
    from resbench.sweep.probes import ProbeOptions

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    probes = ProbeOptions(slice_points=5, surface_points=5, slice_span=0.5)
    points = slice_points(net, ds_of(x, y), 7, probes, seed=11)
    line = {p.x: p.value for p in points if p.kind == "loss_slice"}
    assert sorted(line) == pytest.approx([-0.5, -0.25, 0.0, 0.25, 0.5])
    assert line[0.0] == pytest.approx(F.cross_entropy(net(x), y).item(), rel=1e-5)
    # The same direction again, by hand: the loss at θ + 0.5·d.
    generator = torch.Generator().manual_seed(11 + 3_000_017)
    direction = filter_normalised([p.detach() for p in net.parameters()], generator)
    moved = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        for p, q, d in zip(moved.parameters(), net.parameters(), direction, strict=True):
            p.copy_(q + 0.5 * d)
    assert line[0.5] == pytest.approx(F.cross_entropy(moved(x), y).item(), rel=1e-5)
    # The surface's β = 0 row is the slice; the weights are back as they were.
    surface = {(p.x, p.y): p.value for p in points if p.kind == "loss_surface"}
    assert len(surface) == 25 and all(p.layer == -1 and p.step == 7 for p in points)
    assert all(surface[(a, 0.0)] == pytest.approx(line[a], rel=1e-6) for a in line)
    # A net of biases alone has no filters: nothing moves, the slice is flat.
    biases = nn.Sequential(nn.Identity(), Bias(3), nn.Identity())
    flat = slice_points(biases, ds_of(x[:, :3], y), 0, probes, 0, ("loss_slice",))
    assert len({p.value for p in flat}) == 1


class Bias(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.randn(n))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a + self.bias


# --------------------------------------------------------------------------- in a run


def test_every_diagnostic_leaves_the_run_unchanged_and_is_recorded(tmp_path: Path) -> None:
    off = train_run(tiny(**{"train.epochs": 2}))
    on = train_run(tiny(**{"train.epochs": 2, "train.diagnostics": ALL}))
    assert on.status == off.status == "ok"
    assert (on.train_error, on.train_loss, on.test_error) == (
        off.train_error,
        off.train_loss,
        off.test_error,
    )
    assert on.curve == off.curve
    kinds = {p.kind for p in on.layers}
    assert kinds >= {"signal_rms", "sample_cosine", "jacobian_sv_max", "grad_correlation"}
    assert kinds >= {"intact_error", "loss_slice", "loss_surface"}
    assert {p.step for p in on.layers if p.kind == "jacobian_sv_rms"} == {0}
    assert {p.step for p in on.layers if p.kind == "loss_slice"} == {on.steps}
    # Recorded, read back, tabled with the slices' coordinates.
    store = Results(tmp_path)
    store.save(on)
    (back,) = store.records()
    assert back.layers == on.layers
    store.export()
    layers = pd.read_csv(tmp_path / "layers.csv")
    assert list(layers.columns) == [*LAYER_COLUMNS, *COORDINATE_COLUMNS]
    assert layers[layers.kind == "loss_surface"][["x", "y"]].notna().all().all()
    assert layers[layers.kind == "grad_norm"][["x", "y"]].isna().all().all()


def test_step_0_measures_jacobian_and_correlation_and_later_steps_do_not() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(family="mlp", depth=6, arch="residual", width=8)
    model = build_model(cfg, get_family("mlp").input_shape, 10)
    x, y = torch.randn(16, 40), torch.randint(0, 10, (16,))
    at_0 = {p.kind for p in measure(model, x, y, ALL, step=0)}
    later = {p.kind for p in measure(model, x, y, ALL, step=5)}
    assert {"jacobian_sv_min", "grad_correlation"} <= at_0
    assert not {"jacobian_sv_min", "grad_correlation"} & later and "signal_rms" in later


def test_diagnostics_leave_model_buffers_rng_and_mode_alone() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(family="conv1d", depth=8, arch="residual", width=4)
    model = build_model(cfg, (1, 40), 10)
    ds = data.load(tiny().dataset, "cpu")
    x, y = ds.inputs(ds.x_train[:32]), ds.y_train[:32]
    model(x)
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    measure(model, x, y, ALL, step=0)
    after_training(model, ds, ALL, step=3)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters()) and not model.training
    assert torch.equal(torch.get_rng_state(), rng)


def test_probe_sizes_join_the_run_id_only_away_from_their_defaults() -> None:
    base = tiny(**{"train.diagnostics": ["loss_slice"]})
    same = tiny(**{"train.diagnostics": ["loss_slice"], "train.probes.slice_points": 21})
    finer = tiny(**{"train.diagnostics": ["loss_slice"], "train.probes.slice_points": 51})
    assert same.run_id == base.run_id != finer.run_id
    assert tiny().run_id == tiny(**{"train.probes.lesion_examples": 512}).run_id


# --------------------------------------------------------------------------- the tables


def test_results_table_the_diagnostics_per_arch_and_depth(tmp_path: Path) -> None:
    overrides = {
        "train.epochs": 1,
        "train.diagnostics": ["signal", "jacobian", "grad_correlation", "lesions"],
        "grid.seed": [0, 1],
    }
    specs = expand(parse_sweep(TINY_SWEEP, "tiny", overrides))
    store = Results(tmp_path)
    runs = [train_run(s) for s in specs]
    for r in runs:
        store.save(r)
    store.export()
    results = Results(tmp_path)
    summary = results.why()
    groups = {(s.model.arch, s.model.depth) for s in specs}
    assert len(summary) == len(groups) and set(summary["n"]) == {2}
    # The summary's mean over seeds is the mean of each run's last block at step 0.
    arch, depth = sorted(groups)[0]
    mine = [r for r in runs if (r.spec.model.arch, r.spec.model.depth) == (arch, depth)]
    last = [
        max((p for p in r.layers if p.kind == "sample_cosine" and p.step == 0),
            key=lambda p: p.layer).value
        for r in mine
    ]  # fmt: skip
    row = summary[(summary.arch == arch) & (summary.depth == depth)].iloc[0]
    assert row["sample_cosine"] == pytest.approx(sum(last) / 2)
    rms = [
        max((p for p in r.layers if p.kind == "jacobian_sv_rms"), key=lambda p: p.layer).value
        for r in mine
    ]
    assert row["jacobian_sv_rms"] == pytest.approx(math.sqrt(rms[0] * rms[1]))  # geometric
    intact = [next(p.value for p in r.layers if p.kind == "intact_error") for r in mine]
    assert row["intact_error"] == pytest.approx(sum(intact) / 2)
    lesions = results.lesions()
    assert set(lesions.columns) >= {"arch", "depth", "block", "n", "lesion_error", "intact_error"}
    assert (lesions["n"] == 2).all()
    assert set(results.signal()["kind"]) == {"signal_rms", "sample_cosine"}
    assert set(results.jacobian()["kind"]) == {
        "jacobian_sv_max", "jacobian_sv_median", "jacobian_sv_min", "jacobian_sv_rms",
    }  # fmt: skip
    assert (results.gradient_correlation()["step"] == 0).all()


def test_a_table_of_what_was_not_recorded_is_one_line(tmp_path: Path) -> None:
    from resbench.core.errors import ResbenchError

    store = Results(tmp_path)
    store.save(train_run(tiny(**{"train.epochs": 1, "train.diagnostics": ["grad_norms"]})))
    store.export()
    with pytest.raises(ResbenchError, match="no loss_slice, loss_surface recorded"):
        Results(tmp_path).loss_slices()
