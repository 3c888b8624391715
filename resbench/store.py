"""The results directory of one sweep: a JSON record per run, its lock, and its checkpoints.

results/<sweep>/sweep.yaml          the sweep as last run (report and check read its claims)
results/<sweep>/runs/<run_id>.json  one record per finished run, written atomically
results/<sweep>/runs/<run_id>.ckpt  a run in progress, to resume from (gone once recorded)
results/<sweep>/runs.csv, curves.csv, layers.csv   derived from the records (`tables`)
results/<sweep>/.lock               held by the one `resbench run` writing here (an OS lock:
                                    it is freed when its process ends, however it ends)
results/<sweep>/.lock.pid           that process's pid, to name it to whoever is refused
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resbench import ResbenchError
from resbench.atomic import write_text
from resbench.provenance import git_commit
from resbench.result import MISSING
from resbench.tables import curves_frame, layers_frame, runs_frame

if TYPE_CHECKING:
    from resbench.result import Progress, RunResult
    from resbench.spec import RunSpec


class StoreLocked(ResbenchError):
    """Another live process is writing to the results directory."""


class Store:
    """One sweep's results directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.lock_path = self.path / ".lock"
        self.pid_path = self.path / ".lock.pid"

    # ---- one writer at a time
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for this process; refuse, naming the holder, while another holds it.

        The lock is the OS's (flock): a holder that dies (a crash, a kill -9) frees it with its
        last breath, so there is no stale lock to take over.
        """
        from filelock import FileLock, Timeout

        self.path.mkdir(parents=True, exist_ok=True)
        held = FileLock(str(self.lock_path), timeout=0)
        try:
            held.acquire()
        except Timeout:
            holder = lock_holder(self.pid_path)
            who = f"pid {holder}" if holder is not None else "its pid not yet written"
            raise StoreLocked(
                f"{self.path}: in use by another resbench run ({who}); "
                "wait for it to finish or stop it"
            ) from None
        try:
            write_text(self.pid_path, f"{os.getpid()}\n")
            yield
        finally:
            with suppress(OSError):
                self.pid_path.unlink()
            held.release()

    # ---- writing
    def save(self, result: RunResult) -> Path:
        """Write `result`'s record atomically (a reader sees the old or the new, whole).

        The run's checkpoint goes with it: a recorded run is never resumed.
        """
        if "git" not in result.env and (commit := git_commit()):
            result.env["git"] = commit
        target = self.runs_dir / f"{result.run_id}.json"
        write_text(target, result.model_dump_json(indent=1))
        self.checkpoint_path(result.run_id).unlink(missing_ok=True)
        return target

    def save_sweep(self, text: str) -> None:
        write_text(self.path / "sweep.yaml", text)

    # ---- checkpoints of runs in progress
    def checkpoint_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.ckpt"

    def checkpointed(self, fn: Callable[..., RunResult]) -> Checkpointed:
        """`fn` called with this store's checkpoint file for each run (picklable, for executors)."""
        return Checkpointed(fn, self.runs_dir)

    def discard_checkpoints(self, run_ids: Iterable[str]) -> None:
        """Forget the progress of `run_ids`, so that they start over (--force)."""
        for run_id in run_ids:
            self.checkpoint_path(run_id).unlink(missing_ok=True)

    # ---- reading
    def statuses(self) -> dict[str, str]:
        """run_id -> status of every record on disk."""
        out = {}
        for path in sorted(self.runs_dir.glob("*.json")):
            try:
                out[path.stem] = json.loads(path.read_text())["status"]
            except (OSError, ValueError, KeyError):
                continue  # an unreadable record counts as missing: the run is redone
        return out

    def results(self, run_ids: Iterable[str] | None = None) -> list[RunResult]:
        """The records on disk (only `run_ids`, in that order, when given)."""
        from pydantic import ValidationError

        from resbench.result import RunResult

        paths = (
            [self.runs_dir / f"{r}.json" for r in run_ids]
            if run_ids is not None
            else sorted(self.runs_dir.glob("*.json"))
        )
        out = []
        for path in paths:
            if not path.exists():
                continue
            try:
                out.append(RunResult.model_validate_json(path.read_text()))
            except (OSError, ValidationError) as e:
                raise ResbenchError(f"{path}: not a readable run record ({e})") from None
        return out

    def todo(
        self, specs: list[RunSpec], force: bool = False, retry_failed: bool = False
    ) -> list[RunSpec]:
        """The specs a run must still do: unrecorded ones; failed ones too with `retry_failed`."""
        if force:
            return list(specs)
        done = self.statuses()
        return [
            s for s in specs if s.run_id not in done or (retry_failed and done[s.run_id] in MISSING)
        ]

    # ---- derived tables
    def export(self, run_ids: Iterable[str] | None = None) -> list[Path]:
        """Rebuild the tables from the records (of `run_ids`, when given); the files written,
        runs.csv first. layers.csv only when some run recorded diagnostics (else an older one
        is removed: derived, it must not outlive its records)."""
        results = self.results(run_ids)
        written = [self.path / "runs.csv", self.path / "curves.csv"]
        write_text(written[0], runs_frame(results).to_csv(index=False))
        write_text(written[1], curves_frame(results).to_csv(index=False))
        layers_path = self.path / "layers.csv"
        if any(r.layers for r in results):
            write_text(layers_path, layers_frame(results).to_csv(index=False))
            written.append(layers_path)
        else:
            layers_path.unlink(missing_ok=True)
        return written


@dataclass(frozen=True)
class Checkpointed:
    """Calls `fn(spec, progress=..., checkpoint=<runs_dir>/<run_id>.ckpt)`.

    It carries a directory, not a Store, so that it pickles small and the training side learns
    one file path per run and nothing else about storage.
    """

    fn: Callable[..., RunResult]
    runs_dir: Path

    def __call__(self, spec: RunSpec, progress: Progress | None = None) -> RunResult:
        return self.fn(spec, progress=progress, checkpoint=self.runs_dir / f"{spec.run_id}.ckpt")


def lock_holder(path: Path) -> int | None:
    """The pid written in the file at `path`; None when there is none to read."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
