"""The families: shapes, finite outputs, equal parameters, and the one-line difference; the
registry they are validated against."""

from __future__ import annotations

import pytest
import torch

from resbench.models import Block, build_model, count_parameters, registry
from resbench.models.blocks import Bottleneck
from resbench.models.config import ModelConfig
from resbench.models.nets import ARCHS
from resbench.models.registry import depth_problem, get_family
from resbench.models.transformer_archs import SUBLAYERS
from resbench.train.diagnostics import weight_layers

NETS = "resbench.models.nets:"

# The families of resbench.models.nets (the transformer has tests of its own).
FAMILIES = [f for f in registry.family_names() if get_family(f).build.startswith(NETS)]
DEPTHS = {"mlp": (4, 10, 24), "conv1d": (8, 20, 56), "cifar": (8, 20, 56)}
CASES = [(family, depth) for family in FAMILIES for depth in DEPTHS[family]]
# Every buildable (family, arch, block, batch norm), each at its smallest usual depth.
BUILDS = [
    (f, a, b, bn)
    for f in FAMILIES
    for a in get_family(f).archs
    for b in get_family(f).blocks
    for bn in (True, False)
    if registry.arch_problem(f, a, bn) is None
]


def config(family: str, depth: int, arch: str, **kw) -> ModelConfig:
    return ModelConfig(family=family, depth=depth, arch=arch, width=kw.pop("width", 8), **kw)


