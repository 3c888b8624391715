"""What a sweep shows while its runs execute: a live view in a terminal or a notebook, lines
elsewhere. It is driven by the sweep's events alone (`resbench.executors.events`).

In a terminal, and in Jupyter (with ipywidgets, as rich needs there): the sweep's header and
notes, then one bar for the sweep (done/total, elapsed, ETA, counts by status, and on a
cluster's scheduler the runs queued and running) and a line per busy slot with the run it is
on, its step and loss; each result is printed above them as it comes. Elsewhere (CI logs,
pipes, a notebook without ipywidgets): one plain line per start, retry and result. With a quiet
console: nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from resbench.core.names import markup
from resbench.executors.events import (
    Message,
    RunFinished,
    RunRequeued,
    RunRetried,
    RunsQueued,
    RunStarted,
    RunStep,
    SweepEnded,
    SweepStarted,
)

if TYPE_CHECKING:
    from rich.console import Console

    from resbench.executors import Event
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import RunResult

STATUS_STYLE = {"ok": "green", "diverged": "yellow"}  # every other status is a problem: red


class SweepView:
    """Shows a sweep's progress; feed it the sweep's events (`on_event`)."""

    def __init__(self, console: Console, total: int = 0, live: bool | None = None) -> None:
        self.console, self.total = console, total
        self.live = live_capable(console) if live is None else live
        self.done = 0
        self.queued = 0  # runs waiting in a cluster scheduler's queue
        self.counts: Counter[str] = Counter()
        self.running: dict[int, tuple[RunSpec, float]] = {}  # slot -> (run, fraction done)
        self.progress: Progress | None = None
        self.slot_tasks: dict[int, TaskID] = {}

    def __enter__(self) -> SweepView:
        self.start_live()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_live()

    def start_live(self) -> None:
        """Start the live view, where there is one to show."""
        if self.progress is None and self.live and not self.console.quiet:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.sweep_task = self.progress.add_task("[bold]runs[/]", total=self.total, info="")

    def stop_live(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    @classmethod
    def default(cls) -> SweepView:
        """A view on standard error, or in the notebook the code runs in."""
        from rich.console import Console

        return cls(Console(stderr=True))

    # ---- the sweep's events
    def on_event(self, event: Event) -> None:
        if isinstance(event, SweepStarted):
            self.started(event)
            return
        if isinstance(event, SweepEnded):
            self.stop_live()
            return
        if isinstance(event, RunFinished):
            self.finished(event.result)
            return
        if isinstance(event, Message):
            self._log(markup(event.text))
            return
        if isinstance(event, RunStarted):
            self.running[event.slot] = (event.spec, 0.0)
            what = f"#{event.slot} {markup(event.where):<6} {markup(event.spec.label()):<22}"
            if event.attempt > 1:
                what += f" (attempt {event.attempt})"
            if self.progress is not None:
                self._slot_task(event.slot, reset=True, description=what, total=1, visible=True)
            else:
                label, where = markup(event.spec.label()), markup(event.where)
                self._log(f"   start {label:<22} on #{event.slot} {where}")
        elif isinstance(event, RunStep):
            self.running[event.slot] = (event.spec, event.step / max(1, event.total))
            if self.progress is not None:
                loss = "" if event.loss is None else f"loss {event.loss:.4f}"
                self._slot_task(event.slot, total=event.total, completed=event.step, info=loss)
        elif isinstance(event, RunsQueued):
            if self.progress is None and event.count > self.queued:
                self._log(f"  queued {event.count} run(s) with the scheduler")
            self.queued = event.count
        elif isinstance(event, RunRequeued):
            self.running.pop(event.slot, None)
            self._idle(event.slot)
            self._log(
                f"[yellow]requeued[/] {markup(event.spec.label()):<22} by the scheduler on "
                f"{markup(event.where)}: resumes from its checkpoint"
            )
        elif isinstance(event, RunRetried):
            self.running.pop(event.slot, None)
            self._idle(event.slot)
            r = event.result
            self._log(
                f"[red]{r.status:>8}[/] {markup(r.spec.label()):<22} {markup(r.error or '')}; "
                f"retrying (attempt {event.attempt + 1})"
            )
        self._update_sweep()

    def started(self, event: SweepStarted) -> None:
        """The sweep's header and notes; the live view starts."""
        self.total, self.done = event.todo, 0  # a seed budget's rounds are sweeps of their own
        recorded = event.total - event.todo
        self._log(
            f"[bold]{markup(event.sweep)}[/]: {event.total} runs, {recorded} recorded, "
            f"{event.todo} to run → {markup(event.path)}"
        )
        for note in event.notes:
            self._log(f"[yellow]note:[/] {markup(note)}", soft_wrap=True)  # one line each
        if event.todo:
            self.start_live()

    def finished(self, result: RunResult) -> None:
        """Count `result` and print its line."""
        self.done += 1
        self.counts[result.status] += 1
        for slot, (spec, _) in list(self.running.items()):
            if spec.run_id == result.run_id:
                del self.running[slot]
                self._idle(slot)
        prefix = "" if self.progress is not None else f"[{self.done}/{self.total}] "
        self._log(prefix + result_line(result))
        self._update_sweep()

    # ---- rendering
    def _update_sweep(self) -> None:
        if self.progress is None:
            return
        partial = sum(fraction for _, fraction in self.running.values())
        counts = "  ".join(
            f"[{STATUS_STYLE.get(s, 'red')}]{s} {n}[/]" for s, n in sorted(self.counts.items())
        )
        if self.queued:
            counts = f"queued {self.queued}  running {len(self.running)}  " + counts
        self.progress.update(self.sweep_task, completed=self.done + partial, info=counts)

    def _idle(self, slot: int) -> None:
        if self.progress is not None and slot in self.slot_tasks:
            self.progress.update(self.slot_tasks[slot], visible=False)

    def _slot_task(self, slot: int, reset: bool = False, **fields: object) -> None:
        """Update the line of `slot`; `reset` starts its clock and bar again (a new run)."""
        assert self.progress is not None
        if slot not in self.slot_tasks:
            self.slot_tasks[slot] = self.progress.add_task("", total=1, info="", visible=False)
        task = self.slot_tasks[slot]
        if reset:
            self.progress.reset(task, **fields)  # type: ignore[arg-type]
        else:
            self.progress.update(task, **fields)  # type: ignore[arg-type]

    def _log(self, line: str, soft_wrap: bool = False) -> None:
        self.console.print(line, highlight=False, soft_wrap=soft_wrap)


def result_line(r: RunResult) -> str:
    """One run's outcome on one line: status, run, errors, time."""
    style = STATUS_STYLE.get(r.status, "red")
    line = f"[{style}]{r.status:>8}[/] {markup(r.spec.label()):<22}"
    if r.train_error is not None and r.test_error is not None:
        line += f" train {r.train_error:.4f}  test {r.test_error:.4f}"
    if r.error:
        line += f" {markup(r.error)}"
    if r.attempts > 1:
        line += f" (attempt {r.attempts})"
    return line + f"  {r.seconds:.1f}s"


def live_capable(console: Console) -> bool:
    """Whether `console` can show a live view: a terminal, or Jupyter with ipywidgets."""
    if console.is_jupyter:
        from importlib.util import find_spec

        return find_spec("ipywidgets") is not None
    return console.is_terminal
