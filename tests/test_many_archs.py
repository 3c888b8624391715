"""Downstream of a sweep of many archs and variants: tables, figures, claims, sizes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import PAPER, TINY_SWEEP, make_runs, write_results
from rich.console import Console
from test_plot import png_size
from typer.testing import CliRunner

from resbench.analysis.summary import report_data, summarize
from resbench.analysis.variants import select_runs, variant_columns
from resbench.analysis.verdicts import evaluate_claims
from resbench.cli import app
from resbench.models import registry
from resbench.sweep.claims import Beats, Degrades, Holds
from resbench.sweep.load import parse_sweep
from resbench.sweep.schema import SweepError
from resbench.views.png import ARCH_PANEL_WIDTH, DEPTH_SIZE, DPI, plot_curves, plot_depth
from resbench.views.text import depth_tables, report_markdown

runner = CliRunner()
ARCHS = list(registry.get_family("conv1d").archs)  # every arch of the convnets
DEPTHS = (8, 20, 56, 110)


def remedies() -> pd.DataFrame:
    """Every arch at four depths, with and without batch norm (fixup without only): plain
    degrades, the others hold, and without batch norm every error is 0.1 higher."""
    frames = []
    for batch_norm in (True, False):
        groups = {}
        for arch in ARCHS:
            if arch == "fixup" and batch_norm:
                continue
            for depth in DEPTHS:
                base = depth / 150 if arch == "plain" else 0.01
                base += 0 if batch_norm else 0.1
                groups[(arch, depth)] = [base + 0.001 * s for s in range(3)]
        frame = make_runs(groups, **{"model.batch_norm": batch_norm})
        frame["run_id"] += f"-{batch_norm}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- variants


def test_variants_are_what_varies_within_one_depth_and_arch() -> None:
    runs = remedies()
    runs["train.lr"] = runs["depth"].map({8: 0.1, 20: 0.1, 56: 0.05, 110: 0.05})  # follows depth
    assert variant_columns(runs) == ["model.batch_norm"]


def test_summaries_never_pool_variants() -> None:
    summary = summarize(remedies())
    assert list(summary.columns[:3]) == ["model.batch_norm", "depth", "arch"]
    plain = summary[(summary["arch"] == "plain") & (summary["depth"] == 8)]
    assert sorted(plain["mean"].round(4)) == [0.0543, 0.1543]  # one row per variant, n = 3
    assert set(plain["n"]) == {3}
    assert not ((summary["arch"] == "fixup") & summary["model.batch_norm"]).any()


def test_select_runs_compares_csv_cells_with_sweep_values() -> None:
    runs = remedies()
    assert set(select_runs(runs, {"model.batch_norm": False})["model.batch_norm"]) == {False}
    from_csv = runs.astype({"model.batch_norm": str})  # as pandas may read a mixed column
    assert len(select_runs(from_csv, {"model.batch_norm": True})) == 6 * 4 * 3
    assert len(select_runs(runs, {"model.width": 8})) == len(runs)
    assert select_runs(runs, {"model.width": 16}).empty


# --------------------------------------------------------------------------- tables


def test_the_report_of_every_arch_reads_at_80_columns() -> None:
    console = Console(width=80, record=True, color_system=None)
    for table in depth_tables(remedies()):
        console.print(table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    for arch in ARCHS:  # a row per arch, its name whole on one line
        assert any(line.split("│")[1:2] == [f" {arch:<8} "] for line in lines if "│" in line)
    assert "0.734 ▲" in text  # plain at 110 with batch norm: the mean, marked, on its own line
    assert "± 0.001 (3)" in text
    assert "batch_norm False" in text and "batch_norm True" in text  # a table per variant


def test_two_archs_keep_the_classic_table_with_a_column_each() -> None:
    markdown = report_markdown(report_data(make_runs(PAPER)))
    assert "| depth | plain | residual | res − plain |" in markdown


def test_markdown_reports_of_many_archs_have_a_row_per_arch() -> None:
    markdown = report_markdown(report_data(remedies()))
    assert "| arch | 8 | 20 | 56 | 110 |" in markdown
    assert "| skipinit | 0.011 ± 0.001 (3) |" in markdown
    assert "**train_error** by depth · mean ± std (n) batch_norm False" in markdown


# --------------------------------------------------------------------------- claims


def test_claims_between_any_two_archs_and_on_one_variant() -> None:
    runs = remedies()
    no_bn = {"model.batch_norm": False}
    claims = [
        Beats(claim="beats", arch="fixup", than="plain", depths=(110,), min_gap=0.5, where=no_bn),
        Beats(claim="beats", arch="skipinit", than="preact", depths=(110,), where=no_bn),
        Holds(claim="holds", arch="rezero", tolerance=0.01, where=no_bn),
        Degrades(claim="degrades", arch="plain", min_gap=0.3, where={"model.batch_norm": True}),
    ]
    outcomes = evaluate_claims(runs, claims)
    assert [o.verdict for o in outcomes] == ["PASS", "INCONCLUSIVE", "PASS", "PASS"]
    assert "batch_norm false" in outcomes[0].text and "fixup-110" in outcomes[0].text


def test_a_claim_that_would_pool_variants_is_inconclusive_and_says_why() -> None:
    [outcome] = evaluate_claims(remedies(), [Holds(claim="holds", arch="residual")])
    assert outcome.verdict == "INCONCLUSIVE"
    assert "model.batch_norm" in outcome.note and "where:" in outcome.note


def test_check_command_judges_claims_on_the_archs_a_sweep_has(tmp_path: Path) -> None:
    claims = """\
