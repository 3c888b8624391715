"""Figures: valid PNGs of the documented size, drawn headless, from hand-made and real runs."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import PAPER, make_runs, write_results
from typer.testing import CliRunner

from resbench.cli import app
from resbench.views.png import CURVES_SIZE, DEPTH_SIZE, DPI, plot_curves, plot_depth

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def pixels(size: tuple[float, float]) -> tuple[int, int]:
    return round(size[0] * DPI), round(size[1] * DPI)


def make_curves(runs: pd.DataFrame, steps: int = 5) -> pd.DataFrame:
    """Curves that fall from 0.9 towards each run's final error, for the ok runs."""
    rows = []
    for _, r in runs[runs["status"] == "ok"].iterrows():
        for step in range(1, steps + 1):
            for split, final in (("train", r["train_error"]), ("test", r["test_error"])):
                value = final + (0.9 - final) * (1 - step / steps)
                rows.append((r["run_id"], r["arch"], r["depth"], r["seed"], step, step / 2, split))
                rows[-1] += ("error", value)
    columns = ["run_id", "arch", "depth", "seed", "step", "epoch", "split", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def test_depth_figure_is_a_png_of_the_documented_size(tmp_path: Path) -> None:
    runs = make_runs({**PAPER, ("plain", 56): [0.7, "diverged", 0.8]})
    path = plot_depth(runs, tmp_path / "depth.png")
    assert png_size(path) == pixels(DEPTH_SIZE) == (1050, 675)


def test_depth_figure_reads_back_as_an_image(tmp_path: Path) -> None:
    from matplotlib.image import imread

    image = imread(plot_depth(make_runs(PAPER), tmp_path / "depth.png"))
    assert image.shape[:2] == (675, 1050)
    assert image[..., :3].std() > 0.05  # lines were drawn, not a blank canvas


def test_curves_figure_is_a_png_of_the_documented_size(tmp_path: Path) -> None:
    runs = make_runs({**PAPER, ("residual", 20): [0.006, "failed", 0.007]})
    path = plot_curves(make_curves(runs), runs, tmp_path / "curves.png")
    assert png_size(path) == pixels(CURVES_SIZE) == (1800, 675)


def test_a_name_that_is_not_png_is_refused(tmp_path: Path) -> None:
    from resbench import ResbenchError

    with pytest.raises(ResbenchError, match=r"name a \.png file"):
        plot_depth(make_runs(PAPER), tmp_path / "depth.svg")


def test_plot_command_writes_both_figures_beside_the_results_by_default(tmp_path: Path) -> None:
    runs = make_runs(PAPER)
    results = write_results(tmp_path / "hand", runs, claims=None)
    make_curves(runs).to_csv(results / "curves.csv", index=False)
    result = runner.invoke(app, ["plot", str(results)])
    assert result.exit_code == 0, result.output
    assert png_size(results / "depth.png") == (1050, 675)
    assert png_size(results / "curves.png") == (1800, 675)


def test_plot_o_writes_only_the_depth_figure_where_asked(tmp_path: Path) -> None:
    results = write_results(tmp_path / "hand", make_runs(PAPER), claims=None)
    out = tmp_path / "figs" / "fig.png"
    result = runner.invoke(app, ["plot", str(results), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert png_size(out) == (1050, 675) and not (results / "curves.png").exists()


def test_plot_without_curves_csv_is_exit_2_before_drawing_anything(tmp_path: Path) -> None:
    results = write_results(tmp_path / "hand", make_runs(PAPER), claims=None)
    result = runner.invoke(app, ["plot", str(results)])
    assert result.exit_code == 2 and "curves.csv" in result.output
    assert not (results / "depth.png").exists()


def test_run_then_report_plot_and_check_on_a_real_tiny_sweep(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    # Real records, real curves.csv: the whole chain. Four seeds, so that the baseline check
    # has the numbers to see a change beyond the noise.
    run = ["run", str(tiny_sweep_file), "-o", str(tmp_path), "--executor", "inline"]
    assert runner.invoke(app, [*run, "-s", "grid.seed=[0, 1, 2, 3]"]).exit_code == 0
    results = tmp_path / "tiny"
    report = runner.invoke(app, ["report", str(results)])
    assert report.exit_code == 0 and "16 runs: 16 ok" in report.output
    plot = runner.invoke(app, ["plot", str(results)])
    assert plot.exit_code == 0, plot.output
    assert png_size(results / "curves.png") == (1800, 675)
    check = runner.invoke(app, ["check", str(results), "--baseline", str(results)])
    assert check.exit_code == 0, check.output
    assert "check passed" in check.output
    # Against a reference whose every run trained to a 0.5 lower error: a regression.
    runs = pd.read_csv(results / "runs.csv")
    better = tmp_path / "better"
    better.mkdir()
    runs.assign(train_error=runs["train_error"] - 0.5).to_csv(better / "runs.csv", index=False)
    check = runner.invoke(app, ["check", str(results), "--baseline", str(better)])
    assert check.exit_code == 1, check.output
    assert "worse than the reference" in check.output and "check FAILED" in check.output


def test_the_cli_module_imports_no_heavy_library() -> None:
    code = (
        "import sys; import resbench.cli; "
        "heavy = {'pandas', 'matplotlib', 'scipy', 'torch'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    # From the checkout's root, so that the resbench under test is the one imported.
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
