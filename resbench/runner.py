"""Running a sweep, from a script or a notebook as from the command line: `run(...) -> Results`.

    import resbench
    results = resbench.run("quick", overrides={"grid.seed": [0, 1]})
    results.summary("train_error")

The steps: load and validate the sweep (one-line `ResbenchError`s), expand its runs, take the
results folder's lock, keep the sweep beside its results, read the records there (migrating
older formats, keeping newer ones, setting aside unreadable ones: said in notes before any run
starts), fetch missing dataset files, measure the machine's peaks while it is quiet, hand the
runs that have no usable record to the executor, save each result as it comes, and rebuild the
tables. Nothing fails after the training: a record that cannot be written stops the sweep at
once with every finished record kept (`StorageFailed`); a Ctrl-C does the same
(`Interrupted`); the same call again does the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.arguments import (
    require_callable,
    require_count,
    require_flag,
    require_flag_or_none,
    require_instance,
    require_mapping,
    require_path,
)
from resbench.core.atomic import writing
from resbench.core.errors import ResbenchError
from resbench.executors.events import (
    Event,
    EventHandler,
    Message,
    RunFinished,
    SweepEnded,
    SweepStarted,
)
from resbench.results import DEFAULT_ROOT, Results
from resbench.sweep.size import MAX_RUNS

if TYPE_CHECKING:
    import pandas as pd

    from resbench.sweep.schema import ExecutorSection, RunSpec, Sweep

SWEEP_ARGUMENT = "a sweep file, a preset's name, or a Sweep (resbench.load_sweep(...))"


class SweepStopped(Exception):
    """The sweep stopped before every run was done; what was recorded is kept.

    `results` holds the records made so far (the tables include them when they could be
    written); `done` runs finished, `left` were not done. Running the same sweep again does
    the rest.
    """

    def __init__(self, message: str, results: Results, done: int, left: int) -> None:
        super().__init__(message)
        self.results, self.done, self.left = results, done, left


class Interrupted(SweepStopped, KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, from the command line) stopped the sweep."""


class StorageFailed(SweepStopped, ResbenchError):
    """A record could not be written (a full disk, a folder gone): the sweep stopped at once
    (exit code 3, as for any place that cannot be written)."""

    exit_code = 3


@dataclass(frozen=True)
class Plan:
    """A loaded sweep, ready to run: what `run` does before it trains anything."""

    sweep: Sweep
    specs: list[RunSpec]
    results: Results
    text: str  # the sweep as it will run (overrides included), kept beside its results


def run(
    sweep: str | Path | Sweep = "quick",
    *,
    out: str | Path = DEFAULT_ROOT,
    overrides: Mapping[str, Any] | None = None,
    executor: Mapping[str, Any] | None = None,
    force: bool = False,
    retry_failed: bool = False,
    data_dir: str | Path | None = None,
    download: bool = False,
    max_runs: int | None = MAX_RUNS,
    on_event: EventHandler | None = None,
    progress: bool | None = None,
) -> Results:
    """Run every run of `sweep` that has no usable record yet under `out`; return its results.

    `sweep`: a sweep file, a preset's name, or a `Sweep` (`resbench.load_sweep`).
    `overrides`: dotted keys to values, as the command line's `-s` (`{"train.epochs": 5,
    "grid.seed": [0, 1]}`). `executor`: the `executor:` section's fields to override
    (`{"name": "inline"}`, `{"workers": 2}`, `{"name": "ray", "address": "auto"}`). `force`
    reruns every run (an interrupted forced sweep resumes as forced); `retry_failed` reruns
    failed, oom, killed and timed-out ones. `data_dir` holds the dataset's files; `download` fetches
    missing ones. A sweep of more than `max_runs` runs is refused before any is made.

    Every event (`resbench.executors.events`) goes to `on_event`. `progress` shows them as
    `resbench run` does (a live view in a terminal or a notebook, lines elsewhere); by default
    it is on when no `on_event` is given.

    Raises `ResbenchError` (bad input, an argument of the wrong kind included, before anything
    runs), `Interrupted` (Ctrl-C) and `StorageFailed`; both of the latter carry the results
    recorded so far.
    """
    from resbench.sweep.schema import Sweep

    require_instance("sweep", sweep, (str, os.PathLike, Sweep), SWEEP_ARGUMENT)
    out = require_path("out", out)  # type: ignore[assignment]
    overrides = require_mapping("overrides", overrides, '{"train.epochs": 5}')
    executor = require_mapping("executor", executor, '{"workers": 2}')
    force, retry_failed = require_flag("force", force), require_flag("retry_failed", retry_failed)
    data_dir, download = (
        require_path("data_dir", data_dir, True),
        require_flag("download", download),
    )
    max_runs = require_count("max_runs", max_runs, optional=True)
    on_event = require_callable("on_event", on_event)
    progress = require_flag_or_none("progress", progress)
    plan = prepare(sweep, out, overrides, data_dir, download, max_runs)
    settings = plan.sweep.executor.override(as_fields=True, **executor)
    return execute(plan, settings, force, retry_failed, _handler(on_event, progress))