expect:
  - {claim: beats, arch: fixup, than: plain, depths: [110], min_gap: 0.5,
     where: {model.batch_norm: false}}
"""
    root = write_results(tmp_path / "remedies", remedies(), claims=None)
    (root / "sweep.yaml").write_text(TINY_SWEEP.replace("plain, residual", "plain, fixup") + claims)
    (root / "sweep.yaml").write_text(
        (root / "sweep.yaml").read_text().replace("model: {", "model: {batch_norm: false, ")
    )
    result = runner.invoke(app, ["check", str(root)], env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    assert "fixup beats plain at 110" in result.output


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"model.batchnorm": False}, "expect[0].where.model.batchnorm: not a field of the runs"),
        ({"model.batch_norm": "flase"}, "expect[0].where: no run of the sweep has"),
    ],
)
def test_a_claims_where_must_name_fields_and_values_of_the_runs(where: dict, message: str) -> None:
    claim = [{"claim": "holds", "arch": "residual", "where": where}]
    with pytest.raises(SweepError) as e:
        parse_sweep(TINY_SWEEP, "t.yaml", {"expect": claim})
    assert message in str(e.value)


# --------------------------------------------------------------------------- figures


def test_the_depth_figure_has_a_panel_per_variant(tmp_path: Path) -> None:
    path = plot_depth(remedies(), tmp_path / "depth.png")
    width, height = DEPTH_SIZE
    assert png_size(path) == (round(2 * width * DPI), round(height * DPI))


def test_the_curves_figure_has_a_panel_per_arch_and_variant(tmp_path: Path) -> None:
    runs = remedies()
    rows = [
        (r.run_id, r.arch, r.depth, r.seed, step, step / 2, split, "error", 0.5 / (step + 1))
        for r in runs.itertuples()
        for step in (0, 10)
        for split in ("train", "test")
    ]
    curves = pd.DataFrame(
        rows,
        columns=["run_id", "arch", "depth", "seed", "step", "epoch", "split", "metric", "value"],
    )
    path = plot_curves(curves, runs, tmp_path / "curves.png")
    assert png_size(path)[0] == round(ARCH_PANEL_WIDTH * len(ARCHS) * DPI)


# --------------------------------------------------------------------------- sizes


def test_models_lists_every_arch_of_a_family_by_default() -> None:
    result = runner.invoke(app, ["models", "conv1d", "--depths", "8", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in result.output.splitlines()[1:]]
    assert [r[1] for r in rows] == ARCHS
    assert {r[1]: r[2] for r in rows}["fixup"] == "false"  # built as it can be: without BN


def test_the_remedies_preset_runs_every_arch_from_8_to_110_layers_with_and_without_bn() -> None:
    from resbench.sweep.load import expand, load_sweep

    sweep = load_sweep("remedies")
    specs = expand(sweep)
    combos = {(s.model.arch, s.model.batch_norm) for s in specs}
    assert {arch for arch, _ in combos} == set(ARCHS)
    assert all((arch, False) in combos for arch in ARCHS)
    # With batch norm where it applies; SkipInit and ReZero replace it (the preset says why).
    assert {arch for arch, bn in combos if bn} == {"plain", "residual", "preact", "highway"}
    assert min(s.model.depth for s in specs) == 8 and max(s.model.depth for s in specs) >= 110
    assert len({s.seed for s in specs}) >= 3
    # Every claim names the variant it is about: none pools batch norm with its absence.
    assert sweep.expect and all(claim.where for claim in sweep.expect)
