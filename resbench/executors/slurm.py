"""The slurm executor: a sweep's runs as a SLURM job array, its records kept by the driver.

The driver (this process) writes each attempt at a run to a folder the cluster's nodes share
(`slurm_board`), submits a job array with `sbatch`, and reads back the results its tasks
write there; it records them itself, as with every executor. Each task takes runs from that
folder until none is left (`slurm_task`), so an array holds as many tasks as there are runs,
and where the cluster runs fewer at once the tasks that start take several runs each, paying
their start-up once; once every run is taken, the tasks still waiting are cancelled.

What SLURM does to tasks becomes the runs' results: squeue (every few seconds, one call for
every array) tells a task that ended without writing the result of the run it was on, and
how: at its time limit (`timeout`), for memory (`oom`), cancelled, failed, or its node lost
(`killed`, retried as the other executors retry). A task that SLURM requeues (a preemption,
`scontrol requeue`) starts again with the runs it held, each from its checkpoint.

A Ctrl-C cancels the arrays and waits for them to leave squeue; with `keep_jobs` it leaves
them running, and the same command later re-attaches: runs finished meanwhile are recorded,
runs under way are waited for, none runs twice. SLURM's commands are used directly (sbatch,
squeue, scancel, scontrol: `slurm_commands`), not through submitit: it tells job states through
sacct, which needs SLURM's accounting database, and it submits one pickled call per task, with
no way for a task to take several short runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resbench.executors import slurm_format
from resbench.executors.attempts import Attempt, Attempts, broken_result
from resbench.executors.events import EventHandler, Message, RunRequeued, RunsQueued
from resbench.executors.slurm_board import Claim, Session
from resbench.executors.slurm_commands import (
    DEFAULT_MAX_ARRAY,
    cancellable,
    max_array_size,
    scancel,
    squeue,
    submit,
)
from resbench.sweep import slurm_limits

if TYPE_CHECKING:
    from resbench.executors import RunFn
    from resbench.executors.events import Event
    from resbench.sweep.schema import ExecutorSection, RunSpec
    from resbench.train.run_result import RunResult

POLL_SECONDS = 0.5  # how often the shared folder is read for claims and results
SQUEUE_SECONDS = 3.0  # how often squeue is asked about the arrays
# A task that ended normally wrote every result it had; on NFS a file made on another node can
# take this long to show here (attribute caching).
GRACE_SECONDS = 30.0
KILLED_GRACE_SECONDS = 3.0  # the same, for the run a task was on when SLURM ended it
STOP_SECONDS = 60.0  # the longest a stop waits for cancelled tasks to leave squeue


class SlurmExecutor:
    """Runs specs as the tasks of SLURM job arrays, sharing `work_dir` with them."""

    def __init__(
        self,
        settings: ExecutorSection,
        work_dir: Path,
        device: str = "cpu",
        on_event: EventHandler | None = None,
    ) -> None:
        self.settings, self.work_dir, self.device = settings, Path(work_dir), device
        self.on_event = on_event

    def map(self, fn: RunFn, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Yield each run's final result as it comes; closing the iterator cancels the arrays
        (or, with keep_jobs after a Ctrl-C, leaves them to a later driver)."""
        if not specs:
            return
        limit = slurm_limits.time_seconds(self.settings.time or "infinite") or 0
        earlier = Session.all(self.work_dir)
        session = Session.create(self.work_dir, fn, self.settings.run_threads(), limit)
        board = _Board(self, session, earlier, Attempts(specs, self.settings.retries, self._emit))
        finished = False
        try:
            yield from board.run()
            finished = True
        finally:
            board.stop(finished, keep=self.settings.keep_jobs and not finished)

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)


@dataclass
class _Tracked:
    """An attempt the driver waits for: its item in a session, and what became of it."""

    session: Session
    name: str
    attempt: Attempt
    claim: Claim | None = None
    slot: int | None = None  # the view's line while it runs
    requeued: bool = False  # taken back by SLURM: announced again when its task runs
    ended_at: float | None = None  # when its task was first seen ended without its result


