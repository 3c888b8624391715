"""Depth-μP's promise checked at initialisation, across depth (a coordinate check, as `mup`'s
across width): with the branch multiplier a net's output stays of order one as it deepens,
where the unscaled net's grows; with Adam's rule for the blocks' learning rate the first
update's size stays of order one too. Then the option's plumbing and its bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

from resbench import data
from resbench.cli import app
from resbench.models import build_model, registry
from resbench.models.config import ModelConfig
from resbench.models.depth_scaling import (
    BranchMultiplier,
    adam_lr_factor,
    multiplier,
    residual_blocks,
)
from resbench.sweep.schema import TrainConfig
from resbench.train.recipe import LR_SCALE, make_optimizer, param_groups

# Residual blocks L of each family's nets, 64x deeper from first to last (conv1d: 3n blocks).
BLOCKS = {"mlp": (2, 8, 32, 128), "conv1d": (3, 9, 27, 54)}
SEEDS = (0, 1)
# Of order one: the largest coordinate size over the smallest, across the depths.
ORDER_ONE = 3.0


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """256 MNIST-1D training examples, as the nets see them."""
    ds = data.load(data.validate({"name": "mnist1d"}), "cpu")
    return ds.inputs(ds.x_train[:256]), ds.y_train[:256]


def net(family: str, arch: str, blocks: int, seed: int, **kw: object) -> nn.Sequential:
    cfg = config(family, arch, blocks, **kw)
    torch.manual_seed(seed)
    return build_model(cfg, registry.get_family(family).input_shape, 10)


def config(family: str, arch: str, blocks: int, **kw: object) -> ModelConfig:
    width = 64 if family == "mlp" else 8
    depth = 2 + 2 * blocks  # mlp: stem, 2 per block, head; conv1d: 6n+2 with 3n blocks
    return ModelConfig(family=family, depth=depth, arch=arch, width=width, batch_norm=False, **kw)  # type: ignore[arg-type]


def coordinate_size(model: nn.Sequential, x: torch.Tensor) -> float:
    """The mean |coordinate| of what the classifier receives: the last block's output."""
    with torch.no_grad():
        return model[:-1](x).abs().mean().item()


def spread(sizes: list[float]) -> float:
    """How far coordinate sizes across depth are apart: the largest over the smallest."""
    return max(sizes) / min(sizes)


def sizes_at_init(family: str, arch: str, x: torch.Tensor, **kw: object) -> list[float]:
    return [
        sum(coordinate_size(net(family, arch, L, s, **kw), x) for s in SEEDS) / len(SEEDS)
        for L in BLOCKS[family]
    ]


NETS = [("mlp", "residual"), ("mlp", "preact"), ("conv1d", "residual"), ("conv1d", "preact")]


@pytest.mark.parametrize(("family", "arch"), NETS)
def test_branch_multiplier_keeps_the_output_of_order_one_across_depth(
    batch: tuple[torch.Tensor, torch.Tensor], family: str, arch: str
) -> None:
    x, _ = batch
    scaled = sizes_at_init(family, arch, x, branch_multiplier="inv_sqrt_depth")
    unscaled = sizes_at_init(family, arch, x)
    # 64x deeper, the 1/√L net's coordinates stay within a small factor of each other...
    assert spread(scaled) < ORDER_ONE, scaled
    # ...where without the multiplier each block adds a branch about as large as its input.
    assert spread(unscaled) > 100, unscaled
    assert unscaled[-1] > 100 * scaled[-1]


@pytest.mark.parametrize(("family", "arch"), NETS[:1] + NETS[2:3])
def test_complete_p_multiplier_keeps_the_output_of_order_one_across_depth(
    batch: tuple[torch.Tensor, torch.Tensor], family: str, arch: str
) -> None:
    x, _ = batch
    kw = {"branch_multiplier": "depth_power", "branch_base_depth": 2, "branch_exponent": 1.0}
    assert spread(sizes_at_init(family, arch, x, **kw)) < ORDER_ONE


def first_update_size(
    family: str, arch: str, blocks: int, seed: int, batch: tuple, rule: bool
) -> float:
    """The mean |coordinate| change of the last block's output after one Adam step."""
    x, y = batch
    cfg = config(family, arch, blocks, branch_multiplier="inv_sqrt_depth")
    torch.manual_seed(seed)
    model = build_model(cfg, registry.get_family(family).input_shape, 10)
    # A small rate, where an update's effect is linear in it.
    train = TrainConfig(epochs=1, optimizer="adam", lr=2**-12, weight_decay=0.0)
    params = param_groups(model, cfg, train) if rule else model.parameters()
    optimizer = make_optimizer(params, train)
    before = model[:-1](x).detach()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    return (model[:-1](x).detach() - before).abs().mean().item()


@pytest.mark.parametrize(("family", "arch"), NETS[:3])
def test_adam_rule_keeps_the_first_update_of_order_one_across_depth(
    batch: tuple[torch.Tensor, torch.Tensor], family: str, arch: str
) -> None:
    def sizes(rule: bool) -> list[float]:
        return [
            sum(first_update_size(family, arch, L, s, batch, rule) for s in SEEDS) / len(SEEDS)
            for L in BLOCKS[family]
        ]

    with_rule, without = sizes(rule=True), sizes(rule=False)
    assert spread(with_rule) < ORDER_ONE, with_rule
    # Without it, L blocks each moved as far as one: the change grows about as √L (8x here).
    assert spread(without) > 6, without


