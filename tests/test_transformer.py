"""The transformer family: what each arch's paper states at initialisation, the one-line
difference of the residual addition, the two tasks it reads, its sizes, and bad input refused."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from resbench import data
from resbench.cli import app
from resbench.data.generated import CopyOptions, Mnist1dOptions
from resbench.models import build_model, count_parameters
from resbench.models.config import ModelConfig
from resbench.models.registry import get_family
from resbench.models.transformer import Transformer
from resbench.models.transformer_archs import (
    Admin,
    DeepNorm,
    PostLN,
    PreLN,
    ReZero,
    Sublayer,
    TFixup,
)
from resbench.sweep.load import parse_sweep
from resbench.sweep.schema import SweepError
from resbench.train.diagnostics import measure

ARCHS = get_family("transformer").archs
runner = CliRunner()


def net(arch: str, depth: int, width: int = 32, seed: int = 0, shape=(1, 40), **options):
    torch.manual_seed(seed)
    cfg = ModelConfig(family="transformer", depth=depth, arch=arch, width=width, options=options)
    model = build_model(cfg, shape, 10 if len(shape) == 2 else 16)
    assert isinstance(model, Transformer)
    return model


def sublayers(model: Transformer) -> list[Sublayer]:
    return [m for m in model.modules() if isinstance(m, Sublayer)]


def stream(n: int = 4, width: int = 32) -> torch.Tensor:
    """A residual stream: n sequences of 40 tokens."""
    return torch.randn(n, 40, width, generator=torch.Generator().manual_seed(1))


# --------------------------------------------------------------------------- every arch


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("depth", [1, 3])
def test_every_arch_classifies_sequences_and_predicts_next_tokens(arch: str, depth: int) -> None:
    model = net(arch, depth)
    logits = model(torch.randn(5, 1, 40))
    assert logits.shape == (5, 10) and torch.isfinite(logits).all()
    assert len(model.blocks) == depth  # depth counts blocks
    tokens = net(arch, depth, shape=(31,))
    logits = tokens(torch.randint(16, (5, 31)))
    assert logits.shape == (5, 16, 31) and torch.isfinite(logits).all()


def test_next_token_attention_is_causal() -> None:
    model = net("preln", 2, shape=(31,)).eval()
    x = torch.randint(16, (3, 31))
    changed = x.clone()
    changed[:, 20:] = (changed[:, 20:] + 1) % 16
    a, b = model(x), model(changed)
    assert torch.equal(a[:, :, :20], b[:, :, :20])  # positions before 20 never see 20 on
    assert not torch.allclose(a[:, :, 20:], b[:, :, 20:])


def test_sequence_attention_sees_every_token() -> None:
    model = net("preln", 2).eval()
    x = torch.randn(3, 1, 40)
    changed = x.clone()
    changed[:, :, -1] += 1
    assert not torch.allclose(model(x), model(changed))


def test_postln_and_plain_differ_by_the_addition_alone() -> None:
    post, plain = net("postln", 4), net("plain", 4)
    assert count_parameters(post) == count_parameters(plain)
    for a, b in zip(post.parameters(), plain.parameters(), strict=True):
        assert torch.equal(a, b)  # the same seed, the same initial weights
    s = post.blocks[0].attention
    x = stream()
    assert torch.allclose(s(x), s.norm(x + s.branch(x)))
    p = plain.blocks[0].attention
    assert torch.allclose(p(x), p.norm(p.branch(x)))


# --------------------------------------------------------------------------- what each paper states


@pytest.mark.parametrize("blocks", [1, 6, 18, 48, 100])
def test_deepnorm_scales_the_shortcut_by_alpha_and_the_branch_weights_by_beta(blocks: int) -> None:
    """Wang et al. 2022, encoder: x <- LN(alpha x + F(x)), alpha = (2N)^(1/4); the value, output
    and MLP weights Xavier with gain beta = (8N)^(-1/4), queries and keys with gain 1."""
    alpha, beta = (2 * blocks) ** 0.25, (8 * blocks) ** -0.25
    model = net("deepnorm", blocks, width=64)
    x = stream(width=64)
    for s in sublayers(model)[:4]:
        assert isinstance(s, DeepNorm)
        # the block itself, against the paper's form with the paper's alpha: fails if alpha is 1
        # or multiplies the branch instead of the shortcut
        assert torch.allclose(s(x), s.norm(alpha * x + s.branch(x)), atol=1e-5)
        assert not torch.allclose(s(x), s.norm(x + alpha * s.branch(x)), atol=1e-3)
    attention, mlp = model.blocks[0].attention.branch, model.blocks[0].mlp.branch
    q, _, v = attention.qkv.weight.chunk(3)
    xavier = math.sqrt(2 / (64 + 64))  # a 64 x 64 projection
    assert q.std().item() == pytest.approx(xavier, rel=0.05)
    assert v.std().item() == pytest.approx(beta * xavier, rel=0.05)
    assert attention.out.weight.std().item() == pytest.approx(beta * xavier, rel=0.05)
    up = math.sqrt(2 / (64 + 4 * 64))  # 64 -> 256
    assert mlp.up.weight.std().item() == pytest.approx(beta * up, rel=0.05)
    assert mlp.down.weight.std().item() == pytest.approx(beta * up, rel=0.05)


def test_deepnorm_alpha_follows_the_depth_it_is_built_at() -> None:
    alphas = [sublayers(net("deepnorm", n, width=8))[0].alpha for n in (1, 2, 8)]
    assert alphas == pytest.approx([2**0.25, 4**0.25, 16**0.25])


@pytest.mark.parametrize("blocks", [1, 6, 48])
def test_admin_starts_omega_from_the_number_of_sublayers(blocks: int) -> None:
    """Liu et al. 2020: x <- LN(omega * x + F(x)); omega learnable, one per feature, started at
    sqrt((2N + 1) / ln(2N + 1) - 1) for the 2N sublayers."""
    omega = math.sqrt((2 * blocks + 1) / math.log(2 * blocks + 1) - 1)
    model = net("admin", blocks)
    x = stream()
    for s in sublayers(model):
        assert isinstance(s, Admin) and s.omega.requires_grad and s.omega.shape == (32,)
        assert torch.allclose(s.omega, torch.full((32,), omega))
    s = sublayers(model)[0]
    assert torch.allclose(s(x), s.norm(omega * x + s.branch(x)), atol=1e-5)


def test_admin_omega_is_one_for_a_single_sublayer_and_grows_slower_than_depth() -> None:
    omegas = [sublayers(net("admin", n, width=8))[0].omega[0].item() for n in (1, 6, 48)]
    assert omegas[0] < omegas[1] < omegas[2] < math.sqrt(2 * 48)


@pytest.mark.parametrize("blocks", [1, 12, 48])
def test_rezero_blocks_are_the_identity_at_initialisation(blocks: int) -> None:
    """Bachlechner et al. 2020: x <- x + alpha F(x), alpha = 0 at the start, no LayerNorm."""
    model = net("rezero", blocks)
    x = stream()
    for block in model.blocks:
        assert torch.equal(block(x), x)
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in model.modules())
    s = sublayers(model)[0]
    assert isinstance(s, ReZero) and s.alpha.requires_grad
    with torch.no_grad():
        s.alpha.fill_(0.5)
    assert torch.allclose(s(x), x + 0.5 * s.branch(x))  # alpha multiplies the branch


def test_preln_normalises_inside_the_branch_and_ends_with_a_final_layernorm() -> None:
    """Xiong et al. 2020: x <- x + F(LN(x)), and a LayerNorm before the head."""
    model = net("preln", 6)
    s = sublayers(model)[0]
    x = stream()
    assert isinstance(s, PreLN) and torch.allclose(s(x), x + s.branch(s.norm(x)))
    assert isinstance(model[-1].norm, torch.nn.LayerNorm)
    for arch in ("postln", "deepnorm", "admin", "rezero", "tfixup", "plain"):
        assert isinstance(net(arch, 2)[-1].norm, torch.nn.Identity), arch
    # The last block's stream is unnormalised and grows with depth; the head sees it normalised.
    with torch.no_grad():
        features = model[:-1](torch.randn(8, 1, 40))
        normed = model[-1].norm(features)
    assert features.std().item() > 1.5
    assert normed.mean(-1).abs().max() < 1e-4
    assert normed.std(-1, correction=0).mean().item() == pytest.approx(1, rel=1e-3)


def test_postln_normalises_after_each_addition() -> None:
    model = net("postln", 6)
    s = sublayers(model)[0]
    x = stream()
    assert isinstance(s, PostLN) and torch.allclose(s(x), s.norm(x + s.branch(x)))
    out = model[:-1](torch.randn(8, 1, 40))
    assert out.mean(-1).abs().max() < 1e-4  # every block's output is a LayerNorm's


def test_postln_gradients_near_the_output_are_larger_than_preln_and_more_so_with_depth() -> None:
    """Xiong et al. 2020: at initialisation Post-LN's gradients near the output do not shrink
    with depth, Pre-LN's shrink like 1/sqrt(N): the ratio of the last blocks' gradient norms
    grows with depth (about sqrt(N) in theory)."""
    ds = data.load(Mnist1dOptions())
    x, y = ds.x_train[:256], ds.y_train[:256]

    def last_block(arch: str, blocks: int, seed: int) -> float:
        points = measure(net(arch, blocks, seed=seed), x, y, ["grad_norms"], 0)
        assert [p.layer for p in points] == list(range(blocks))  # one norm per block
        return points[-1].value

    ratios = {
        n: [last_block("postln", n, s) / last_block("preln", n, s) for s in range(3)]
        for n in (6, 24)
    }
    assert min(ratios[24]) > 3
    assert sum(ratios[24]) > 1.5 * sum(ratios[6])


@pytest.mark.parametrize("blocks", [1, 12])
def test_tfixup_has_no_layernorm_and_scales_by_depth(blocks: int) -> None:
    """Huang et al. 2020: no LayerNorm; value, output and MLP weights times 0.67 N^(-1/4), the
    input embeddings times (9N)^(-1/4) (on N(0, 1/width))."""
    model = net("tfixup", blocks, width=64, shape=(31,))
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in model.modules())
    s = sublayers(model)[0]
    x = stream(width=64)
    assert isinstance(s, TFixup) and torch.allclose(s(x), x + s.branch(x))
    gain = 0.67 * blocks**-0.25
    q, _, v = s.branch.qkv.weight.chunk(3)
    assert v.std().item() / q.std().item() == pytest.approx(gain, rel=0.08)
    embedding = model[0].embed.weight
    assert embedding.std().item() == pytest.approx((9 * blocks) ** -0.25 / 8, rel=0.1)


def test_plain_may_drop_its_layernorms_and_the_others_are_what_theirs_make_them() -> None:
    bare = net("plain", 2, layer_norm=False)
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in bare.modules())
    assert sum(isinstance(m, torch.nn.LayerNorm) for m in net("plain", 2).modules()) == 4


# --------------------------------------------------------------------------- sizes


def test_models_counts_deepnorm_parameters_as_by_hand() -> None:
    result = runner.invoke(
        app, ["models", "transformer", "--arch", "deepnorm", "--depths", "6,48", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in result.output.strip().splitlines()[1:]]
    d, length, classes, hidden = 16, 40, 10, 4 * 16  # the defaults: width 16, mlp_ratio 4
    stem = (1 * d + d) + length * d  # a Linear from one value per token, position embeddings
    block = (d * 3 * d + 3 * d) + (d * d + d)  # queries, keys, values; the output projection
    block += (d * hidden + hidden) + (hidden * d + d)  # the MLP
    block += 2 * 2 * d  # two LayerNorms, scale and shift; alpha and beta are constants
    head = d * classes + classes
    for (depth, arch, _, params, _, flops), blocks in zip(rows, (6, 48), strict=True):
        assert (int(depth), arch) == (blocks, "deepnorm")
        assert int(params) == stem + blocks * block + head
        # FLOPs (a multiply-add is 2), the attention's two products counted
        per_block = 2 * length * (d * 3 * d + d * d + 2 * d * hidden) + 2 * 2 * length**2 * d
        assert int(flops) == 2 * length * d + blocks * per_block + 2 * d * classes


# --------------------------------------------------------------------------- the copy task


def test_copy_sequences_repeat_their_first_half_and_the_floor_is_what_an_oracle_reaches() -> None:
    options = CopyOptions(length=8, vocab=5, n_train=3000, n_test=10)
    ds = data.load(options)
    assert ds.x_train.shape == ds.y_train.shape == (3000, 15) and ds.num_classes == 5
    assert torch.equal(ds.x_train[:, 1:], ds.y_train[:, :-1])  # y is x shifted by one
    sequences = torch.cat([ds.x_train, ds.y_train[:, -1:]], dim=1)
    assert torch.equal(sequences[:, :8], sequences[:, 8:])
    # The best predictor: a copy where the second half has begun, anything before.
    k = 8
    oracle = torch.zeros_like(ds.y_train)
    oracle[:, k - 1 :] = sequences[:, :k]
    error = (oracle != ds.y_train).float().mean().item()
    floor_error, floor_loss = options.floor()
    assert floor_error == pytest.approx(7 / 15 * 4 / 5)
    assert floor_loss == pytest.approx(7 / 15 * math.log(5))
    assert error == pytest.approx(floor_error, abs=0.01)


# --------------------------------------------------------------------------- bad input


SWEEP = """
name: t
dataset: {name: mnist1d}
model: {family: transformer, width: 16}
train: {epochs: 1, optimizer: adam, lr: 0.001}
grid: {depth: [2], arch: [preln], seed: [0]}
"""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model.width": 18}, "model.options: heads (4) must divide model.width (18)"),
        ({"model.options": {"heads": 3}}, "model.options: heads (3) must divide model.width"),
        ({"model.options": {"head": 2}}, "transformer takes no option 'head' (its options:"),
        (
            {"grid.arch": ["rezero"], "model.options": {"layer_norm": True}},
            "grid.arch: rezero takes no LayerNorm (model.options.layer_norm)",
        ),
        (
            {"grid.arch": ["tfixup"], "model.options": {"layer_norm": True}},
            "grid.arch: tfixup takes no LayerNorm",
        ),
        (
            {"grid.arch": ["postln"], "model.options": {"layer_norm": False}},
            "grid.arch: postln is defined by where its LayerNorms go",
        ),
        ({"grid.depth": [0]}, "grid.depth: Input should be greater than 0"),
        ({"model.batch_norm": True}, "model.batch_norm: the transformer has no batch norm"),
        ({"model.init": "he"}, "model.init: the transformer starts from xavier"),
        (
            {"grid.arch": ["rezero"], "model.branch_multiplier": "inv_sqrt_depth"},
            "model.branch_multiplier: the transformer's archs scale their residual branches",
        ),
        ({"grid.arch": ["residual"]}, "grid.arch: transformer has no arch 'residual'"),
        (
            {"dataset": {"name": "cifar10"}},
            "model: transformer reads sequences (channels, length) or token sequences for "
            "next-token prediction, not images (channels, height, width) (dataset cifar10)",
        ),
        (
            {
                "dataset": {"name": "copy"},
                "model": {"family": "conv1d"},
                "grid.depth": [8],
                "grid.arch": ["plain"],
            },
            "model: conv1d reads sequences (channels, length), not token sequences",
        ),
        (
            {
                "dataset": {"name": "copy"},
                "model": {"family": "mlp"},
                "grid.depth": [4],
                "grid.arch": ["plain"],
            },
            "model: mlp reads sequences (channels, length) or images",
        ),
    ],
)
def test_bad_transformer_input_is_one_line_at_load(overrides: dict, message: str) -> None:
    with pytest.raises(SweepError) as e:
        parse_sweep(SWEEP, "t.yaml", overrides)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_bad_input_on_the_command_line_is_exit_2(tmp_path) -> None:
    sweep = tmp_path / "t.yaml"
    sweep.write_text(SWEEP.replace("width: 16", "width: 18"))
    result = runner.invoke(app, ["run", str(sweep), "--out", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "heads (4) must divide" in result.output


def test_the_copy_task_and_mnist1d_load_for_the_transformer_with_their_defaults() -> None:
    sweep = parse_sweep(SWEEP, "t.yaml", {"dataset": {"name": "copy"}})
    assert sweep.model.options == {"heads": 4, "mlp_ratio": 4, "layer_norm": None}
    assert sweep.model.batch_norm is False and sweep.model.init == "xavier"


# --------------------------------------------------------------------------- training


def test_next_token_error_is_per_token_and_reaches_the_copy_floor() -> None:
    from resbench.sweep.load import expand
    from resbench.train.run import train_run

    text = SWEEP.replace("{name: mnist1d}", "{name: copy, length: 6, vocab: 4, n_train: 512}")
    text = text.replace("epochs: 1, ", "epochs: 12, batch_size: 64, schedule: constant, ")
    (spec,) = expand(parse_sweep(text, "t.yaml", {"train.lr": 0.01, "train.weight_decay": 0}))
    result = train_run(spec)
    assert result.status == "ok"
    floor_error, floor_loss = spec.dataset.floor()  # 5/11 * 3/4 = 0.341
    # Error and loss per token, measured on the whole training set: at the floor, not below
    # it by more than a finite set lets a net learn its random halves by heart.
    assert floor_error - 0.05 < result.train_error < floor_error + 0.05
    assert result.train_loss > floor_loss - 0.1
    # Every prediction counts alike: the running figures are per token too.
    assert 0 <= result.curve[-1].train_error <= 1


def test_weight_decay_on_weights_leaves_biases_norms_and_scalars_alone() -> None:
    from resbench.sweep.schema import TrainConfig
    from resbench.train.recipe import make_optimizer

    model = net("admin", 2)
    cfg = TrainConfig(
        epochs=1,
        optimizer="adamw",
        weight_decay=0.1,
        weight_decay_on="weights",
        betas=(0.8, 0.95),
        eps=1e-6,
    )
    optimizer = make_optimizer(model, cfg)
    decayed, kept = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and kept["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decayed["params"])
    assert any(p is model.blocks[0].attention.omega for p in kept["params"])
    assert len(decayed["params"]) + len(kept["params"]) == len(list(model.parameters()))
    assert decayed["betas"] == (0.8, 0.95) and decayed["eps"] == 1e-6
    every = make_optimizer(model, cfg.model_copy(update={"weight_decay_on": "all"}))
    assert len(every.param_groups) == 1


def test_gradient_clipping_bounds_each_step() -> None:
    from resbench.sweep.load import expand
    from resbench.train.run import train_run

    text = SWEEP.replace("optimizer: adam, lr: 0.001", "optimizer: sgd, lr: 0.1, momentum: 0")
    text = text.replace("{name: mnist1d}", "{name: mnist1d, num_samples: 300}")
    base = {"train.weight_decay": 0, "train.schedule": "constant"}
    (free,) = expand(parse_sweep(text, "t.yaml", base))
    (clipped,) = expand(parse_sweep(text, "t.yaml", {**base, "train.clip_norm": 1e-6}))
    assert free.run_id != clipped.run_id
    start = net("preln", 2, width=16)
    torch.manual_seed(0)
    # With every step's gradient clipped to a millionth, SGD barely moves the net: its final
    # loss is the initial one; without clipping it learns.
    ds = data.load(clipped.dataset)
    initial = F.cross_entropy(start.eval()(ds.x_train), ds.y_train).item()
    assert train_run(clipped).train_loss == pytest.approx(initial, abs=1e-3)
    assert train_run(free).train_loss < initial - 0.05


# --------------------------------------------------------------------------- downstream


def test_report_plot_layers_and_check_read_a_transformer_sweep(tmp_path) -> None:
    """A sweep of transformers through the whole command line: run, report (and --layers,
    gradient norms per block), plot (depth, curves, layers) and check."""
    sweep = tmp_path / "t.yaml"
    sweep.write_text(
        """
