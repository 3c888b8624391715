"""The store: atomic records, resume, and tidy CSVs rebuilt from the records."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from conftest import TINY_SWEEP

from resbench.results import Results
from resbench.sweep.load import expand, parse_sweep
from resbench.train.run import train_run
from resbench.train.run_result import RunResult


def results(n: int = 2) -> list[RunResult]:
    specs = expand(parse_sweep(TINY_SWEEP))[:n]
    return [train_run(s) for s in specs]


def test_record_round_trips(tmp_path: Path) -> None:
    store = Results(tmp_path)
    (r,) = results(1)
    path = store.save(r)
    assert path == tmp_path / "runs" / f"{r.run_id}.json"
    (back,) = store.records()
    assert back.spec == r.spec and back.train_error == r.train_error
    assert back.curve == r.curve and back.status == "ok"
    record = json.loads(path.read_text())
    assert record["spec"]["model"]["arch"] == r.spec.model.arch and "env" in record


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = Results(tmp_path)
    for r in results(2):
        store.save(r)
        store.save(r)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(
        f"{r.run_id}.json" for r in results(2)
    )


def test_todo_skips_recorded_runs_and_retries_failed_on_request(tmp_path: Path) -> None:
    store = Results(tmp_path)
    specs = expand(parse_sweep(TINY_SWEEP))
    done = train_run(specs[0])
    failed = done.model_copy(update={"run_id": specs[1].run_id, "status": "failed"})
    store.save(done)
    store.save(failed)
    assert store.todo(specs)[0] == specs[2:]
    assert store.todo(specs, retry_failed=True)[0] == specs[1:]
    assert store.todo(specs, force=True)[0] == specs


def test_an_unreadable_record_is_redone(tmp_path: Path) -> None:
    store = Results(tmp_path)
    specs = expand(parse_sweep(TINY_SWEEP))
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / f"{specs[0].run_id}.json").write_text("{ half a rec")
    assert store.todo(specs)[0] == specs


def test_export_writes_tidy_runs_and_curves(tmp_path: Path) -> None:
    store = Results(tmp_path)
    rs = results(2)
    for r in rs:
        store.save(r)
    _, curves_csv = store.export()  # runs.csv, curves.csv: no diagnostics, no layers.csv
    runs = Results.open(tmp_path).runs
    assert list(runs.columns[:8]) == [
        "run_id",
        "sweep",
        "dataset",
        "family",
        "arch",
        "depth",
        "width",
        "seed",
    ]
    for column in (
        "status",
        "train_error",
        "test_error",
        "train_loss",
        "epochs",
        "steps",
        "seconds",
        "samples_per_s",
        "device",
        "train.lr",
        "model.batch_norm",
    ):
        assert column in runs.columns, column
    assert sorted(runs["run_id"]) == sorted(r.run_id for r in rs)
    curves = pd.read_csv(curves_csv)
    assert list(curves.columns) == [
        "run_id",
        "arch",
        "depth",
        "seed",
        "step",
        "epoch",
        "split",
        "metric",
        "value",
    ]
    assert len(curves) == sum(len(r.curve) for r in rs) * 4
    assert set(curves["split"]) == {"train", "test"} and set(curves["metric"]) == {"loss", "error"}
    first = rs[0]
    row = curves[
        (curves.run_id == first.run_id)
        & (curves.step == first.curve[-1].step)
        & (curves.split == "test")
        & (curves.metric == "error")
    ]
    assert row["value"].item() == first.curve[-1].test_error


def test_export_can_be_limited_to_the_current_sweep(tmp_path: Path) -> None:
    store = Results(tmp_path)
    rs = results(2)
    for r in rs:
        store.save(r)
    store.export([rs[1].run_id])
    assert list(Results.open(tmp_path).runs["run_id"]) == [rs[1].run_id]


def test_records_are_readable_as_the_umask_allows(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        path = Results(tmp_path).save(results(1)[0])
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
