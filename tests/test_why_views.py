"""Why depth fails, shown: the loss slices' shape and the contours against answers known by hand,
then a real sweep with every diagnostic (a plain and a residual convnet, the residual one
diverging at its learning rate, and a plain transformer that shares the plain convnet's arch
name) through `report --layers` in each format, `plot --why` and the TensorBoard export."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from resbench.analysis.why_report import slice_shape, surface_shape, why_report
from resbench.cli import app
from resbench.results import Results
from resbench.views.figures.slices import contour_lines

runner = CliRunner()
WHY_SWEEP = """\
name: whytiny
description: a tiny sweep with every diagnostic of why depth fails, for tests
dataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}
model: {family: conv1d, width: 4, batch_norm: false}
train:
  epochs: 2
  batch_size: 16
  lr: 0.05
  eval_every: 2
  device: cpu
  diagnostics: [signal, jacobian, grad_correlation, lesions, loss_slice, loss_surface]
  probes: {slice_points: 7, surface_points: 5, slice_examples: 32, lesion_examples: 32}
grid:
  depth: [2, 3, 8, 14]
  seed: [0, 1]
zip:
  - arch: [plain, residual, plain]
    model.family: [conv1d, conv1d, transformer]
    model.width: [4, 4, 8]
    model.init: [he, he, xavier]
    model.options: [{}, {}, {heads: 2}]
    train.lr: [0.05, 100.0, 0.005]  # 100: the residual convnets diverge
exclude:
  - {model.family: conv1d, depth: [2, 3]}
  - {model.family: transformer, depth: [8, 14]}