class _Board:
    """One `map` call's state: the sessions watched, the attempts in them, the tasks' states."""

    def __init__(
        self, executor: SlurmExecutor, session: Session, earlier: list[Session], attempts: Attempts
    ) -> None:
        self.x, self.session, self.attempts = executor, session, attempts
        self.sessions = [*earlier, session]
        self.tracked: dict[tuple[Path, str], _Tracked] = {}
        self.states: dict[str, slurm_format.Line] = {}  # task -> its line of squeue
        self.rest: list[slurm_format.Line] = []  # arrays' tasks not started yet
        self.asked_at = -float("inf")  # when squeue last answered (monotonic clock)
        self.asked_wall = 0.0  # the same, by the wall clock (claims are stamped with it)
        self.submitted_at = -float("inf")
        self.next_item = 0
        self.max_array = DEFAULT_MAX_ARRAY
        self.queued = -1
        self.claims: dict[Path, dict[str, Claim]] = {}  # per session, the claims read so far
        self.slots: set[int] = set()  # the view's lines held by running attempts
        self.broken = False  # some run ended without a result: keep the logs

    # ---------------------------------------------------------------- the loop
    def run(self) -> Iterator[RunResult]:
        self.max_array = max_array_size()
        self._refresh_states(force=True)
        yield from self._reattach()
        while self.attempts:
            while (attempt := self.attempts.take(0, "slurm", announce=False)) is not None:
                self._add(attempt)
            self._refresh_states()
            yield from self._settle()
            self._submit_if_idle()
            self._cancel_unneeded()
            self._report_queue()
            if self.attempts:
                time.sleep(POLL_SECONDS)

    def _add(self, attempt: Attempt, session: Session | None = None, name: str = "") -> _Tracked:
        """Track `attempt`: in an earlier session's item `name`, or as a new item of this one."""
        if session is None:
            session, name = self.session, f"{self.next_item:07d}"
            self.next_item += 1
            session.add(name, attempt.spec, attempt.number)
        tracked = _Tracked(session, name, attempt)
        self.tracked[(session.path, name)] = tracked
        return tracked

    def _reattach(self) -> Iterator[RunResult]:
        """Adopt the attempts earlier drivers left under way (keep_jobs, or a driver killed):
        per run, its latest item; one whose result is written is settled now."""
        for session in self.sessions[:-1]:
            latest = {}
            for item in session.items():
                if item.run_id not in latest or item.attempt > latest[item.run_id].attempt:
                    latest[item.run_id] = item
            for item in latest.values():
                attempt = self.attempts.adopt(item.run_id, item.attempt)
                if attempt is not None:
                    self._add(attempt, session, item.name)
        if any(t.session is not self.session for t in self.tracked.values()):
            n = len(self.tracked)
            self.x._emit(Message(f"re-attached to {n} run(s) that earlier SLURM tasks took"))
        yield from self._settle()

    # ---------------------------------------------------------------- what the tasks did
    def _settle(self) -> Iterator[RunResult]:
        """Settle every tracked attempt whose result is written, or whose task ended without it;
        announce the runs that started, and those SLURM took back."""
        by_session: dict[Path, list[_Tracked]] = {}
        for t in self.tracked.values():
            by_session.setdefault(t.session.path, []).append(t)
        for tracked in by_session.values():
            session = tracked[0].session
            done = session.finished()
            claims = session.claims(self.claims.setdefault(session.path, {}))
            latest: dict[str, int] = {}
            for claim in claims.values():
                latest[claim.task] = max(latest.get(claim.task, 0), claim.count)
            for t in tracked:
                t.claim = claims.get(t.name, t.claim)
                if t.name in done:
                    if t.slot is None and t.claim is not None:  # it ran between two looks
                        self._announce(t)
                    result = self._read(t)
                elif t.claim is None:
                    continue
                else:
                    self._follow(t)
                    result = self._lost(t, latest.get(t.claim.task) == t.claim.count)
                    if result is None:
                        continue
                del self.tracked[(session.path, t.name)]
                slot = t.slot if t.slot is not None else -1
                self._release(t)
                if (final := self.attempts.settle(slot, t.attempt, result)) is not None:
                    self.broken |= final.status not in ("ok", "diverged")
                    yield final

    def _read(self, t: _Tracked) -> RunResult:
        try:
            return t.session.result(t.name, t.attempt.spec)
        except (OSError, ValueError) as e:
            why = f"cannot read the result its SLURM task wrote: {e}"
            return broken_result(t.attempt.spec, "failed", why, device="slurm")

    def _follow(self, t: _Tracked) -> None:
        """Announce a claimed run as started, or as taken back by SLURM (requeued)."""
        assert t.claim is not None
        line = self.states.get(t.claim.task)
        state = line.state if line is not None else None
        where = f"slurm {t.claim.node}"
        if t.slot is None and not (t.requeued and state != "RUNNING"):
            if state in slurm_format.ENDED:
                return  # it ended before it was seen running: only its end is told
            self._announce(t)
        elif t.slot is not None and state in ("PENDING", "REQUEUED", "REQUEUE_HOLD"):
            self.x._emit(RunRequeued(t.slot, t.attempt.spec, where))
            self._release(t)
            t.requeued = True

    def _lost(self, t: _Tracked, latest: bool) -> RunResult | None:
        """The result of a claimed attempt whose task ended without writing one; None while
        its task lives, or while a late result may still show."""
        assert t.claim is not None
        task = t.claim.task
        line = self.states.get(task)
        if line is not None and line.state not in slurm_format.ENDED:
            return None
        if line is None and self.asked_wall < t.claim.at + SQUEUE_SECONDS:
            return None  # not shown yet; a task that ended long ago is no longer shown
        now = time.monotonic()
        if t.ended_at is None:
            t.ended_at = now
        state = line.state if line is not None else None
        wait = KILLED_GRACE_SECONDS if latest and state != "COMPLETED" else GRACE_SECONDS
        if now - t.ended_at < wait:
            return None
        log = t.session.log(task)
        status, error = slurm_format.verdict(state, self.x.settings, _tail(log)) if latest else (
            "failed", "its SLURM task went on to another run without writing this one's result"
        )  # fmt: skip
        result = broken_result(
            t.attempt.spec, status, f"{error} [task {task}, log {log}]",
            seconds=max(0.0, time.time() - t.claim.at), device="slurm",
        )  # fmt: skip
        result.env.update(slurm_task=task, slurm_node=t.claim.node)
        return result

    # ---------------------------------------------------------------- SLURM
    def _refresh_states(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.asked_at < SQUEUE_SECONDS:
            return
        arrays = sorted({a for s in self.sessions for a in s.arrays()})
        if not arrays:
            self.asked_at, self.asked_wall = time.monotonic(), time.time()
            return
        lines = squeue(arrays)
        if lines is None:
            return  # no answer (the controller busy or restarting): nothing concluded
        self.states = {line.job: line for line in lines if not line.pending_rest}
        self.rest = [line for line in lines if line.pending_rest]
        self.asked_at, self.asked_wall = time.monotonic(), time.time()

    def _alive(self, session: Session) -> bool:
        """Whether some task of `session` may still take a run: queued or running."""
        if self.submitted_at > self.asked_at and session is self.session:
            return True  # submitted since squeue last answered
        arrays = set(session.arrays())
        lines = [*self.states.values(), *self.rest]
        return any(line.array in arrays and line.state not in slurm_format.ENDED for line in lines)

    def _unclaimed(self, session: Session) -> list[_Tracked]:
        return [t for t in self.tracked.values() if t.session is session and t.claim is None]

    def _submit_if_idle(self) -> None:
        """Submit an array for this session's waiting attempts when no task of it is left to
        take them; move waiting attempts of earlier sessions whose tasks are gone here."""
        for session in self.sessions[:-1]:
            waiting = self._unclaimed(session)
            if waiting and not self._alive(session):
                for t in waiting:
                    del self.tracked[(session.path, t.name)]
                    (session.items_dir / f"{t.name}.pkl").unlink(missing_ok=True)
                    self._add(t.attempt)
        waiting = self._unclaimed(self.session)
        if waiting and not self._alive(self.session):
            tasks = min(len(waiting), self.max_array - 1)
            job = submit(self.session, self.x.settings, self.x.device, tasks)
            self.session.add_array(job)
            self.submitted_at = time.monotonic()

    def _cancel_unneeded(self) -> None:
        """Cancel the queued tasks no run is left for: every run of their session is taken.

        Only tasks still pending are cancelled (a task that started since squeue answered has
        taken a run), and never a requeued one, which holds the run it resumes."""
        held = {t.claim.task for t in self.tracked.values() if t.claim is not None}
        for session in self.sessions:
            if self._unclaimed(session):
                continue
            arrays = set(session.arrays())
            idle = [
                line
                for line in [*self.rest, *self.states.values()]
                if line.array in arrays and line.state == "PENDING" and line.job not in held
            ]
            if idle:
                scancel([cancellable(line) for line in idle], pending_only=True)
                self.rest = [line for line in self.rest if line not in idle]
                for line in idle:
                    self.states.pop(line.job, None)

    def _report_queue(self) -> None:
        waiting = sum(
            1 for t in self.tracked.values() if t.claim is None or (t.requeued and t.slot is None)
        )
        if waiting != self.queued:
            self.queued = waiting
            self.x._emit(RunsQueued(waiting))

    def _announce(self, t: _Tracked) -> None:
        """Report `t` as started, on the first of the view's lines no running attempt holds."""
        assert t.claim is not None
        t.slot = next(i for i in range(len(self.slots) + 1) if i not in self.slots)
        t.requeued = False
        self.slots.add(t.slot)
        self.attempts.announce(t.slot, f"slurm {t.claim.node}", t.attempt)

    def _release(self, t: _Tracked) -> None:
        if t.slot is not None:
            self.slots.discard(t.slot)
            t.slot = None

    # ---------------------------------------------------------------- the end
    def stop(self, finished: bool, keep: bool) -> None:
        """Cancel every array still queued or running (all its runs are settled, or the sweep
        was stopped), wait for them to leave squeue, and clear the work; or, with `keep` (a
        stop with keep_jobs), leave them to the next driver. After a finished sweep whose runs
        did not all end well, its session stays, with the tasks' logs, until the next."""
        arrays = sorted({a for s in self.sessions for a in s.arrays()})
        if keep:
            if arrays:
                self.x._emit(
                    Message(
                        f"left SLURM job(s) {', '.join(arrays)} queued or running (keep_jobs): "
                        "the same command re-attaches to them"
                    )
                )
            return
        if arrays:
            scancel(arrays)
            deadline = time.monotonic() + STOP_SECONDS
            while time.monotonic() < deadline:
                lines = squeue(arrays, states="active")
                if lines is not None and not lines:
                    break
                time.sleep(0.5)
        for session in self.sessions:
            if not (finished and self.broken and session is self.session):
                session.remove()
        with_sessions = self.x.work_dir
        if with_sessions.is_dir() and not any(with_sessions.iterdir()):
            with_sessions.rmdir()


def _tail(path: Path, size: int = 8192) -> str:
    """The end of the file at `path` ("" when it cannot be read)."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - size))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
