"""Variants and claims' `where:` on runs.csv as the store writes it from records: a field that is
unset in some runs (null) and set in others, and fields whose values are lists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_SWEEP

from resbench.analysis.summary import report_data, summarize
from resbench.analysis.verdicts import evaluate_claims
from resbench.results import Results
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec, Sweep, SweepError
from resbench.train.run_result import RunResult
from resbench.views.text import report_markdown


def recorded(tmp_path: Path, sweep: Sweep, train_error: Callable[[RunSpec], float]) -> pd.DataFrame:
    """runs.csv of the sweep's runs, each recorded ok with `train_error(spec)`, read back."""
    store = Results(tmp_path / sweep.name)
    for spec in expand(sweep):
        error = train_error(spec)
        result = RunResult(
            run_id=spec.run_id, spec=spec, status="ok", train_error=error, test_error=error
        )
        store.save(result)
    store.export()
    return store.runs


def paper(spec: RunSpec) -> float:
    """Plain nets degrade with depth, residual nets do not; seeds differ a little."""
    base = 0.05 if spec.model.depth == 8 or spec.model.arch == "residual" else 0.5
    return base + 0.01 * spec.seed


def tiny(grid: str, claims: str = "") -> Sweep:
    return parse_sweep(TINY_SWEEP + grid + claims, "t.yaml")


# --------------------------------------------------------------------------- where:

WARMUP = "  train.warmup_lr: [null, 0.01]\n"
DIAGNOSTICS = "  train.diagnostics: [[], [grad_norms]]\n"


@pytest.mark.parametrize(
    ("grid", "where"),
    [
        (WARMUP, "{train.warmup_lr: null}"),  # the field unset
        (WARMUP, "{train.warmup_lr: 0.01}"),
        (WARMUP, "{train.warmup_lr: [0.01, 0.02]}"),  # any of these
        (WARMUP, "{train.warmup_lr: [null]}"),
        (DIAGNOSTICS, "{train.diagnostics: [grad_norms]}"),  # a list field's value
        (DIAGNOSTICS, "{train.diagnostics: []}"),
        (DIAGNOSTICS, "{train.diagnostics: [[grad_norms], [activations]]}"),  # any of these
    ],
)
def test_a_where_that_loads_selects_the_runs_it_names_at_check(
    tmp_path: Path, grid: str, where: str
) -> None:
    claims = f"expect:\n  - {{claim: degrades, arch: plain, min_gap: 0.3, where: {where}}}\n"
    sweep = tiny(grid, claims)
    runs = recorded(tmp_path, sweep, paper)
    [outcome] = evaluate_claims(runs, sweep.expect)
    assert outcome.verdict == "PASS", outcome
    assert [g.n for g in outcome.groups] == [2, 2]  # the two seeds of one variant, not four


@pytest.mark.parametrize(
    ("grid", "where"),
    [
        (WARMUP, "{train.warmup_lr: 0.02}"),
        (WARMUP, "{train.warmup_lr: [0.02, 0.03]}"),
        (DIAGNOSTICS, "{train.diagnostics: [activations]}"),
        (DIAGNOSTICS, "{train.diagnostics: null}"),
    ],
)
def test_a_where_no_run_has_is_refused_at_load(grid: str, where: str) -> None:
    claims = f"expect:\n  - {{claim: degrades, arch: plain, where: {where}}}\n"
    with pytest.raises(SweepError, match=r"expect\[0\]\.where: no run of the sweep has"):
        tiny(grid, claims)


def test_a_claim_names_its_where_as_the_sweep_file_writes_it(tmp_path: Path) -> None:
    where = "{train.warmup_lr: [null, 0.02], model.batch_norm: true}"
    sweep = tiny(WARMUP, f"expect:\n  - {{claim: holds, arch: residual, where: {where}}}\n")
    [outcome] = evaluate_claims(recorded(tmp_path, sweep, paper), sweep.expect)
    assert "(train_error; warmup_lr [null, 0.02]; batch_norm true)" in outcome.text


# --------------------------------------------------------------------------- variants


def test_a_field_unset_in_some_runs_and_set_in_others_is_a_variant(tmp_path: Path) -> None:
    sweep = tiny(WARMUP, "expect:\n  - {claim: degrades, arch: plain}\n")
    runs = recorded(tmp_path, sweep, paper)
    summary = summarize(runs)
    assert list(summary.columns[:3]) == ["train.warmup_lr", "depth", "arch"]
    assert len(summary) == 2 * 2 * 2 and set(summary["n"]) == {2}  # never the 4 runs pooled
    [outcome] = evaluate_claims(runs, sweep.expect)
    assert outcome.verdict == "INCONCLUSIVE"
    assert "differ in train.warmup_lr" in outcome.note


def test_the_report_names_a_variant_whose_field_is_unset(tmp_path: Path) -> None:
    runs = recorded(tmp_path, tiny(WARMUP), paper)
    markdown = report_markdown(report_data(runs))
    assert "mean ± std (n) warmup_lr null" in markdown
    assert "mean ± std (n) warmup_lr 0.01" in markdown
