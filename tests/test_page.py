"""The HTML report page, read as a file: what it holds, that it fetches nothing, its commands.

What a browser shows of it is tests/test_browser.py's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PAPER, ROOT, make_runs, write_results
from test_plot import make_curves
from typer.testing import CliRunner

from resbench.cli import app
from resbench.results import Results
from resbench.views import png as plot
from resbench.views.style import log_depths
from resbench.views.svg import tick_label, ticks

runner = CliRunner()
REMEDIES = ROOT / "results" / "reference" / "remedies"
MAX_BYTES = 2_000_000  # the page of the remedies preset must stay under this


def results_with_trouble(root: Path) -> Path:
    runs = make_runs({**PAPER, ("plain", 56): [0.7, "diverged", "failed"]})
    runs["error"] = None
    runs.loc[runs["status"] == "failed", "error"] = "Traceback...\nRuntimeError: out of cheese"
    write_results(root, runs)
    make_curves(runs).to_csv(root / "curves.csv", index=False)
    return root


def test_the_page_holds_every_part_of_the_report(tmp_path: Path) -> None:
    results = results_with_trouble(tmp_path / "hand")
    page = Results(results).html(tmp_path / "page.html").read_text()
    for section in ("depth", "tables", "claims", "curves", "problems", "provenance"):
        assert f'<section id="{section}">' in page
    assert 'id="layers"' not in page  # no layers.csv: no gradient figure
    assert "RuntimeError: out of cheese" in page  # a failed run's last error line
    assert "the training loss was not finite" in page  # a diverged run, named
    assert "0.700 (1)" in page  # plain-56: one ok run of three
    assert "diverged 1/3" in page and "failed 1/3" in page
    assert "expect:" in page  # the sweep as it ran
    assert re.search(r"check FAILED: \d+ passed", page)  # the failed run: INCONCLUSIVE


def test_the_page_fetches_nothing(tmp_path: Path) -> None:
    page = Results(results_with_trouble(tmp_path / "hand")).html(tmp_path / "p.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
    assert "<script src" not in page and "<link" not in page


def test_the_remedies_page_is_under_2_mb(tmp_path: Path) -> None:
    page = Results(REMEDIES).html(tmp_path / "remedies.html")
    assert page.stat().st_size < MAX_BYTES


def test_the_committed_remedies_page_is_there_and_small() -> None:
    page = REMEDIES / "report.html"
    assert page.stat().st_size < MAX_BYTES
    assert "resbench report: remedies" in page.read_text()


def test_report_format_html_writes_report_html_beside_runs_csv(tmp_path: Path) -> None:
    results = results_with_trouble(tmp_path / "hand")
    made = runner.invoke(app, ["report", str(results), "--format", "html"])
    assert made.exit_code == 0, made.output
    assert (results / "report.html").is_file()
    assert made.output.strip() == f"wrote {results / 'report.html'}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "json", "-o", "x.html"], "--output: only for --format html"),
        (["--format", "html", "--layers"], "--layers: the html page draws"),
    ],
)
def test_report_html_refuses_flags_it_does_not_take(
    tmp_path: Path, args: list[str], message: str
) -> None:
    results = results_with_trouble(tmp_path / "hand")
    made = runner.invoke(app, ["report", str(results), *args])
    assert made.exit_code == 2 and made.output.startswith(f"error: {message}")


def test_report_html_to_one_file_takes_one_results_directory(tmp_path: Path) -> None:
    a, b = (results_with_trouble(tmp_path / n) for n in ("a", "b"))
    made = runner.invoke(app, ["report", str(a), str(b), "-f", "html", "-o", str(tmp_path / "x")])
    assert made.exit_code == 2 and "one file for one results directory" in made.output
    made = runner.invoke(app, ["report", str(a), str(b), "-f", "html"])
    assert made.exit_code == 0 and (a / "report.html").is_file() and (b / "report.html").is_file()


def test_check_html_writes_the_page_of_what_it_judged(tmp_path: Path) -> None:
    results = write_results(tmp_path / "now", make_runs(PAPER))
    reference = write_results(tmp_path / "ref", make_runs(PAPER))
    page = tmp_path / "ci" / "page.html"
    made = runner.invoke(
        app, ["check", str(results), "--baseline", str(reference), "--html", str(page)]
    )
    assert made.exit_code == 0, made.output
    assert f"wrote {page}" in made.output
    text = page.read_text()
    assert "Claims and baseline" in text and 'data-kind="baseline"' in text
    assert "99." in text  # the baseline's Bonferroni-level intervals, shown
    assert "check passed" in text


def test_check_html_of_a_failing_check_still_writes_the_page_and_exits_1(tmp_path: Path) -> None:
    flat = {k: [0.01, 0.012, 0.011] for k in PAPER}  # nothing degrades: the claims fail
    results = write_results(tmp_path / "now", make_runs(flat))
    page = tmp_path / "page.html"
    made = runner.invoke(app, ["check", str(results), "--html", str(page), "-f", "markdown"])
    assert made.exit_code == 1
    assert made.output.startswith("### resbench check")  # stdout is the markdown alone
    assert "check FAILED" in page.read_text()


def test_a_depth_axis_is_logarithmic_beyond_four_times() -> None:
    assert log_depths([8, 20, 110]) and log_depths([4, 16, 100])
    assert not log_depths([8, 20, 32]) and not log_depths([8])


def test_ticks_are_round_numbers_inside_the_axis() -> None:
    assert ticks(0, 0.93, log=False) == [0, 0.2, 0.4, 0.6, 0.8]
    assert ticks(0.004, 0.9, log=True) == [0.01, 0.1]  # three decades: powers of ten only
    assert ticks(0.03, 0.9, log=True) == [0.05, 0.1, 0.2, 0.5]
    assert tick_label(1e-6) == "10⁻⁶" and tick_label(0.2) == "0.2" and tick_label(20) == "20"


# --------------------------------------------------------------------------- the PNGs


def test_curves_panels_are_titled_by_arch_with_the_variant_said_once_per_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = []
    monkeypatch.setattr(plot, "_save", lambda fig, path: drawn.append(fig) or Path(path))
    found = Results(REMEDIES)
    found.plot_curves(tmp_path / "curves.png")
    (fig,) = drawn
    rows = fig.subfigs
    assert [r._suptitle.get_text() for r in rows] == [
        "batch_norm False · init delta_orthogonal · activation tanh · lr 0.03",
        "batch_norm False · init he · activation relu · lr 0.03",
        "batch_norm True · init he · activation relu · lr 0.1",
    ]
    # The first line of a title; below it, the runs the panel's lines leave out.
    titles = [[ax.get_title().split("\n")[0] for ax in r.axes if ax.axison] for r in rows]
    assert titles[1] == ["plain", "residual", "preact", "highway", "fixup", "skipinit", "rezero"]
    assert titles[0] == ["plain"]


def test_the_depth_figure_of_depths_8_to_110_has_a_log_axis_ticked_at_the_depths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = []
    monkeypatch.setattr(plot, "_save", lambda fig, path: drawn.append(fig) or Path(path))
    Results(REMEDIES).plot_depth(tmp_path / "depth.png")
    axes = [ax for ax in drawn[0].axes if ax.axison]
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["8", "20", "110"]


def lr_sweep_runs(rates: tuple[float, ...], seeds: int = 4):
    """A hand-made runs table sweeping train.lr: the best rate halves with each doubling of the
    residual blocks, (depth - 2) / 2 = 2, 4, 8 (a drift of -1 octave per octave of blocks), the
    loss a parabola in log2(lr) around it."""
    import math

    import pandas as pd

    rows = []
    for depth, best in ((6, 2**-6), (10, 2**-7), (18, 2**-8)):
        for lr in rates:
            for seed in range(seeds):
                loss = 1 + 0.1 * (math.log2(lr) - math.log2(best)) ** 2 + 0.001 * seed
                rows.append(
                    {"run_id": f"{depth}-{lr}-{seed}", "sweep": "lr", "dataset": "mnist1d",
                     "family": "mlp", "arch": "residual", "depth": depth, "width": 64,
                     "seed": seed, "train.lr": lr, "status": "ok", "train_loss": loss,
                     "train_error": loss / 4, "test_error": loss / 4, "seconds": 1.0}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_sweep_of_the_learning_rate_gets_its_landscape_and_best_rates(tmp_path: Path) -> None:
    rates = tuple(2.0**k for k in range(-10, -4))
    write_results(tmp_path / "lr", lr_sweep_runs(rates), claims=None)
    page = Results(tmp_path / "lr").html(tmp_path / "lr.html").read_text()
    section = page[page.index('<section id="landscape">') :]
    section = section[: section.index("</section>")]
    assert section.count('data-depth="') == 2 * 3  # a line per depth, on linear and log y axes
    assert "2^-6" in section and "2^-8" in section  # the best rates, 6 and 18 layers
    assert "-1.00" in section  # the drift: an octave down per doubling of the blocks


def test_a_rate_that_only_follows_another_field_draws_no_landscape(tmp_path: Path) -> None:
    runs = lr_sweep_runs((0.01,))
    other = lr_sweep_runs((0.1,)).assign(**{"model.batch_norm": False})
    runs["model.batch_norm"] = True
    import pandas as pd

    write_results(tmp_path / "zip", pd.concat([runs, other]), claims=None)
    page = Results(tmp_path / "zip").html(tmp_path / "zip.html").read_text()
    assert 'id="landscape"' not in page
