"""report --layers and plot --layers: the first / last gradient ratio table, the layer figure."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_runs, write_results
from test_plot import png_size
from typer.testing import CliRunner

from resbench.analysis.summary import layer_ratios
from resbench.cli import app
from resbench.store.tables import LAYER_COLUMNS
from resbench.views.png import DPI, LAYERS_ROW_SIZE, LAYERS_TITLE_HEIGHT

runner = CliRunner()

# (arch, depth) -> per seed, the first/last gradient ratio (init, end); None: not measured.
RATIOS = {
    ("plain", 8): [(0.5, 0.5), (0.5, 0.5)],
    ("plain", 56): [(100.0, 10.0), (10_000.0, 10.0)],
    ("residual", 8): [(0.2, 0.4), (0.2, 0.4)],
    ("residual", 56): [(1.0, 0.5), (1.0, None)],  # the second seed diverged: NaN at the end
}


def hand_made(
    family: str = "conv1d", ratios: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and their layers.csv: layer 0 holds the ratio, every later layer 1, at steps 0, 40."""
    ratios = ratios or RATIOS
    statuses = {
        k: [0.1 if end is not None else "diverged" for _, end in v] for k, v in ratios.items()
    }
    runs = make_runs(statuses, family=family)
    runs["run_id"] = family + "-" + runs["run_id"]
    rows = []
    for _, run in runs.iterrows():
        init, end = ratios[run["arch"], run["depth"]][run["seed"]]
        for step, first in ((0, init), (40, end)):
            for layer in range(run["depth"]):
                value = math.nan if first is None else first if layer == 0 else 1.0
                key = (run["run_id"], run["arch"], run["depth"], run["seed"])
                rows.append((*key, step, layer, "grad_norm", value))
                if layer < run["depth"] // 2:  # activation stds must not be mistaken for them
                    rows.append((*key, step, layer, "activation_std", 123.0))
    return runs, pd.DataFrame(rows, columns=LAYER_COLUMNS)


def cell(ratios: pd.DataFrame, arch: str, depth: int) -> pd.Series:
    (i,) = ratios.index[(ratios["arch"] == arch) & (ratios["depth"] == depth)]
    return ratios.loc[i]


def test_ratio_is_first_over_last_layer_averaged_geometrically_over_seeds() -> None:
    runs, layers = hand_made()
    ratios = layer_ratios(layers, runs)
    assert len(ratios) == 4
    plain56 = cell(ratios, "plain", 56)
    assert plain56["init"] == pytest.approx(1000.0)  # sqrt(100 x 10 000), not their mean
    assert plain56["end"] == pytest.approx(10.0)
    assert (plain56["n_init"], plain56["n_end"], plain56["diverged"]) == (2, 2, 0)
    assert cell(ratios, "residual", 8)["init"] == pytest.approx(0.2)


def test_a_run_without_an_end_counts_at_init_only_and_is_named() -> None:
    runs, layers = hand_made()
    res56 = cell(layer_ratios(layers, runs), "residual", 56)
    assert (res56["n"], res56["diverged"], res56["n_init"], res56["n_end"]) == (2, 1, 2, 1)
    assert res56["init"] == pytest.approx(1.0) and res56["end"] == pytest.approx(0.5)


def test_a_sweep_that_varies_more_than_depth_and_arch_gets_a_row_per_variant() -> None:
    runs_a, layers_a = hand_made("conv1d")
    runs_b, layers_b = hand_made("mlp")
    layers_b.loc[(layers_b["layer"] == 0) & (layers_b["kind"] == "grad_norm"), "value"] *= 2
    runs, layers = pd.concat([runs_a, runs_b]), pd.concat([layers_a, layers_b])
    ratios = layer_ratios(layers, runs)
    assert list(ratios.columns[:1]) == ["family"] and len(ratios) == 8
    mlp = ratios[ratios["family"] == "mlp"]
    assert cell(mlp.reset_index(drop=True), "plain", 56)["init"] == pytest.approx(2000.0)


def test_a_zero_gradient_leaves_the_ratio_out_rather_than_infinite() -> None:
    runs, layers = hand_made()
    last = (layers["run_id"] == "conv1d-plain-8-0") & (layers["layer"] == 7)
    layers.loc[last & (layers["kind"] == "grad_norm"), "value"] = 0.0
    plain8 = cell(layer_ratios(layers, runs), "plain", 8)
    assert plain8["n_init"] == 1 and math.isfinite(plain8["init"])


def results_dir(tmp_path: Path, family: str = "conv1d") -> Path:
    runs, layers = hand_made(family)
    root = write_results(tmp_path / "hand", runs, claims=None)
    layers.to_csv(root / "layers.csv", index=False)
    return root


