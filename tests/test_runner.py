"""The library runner: a sweep run from Python returns its `Results`, reports what it does as
events, and stops cleanly (records kept, the same call resumes) on Ctrl-C or a forced rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TINY_SWEEP

import resbench
from resbench import ResbenchError
from resbench.executors.events import RunFinished, RunStarted, SweepEnded, SweepStarted
from resbench.results import Results
from resbench.runner import Interrupted
from resbench.sweep.load import parse_sweep

INLINE = {"name": "inline"}


def test_run_returns_results_with_frames_summaries_and_checks(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    events: list[object] = []
    results = resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, on_event=events.append)
    assert isinstance(results, Results) and results.path == tmp_path / "tiny"
    assert len(results.runs) == 8 and set(results.runs["status"]) == {"ok"}
    assert set(results.curves["run_id"]) == set(results.runs["run_id"])
    summary = results.summary("train_error")
    assert sorted(summary["depth"].unique()) == [8, 14] and (summary["n"] == 2).all()
    with pytest.raises(ResbenchError, match="nothing to check"):
        results.check()  # the tiny sweep makes no claims
    assert isinstance(events[0], SweepStarted) and events[0].todo == 8
    assert isinstance(events[-1], SweepEnded) and events[-1].done == 8
    assert sum(isinstance(e, RunFinished) for e in events) == 8
    assert sum(isinstance(e, RunStarted) for e in events) == 8


def test_a_second_run_trains_nothing_and_returns_the_same_table(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    first = resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, progress=False)
    events: list[object] = []
    again = resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, on_event=events.append)
    assert [type(e) for e in events] == [SweepStarted, SweepEnded]
    assert again.runs["train_error"].tolist() == first.runs["train_error"].tolist()


def test_overrides_and_presets_as_on_the_command_line(tmp_path: Path) -> None:
    results = resbench.run(
        "quick",
        out=tmp_path,
        overrides={"grid.depth": [8], "grid.seed": [0], "train.epochs": 1},
        executor=INLINE,
        progress=False,
    )
    assert len(results.runs) == 2 and set(results.runs["depth"]) == {8}
    kept = results.sweep_text or ""
    assert "grid.depth=[8]" in kept.splitlines()[0]  # the sweep as it ran, overrides said


def test_a_sweep_object_runs_as_it_is(tmp_path: Path) -> None:
    sweep = parse_sweep(TINY_SWEEP)
    results = resbench.run(sweep, out=tmp_path, executor=INLINE, progress=False)
    assert len(results.runs) == 8
    assert (tmp_path / "tiny" / "sweep.yaml").read_text().startswith("# <Sweep>")


def test_bad_input_is_one_error_before_anything_is_written(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(ResbenchError, match=r"train\.epochs"):
        resbench.run(tiny_sweep_file, out=tmp_path, overrides={"train.epochs": -1})
    with pytest.raises(ResbenchError, match="workers"):
        resbench.run(tiny_sweep_file, out=tmp_path, executor={"workers": 0})
    assert not (tmp_path / "tiny").exists()


def stop_after(n: int):
    """An event handler that presses Ctrl-C once `n` runs have finished."""
    finished = []

    def handler(event: object) -> None:
        if isinstance(event, RunFinished):
            finished.append(event)
            if len(finished) == n:
                raise KeyboardInterrupt

    return handler


def started_at(results: Results) -> dict[str, str]:
    return {r.run_id: r.started_at + str(r.seconds) for r in results.records()}


def test_an_interrupted_force_resumes_as_forced(tiny_sweep_file: Path, tmp_path: Path) -> None:
    first = resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, progress=False)
    before = started_at(first)
    with pytest.raises(Interrupted) as stop:
        resbench.run(
            tiny_sweep_file, out=tmp_path, executor=INLINE, force=True, on_event=stop_after(3)
        )
    assert stop.value.done == 3 and stop.value.left == 5
    middle = started_at(stop.value.results)
    redone = {r for r in middle if middle[r] != before[r]}
    assert len(redone) == 3
    # Without --force: the five the forced sweep had not redone are redone now, and only they.
    events: list[object] = []
    resumed = resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, on_event=events.append)
    (start,) = [e for e in events if isinstance(e, SweepStarted)]
    assert start.todo == 5 and any("--force: 5 runs still to redo" in n for n in start.notes)
    after = started_at(resumed)
    assert all(after[r] == middle[r] for r in redone)
    assert all(after[r] != before[r] for r in after)
    assert not (tmp_path / "tiny" / ".force").exists()
    # Done: a later run has nothing left to redo.
    events.clear()
    resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, on_event=events.append)
    assert [e.todo for e in events if isinstance(e, SweepStarted)] == [0]


def test_an_interrupt_keeps_the_records_and_writes_the_tables(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(Interrupted) as stop:
        resbench.run(tiny_sweep_file, out=tmp_path, executor=INLINE, on_event=stop_after(2))
    assert len(stop.value.results.records()) == 2
    assert len(stop.value.results.runs) == 2
    runs = tmp_path / "tiny" / "runs"
    assert all(json.loads(p.read_text())["status"] == "ok" for p in runs.glob("*.json"))
