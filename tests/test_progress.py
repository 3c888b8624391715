"""The sweep view: live on a terminal, plain lines elsewhere, silent when quiet."""

from __future__ import annotations

import io

from conftest import TINY_SWEEP
from rich.console import Console

from resbench.executors import RunRetried, RunStarted, RunStep
from resbench.executors.events import RunRequeued, RunsQueued
from resbench.sweep.load import expand, parse_sweep
from resbench.train.run_result import RunResult
from resbench.views.progress import SweepView


def show(console: Console) -> str:
    spec = expand(parse_sweep(TINY_SWEEP))[0]
    killed = RunResult(run_id=spec.run_id, spec=spec, status="killed", error="worker died [x]")
    ok = RunResult(run_id=spec.run_id, spec=spec, status="ok", train_error=0.25, test_error=0.5)
    with SweepView(console, total=1) as view:
        view.on_event(RunStarted(0, "cpu", spec, 1))
        view.on_event(RunStep(0, spec, 3, 8, 1.234))
        view.on_event(RunRetried(0, killed, 1))
        view.on_event(RunStarted(1, "cpu", spec, 2))
        view.on_event(RunStep(1, spec, 8, 8, 0.5))
        view.finished(ok)
        assert view.done == 1 and view.counts == {"ok": 1} and not view.running
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_plain_lines_when_not_a_terminal() -> None:
    out = show(Console(file=io.StringIO(), force_terminal=False, width=120))
    lines = out.splitlines()
    assert any("start" in line and "plain-8 seed 0" in line and "#0 cpu" in line for line in lines)
    assert any(
        "killed" in line and "worker died [x]" in line and "attempt 2" in line for line in lines
    )
    assert any(line.startswith("[1/1]") and "ok" in line and "0.2500" in line for line in lines)


def test_live_view_has_a_line_per_busy_slot_and_counts_by_status() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    spec = expand(parse_sweep(TINY_SWEEP))[0]
    with SweepView(console, total=2) as view:
        assert view.progress is not None
        view.on_event(RunStarted(1, "gpu 0", spec, 1))
        view.on_event(RunStep(1, spec, 3, 8, 1.234))
        sweep, slot = view.progress.tasks
        assert "#1 gpu 0" in slot.description and "plain-8 seed 0" in slot.description
        assert (slot.completed, slot.total, slot.fields["info"]) == (3, 8, "loss 1.2340")
        assert sweep.completed == 3 / 8  # a running run counts by its fraction done
        view.finished(RunResult(run_id=spec.run_id, spec=spec, status="failed", error="x"))
        assert not slot.visible and sweep.completed == 1 and "failed 1" in sweep.fields["info"]
    assert "failed" in console.file.getvalue()  # the result line printed above the bars


def test_quiet_shows_nothing() -> None:
    assert show(Console(file=io.StringIO(), quiet=True)) == ""


def test_a_schedulers_queue_and_a_requeued_run_are_shown() -> None:
    spec = expand(parse_sweep(TINY_SWEEP))[0]
    plain = Console(file=io.StringIO(), force_terminal=False, width=120)
    view = SweepView(plain, total=8)
    view.on_event(RunsQueued(8))
    view.on_event(RunStarted(0, "slurm node3", spec, 1))
    view.on_event(RunsQueued(7))  # fewer waiting: no new line
    view.on_event(RunRequeued(0, spec, "slurm node3"))
    lines = plain.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [line for line in lines if "queued" in line and "requeued" not in line] == [
        "  queued 8 run(s) with the scheduler"
    ]
    assert any(
        "requeued" in line and "plain-8 seed 0" in line and "node3" in line for line in lines
    )
    assert not view.running

    live = Console(file=io.StringIO(), force_terminal=True, width=160)
    with SweepView(live, total=8) as view:
        assert view.progress is not None
        view.on_event(RunsQueued(6))
        view.on_event(RunStarted(0, "slurm node3", spec, 1))
        sweep = view.progress.tasks[0]
        assert "queued 6" in sweep.fields["info"] and "running 1" in sweep.fields["info"]