# --------------------------------------------------------------------------- the plumbing


def test_multiplier_and_lr_factor_follow_the_papers() -> None:
    sqrt = config("mlp", "residual", 32, branch_multiplier="inv_sqrt_depth")
    assert multiplier(sqrt, 32) == pytest.approx(1 / math.sqrt(32))
    assert adam_lr_factor(sqrt, 32) == pytest.approx(1 / math.sqrt(32))
    power = {"branch_multiplier": "depth_power", "branch_base_depth": 4}
    complete_p = config("mlp", "residual", 16, **power, branch_exponent=1.0)
    assert multiplier(complete_p, 16) == pytest.approx(0.25)
    assert adam_lr_factor(complete_p, 16) == 1.0  # CompleteP: Adam's rate whatever the depth
    half = config("mlp", "residual", 16, **power, branch_exponent=0.5)
    assert adam_lr_factor(half, 16) == pytest.approx(0.5)  # depth-μP again, from L0 = 4
    none = config("mlp", "residual", 16)
    assert multiplier(none, 16) == 1.0 and adam_lr_factor(none, 16) == 1.0


@pytest.mark.parametrize("arch", ["residual", "preact", "fixup", "skipinit", "rezero"])
def test_every_arch_with_a_residual_branch_gets_the_multiplier_in_each_block(arch: str) -> None:
    model = net("conv1d", arch, 9, 0, branch_multiplier="inv_sqrt_depth")
    blocks = residual_blocks(model)
    assert len(blocks) == 9  # conv1d depth 20: 3 stages of 3 blocks
    assert all(isinstance(b.multiplier, BranchMultiplier) for b in blocks)
    assert [b.multiplier.value for b in blocks] == [pytest.approx(1 / 3)] * 9


def test_the_multiplier_scales_the_branch_and_nothing_else() -> None:
    plain_start = net("mlp", "residual", 8, 0)
    scaled = net("mlp", "residual", 8, 0, branch_multiplier="inv_sqrt_depth")
    # The same weights: the multiplier draws no random numbers and is not a parameter.
    for (name, a), (_, b) in zip(
        plain_start.named_parameters(), scaled.named_parameters(), strict=True
    ):
        assert torch.equal(a, b), name
    block, a = scaled[1], torch.randn(4, 64)
    branch = block.layer2(block.act(block.layer1(a)))
    assert torch.allclose(block(a), torch.relu(branch / math.sqrt(8) + a))


def test_adam_groups_scale_the_blocks_but_not_stem_classifier_or_sgd() -> None:
    cfg = config("mlp", "residual", 16, branch_multiplier="inv_sqrt_depth")
    torch.manual_seed(0)
    model = build_model(cfg, (40,), 10)
    adam = TrainConfig(epochs=1, optimizer="adam", lr=0.01)
    rest, hidden = param_groups(model, cfg, adam)
    assert hidden["lr"] == pytest.approx(0.01 / 4) and hidden[LR_SCALE] == pytest.approx(0.25)
    stem_and_head = {id(p) for p in [*model[0].parameters(), *model[-1].parameters()]}
    assert {id(p) for p in rest["params"]} == stem_and_head
    assert len(hidden["params"]) == 16 * 4  # two Linear layers, weight and bias, per block
    optimizer = make_optimizer(param_groups(model, cfg, adam), adam)
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, pytest.approx(0.0025)]
    sgd = TrainConfig(epochs=1, optimizer="sgd", lr=0.01)
    assert not isinstance(param_groups(model, cfg, sgd), list)  # SGD: η whatever the depth


# --------------------------------------------------------------------------- bad input

SWEEP = """\
name: bad
dataset: {{name: synthetic, n_train: 64, n_test: 32}}
model: {{family: mlp, width: 8, batch_norm: false, {model}}}
train: {{epochs: 1, optimizer: adam, lr: 0.01}}
grid: {{depth: [4, 8], arch: [{arch}], seed: [0]}}
"""


@pytest.mark.parametrize(
    ("arch", "model", "says"),
    [
        ("plain", "branch_multiplier: inv_sqrt_depth", "applies to archs with a residual branch"),
        ("highway", "branch_multiplier: inv_sqrt_depth", "not to highway"),
        ("residual", "branch_multiplier: depth_power", "needs branch_base_depth (L0)"),
        (
            "residual",
            "branch_multiplier: depth_power, branch_base_depth: 2, branch_exponent: 1.5",
            "less than or equal to 1",
        ),
        (
            "residual",
            "branch_multiplier: depth_power, branch_base_depth: 2, branch_exponent: 0.25",
            "greater than or equal to 0.5",
        ),
        (
            "residual",
            "branch_multiplier: depth_power, branch_base_depth: 0, branch_exponent: 1",
            "branch_base_depth",
        ),
        ("residual", "branch_exponent: 0.5", "goes with branch_multiplier: depth_power"),
        ("residual", "branch_multiplier: sqrt", "branch_multiplier"),
    ],
)
def test_bad_multiplier_is_one_line_exit_2_at_load(
    tmp_path: Path, arch: str, model: str, says: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SWEEP.format(model=model, arch=arch))
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.output