"""


def run_why_sweep(root: Path) -> Path:
    """The sweep above, run here with the command a user types; its results folder."""
    (root / "whytiny.yaml").write_text(WHY_SWEEP)
    run = ["run", str(root / "whytiny.yaml"), "-o", str(root), "--executor", "inline"]
    made = runner.invoke(app, run)
    assert made.exit_code == 0, made.output
    return root / "whytiny"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_why_sweep(tmp_path_factory.mktemp("why"))


# --------------------------------------------------------------------------- known answers


def test_a_bowl_is_smooth_convex_and_rises_by_its_ends() -> None:
    alphas = np.linspace(-1, 1, 11)
    shape = slice_shape(alphas, 1 + 3 * alphas**2)
    assert shape["roughness"] == pytest.approx(1.0)
    assert shape["nonconvex"] == 0.0
    assert shape["rise"] == pytest.approx(4.0)  # (4 + 4) / 2 over 1


def test_a_wiggle_is_rough_and_bends_down_where_it_peaks() -> None:
    # 2 1 2 1 2 (α = -2..2): total variation 4 where a bowl with these ends and minimum needs 2;
    # of the three interior points the middle one (a peak) bends down.
    shape = slice_shape(np.arange(-2, 3), np.array([2.0, 1.0, 2.0, 1.0, 2.0]))
    assert shape["roughness"] == pytest.approx(2.0)
    assert shape["nonconvex"] == pytest.approx(1 / 3)
    assert shape["rise"] == pytest.approx(1.0)  # the ends (2) over the centre (2)


def test_a_slice_that_overflowed_has_no_shape() -> None:
    shape = slice_shape(np.arange(5), np.array([1.0, 0.5, 0.2, math.inf, 1.0]))
    assert all(math.isnan(v) for v in shape.values())


def test_a_bowl_surface_is_convex_and_a_saddle_is_not() -> None:
    a = np.linspace(-1, 1, 7)
    alpha, beta = np.meshgrid(a, a, indexing="ij")
    bowl = surface_shape(alpha**2 + beta**2)
    assert bowl == {"roughness": pytest.approx(1.0), "nonconvex": 0.0}
    saddle = surface_shape(2 + alpha**2 - beta**2)
    assert saddle["nonconvex"] == 1.0  # every interior point curves down along β
    tilted = surface_shape(alpha**2 + beta**2 + 3 * alpha * beta)  # Hessian eigenvalues 5 and -1
    assert tilted["nonconvex"] == 1.0


def test_contours_of_a_bowl_are_closed_circles_and_of_a_plane_a_straight_line() -> None:
    a = [float(v) for v in np.linspace(-1, 1, 41)]
    alpha, beta = np.meshgrid(a, a, indexing="ij")
    (circle,) = contour_lines(a, a, alpha**2 + beta**2, 0.25)
    radii = [math.hypot(x, y) for x, y in circle]
    assert circle[0] == circle[-1] and len(circle) > 40
    assert max(abs(r - 0.5) for r in radii) < 0.01  # linear interpolation on a 0.05 grid
    (line,) = contour_lines(a, a, alpha + 0 * beta, 0.33)
    assert {round(x, 9) for x, _ in line} == {0.33} and len(line) == 41
    assert contour_lines(a, a, alpha**2 + beta**2, 5.0) == []  # above every point


def test_a_saddle_cell_is_cut_by_its_centre() -> None:
    # Corners 1 at (0, 0) and (1, 1), 0 at (1, 0) and (0, 1): the centre's mean, 0.5, is above
    # the level 0.4, so the high corners join through it and each line cuts off a low corner,
    # crossing its two edges 0.4 from it.
    z = np.array([[1.0, 0.0], [0.0, 1.0]])
    lines = contour_lines([0.0, 1.0], [0.0, 1.0], z, 0.4)
    cut = set()
    for line in lines:
        corner = next(c for c in ((1.0, 0.0), (0.0, 1.0)) if math.dist(line[0], c) < 0.5)
        assert [round(math.dist(p, corner), 9) for p in line] == [0.4, 0.4]
        cut.add(corner)
    assert len(lines) == 2 and len(cut) == 2
    above = contour_lines([0.0, 1.0], [0.0, 1.0], z, 0.6)  # centre below: the low ones join
    assert {tuple(round(v, 9) for v in p) for line in above for p in line} == {
        (0.4, 0.0),
        (0.0, 0.4),
        (1.0, 0.6),
        (0.6, 1.0),
    }


# --------------------------------------------------------------------------- a real sweep


def test_the_tables_are_means_over_seeds_of_the_last_block(results: Path) -> None:
    found = Results(results)
    layers, runs = found.layers, found.runs
    report = why_report(layers, runs)
    assert set(report) == {"signal", "spectrum", "trained", "lesions", "slices"}
    signal = report["signal"].set_index(["family", "arch", "depth"])
    # By hand: the plain transformer at 3 blocks, its last block's token spread at step 0.
    ids = runs[(runs["family"] == "transformer") & (runs["depth"] == 3)]["run_id"]
    rows = layers[layers["run_id"].isin(ids) & (layers["kind"] == "token_spread")]
    last = rows[(rows["step"] == 0) & (rows["layer"] == rows["layer"].max())]
    assert len(last) == 2
    assert signal.loc[("transformer", "plain", 3), "token_spread_init"] == pytest.approx(
        last["value"].mean()
    )
    # The residual convnets diverged: measured at initialisation, no end, no lesions, no slice.
    residual = signal.loc[("conv1d", "residual", 14)]
    assert (residual["n_init"], residual["n_end"]) == (2, 0)
    assert math.isnan(residual["sample_cosine_end"])
    trained = report["trained"].set_index(["family", "arch", "depth"])
    assert trained.loc[("conv1d", "residual", 14), "n_trained"] == 0
    assert trained.loc[("conv1d", "plain", 14), "n_trained"] == 2
    slices = report["slices"].set_index(["family", "arch", "depth"])
    assert slices.loc[("conv1d", "plain", 8), "slice_n"] == 2
    assert slices.loc[("conv1d", "plain", 8), "surface_roughness"] >= 1.0


def test_report_layers_shows_the_why_tables_without_gradient_norms(results: Path) -> None:
    shown = runner.invoke(app, ["report", str(results), "--layers"], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    out = shown.output
    for title in (
        "the last block's signal, at initialisation → at the end",
        "the last block's Jacobian σ and gradient correlation",
        "what removing one block adds to it",
        "the shape of the loss around the trained weights",
        "test error without each block · depth 14 · n 2",
    ):
        assert title in out, title
    assert "family transformer" in out and "token spread" in out
    assert "first ÷ last" not in out  # no gradient norms were recorded: no ratio table


def test_report_layers_as_markdown_json_and_csv(results: Path) -> None:
    root = str(results)
    markdown = runner.invoke(app, ["report", root, "--layers", "-f", "markdown"]).stdout
    assert "**the last block's signal, at initialisation → at the end** family conv1d" in markdown
    assert "| block | plain |" in markdown and "| intact |" in markdown
    rows = json.loads(runner.invoke(app, ["report", root, "--layers", "-f", "json"]).stdout)
    tables = {r["table"] for r in rows}
    assert tables == {"signal", "spectrum", "trained", "lesions", "slices"}
    lesions = [r for r in rows if r["table"] == "lesions"]
    assert {"block", "lesion_error", "intact_error", "n"} <= set(lesions[0])
    assert all(r["results"].endswith("runs.csv") for r in rows)
    csv = runner.invoke(app, ["report", root, "--layers", "-f", "csv"])
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == len(rows) and set(frame["table"]) == tables


def test_report_layers_keeps_the_ratio_table_first_where_both_were_recorded(
    tmp_path: Path,
) -> None:
    from test_layers_report import results_dir

    root = results_dir(tmp_path)  # gradient norms only, by hand
    layers = pd.read_csv(root / "layers.csv")
    extra = layers[(layers["kind"] == "grad_norm") & (layers["step"] == 0)].assign(
        kind="sample_cosine", value=0.5
    )
    pd.concat([layers, extra]).to_csv(root / "layers.csv", index=False)
    out = runner.invoke(app, ["report", str(root), "--layers"]).output
    assert out.index("first ÷ last layer") < out.index("the last block's signal")
    assert "0.5 → —" in out  # measured at step 0 only: no end
    rows = json.loads(runner.invoke(app, ["report", str(root), "--layers", "-f", "json"]).stdout)
    ratios = [r for r in rows if "table" not in r]
    assert len(ratios) == 4 and {"init", "end", "n_init"} <= set(ratios[0])
    assert not any(k.startswith("sample_cosine") for k in ratios[0])  # each table its own keys


def test_lesions_alone_make_their_tables_and_figure(results: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "lesions"
    shutil.copytree(results, root)
    layers = pd.read_csv(root / "layers.csv")
    layers[layers["kind"].isin(["lesion_error", "intact_error"])].to_csv(
        root / "layers.csv", index=False
    )
    (root / "tables.json").unlink()  # tables made before their digests: read as they are
    assert set(Results(root).why_tables()) == {"trained", "lesions"}
    shown = runner.invoke(app, ["report", str(root), "--layers"])
    assert shown.exit_code == 0, shown.output
    assert "what removing one block adds" in shown.output and "signal" not in shown.output
    made = runner.invoke(app, ["plot", str(root), "--why", "-o", str(tmp_path / "figs")])
    assert made.exit_code == 0, made.output
    assert [p.name for p in (tmp_path / "figs").iterdir()] == ["why-lesions.png"]


def test_plot_why_writes_a_png_per_diagnostic_into_the_folder_named(
    results: Path, tmp_path: Path
) -> None:
    from matplotlib.image import imread

    made = runner.invoke(app, ["plot", str(results), "--why", "-o", str(tmp_path / "figs")])
    assert made.exit_code == 0, made.output
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    expected = ["cosine", "correlation", "jacobian", "lesions", "rms", "slice", "surface"]
    assert names == sorted(f"why-{n}.png" for n in [*expected, "tokens"])
    assert all(imread(tmp_path / "figs" / n)[..., :3].std() > 0.05 for n in names)
    assert not (results / "depth.png").exists()


def test_plot_why_without_those_diagnostics_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from test_layers_report import results_dir

    made = runner.invoke(app, ["plot", str(results_dir(tmp_path)), "--why"])
    assert made.exit_code == 2 and "no diagnostics of why depth fails" in made.output
    assert len(made.output.splitlines()) == 1
    both = runner.invoke(app, ["plot", str(results_dir(tmp_path / "b")), "--why", "--layers"])
    assert both.exit_code == 2 and "one at a time" in both.output
    png = runner.invoke(app, ["plot", str(results_dir(tmp_path / "c")), "--why", "-o", "w.png"])
    assert png.exit_code == 2 and "names a folder" in png.output


def test_tensorboard_holds_the_why_scalars_of_each_run(results: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the optional extra: resbench[tensorboard]")
    from test_tensorboard import read_back

    from resbench.views.tensorboard import run_name

    found = Results(results)
    made = runner.invoke(app, ["export", str(results), "--tensorboard", str(tmp_path)])
    assert made.exit_code == 0, made.output
    layers = found.layers
    for _, run in found.runs.iterrows():
        events = read_back(tmp_path / run_name(run))
        mine = layers[layers["run_id"] == run["run_id"]]
        init = mine[(mine["kind"] == "sample_cosine") & (mine["step"] == 0)].sort_values("layer")
        scalars = events.Scalars("why/sample_cosine/init")
        assert [s.step for s in scalars] == init["layer"].tolist()
        assert [s.value for s in scalars] == pytest.approx(init["value"].tolist(), rel=1e-6)
        sv = mine[mine["kind"] == "jacobian_sv_rms"].sort_values("layer")
        assert [s.value for s in events.Scalars("why/jacobian_sv_rms/init")] == pytest.approx(
            sv["value"].tolist(), rel=1e-6
        )
        tags = set(events.Tags()["scalars"])
        if run["status"] == "ok":
            lesions = mine[mine["kind"] == "lesion_error"].sort_values("layer")
            scalars = events.Scalars("why/lesion_error")
            assert [s.step for s in scalars] == lesions["layer"].tolist()
            slice_ = mine[mine["kind"] == "loss_slice"].sort_values("x")
            values = [s.value for s in events.Scalars("why/loss_slice")]
            assert values == pytest.approx(slice_["value"].tolist(), rel=1e-6)
            assert "why/sample_cosine/end" in tags and "why/sample_cosine/last_block" in tags
        else:  # diverged: measured at initialisation, nothing after training
            assert not {"why/lesion_error", "why/loss_slice"} & tags
        if run["family"] == "transformer":
            assert "why/token_spread/init" in tags