def prepare(
    sweep: str | Path | Sweep,
    out: str | Path = DEFAULT_ROOT,
    overrides: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
    download: bool = False,
    max_runs: int | None = MAX_RUNS,
) -> Plan:
    """Load and validate `sweep` with its overrides and expand its runs: every input error is
    raised here, as one line, before anything is written or trained."""
    from resbench.data import file_overrides
    from resbench.sweep.load import dump_sweep, expand, load_sweep, resolve
    from resbench.sweep.schema import Sweep

    given = dict(overrides or {})
    if isinstance(sweep, Sweep):
        if given or data_dir is not None or download:
            raise ResbenchError(
                "overrides, data_dir and download apply to a sweep file or preset; "
                "a Sweep is used as it is"
            )
        loaded, source = sweep, "<Sweep>"
    else:
        loaded, source = load_sweep(sweep, given, max_runs), str(sweep)
        if data_dir is not None or download:
            root = str(data_dir) if data_dir is not None else None
            given |= file_overrides(loaded.dataset, root, download)
            loaded = load_sweep(sweep, given, max_runs)
    if isinstance(sweep, Sweep) or given:
        text = dump_sweep(loaded, source, given)
    else:
        text = resolve(source).read_text(encoding="utf-8-sig")
    return Plan(loaded, expand(loaded), Results(Path(out) / loaded.name), text)


def execute(
    plan: Plan,
    settings: ExecutorSection,
    force: bool = False,
    retry_failed: bool = False,
    on_event: EventHandler | None = None,
) -> Results:
    """Run `plan`'s runs that need running, with the executor `settings` describe; with a
    seed budget, in rounds until its claims are decided (`rounds`)."""
    if plan.sweep.seeds is not None:
        return rounds(plan, settings, force, retry_failed, on_event)
    return _execute(plan, settings, force, retry_failed, on_event)


def rounds(
    plan: Plan,
    settings: ExecutorSection,
    force: bool = False,
    retry_failed: bool = False,
    on_event: EventHandler | None = None,
) -> Results:
    """A sweep with a seed budget: seeds 0..min-1 of every group, then round by round the next
    seeds of the groups whose claims are undecided (`resbench.analysis.sequential`), until every
    claim is decided or its groups have the maximum. Which runs a round needs is replayed from
    the records, so the same call again runs nothing; with `force`, only records made by this
    call count."""
    import json

    from resbench.analysis.sequential import describe_round, group_keys, replay

    emit = on_event or _ignore
    budget = plan.sweep.seeds
    assert budget is not None
    by_group: dict[str, dict[int, RunSpec]] = {}  # a group's specs by seed, by its seedless spec
    for spec in plan.specs:
        seedless = spec.model_dump(mode="json", exclude={"seed", "sweep"})
        by_group.setdefault(json.dumps(seedless, sort_keys=True), {})[spec.seed] = spec
    emit(
        Message(
            f"seeds until decided: seeds 0-{budget.min - 1} of every group, then the next "
            f"seeds, up to {budget.max}, where a claim is still undecided"
        )
    )
    wanted = [spec for specs in by_group.values() for s, spec in specs.items() if s < budget.min]
    handled: set[str] = set()
    shown = 0
    while new := [s for s in wanted if s.run_id not in handled]:
        try:
            _execute(replace(plan, specs=new), settings, force, retry_failed, on_event)
        except SweepStopped as e:
            _export(e.results, wanted)  # the tables hold every round's runs, not the last's
            raise
        handled |= {s.run_id for s in new}
        runs = _export(plan.results, wanted)
        state = replay(
            runs[runs["run_id"].isin(handled)] if force else runs, list(plan.sweep.expect), budget
        )
        for round_ in state.rounds[shown:]:
            for line in describe_round(round_, state.labels):
                emit(Message(line))
        shown = len(state.rounds)
        key_of = dict(zip(runs["run_id"], group_keys(runs), strict=True))
        wanted = []
        for specs in by_group.values():
            key = next((key_of[s.run_id] for s in specs.values() if s.run_id in key_of), None)
            n = state.seeds.get(key, budget.min) if key is not None else budget.min
            wanted += [spec for seed, spec in specs.items() if seed < n]
    return plan.results


def _export(results: Results, specs: list[RunSpec]) -> pd.DataFrame:
    """The tables of `specs`' records, rebuilt; their runs table."""
    try:
        results.export(s.run_id for s in specs)
    except OSError as e:
        why = f"{results.path}: cannot write the tables: {_why(e)}"
        raise StorageFailed(why, results, 0, 0) from None
    return results.runs


