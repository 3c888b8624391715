"""What each remedy's paper says of its nets at initialisation, checked on the nets built here."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from resbench.models import build_model, count_parameters, registry
from resbench.models.blocks import (
    HIGHWAY_GATE_BIAS,
    Block,
    FixupBlock,
    HighwayBlock,
    PreActBlock,
    ReZeroBlock,
    SkipInitBlock,
)
from resbench.models.config import ModelConfig
from resbench.models.init import delta_orthogonal, orthogonal
from resbench.models.layers import BATCH_NORM, WEIGHT_LAYERS
from resbench.models.sizes import count_weights
from resbench.sweep.load import parse_sweep
from resbench.sweep.schema import SweepError

IDENTITY_AT_INIT = {"fixup": FixupBlock, "skipinit": SkipInitBlock, "rezero": ReZeroBlock}


def build(family: str, depth: int, arch: str, **kw) -> nn.Sequential:
    torch.manual_seed(0)
    kw.setdefault("width", 8)
    cfg = ModelConfig(family=family, depth=depth, arch=arch, **kw)
    return build_model(cfg, registry.get_family(family).input_shape, 10)


def blocks(model: nn.Module, kind: type[nn.Module]) -> list[nn.Module]:
    found = [m for m in model.modules() if isinstance(m, kind)]
    assert found
    return found


def block_inputs(model: nn.Sequential, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor]]:
    """Each block with the input it receives when `model` runs on `x`."""
    pairs = []
    for part in list(model)[:-1]:
        pairs.append((part, x))
        x = part(x)
    return pairs[1:]  # the stem is not a block


# --------------------------------------------------------------------------- identity at init


NETS = [
    ("mlp", 8, "basic"),
    ("conv1d", 20, "basic"),
    ("conv1d", 20, "bottleneck"),
    ("cifar", 8, "basic"),
]


@pytest.mark.parametrize(
    ("arch", "family", "depth", "block", "batch_norm"),
    [
        (arch, *net, batch_norm)
        for arch in IDENTITY_AT_INIT
        for net in NETS
        for batch_norm in (False, True)
        if not registry.arch_problem(net[0], arch, batch_norm)  # fixup takes no batch norm
    ],
)
def test_fixup_skipinit_and_rezero_blocks_compute_their_shortcut_at_init(
    arch: str, family: str, depth: int, block: str, batch_norm: bool
) -> None:
    model = build(family, depth, arch, block=block, batch_norm=batch_norm)
    model.train()
    x = torch.randn(4, *registry.get_family(family).input_shape)
    pairs = block_inputs(model, x)
    assert all(isinstance(b, IDENTITY_AT_INIT[arch]) for b, _ in pairs)
    for b, a in pairs:
        # The identity where the shape stays, the shortcut (option A) where it changes.
        assert torch.equal(b(a), b.shortcut(a))
    identities = [b for b, a in pairs if isinstance(b.shortcut, nn.Identity)]
    assert len(identities) >= len(pairs) - 3  # the shape changes at most 3 times


def test_a_fixup_net_starts_at_zero_logits_and_every_block_as_the_identity() -> None:
    model = build("conv1d", 56, "fixup", batch_norm=False)
    x = torch.randn(4, 1, 40)
    assert torch.equal(model(x), torch.zeros(4, 10))  # the classifier starts at 0
    for b, a in block_inputs(model, x):
        assert (a >= 0).all()  # a block's input is a ReLU's output, so g(s(a)) = s(a)
        assert torch.equal(b(a), b.shortcut(a))


def test_fixup_scales_inner_branch_layers_by_l_to_the_minus_half_and_zeroes_the_last() -> None:
    he = build("mlp", 202, "plain", batch_norm=False, width=256)
    fixup = build("mlp", 202, "fixup", batch_norm=False, width=256)
    fixup_blocks = blocks(fixup, FixupBlock)
    assert len(fixup_blocks) == 100
    he_std = he[1].layer1.weight.std().item()
    # Basic blocks have m = 2 layers: L^(-1/(2m-2)) = 100^(-1/2) = 0.1.
    assert fixup_blocks[0].layers[0].weight.std().item() == pytest.approx(0.1 * he_std, rel=0.05)
    assert all(not b.layers[-1].weight.any() for b in fixup_blocks)
    assert all(b.scale.item() == 1 and not b.bias_in.any() for b in fixup_blocks)
    assert not any(isinstance(m, tuple(BATCH_NORM.values())) for m in fixup.modules())


def test_fixup_bottlenecks_are_scaled_by_l_to_the_minus_quarter() -> None:
    model = build("conv1d", 29, "fixup", batch_norm=False, block="bottleneck", width=32)
    first = blocks(model, FixupBlock)[3]  # a stage-2 block: 3x3 layer of 64 channels
    fan_in = first.layers[1].weight[0].numel()
    assert first.layers[1].weight.std().item() == pytest.approx(
        math.sqrt(2 / fan_in) * 9 ** (-1 / 4), rel=0.1
    )


@pytest.mark.parametrize("arch", ["skipinit", "rezero"])
def test_the_zero_scalar_is_learnable_and_is_what_the_first_gradient_moves(arch: str) -> None:
    model = build("conv1d", 20, arch, batch_norm=False)
    loss = nn.functional.cross_entropy(model(torch.randn(8, 1, 40)), torch.arange(8))
    loss.backward()
    alphas = [b.alpha for b in blocks(model, IDENTITY_AT_INIT[arch])]
    assert all(a.item() == 0 and a.requires_grad for a in alphas)
    assert any(a.grad.abs().item() > 0 for a in alphas)
    # With every alpha at 0, no gradient reaches the branches' weights yet.
    branch = blocks(model, IDENTITY_AT_INIT[arch])[0].layers[0].weight
    assert not branch.grad.any()


# --------------------------------------------------------------------------- pre-activation


def call_order(block: nn.Module, a: torch.Tensor) -> list[str]:
    names = {id(m): n for n, m in block.named_modules() if n and "shortcut" not in n}
    order: list[str] = []
    hooks = [
        m.register_forward_hook(lambda m, _i, _o: order.append(names[id(m)]))
        for m in block.modules()
        if id(m) in names
    ]
    block(a)
    for h in hooks:
        h.remove()
    return order


def test_pre_activation_puts_norm_and_activation_before_each_weight_layer() -> None:
    pre = build("conv1d", 8, "preact")
    post = build("conv1d", 8, "residual")
    a = torch.randn(2, 8, 40)
    # The branch multiplier (1 unless depth-μP sets it) is the branch's last step.
    assert call_order(blocks(pre, PreActBlock)[0], a) == [
        "norms.0", "act", "layers.0", "norms.1", "act", "layers.1", "multiplier",
    ]  # fmt: skip
    assert call_order(post[1], a) == [
        "layer1", "norm1", "act", "layer2", "norm2", "multiplier", "act",
    ]  # fmt: skip


def test_pre_activation_adds_with_nothing_after_and_the_net_ends_with_norm_and_relu() -> None:
    model = build("conv1d", 8, "preact")
    b = blocks(model, PreActBlock)[0]
    a = torch.randn(2, 8, 40)
    by_hand = b.layers[1](torch.relu(b.norms[1](b.layers[0](torch.relu(b.norms[0](a))))))
    assert torch.allclose(b(a), a + by_hand)
    assert (b(a) < 0).any()  # no ReLU after the addition
    assert isinstance(model[0][-1], nn.Conv1d)  # the stem is a bare convolution
    head = list(model[-1])
    assert isinstance(head[0], nn.BatchNorm1d) and isinstance(head[1], nn.ReLU)
    assert isinstance(head[-1], nn.Linear)


# --------------------------------------------------------------------------- highway


@pytest.mark.parametrize("family", ["mlp", "conv1d"])
def test_highway_gates_start_with_a_negative_bias_so_blocks_mostly_carry(family: str) -> None:
    model = build(family, 20, "highway")
    gates = [b.gate for b in blocks(model, HighwayBlock)]
    assert all(torch.all(g.bias == HIGHWAY_GATE_BIAS) for g in gates) and HIGHWAY_GATE_BIAS < 0
    x = torch.randn(16, *registry.get_family(family).input_shape)
    for b, a in block_inputs(model, x):
        assert torch.sigmoid(b.gate(a)).mean() < 0.5  # the transform gate mostly closed


def test_a_highway_block_is_its_plain_block_when_open_and_its_shortcut_when_closed() -> None:
    b = blocks(build("mlp", 6, "highway", batch_norm=False), HighwayBlock)[0]
    plain = Block(b.layers[0], b.norms[0], b.layers[1], b.norms[1], None)
    a = torch.randn(3, 8)
    with torch.no_grad():
        b.gate.bias.fill_(1e4)
        assert torch.allclose(b(a), plain(a))
        b.gate.bias.fill_(-1e4)
        assert torch.allclose(b(a), a)


# --------------------------------------------------------------------------- isometric init


@pytest.mark.parametrize("dims", [1, 2])
def test_delta_orthogonal_kernels_are_orthogonal_at_the_centre_and_zero_elsewhere(
    dims: int,
) -> None:
    conv = (nn.Conv1d, nn.Conv2d)[dims - 1](16, 32, 3, padding=1)
    torch.manual_seed(0)
    delta_orthogonal(conv.weight, "tanh")
    centre = conv.weight[(slice(None), slice(None), *[1] * dims)]
    assert torch.allclose(centre.T @ centre, torch.eye(16), atol=1e-5)
    mask = torch.ones_like(conv.weight, dtype=torch.bool)
    mask[(slice(None), slice(None), *[1] * dims)] = False
    assert not conv.weight[mask].any()


@pytest.mark.parametrize("dims", [1, 2])
def test_delta_orthogonal_convolutions_preserve_the_inputs_norm(dims: int) -> None:
    conv = (nn.Conv1d, nn.Conv2d)[dims - 1](8, 16, 3, padding=1, bias=False)
    torch.manual_seed(0)
    delta_orthogonal(conv.weight, "tanh")  # gain 1: the critical point of tanh
    x = torch.randn(4, 8, *[12] * dims)
    with torch.no_grad():
        assert torch.linalg.vector_norm(conv(x)) == pytest.approx(
            torch.linalg.vector_norm(x).item(), rel=1e-5
        )


def test_a_delta_orthogonal_tanh_net_keeps_a_small_signals_norm_block_after_block() -> None:
    # Dynamical isometry (Xiao et al. 2018): where tanh is near linear, every layer of the
    # delta-orthogonal plain net is an orthogonal map, so each block keeps its input's norm,
    # however deep the net; He init's gain 5/3 multiplies it by (5/3)^2 a block instead.
    x = 1e-4 * torch.randn(8, 1, 40)
    gains = {}
    for init in ("delta_orthogonal", "he"):
        model = build("conv1d", 110, "plain", batch_norm=False, init=init, activation="tanh")
        with torch.no_grad():
            same_shape = [(b, a) for b, a in block_inputs(model, x) if b(a).shape == a.shape]
            gains[init] = [(b(a).norm() / a.norm()).item() for b, a in same_shape]
    assert len(gains["he"]) == 52  # 54 blocks, 2 of which change the shape
    assert all(g == pytest.approx(1, abs=1e-3) for g in gains["delta_orthogonal"])
    assert gains["he"][0] > 2


def test_orthogonal_linear_layers_have_orthonormal_rows_times_the_gain() -> None:
    w = torch.empty(16, 32)
    orthogonal(w, "relu")
    assert torch.allclose(w @ w.T, 2 * torch.eye(16), atol=1e-5)


@pytest.mark.parametrize("init", ["orthogonal", "delta_orthogonal"])
def test_every_hidden_weight_layer_gets_the_chosen_init(init: str) -> None:
    model = build("conv1d", 20, "residual", init=init)
    hidden = [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)][:-1]
    for layer in hidden:
        w = layer.weight.flatten(1) if init == "orthogonal" else layer.weight[:, :, 1]
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        assert torch.allclose(gram, 2 * torch.eye(gram.shape[0]), atol=1e-4)


# --------------------------------------------------------------------------- parameter counts


def test_parameter_counts_per_arch_differ_by_what_each_paper_adds() -> None:
    archs = registry.get_family("cifar").archs
    nets = {a: build("cifar", 20, a, batch_norm=a != "fixup") for a in archs}
    n_blocks, counts = 9, {a: count_parameters(m) for a, m in nets.items()}
    weights = count_weights(nets["residual"])
    # Same weight layers everywhere (option A shortcuts have none) but the highway gates.
    assert all(count_weights(m) == weights for a, m in nets.items() if a != "highway")
    assert counts["plain"] == counts["residual"] == counts["preact"]  # BN over inputs or outputs
    assert counts["skipinit"] == counts["rezero"] == counts["residual"] + n_blocks  # one alpha
    # Fixup: no batch norm; per basic block 2 biases in, 1 before the ReLU, a multiplier and a
    # bias; one bias after the stem and one before the classifier.
    assert counts["fixup"] == weights + n_blocks * 5 + 2
    widths = [8] * 3 + [16] * 3 + [32] * 3  # each block's output channels (width 8)
    ins = [8] * 4 + [16] * 3 + [32] * 2  # and its input channels
    gates = sum(i * o + o for i, o in zip(ins, widths, strict=True))  # 1x1 layer with bias
    assert counts["highway"] == counts["residual"] + gates


# --------------------------------------------------------------------------- refused


SWEEP = """
name: t
model: {family: conv1d, width: 4}
train: {epochs: 1}
grid: {depth: [8], arch: [plain], seed: [0]}
"""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"grid.arch": ["fixup"]}, "grid.arch: fixup takes no batch norm: set model.batch_norm"),
        (
            {"grid.arch": ["preact"], "model.zero_init_residual": True},
            "model.zero_init_residual applies only to plain, residual, not to preact",
        ),
        ({"grid.arch": ["resnet"]}, "grid.arch: unknown arch 'resnet' (valid: plain, residual,"),
        ({"model.family": "mlp", "model.block": "bottleneck"}, "model.block: mlp has no"),
        ({"model.block": "bottleneck"}, "grid.depth: conv1d depth with bottleneck blocks must"),
        ({"model.init": "glorot"}, "model.init: "),
        ({"model.activation": "gelu"}, "model.activation: "),
        (
            {"expect": [{"claim": "holds", "arch": "resnet"}]},
            "expect[0].arch: 'resnet' is not an arch of the runs (plain)",
        ),
    ],
)
def test_unsupported_combinations_are_refused_in_one_line(overrides: dict, message: str) -> None:
    with pytest.raises(SweepError) as e:
        parse_sweep(SWEEP, "t.yaml", overrides)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_fixup_without_batch_norm_and_every_other_arch_with_it_load() -> None:
    sweep = parse_sweep(SWEEP, "t.yaml", {"grid.arch": ["fixup"], "model.batch_norm": False})
    assert sweep.grid["arch"] == ["fixup"]
    others = [a for a in registry.get_family("conv1d").archs if a != "fixup"]
    assert parse_sweep(SWEEP, "t.yaml", {"grid.arch": others}).grid["arch"] == others


def test_a_family_registered_after_import_is_validated_at_load_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = registry.Family(
        "mine",
        "resbench.models.nets:mlp",
        {"basic": registry.DepthRule("4 or 6", lambda d: d in (4, 6), (4, 6))},
        (40,),
        archs=("plain", "rezero"),
    )
    monkeypatch.setitem(registry._FAMILIES, "mine", mine)
    ok = parse_sweep(SWEEP, "t.yaml", {"model.family": "mine", "grid.depth": [4, 6]})
    assert ok.model.family == "mine"
    with pytest.raises(
        SweepError, match=r"grid\.arch: mine has no arch 'residual' \(valid: plain, rezero\)"
    ):
        parse_sweep(
            SWEEP, "t.yaml", {"model.family": "mine", "grid.depth": [4], "grid.arch": ["residual"]}
        )
    with pytest.raises(SweepError, match=r"grid\.depth: mine depth must be 4 or 6"):
        parse_sweep(SWEEP, "t.yaml", {"model.family": "mine", "grid.depth": [8]})
    model = build("mine", 6, "rezero")
    assert model(torch.randn(2, 40)).shape == (2, 10)
