"""Summaries and the report command: statistics over seeds, honest counts, every format."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import PAPER, make_runs, write_results
from typer.testing import CliRunner

from resbench.analysis.summary import describe, status_counts, summarize
from resbench.cli import app
from resbench.views.cells import format_cell
from resbench.views.text import header_line, status_line

runner = CliRunner()


def row(summary: pd.DataFrame, arch: str, depth: int) -> pd.Series:
    (i,) = summary.index[(summary["arch"] == arch) & (summary["depth"] == depth)]
    return summary.loc[i]


def test_summary_gives_mean_std_and_n_over_seeds() -> None:
    summary = summarize(make_runs(PAPER))
    plain56 = row(summary, "plain", 56)
    assert plain56["n"] == plain56["n_ok"] == 3
    assert plain56["mean"] == pytest.approx(0.75)
    assert plain56["std"] == pytest.approx(0.05)  # sample std, ddof 1
    assert (plain56["min"], plain56["max"]) == (0.7, 0.8)
    assert len(summary) == 6


def test_summary_of_another_metric_uses_that_column() -> None:
    summary = summarize(make_runs(PAPER), "test_error")
    assert row(summary, "plain", 56)["mean"] == pytest.approx(0.77)


def test_diverged_and_failed_runs_are_counted_never_averaged_in() -> None:
    runs = make_runs({("plain", 56): [0.7, 0.8, "diverged"], ("plain", 8): [0.01, "failed", 0.03]})
    summary = summarize(runs)
    deep, shallow = row(summary, "plain", 56), row(summary, "plain", 8)
    assert (deep["n"], deep["n_ok"], deep["diverged"], deep["failed"]) == (3, 2, 1, 0)
    assert deep["mean"] == pytest.approx(0.75)
    assert (shallow["n_ok"], shallow["failed"]) == (2, 1)
    # No ▲: plain-8 lacks a run, so, as in `check`, it cannot be compared with.
    assert format_cell(deep, sep=" ").endswith("(2) diverged 1/3")
    assert "failed 1/3" in format_cell(shallow)


def test_a_group_with_no_ok_run_shows_a_dash_and_the_count() -> None:
    summary = summarize(make_runs({("plain", 56): ["diverged", "diverged"]}))
    cell = format_cell(row(summary, "plain", 56), sep=" ")
    assert cell == "— diverged 2/2"


def test_the_degradation_is_marked_where_a_deeper_net_is_worse() -> None:
    summary = summarize(make_runs(PAPER))
    marked = {(r["arch"], r["depth"]) for _, r in summary.iterrows() if r["worse"]}
    assert marked == {("plain", 20), ("plain", 56)}


def test_a_deeper_net_worse_than_a_non_adjacent_shallower_one_is_marked() -> None:
    runs = make_runs(
        {
            ("residual", 8): [0.10, 0.11, 0.09],
            ("residual", 20): [0.020, 0.021, 0.019],
            ("residual", 56): [0.050, 0.051, 0.049],
        }
    )
    summary = summarize(runs)
    assert row(summary, "residual", 56)["worse"]  # worse than 20, though better than 8
    assert not row(summary, "residual", 20)["worse"]


def test_noise_over_seeds_is_not_marked() -> None:
    # residual-56 at 0.016 ± 0.019 against 0.011 at depth 8: a higher mean, no evidence.
    runs = make_runs(
        {("residual", 8): [0.010, 0.011, 0.012], ("residual", 56): [0.002, 0.008, 0.038]}
    )
    assert not row(summarize(runs), "residual", 56)["worse"]
    same = make_runs({("residual", 8): [0.0, 0.0, 0.0], ("residual", 20): [0.0, 0.0, 0.0]})
    assert not row(summarize(same), "residual", 20)["worse"]


def test_a_single_seed_is_never_marked() -> None:
    runs = make_runs({("plain", 8): [0.01], ("plain", 56): [0.8]})
    assert not row(summarize(runs), "plain", 56)["worse"]  # check calls it inconclusive too


def test_header_names_the_options_that_matter() -> None:
    plain = header_line(describe(make_runs(PAPER)))
    assert plain == "hand · mnist1d · conv1d width 8 · batch_norm · shortcut A · 10 epochs"
    zero = header_line(describe(make_runs(PAPER, **{"model.zero_init_residual": True})))
    assert "zero_init_residual" in zero
    no_bn = header_line(describe(make_runs(PAPER, **{"model.batch_norm": False})))
    assert "no batch_norm" in no_bn


def test_status_line_counts_every_status_and_the_time() -> None:
    runs = make_runs({("plain", 8): [0.1, "diverged", "failed", "oom"]})
    counts = status_counts(runs)
    assert counts == {"runs": 4, "ok": 1, "diverged": 1, "failed": 1, "oom": 1, "seconds": 6.0}
    assert status_line(counts) == (
        "4 runs: 1 ok · 1 diverged · 1 failed · 1 oom · 6 s of training (sum of run times)"
    )


# --------------------------------------------------------------------------- the command


def report(*args: str):
    return runner.invoke(app, ["report", *args])


@pytest.fixture
def results(tmp_path: Path) -> Path:
    runs = make_runs({**PAPER, ("plain", 56): [0.7, 0.8, "diverged"]})
    return write_results(tmp_path / "hand", runs, claims=None)


def test_report_table_shows_both_metrics_marks_and_status_in_80_columns(results: Path) -> None:
    result = report(str(results))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "hand · mnist1d · conv1d width 8" in out
    assert "train_error by depth" in out and "test_error by depth" in out
    assert "0.750 ± 0.071 (2) ▲" in out and "diverged 1/3" in out
    assert "res − plain" in out and "-0.744" in out
    assert "18 runs: 17 ok · 1 diverged · 0 failed" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_report_accepts_the_runs_csv_itself(results: Path) -> None:
    result = report(str(results / "runs.csv"), "--metric", "train_loss")
    assert result.exit_code == 0, result.output
    assert "train_loss by depth" in result.output and "test_error" not in result.output


def test_report_markdown_is_a_github_table(results: Path) -> None:
    result = report(str(results), "--format", "markdown")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("### resbench report: hand")
    assert "| depth | plain | residual | res − plain |" in lines
    assert "| 56 | 0.750 ± 0.071 (2) ▲ · diverged 1/3 | 0.006 ± 0.001 (3) | -0.744 |" in lines


def test_report_csv_is_one_row_per_metric_depth_and_arch(results: Path) -> None:
    result = report(str(results), "--format", "csv")
    assert result.exit_code == 0
    frame = pd.read_csv(io.StringIO(result.output))
    assert len(frame) == 2 * 6 and set(frame["metric"]) == {"train_error", "test_error"}
    deep = frame[(frame.metric == "train_error") & (frame.arch == "plain") & (frame.depth == 56)]
    assert deep[["n", "n_ok", "diverged"]].values.tolist() == [[3, 2, 1]]


def test_report_json_parses_and_writes_missing_numbers_as_null(tmp_path: Path) -> None:
    runs = make_runs({("plain", 8): [0.1], ("plain", 20): ["diverged"]})
    write_results(tmp_path / "r", runs, claims=None)
    result = report(str(tmp_path / "r"), "-f", "json")
    assert result.exit_code == 0
    (data,) = json.loads(result.output)
    rows = {r["depth"]: r for r in data["metrics"]["train_error"]}
    assert rows[8]["std"] is None and rows[20]["mean"] is None and rows[20]["diverged"] == 1
    assert data["status"]["diverged"] == 1 and data["header"]["sweep"] == "hand"


def test_report_defaults_to_the_newest_results_but_never_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_results(tmp_path / "results" / "old", make_runs(PAPER, sweep="old"), None)
    new = write_results(tmp_path / "results" / "new", make_runs(PAPER, sweep="new"), None)
    # Reference results, newer than both: a sweep's folder under results/reference/, and
    # results/reference itself holding a runs.csv (as a copied results folder would).
    nested = tmp_path / "results" / "reference" / "ref"
    write_results(nested, make_runs(PAPER, sweep="ref"), None)
    top = write_results(tmp_path / "results" / "reference", make_runs(PAPER, sweep="top"), None)
    os.utime(old / "runs.csv", (1e9, 1e9))
    os.utime(new / "runs.csv", (2e9, 2e9))
    os.utime(nested / "runs.csv", (3e9, 3e9))
    os.utime(top / "runs.csv", (4e9, 4e9))
    monkeypatch.chdir(tmp_path)
    result = report("-f", "markdown")
    assert result.exit_code == 0, result.output
    assert "report: new" in result.output


def test_report_without_results_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = report()
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: no results under results/")
    assert len(result.output.strip().splitlines()) == 1


def test_report_unknown_metric_is_exit_2_naming_the_valid_ones(results: Path) -> None:
    result = report(str(results), "--metric", "accuracy")
    assert result.exit_code == 2
    assert "unknown metric 'accuracy'" in result.output and "train_error" in result.output
    assert "Traceback" not in result.output


def test_report_of_an_empty_runs_table_is_exit_2(tmp_path: Path) -> None:
    write_results(tmp_path / "r", make_runs(PAPER).iloc[:0], claims=None)
    result = report(str(tmp_path / "r"))
    assert result.exit_code == 2 and "no runs to report" in result.output


def test_report_a_file_that_is_not_a_runs_table_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "runs.csv"
    bad.write_text("a,b\n1,2\n")
    result = report(str(bad))
    assert result.exit_code == 2 and "not a runs table" in result.output