def _execute(
    plan: Plan,
    settings: ExecutorSection,
    force: bool = False,
    retry_failed: bool = False,
    on_event: EventHandler | None = None,
) -> Results:
    """Run `plan`'s runs that need running, with the executor `settings` describe."""
    from resbench.executors import require_executor

    emit = on_event or _ignore
    results, specs = plan.results, plan.specs
    # Before the sweep is saved or any dataset fetched (and on SLURM, before anything is
    # submitted: options sbatch refuses, a results folder the nodes cannot write to).
    executor_notes = require_executor(settings, device_of(specs), results.path)
    with results.lock():
        with writing(results.path):
            todo, scan = results.todo(specs, force=force, retry_failed=retry_failed)
        # Missing files are one error now, before a run or the folder's records: not one failed
        # run each; downloads happen once.
        for options in {s.dataset.model_dump_json(): s.dataset for s in todo}.values():
            options.ensure_files(report=lambda line: emit(Message(line)))
        with writing(results.path):
            results.runs_dir.mkdir(exist_ok=True)  # a file there: one line before any run
            results.save_sweep(plan.text)
            results.set_aside(scan.redo)
            # A stop between a record's write and its checkpoint's removal leaves the latter.
            results.discard_stale_checkpoints({s.run_id for s in todo})
            if force:
                results.discard_checkpoints(s.run_id for s in todo)
                results.ledger.begin(s.run_id for s in todo)
        results.notes = executor_notes + scan.notes
        notes = tuple(results.notes)
        emit(SweepStarted(plan.sweep.name, results.path, len(specs), len(todo), notes))
        tally = _Tally()
        try:
            _run_all(settings, specs, todo, results, emit, tally)
        finally:
            stopped = "interrupted" if tally.interrupted else tally.storage
            emit(SweepEnded(tally.done, len(todo) - tally.done, stopped))
        left = len(todo) - tally.done
        if tally.storage is None:
            results.ledger.end()
            try:
                results.export(s.run_id for s in specs)
            except OSError as e:
                tally.storage = f"the tables: {_why(e)}"
    if tally.storage is not None:
        raise StorageFailed(
            f"{results.path}: cannot write {tally.storage}; "
            f"{tally.done} finished run(s) recorded, {left} left",
            results,
            tally.done,
            left,
        )
    if tally.interrupted:
        raise Interrupted(
            f"interrupted: {tally.done} finished run(s) kept in {results.runs_dir}, {left} left",
            results,
            tally.done,
            left,
        )
    return results


@dataclass
class _Tally:
    """How the runs went: how many finished, and what stopped them early, if anything."""

    done: int = 0
    interrupted: bool = False
    storage: str | None = None  # why a record could not be written


def _run_all(
    settings: ExecutorSection,
    specs: list[RunSpec],
    todo: list[RunSpec],
    results: Results,
    emit: EventHandler,
    tally: _Tally,
) -> None:
    """Run `todo`, the longest first, saving each result as it comes. A Ctrl-C, or a record
    that cannot be written, ends the running workers (their checkpoints stay) and returns."""
    from resbench.executors import TRAIN_RUN, make_executor, measure_peaks
    from resbench.executors.order import longest_first

    try:
        if todo:
            measure_peaks(settings, device_of(todo), {s.train.precision for s in todo})
        pool = make_executor(settings, device_of(specs), emit, results.jobs_dir)
        stream = pool.map(results.checkpointed(TRAIN_RUN), longest_first(todo))
        try:
            for result in stream:
                try:
                    results.save(result)
                except OSError as e:
                    tally.storage = f"a record: {_why(e)}"
                    return
                tally.done += 1
                emit(RunFinished(result))
        finally:
            stream.close()  # after a stop: ends the running workers
    except KeyboardInterrupt:
        tally.interrupted = True


def device_of(specs: list[RunSpec]) -> str:
    """The device that sizes the executor: a GPU when any run may use one."""
    devices = {s.train.device for s in specs}
    return next((d for d in ("cuda", "auto", "mps") if d in devices), "cpu")


def _handler(on_event: EventHandler | None, progress: bool | None) -> EventHandler | None:
    """The handler `run` feeds: the caller's, the progress view's, or both."""
    if progress is False or (progress is None and on_event is not None):
        return on_event
    from resbench.views.progress import SweepView

    view = SweepView.default()
    if on_event is None:
        return view.on_event

    def both(event: Event) -> None:
        view.on_event(event)
        on_event(event)

    return both


def _ignore(event: Event) -> None:
    pass


def _why(e: OSError) -> str:
    return e.strerror or str(e)
