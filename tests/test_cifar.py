"""The cifar family: the paper's parameter table, option A/B shortcuts in 2D, `resbench models`."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from resbench.cli import app
from resbench.models import build_model, count_parameters, profile
from resbench.models.config import ModelConfig

# He et al. 2015, Table 6: parameters of the CIFAR-10 ResNets (option A), as the paper rounds them.
PAPER_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}


def cifar(depth: int, arch: str = "residual", **kw) -> ModelConfig:
    return ModelConfig(family="cifar", depth=depth, arch=arch, **kw)


def paper_rounding(count: int, like: float) -> float:
    """`count` in millions, to as many decimals as the paper gives `like`."""
    decimals = len(str(like).split(".")[1])
    return round(count / 1e6, decimals)


@pytest.mark.parametrize(("depth", "millions"), PAPER_PARAMS_M.items())
def test_parameter_counts_match_the_papers_table(depth: int, millions: float) -> None:
    with torch.device("meta"):  # shapes only: the 1202-layer net costs no memory
        model = build_model(cifar(depth), (3, 32, 32), 10)
    assert paper_rounding(count_parameters(model), millions) == millions


def test_default_width_is_the_papers_16_filters() -> None:
    model = build_model(cifar(20), (3, 32, 32), 10)
    assert model[0][0].out_channels == 16 and model[-1][-1].in_features == 64


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_both_shortcut_options_build_and_take_a_training_step(shortcut: str) -> None:
    torch.manual_seed(0)
    model = build_model(cifar(8, shortcut=shortcut, width=4), (3, 32, 32), 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    losses = []
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]


def test_option_a_subsamples_both_axes_and_zero_pads_channels() -> None:
    model = build_model(cifar(8, width=4), (3, 32, 32), 10)
    block = model[2]  # first block of stage 2: 4 -> 8 channels, stride 2
    a = torch.randn(2, 4, 32, 32)
    out = block.shortcut(a)
    assert out.shape == (2, 8, 16, 16) == block(a).shape
    assert torch.equal(out[:, :4], a[:, :, ::2, ::2]) and not out[:, 4:].any()


def test_option_b_adds_projections_only_where_the_shape_changes() -> None:
    a, b = profile(cifar(20))[0], profile(cifar(20, shortcut="B"))[0]
    # Two projections (16->32, 32->64), each a 1x1 conv and a batch norm.
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


def test_plain_nets_have_the_same_parameters_as_option_a_residual_nets() -> None:
    assert profile(cifar(56, "plain")) == profile(cifar(56, "residual"))


def test_flops_of_resnet20_are_about_41m_multiply_adds() -> None:
    # The often-quoted ~41M multiply-adds of ResNet-20; FlopCounterMode counts each as 2 FLOPs.
    _, flops = profile(cifar(20))
    assert 40e6 < flops / 2 < 42e6


def test_cifar_family_refuses_inputs_that_are_not_images() -> None:
    with pytest.raises(ValueError, match="cifar needs images"):
        build_model(cifar(8), (1, 40), 10)


def test_models_command_prints_depth_arch_params_and_flops() -> None:
    result = CliRunner().invoke(app, ["models", "cifar", "--depths", "20,56"])
    assert result.exit_code == 0, result.output
    for text in ("269,722 (0.27M)", "853,018 (0.85M)", "plain", "residual", "81.10M"):
        assert text in result.output


def test_models_command_writes_csv() -> None:
    result = CliRunner().invoke(
        app, ["models", "cifar", "--depths", "20", "--arch", "residual", "--format", "csv"]
    )
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "depth,arch,batch_norm,params,weights,flops",
        "20,residual,true,269722,268346,81102080",
    ]


def test_pre_activation_bottleneck_nets_have_the_2016_papers_sizes() -> None:
    # He et al. 2016, Table 2: ResNet-164 1.7M, ResNet-1001 10.2M parameters (bottleneck units,
    # projection shortcuts). 10.2M is the weight layers alone: with batch norm's scales and
    # shifts the 1001-layer net has 10.33M, which the paper's rounding does not give.
    result = CliRunner().invoke(
        app,
        ["models", "cifar", "--arch", "preact", "--depths", "164,1001", "--block", "bottleneck",
         "--shortcut", "B"],
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if "preact" in line}
    params_164, weights_1001 = rows["164"].split()[3], rows["1001"].split()[5]
    assert paper_rounding(int(params_164.replace(",", "")), 1.7) == 1.7
    assert paper_rounding(int(weights_1001.replace(",", "")), 10.2) == 10.2
    assert "shortcut B" in result.output  # the papers' projections, asked for


def test_models_takes_a_sweeps_shortcut_unless_told() -> None:
    # A sweep's nets zero-pad (A) whatever their block; `resbench models` counts the same nets.
    args = ["models", "cifar", "--arch", "preact", "--depths", "164", "--block", "bottleneck"]
    sized = {}
    for shortcut in ("A", "B", None):
        given = ["--shortcut", shortcut] if shortcut else []
        result = CliRunner().invoke(app, [*args, *given, "--format", "csv"])
        assert result.exit_code == 0, result.output
        sized[shortcut] = result.output.splitlines()[1]
    assert sized[None] == sized["A"] != sized["B"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["resnet"],
            "unknown family 'resnet' (valid: mlp, conv1d, cifar, transformer, or module:callable)",
        ),
        (["cifar", "--depths", "21"], "6n+2"),
        (["cifar", "--depths", "20,x"], "--depths: expected comma-separated integers"),
        (["cifar", "--arch", "skip"], "unknown arch 'skip'"),
        (["cifar", "--arch", "fixup", "--batch-norm"], "fixup takes no batch norm"),
        (["mlp", "--block", "bottleneck"], "--block: mlp has no 'bottleneck' blocks"),
        (["cifar", "--block", "bottleneck", "--depths", "20,32"], "9n+2"),
    ],
)
def test_models_command_explains_bad_input(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["models", *args])
    assert result.exit_code == 2 and message in result.output
