"""One figure, two renderers: the PNG and the page draw the same series from one builder.

A real sweep is run here (two depths, two archs, two seeds, three learning rates, one of which
diverges every run; gradient norms recorded), and each of its four figures is drawn both ways by
the commands a user has (`Results.plot_*`, `Results.html`): what matplotlib holds before it
saves, and what the page's SVG shows, read against its ticks (tests/drawn.py), must be the same
panels, series, marks and points, titles, notes and legends.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_SWEEP
from drawn import differences, page_plots, png_marks, png_texts
from typer.testing import CliRunner

from resbench.cli import app
from resbench.results import Results
from resbench.views import png
from resbench.views.figures.depth import depth_figure

runner = CliRunner()
GRID = "  train.lr: [0.01, 0.1, 100.0]\n"  # 100: every run diverges (no batch norm)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("figures")
    text = TINY_SWEEP.replace("device: cpu}", "device: cpu, diagnostics: [grad_norms]}")
    text = text.replace("width: 4}", "width: 4, batch_norm: false}")
    (root / "tiny.yaml").write_text(text + GRID)
    run = ["run", str(root / "tiny.yaml"), "-o", str(root), "--executor", "inline"]
    made = runner.invoke(app, run)
    assert made.exit_code == 0, made.output
    return root / "tiny"


@pytest.fixture(scope="module")
def page(results: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("page") / "page.html"
    return Results(results).html(out).read_text()


def drawn_png(monkeypatch: pytest.MonkeyPatch, plot: Any) -> Any:
    """The matplotlib Figure a `Results.plot_*` call drew, as it was before saving."""
    drawn = []
    monkeypatch.setattr(png, "_save", lambda fig, path: drawn.append(fig) or Path(path))
    plot()
    (fig,) = drawn
    return fig


FIGURES = {  # figure: (what draws its PNG, the prefix of its ids on the page, laid out as a grid)
    "depth": (lambda r, out: r.plot_depth(out / "d.png", "train_error"), "depth-train_error-"),
    "curves": (lambda r, out: r.plot_curves(out / "c.png"), "curves-"),
    "layers": (lambda r, out: r.plot_layers(out / "l.png"), "layers-"),
    "landscape": (lambda r, out: r.plot_landscape("train.lr", "train_loss", out / "s.png"),
                  "landscape-"),
}  # fmt: skip


@pytest.mark.parametrize("figure", FIGURES)
def test_the_png_and_the_page_draw_the_same_series(
    figure: str, results: Path, page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draw, prefix = FIGURES[figure]
    fig = drawn_png(monkeypatch, lambda: draw(Results(results), tmp_path))
    drawn, shown = png_marks(fig), page_plots(page, prefix)
    assert sum(len(marks) for marks in drawn.values()) >= 4  # something to compare
    assert differences(drawn, shown) == []


@pytest.mark.parametrize("figure", FIGURES)
def test_the_png_and_the_page_say_the_same_titles_notes_and_legends(
    figure: str, results: Path, page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draw, prefix = FIGURES[figure]
    texts = png_texts(drawn_png(monkeypatch, lambda: draw(Results(results), tmp_path)))
    shown = page_plots(page, prefix)
    assert set(texts) == set(shown)
    grid = figure in ("depth", "landscape")  # a PNG grid names the variant in each panel
    for key, (title, legend) in texts.items():
        plot = shown[key]
        first = " · ".join(t for t in (plot.title, plot.caption if grid else "") if t)
        lines = [line for line in title.split("\n") if line]
        assert lines == [t for t in (first, *plot.notes) if t], key
        assert legend == plot.legend, key


def test_the_sweep_drew_what_the_comparison_needs(results: Path, page: str) -> None:
    # Variants, a diverged run named, markers of every kind the landscape has here.
    notes = [n for p in page_plots(page, "landscape-").values() for n in p.notes]
    assert any(n.startswith("drift ") for n in notes)
    assert any("diverged" in n for n in notes)
    roles = {k[2] for p in page_plots(page, "landscape-").values() for k in p.marks}
    assert {"mean", "best", "diverged"} <= roles
    depth = page_plots(page, "depth-train_error-")
    assert len({p.caption for p in depth.values()}) == 3  # a panel per learning rate
    assert {k[2] for p in depth.values() for k in p.marks} >= {"min-max", "seeds", "mean"}


def test_the_comparison_sees_a_series_dropped_renamed_or_moved(results: Path) -> None:
    from resbench.views.html import figure_html

    runs = Results(results).runs
    figure = depth_figure(runs, "train_error")
    fig = png.draw(figure)
    assert differences(png_marks(fig), page_plots(figure_html(figure), "depth-")) == []

    def changed(change: Any) -> list[str]:
        other = copy.deepcopy(figure)
        change(next(p for _, p in other.panels() if len(p.series) > 1))
        return differences(png_marks(fig), page_plots(figure_html(other), "depth-"))

    def move(panel: Any) -> None:
        mean = next(m for m in panel.series[0].marks if m.role == "mean")
        mean.y = [y + 0.03 for y in mean.y]

    def rename(panel: Any) -> None:
        panel.series[1].label += " "

    assert any("drawn only in the PNG" in d for d in changed(lambda p: p.series.pop()))
    assert len(changed(rename)) == 2 * len(figure.groups[0].panels[0].series[1].marks)
    (moved,) = changed(move)
    assert moved.startswith(f"('0', '{figure.groups[0].panels[0].series[0].label}', 'mean')")


# --------------------------------------------------------------------------- why depth fails

WHY = ["cosine", "rms", "tokens", "jacobian", "correlation", "lesions", "slice", "surface"]


@pytest.fixture(scope="module")
def why_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_why_views import run_why_sweep

    return run_why_sweep(tmp_path_factory.mktemp("why"))


@pytest.fixture(scope="module")
def why_drawn(why_results: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `plot --why` drew, each figure as matplotlib held it before saving, by name."""
    drawn = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(png, "_save", lambda fig, path: drawn.setdefault(Path(path).stem, fig) and path)
        Results(why_results).plot_why(tmp_path_factory.mktemp("png"))
    return {name.removeprefix("why-"): fig for name, fig in drawn.items()}


