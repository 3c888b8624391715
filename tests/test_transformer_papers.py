"""The transformers as their papers' code builds them: T-Fixup's embedding scale, ReZero's α per
block, Admin's profiled ω, LayerNorm Scaling, Adam's ε under depth-μP; and run ids that tell
the new computations from the records made before them."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from resbench.cli import app
from resbench.models import build_model, count_parameters
from resbench.models.config import ModelConfig
from resbench.models.transformer import Transformer, data_dependent_start
from resbench.models.transformer_archs import Admin, LNScaling, ReZero, Sublayer
from resbench.results import Results
from resbench.sweep.load import expand, load_sweep, parse_sweep
from resbench.sweep.schema import SweepError
from resbench.train.recipe import make_optimizer, param_groups

REFERENCE = Path(__file__).resolve().parent.parent / "results" / "reference"
runner = CliRunner()


def net(arch: str, depth: int, width: int = 32, shape=(1, 40), **options) -> Transformer:
    torch.manual_seed(0)
    cfg = ModelConfig(family="transformer", depth=depth, arch=arch, width=width, options=options)
    model = build_model(cfg, shape, 10 if len(shape) == 2 else 16)
    assert isinstance(model, Transformer)
    return model


# --------------------------------------------------------------------------- T-Fixup


@pytest.mark.parametrize("blocks", [2, 12])
def test_tfixup_scales_its_token_embedding_by_sqrt_width_as_its_code_does(blocks: int) -> None:
    """T-Fixup's fairseq code: the embedding table N(0, 1/d)·(9N)^−¼, times √d in the forward
    pass; the positions N(0, 1/d), unscaled. So the embedded tokens have std (9N)^−¼."""
    model = net("tfixup", blocks, width=64, shape=(31,))
    stem = model[0]
    assert stem.scale == pytest.approx(8.0)
    assert stem.embed.weight.std().item() == pytest.approx((9 * blocks) ** -0.25 / 8, rel=0.1)
    assert stem.position.std().item() == pytest.approx(1 / 8, rel=0.1)
    tokens = (torch.arange(31) % 16).unsqueeze(0)
    embedded = stem(tokens) - stem.position
    assert embedded.std().item() == pytest.approx((9 * blocks) ** -0.25, rel=0.1)


def test_tfixup_initial_is_the_form_of_the_records_made_before() -> None:
    old = net("tfixup", 12, width=64, shape=(31,), tfixup_embedding="initial")
    assert old[0].scale == 1.0
    assert old[0].position.std().item() == pytest.approx((9 * 12) ** -0.25 / 8, rel=0.1)


# --------------------------------------------------------------------------- ReZero


def test_rezero_shares_one_alpha_per_block_as_its_code_does() -> None:
    """The ReZero code's encoder layer has one `resweight` for attention and feed-forward."""
    model = net("rezero", 4)
    for block in model.blocks:
        assert block.attention.alpha is block.mlp.alpha
    alphas = [p for n, p in model.named_parameters() if n.endswith("alpha")]
    assert len(alphas) == 4
    each = net("rezero", 4, rezero_alpha="sublayer")
    assert count_parameters(each) == count_parameters(model) + 4
    assert all(b.attention.alpha is not b.mlp.alpha for b in each.blocks)


def test_a_shared_alpha_moves_both_sublayers_of_its_block() -> None:
    block = net("rezero", 1).blocks[0]
    with torch.no_grad():
        block.attention.alpha.fill_(0.5)
    x = torch.randn(2, 40, 32)
    mid = x + 0.5 * block.attention.branch(x)
    assert torch.allclose(block(x), mid + 0.5 * block.mlp.branch(mid), atol=1e-6)
    assert isinstance(block.mlp, ReZero)


# --------------------------------------------------------------------------- Admin


def test_admin_profiled_omega_follows_the_running_variance_of_the_sublayers() -> None:
    """Transformer-Clinic's profiling: ω_1 = 1, then ω_{i+1} = √(Var[ω_i·x_i] + Var[F_i(x_i)]),
    x_i each sublayer's input, in one forward pass."""
    cfg = ModelConfig(
        family="transformer", depth=3, arch="admin", width=16, options={"admin_omega": "profiled"}
    )
    torch.manual_seed(0)
    model = build_model(cfg, (1, 40), 10)
    x = torch.randn(64, 1, 40, generator=torch.Generator().manual_seed(1))
    data_dependent_start(model, cfg, x)
    joins = [s for s in model.modules() if isinstance(s, Admin)]
    with torch.no_grad():
        h, expected = model[0](x), 1.0
        for join in joins:
            assert torch.allclose(join.omega, torch.full_like(join.omega, expected))
            f = join.branch(h)
            expected = math.sqrt((expected * h).var(unbiased=False) + f.var(unbiased=False))
            h = join.norm(join.omega * h + f)
    assert joins[0].omega[0] == 1.0 and joins[-1].omega[0] > joins[1].omega[0]
    closed = net("admin", 3, width=16)  # the default: admin-torch's closed form, unprofiled
    data_dependent_start(closed, closed_cfg := ModelConfig(family="transformer", depth=3,
                         arch="admin", width=16), x)  # fmt: skip
    omega = math.sqrt(7 / math.log(7) - 1)
    assert closed_cfg.options.get("admin_omega") is None
    assert all(torch.allclose(s.omega, torch.full((16,), omega)) for s in closed.modules()
               if isinstance(s, Admin))  # fmt: skip


# --------------------------------------------------------------------------- LayerNorm Scaling