def test_report_layers_prints_the_ratio_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(results_dir(tmp_path)), "--layers"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "first ÷ last layer" in out and "plain init" in out and "residual end" in out
    assert "1e+03 (2)" in out and "diverged 1/2" in out


def test_report_layers_of_many_archs_has_a_row_per_arch_and_moment_within_80_columns(
    tmp_path: Path,
) -> None:
    ratios = {**RATIOS, **{(a, d): [(0.9, 1.1)] * 2 for a in ("preact", "fixup") for d in (8, 56)}}
    runs, layers = hand_made(ratios=ratios)
    root = write_results(tmp_path / "hand", runs, claims=None)
    layers.to_csv(root / "layers.csv", index=False)
    result = runner.invoke(app, ["report", str(root), "--layers"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(map(len, lines)) <= 80
    header = next(line for line in lines if "arch" in line and "at" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["arch", "at", "8", "56"]
    assert any("preact" in line and "init" in line and "0.9 (2)" in line for line in lines)


def test_report_layers_as_csv_and_json_and_markdown(tmp_path: Path) -> None:
    root = str(results_dir(tmp_path))
    csv = runner.invoke(app, ["report", root, "--layers", "-f", "csv"])
    assert csv.exit_code == 0, csv.output
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert {"depth", "arch", "init", "end", "n_init", "results"} <= set(frame.columns)
    assert len(frame) == 4
    rows = json.loads(runner.invoke(app, ["report", root, "--layers", "-f", "json"]).stdout)
    assert {r["arch"] for r in rows} == {"plain", "residual"}
    markdown = runner.invoke(app, ["report", root, "--layers", "-f", "markdown"]).stdout
    assert "| depth | plain init | plain end | residual init | residual end |" in markdown


def test_report_layers_without_layers_csv_is_one_line_and_exit_2(tmp_path: Path) -> None:
    root = write_results(tmp_path / "hand", make_runs({("plain", 8): [0.1]}), claims=None)
    result = runner.invoke(app, ["report", str(root), "--layers"])
    assert result.exit_code == 2 and "train.diagnostics" in result.output


def test_plot_layers_writes_a_png_of_one_row_per_variant(tmp_path: Path) -> None:
    from matplotlib.image import imread

    root = results_dir(tmp_path)
    out = tmp_path / "figs" / "layers.png"
    result = runner.invoke(app, ["plot", str(root), "--layers", "-o", str(out)])
    assert result.exit_code == 0, result.output
    width, row = LAYERS_ROW_SIZE
    assert png_size(out) == (round(width * DPI), round((row + LAYERS_TITLE_HEIGHT) * DPI))
    assert imread(out)[..., :3].std() > 0.05  # lines were drawn
    assert not (root / "depth.png").exists()  # -o means this figure, with --layers


def test_plot_layers_defaults_to_layers_png_beside_the_results(tmp_path: Path) -> None:
    root = results_dir(tmp_path)
    assert runner.invoke(app, ["plot", str(root), "--layers"]).exit_code == 0
    assert png_size(root / "layers.png")[0] == 1800


def test_run_then_report_and_plot_layers_on_a_real_tiny_sweep(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    args = [
        "run",
        str(tiny_sweep_file),
        "-o",
        str(tmp_path),
        "-s",
        "train.diagnostics=[grad_norms]",
    ]
    assert runner.invoke(app, args).exit_code == 0
    results = tmp_path / "tiny"
    assert (results / "layers.csv").is_file()
    report = runner.invoke(app, ["report", str(results), "--layers"])
    assert report.exit_code == 0, report.output
    assert "(2)" in report.output  # two seeds in every cell
    plot = runner.invoke(app, ["plot", str(results), "--layers"])
    assert plot.exit_code == 0, plot.output
    assert png_size(results / "layers.png")[0] == 1800


def test_plot_layers_has_a_panel_per_arch(tmp_path: Path) -> None:
    from resbench.views.png import ARCH_PANEL_WIDTH

    extra = {(a, d): [(0.9, 1.1)] * 2 for a in ("preact", "skipinit") for d in (8, 56)}
    runs, layers = hand_made(ratios={**RATIOS, **extra})
    root = write_results(tmp_path / "hand", runs, claims=None)
    layers.to_csv(root / "layers.csv", index=False)
    out = tmp_path / "layers.png"
    assert runner.invoke(app, ["plot", str(root), "--layers", "-o", str(out)]).exit_code == 0
    assert png_size(out)[0] == round(ARCH_PANEL_WIDTH * 4 * DPI) == 2100  # wider than two archs
