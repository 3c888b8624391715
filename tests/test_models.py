"""The families: shapes, finite outputs, equal parameters, and the one-line difference."""

from __future__ import annotations

import pytest
import torch

from resbench.families import FAMILIES, depth_problem
from resbench.models import Block, build_model, count_parameters
from resbench.spec import ModelConfig

DEPTHS = {"mlp": (4, 10, 24), "conv1d": (8, 20, 56), "cifar": (8, 20, 56)}
CASES = [(family, depth) for family in FAMILIES for depth in DEPTHS[family]]


def config(family: str, depth: int, arch: str, **kw) -> ModelConfig:
    return ModelConfig(family=family, depth=depth, arch=arch, width=kw.pop("width", 8), **kw)


def build(family: str, depth: int, arch: str, seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(config(family, depth, arch, **kw), FAMILIES[family].input_shape, 10)


def test_every_family_has_depths_under_test() -> None:
    assert set(DEPTHS) == set(FAMILIES)


@pytest.mark.parametrize(("family", "depth"), CASES)
@pytest.mark.parametrize("arch", ["plain", "residual"])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_forward_gives_finite_logits(family: str, depth: int, arch: str, batch_norm: bool) -> None:
    model = build(family, depth, arch, batch_norm=batch_norm)
    logits = model(torch.randn(5, *FAMILIES[family].input_shape))
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