@pytest.fixture(scope="module")
def why_page(why_results: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return Results(why_results).html(tmp_path_factory.mktemp("page") / "why.html").read_text()


def test_plot_why_drew_every_figure_of_the_page(why_drawn: dict[str, Any], why_page: str) -> None:
    assert sorted(why_drawn) == sorted(WHY)
    assert all(page_plots(why_page, f"why-{name}-") for name in WHY)


@pytest.mark.parametrize("name", WHY)
def test_the_why_png_and_the_page_draw_the_same_series(
    name: str, why_drawn: dict[str, Any], why_page: str
) -> None:
    drawn, shown = png_marks(why_drawn[name]), page_plots(why_page, f"why-{name}-")
    assert sum(len(marks) for marks in drawn.values()) >= 2  # something to compare
    assert differences(drawn, shown) == []


@pytest.mark.parametrize("name", WHY)
def test_the_why_png_and_the_page_say_the_same_titles_notes_and_legends(
    name: str, why_drawn: dict[str, Any], why_page: str
) -> None:
    texts = png_texts(why_drawn[name])
    shown = page_plots(why_page, f"why-{name}-")
    assert set(texts) == set(shown)
    for key, (title, legend) in texts.items():
        plot = shown[key]
        grid = name == "surface"  # a PNG grid names the group in each panel
        first = " · ".join(t for t in (plot.title, plot.caption if grid else "") if t)
        lines = [line for line in title.split("\n") if line]
        assert lines == [t for t in (first, *plot.notes) if t], key
        assert legend == plot.legend, key


def test_the_why_figures_drew_what_the_comparison_needs(why_page: str) -> None:
    # Families apart (a plain convnet and a plain transformer), the diverged runs named, the
    # broken lines of lesions and contours, markers.
    cosine = page_plots(why_page, "why-cosine-")
    assert {p.caption for p in cosine.values()} == {"family conv1d", "family transformer"}
    assert any("diverged" in n for p in cosine.values() for n in p.notes)
    roles = {k[2] for p in cosine.values() for k in p.marks}
    assert roles == {"init", "end"}
    surface = page_plots(why_page, "why-surface-")
    assert {k[2] for p in surface.values() for k in p.marks} == {"contour", "weights"}
    assert len(surface) == 4  # plain 8, 14; transformer 2, 3; the residual nets diverged
    lesions = page_plots(why_page, "why-lesions-")
    assert {k[2] for p in lesions.values() for k in p.marks} == {"lesion", "intact"}


def test_a_swept_value_that_is_no_number_is_drawn_alike_in_order(tmp_path: Path) -> None:
    # Activations instead of learning rates: evenly spaced in their order, in both renderers.
    from test_page import lr_sweep_runs

    from resbench.views.figures.landscape import landscape_figure
    from resbench.views.html import figure_html

    runs = lr_sweep_runs(tuple(2.0**k for k in range(-9, -6)))
    names = dict(zip(sorted(set(runs["train.lr"])), ("tanh", "relu", "gelu"), strict=True))
    runs["model.activation"] = runs.pop("train.lr").map(names)
    figure = landscape_figure(runs, "model.activation", "train_loss")
    (panel,) = [p for _, p in figure.panels()]
    assert panel.x.scale == "linear" and panel.x.tick_labels == ["gelu", "relu", "tanh"]
    assert differences(png_marks(png.draw(figure)), page_plots(figure_html(figure), "")) == []