def build(family: str, depth: int, arch: str, seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(config(family, depth, arch, **kw), get_family(family).input_shape, 10)


def test_every_family_has_depths_under_test() -> None:
    assert set(DEPTHS) == set(FAMILIES)


def test_every_registered_family_has_a_builder_that_places_each_of_its_archs() -> None:
    built_in = [get_family(name) for name in registry.family_names()]
    built_in = [family for family in built_in if not family.user]
    for family in built_in:
        assert callable(family.builder())
        assert set(family.archs) <= set(ARCHS if family.build.startswith(NETS) else SUBLAYERS)
    # Every arch is placed by some built-in family, but those user families brought.
    users = [get_family(f) for f in registry.family_names() if get_family(f).user]
    brought = {arch for family in users for arch in family.archs}
    placed = set(ARCHS) | set(SUBLAYERS)
    assert placed == set(registry.arch_names()) - (brought - placed)


@pytest.mark.parametrize(("family", "arch", "block", "batch_norm"), BUILDS)
def test_every_arch_builds_in_every_family_with_depth_weight_layers(
    family: str, arch: str, block: str, batch_norm: bool
) -> None:
    depth = get_family(family).depths[block].examples[0]
    model = build(family, depth, arch, block=block, batch_norm=batch_norm)
    logits = model(torch.randn(3, *get_family(family).input_shape))
    assert logits.shape == (3, 10) and torch.isfinite(logits).all()
    assert len(weight_layers(model)) == depth  # shortcuts and gates are not counted


@pytest.mark.parametrize(("family", "depth"), CASES)
@pytest.mark.parametrize("arch", ["plain", "residual"])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_forward_gives_finite_logits(family: str, depth: int, arch: str, batch_norm: bool) -> None:
    model = build(family, depth, arch, batch_norm=batch_norm)
    logits = model(torch.randn(5, *get_family(family).input_shape))
    assert logits.shape == (5, 10)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(("family", "depth"), CASES)
def test_with_shortcut_a_plain_and_residual_twins_have_the_same_initial_weights(
    family: str, depth: int
) -> None:
    plain, residual = build(family, depth, "plain"), build(family, depth, "residual")
    assert count_parameters(plain) == count_parameters(residual)
    # Same seed, same layers: the very same weights; only the shortcut differs.
    for (name, p), (_, r) in zip(
        plain.state_dict().items(), residual.state_dict().items(), strict=True
    ):
        assert torch.equal(p, r), name


@pytest.mark.parametrize(("family", "depth"), CASES)
def test_depth_counts_weight_layers(family: str, depth: int) -> None:
    model = build(family, depth, "residual")
    layer_types = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    weight_layers = [m for m in model.modules() if isinstance(m, layer_types)]
    assert len(weight_layers) == depth  # option A shortcuts add no layer


def test_residual_block_adds_its_input_before_the_second_relu() -> None:
    torch.manual_seed(0)
    residual = build("mlp", 4, "residual", batch_norm=False)
    block = residual[1]
    assert isinstance(block, Block)
    a = torch.randn(3, 8)
    z2 = block.layer2(torch.relu(block.layer1(a)))
    assert torch.allclose(block(a), torch.relu(z2 + a))
    block.shortcut = None  # the same block without its shortcut is the plain block
    assert torch.allclose(block(a), torch.relu(z2))


def test_option_a_zero_pads_and_subsamples() -> None:
    model = build("conv1d", 8, "residual")
    block = model[2]  # first block of stage 2: width 8 -> 16, stride 2
    a = torch.randn(2, 8, 40)
    out = block.shortcut(a)
    assert out.shape == (2, 16, 20)
    assert torch.equal(out[:, :8], a[:, :, ::2]) and not out[:, 8:].any()


@pytest.mark.parametrize("family", ["conv1d", "cifar"])
def test_with_shortcut_b_the_residual_twin_has_projections_and_other_later_weights(
    family: str,
) -> None:
    # Option B's two 1x1 projections (entering stages 2 and 3) add parameters, and drawing
    # them moves the random stream, so the twins start from other weights: what README says.
    plain = build(family, 20, "plain", shortcut="B")
    residual = build(family, 20, "residual", shortcut="B")
    blocks = [m for m in residual.modules() if isinstance(m, Block) and m.shortcut is not None]
    projections = [b.shortcut for b in blocks if count_parameters(b.shortcut) > 0]
    assert len(projections) == 2
    extra = sum(count_parameters(p) for p in projections)
    assert count_parameters(residual) == count_parameters(plain) + extra
    weights = [k for k in plain.state_dict() if k.endswith("weight")]
    assert set(plain.state_dict()) <= set(residual.state_dict())  # every layer has its twin
    assert not any(torch.equal(plain.state_dict()[k], residual.state_dict()[k]) for k in weights
                   if plain.state_dict()[k].dim() > 1)  # fmt: skip


def test_option_b_projects_with_parameters() -> None:
    a, b = (
        build("conv1d", 8, "residual", shortcut="A"),
        build("conv1d", 8, "residual", shortcut="B"),
    )
    assert count_parameters(b) > count_parameters(a)
    assert build("conv1d", 8, "residual", shortcut="B")(torch.randn(2, 1, 40)).shape == (2, 10)


def test_zero_init_residual_makes_residual_blocks_start_as_identity() -> None:
    model = build("mlp", 6, "residual", zero_init_residual=True)
    model.eval()
    a = torch.relu(torch.randn(4, 8))  # a block's input is a ReLU output
    for block in list(model)[1:-1]:
        assert torch.allclose(block(a), a)


def test_zero_init_residual_leaves_plain_nets_alone() -> None:
    plain = build("mlp", 6, "plain", zero_init_residual=True)
    assert all(block.norm2.weight.eq(1).all() for block in list(plain)[1:-1])


def test_he_init_scales_weights_by_fan_in() -> None:
    model = build("mlp", 4, "plain", width=512)
    w = model[1].layer1.weight
    assert abs(w.std().item() - (2 / 512) ** 0.5) < 0.005


@pytest.mark.parametrize(
    ("family", "depth"), [("mlp", 5), ("mlp", 2), ("conv1d", 10), ("conv1d", 2)]
)
def test_unbuildable_depths_are_explained(family: str, depth: int) -> None:
    problem = depth_problem(family, depth)
    assert problem is not None and family in problem


def test_valid_depths_have_no_problem() -> None:
    assert depth_problem("conv1d", 110) is None and depth_problem("mlp", 100) is None


def test_bottleneck_depths_are_9n_plus_2() -> None:
    assert depth_problem("cifar", 164, "bottleneck") is None
    assert depth_problem("cifar", 1001, "bottleneck") is None
    assert "9n+2" in (depth_problem("cifar", 56 + 6, "bottleneck") or "")


def test_bottleneck_blocks_are_1_3_1_four_times_wider_out_and_one_line_apart() -> None:
    plain = build("conv1d", 11, "plain", block="bottleneck", batch_norm=False)
    residual = build("conv1d", 11, "residual", block="bottleneck", batch_norm=False)
    block = residual[1]
    assert isinstance(block, Bottleneck)
    assert [layer.kernel_size for layer in (block.layer1, block.layer2, block.layer3)] == [
        (1,),
        (3,),
        (1,),
    ]
    assert block.layer3.out_channels == 4 * block.layer2.out_channels == 4 * 8
    for p, r in zip(plain.state_dict().values(), residual.state_dict().values(), strict=True):
        assert torch.equal(p, r)  # option A: the same weights, the shortcut aside
    a = torch.relu(torch.randn(2, 8, 40))
    z3 = block.layer3(torch.relu(block.layer2(torch.relu(block.layer1(a)))))
    assert torch.allclose(block(a), torch.relu(z3 + block.shortcut(a)))
    assert torch.allclose(plain[1](a), torch.relu(z3))


def test_tanh_is_the_activation_of_every_block_when_chosen() -> None:
    block = build("mlp", 4, "residual", batch_norm=False, activation="tanh")[1]
    a = torch.randn(3, 8)
    z2 = block.layer2(torch.tanh(block.layer1(a)))
    assert torch.allclose(block(a), torch.tanh(z2 + a))