def test_lnscaling_scales_each_pre_ln_norm_by_one_over_sqrt_of_its_block() -> None:
    """Sun et al. 2025: x <- x + F(LN(x)/√l) in block l (from 1), a final LayerNorm."""
    model = net("lnscaling", 4)
    x = torch.randn(2, 40, 32)
    for layer, block in enumerate(model.blocks, 1):
        for join in (block.attention, block.mlp):
            assert isinstance(join, LNScaling) and join.scale == pytest.approx(layer**-0.5)
            expected = x + join.branch(join.norm(x) / math.sqrt(layer))
            assert torch.allclose(join(x), expected, atol=1e-5)
    assert isinstance(model[-1].norm, torch.nn.LayerNorm)
    assert sum(isinstance(m, Sublayer) for m in model.modules()) == 8


# --------------------------------------------------------------------------- Adam's ε, depth-μP


def test_adam_eps_of_the_blocks_is_scaled_as_completep_scales_it() -> None:
    """CompleteP's code: the hidden layers' ε times (L/L0)^−α, the stem's and head's as given."""
    train = parse_sweep(
        "name: e\ntrain: {epochs: 1, optimizer: adam, eps: 1.0e-6}\n"
        "grid: {depth: [26], arch: [residual], seed: [0]}\n"
        "model: {branch_multiplier: depth_power, branch_base_depth: 2, branch_exponent: 1.0}\n",
        "e",
    ).train
    for eps_form, factor in (("scaled", 2 / 12), ("unscaled", 1.0)):
        cfg = ModelConfig(
            family="conv1d", depth=26, arch="residual", branch_multiplier="depth_power",
            branch_base_depth=2, branch_exponent=1.0, branch_eps=eps_form,
        )  # fmt: skip
        model = build_model(cfg, (1, 40), 10)
        optimizer = make_optimizer(param_groups(model, cfg, train), train)
        rest, blocks = optimizer.param_groups
        assert rest["eps"] == 1e-6 and blocks["eps"] == pytest.approx(1e-6 * factor)


def test_branch_eps_is_filled_in_with_a_multiplier_and_refused_without() -> None:
    with_multiplier = ModelConfig(
        family="mlp", depth=10, arch="residual", branch_multiplier="inv_sqrt_depth"
    )
    assert with_multiplier.branch_eps == "scaled"
    with pytest.raises(ValueError, match="branch_eps goes with a branch_multiplier"):
        ModelConfig(family="mlp", depth=10, arch="residual", branch_eps="scaled")


# --------------------------------------------------------------------------- validation


def test_a_transformer_with_a_branch_multiplier_is_refused_at_load(tmp_path: Path) -> None:
    """It used to pass validation and fail every run with ZeroDivisionError."""
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        "name: s\nmodel: {family: transformer, branch_multiplier: inv_sqrt_depth}\n"
        "train: {epochs: 1, optimizer: adam}\ngrid: {depth: [2], arch: [rezero], seed: [0]}\n"
    )
    result = runner.invoke(app, ["run", str(sweep), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "model.branch_multiplier is for the mlp, conv1d and cifar families" in result.output
    assert "Traceback" not in result.output


def test_an_arch_option_on_another_arch_is_refused() -> None:
    with pytest.raises(SweepError, match="rezero_alpha applies to rezero only, not to postln"):
        parse_sweep(
            "name: o\nmodel: {family: transformer, options: {rezero_alpha: sublayer}}\n"
            "train: {epochs: 1}\ngrid: {depth: [2], arch: [postln], seed: [0]}\n",
            "o",
        )


# --------------------------------------------------------------------------- run ids


def reference_ids(name: str) -> set[str]:
    return set(pd.read_csv(REFERENCE / name / "runs.csv")["run_id"])


def test_transformer_runs_keep_their_ids_where_nothing_changed_and_get_new_ones_where_it_did():
    specs = expand(load_sweep("transformers"))
    recorded = reference_ids("transformers")
    for spec in specs:
        changed = spec.model.arch in ("rezero", "tfixup")
        assert (spec.run_id in recorded) != changed, spec.label()


def test_depth_mup_runs_with_adam_get_new_ids_and_the_others_keep_theirs() -> None:
    specs = expand(load_sweep("transfer"))
    recorded = reference_ids("transfer")
    for spec in specs:
        changed = spec.model.branch_multiplier != "none"
        assert (spec.run_id in recorded) != changed, spec.label()


@pytest.mark.parametrize("name", ["transformers", "transfer"])
def test_records_made_before_the_options_still_read_as_they_were(name: str) -> None:
    results = Results(REFERENCE / name)
    records = results.records()
    assert len(records) == len(results.runs) and not results.notes[1:]
    for r in records:
        assert r.run_id == r.spec.run_id  # the id is still the hash of what was recorded
        assert r.spec.model.branch_eps is None
        assert "rezero_alpha" not in r.spec.model.options


def test_a_run_profiles_admins_omega_on_its_first_batch() -> None:
    from resbench.train.run import train_run

    def run(**options):
        text = (
            "name: a\ndataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 64,"
            " n_test: 32}\nmodel: {family: transformer, width: 8, options: {heads: 2}}\n"
            "train: {epochs: 1, batch_size: 16, optimizer: adam, lr: 0.001, device: cpu}\n"
            "grid: {depth: [3], arch: [admin], seed: [0]}\n"
        )
        overrides = {f"model.options.{k}": v for k, v in options.items()}
        (spec,) = expand(parse_sweep(text, "a", overrides))
        return spec, train_run(spec)

    closed_spec, closed = run()
    profiled_spec, profiled = run(admin_omega="profiled")
    assert closed.status == profiled.status == "ok"
    assert closed_spec.run_id != profiled_spec.run_id
    assert closed.train_loss != profiled.train_loss  # another start, another run