name: t
dataset: {name: mnist1d, num_samples: 400}
model: {family: transformer, width: 8, options: {heads: 2, mlp_ratio: 2}}
train: {epochs: 2, batch_size: 64, optimizer: adam, lr: 0.003, schedule: constant,
        weight_decay: 0, diagnostics: [grad_norms, activations]}
grid: {depth: [1, 3], arch: [postln, preln], seed: [0, 1]}
expect:
  - {claim: holds, arch: preln, tolerance: 1}
"""
    )
    out = tmp_path / "res"
    ran = runner.invoke(app, ["run", str(sweep), "--out", str(out), "--executor", "inline"])
    assert ran.exit_code == 0, ran.output
    results = out / "t"
    layers = pd.read_csv(results / "layers.csv")
    grads = layers[(layers["kind"] == "grad_norm") & (layers["step"] == 0)]
    assert set(grads.groupby("run_id")["layer"].max()) == {0, 2}  # one norm per block
    report = runner.invoke(app, ["report", str(results), "--format", "markdown"])
    assert report.exit_code == 0 and "postln" in report.output and "preln" in report.output
    ratios = runner.invoke(app, ["report", str(results), "--layers", "--format", "csv"])
    assert ratios.exit_code == 0 and ratios.output.count("\n") == 5, ratios.output  # 4 rows
    for extra in ([], ["--layers", "-o", str(tmp_path / "layers.png")]):
        plotted = runner.invoke(app, ["plot", str(results), *extra])
        assert plotted.exit_code == 0, plotted.output
    assert (results / "depth.png").is_file() and (tmp_path / "layers.png").is_file()
    checked = runner.invoke(app, ["check", str(results)])
    assert checked.exit_code == 0, checked.output


def test_the_transformers_preset_sweeps_every_arch_from_2_to_48_blocks_with_and_without_warmup():
    from resbench.sweep.load import expand, load_sweep

    specs = expand(load_sweep("transformers"))
    assert {s.model.family for s in specs} == {"transformer"}
    # Every arch there was when its reference was made; LayerNorm Scaling came after it.
    assert {s.model.arch for s in specs} == set(ARCHS) - {"lnscaling"}
    assert min(s.model.depth for s in specs) == 2 and max(s.model.depth for s in specs) >= 48
    assert {s.train.warmup > 0 for s in specs} == {True, False}
    assert len({s.seed for s in specs}) >= 3
    assert all("grad_norms" in s.train.diagnostics for s in specs)  # report --layers reads them
