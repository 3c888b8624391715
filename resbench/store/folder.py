"""One sweep's results folder: the only code that knows its layout.

    results/<sweep>/sweep.yaml          the sweep as last run (its claims are what `check` tests)
    results/<sweep>/runs/<run_id>.json  a record per finished run, written atomically
    results/<sweep>/runs/<run_id>.ckpt  a run in progress, to resume from (gone once recorded)
    results/<sweep>/runs/.unread/       records that could not be read, moved aside before their
                                        runs were redone
    results/<sweep>/runs.csv, curves.csv, layers.csv   the tables, derived from the records
    results/<sweep>/tables.json         what the tables were made of: the records and their
                                        digests, the records left out and why
                                        (`resbench.store.manifest`)
    results/<sweep>/.force              a --force in progress: the runs it redoes (a record
                                        written after it is a run redone)
    results/<sweep>/.lock, .lock.pid    held by the one `resbench run` writing here (an OS lock:
                                        freed when its process ends, however it ends)
    results/<sweep>/.slurm/             the slurm executor's work shared with its tasks
                                        (`resbench.executors.slurm_board`)

`ResultsFolder` writes records and tables for the runner (`resbench.runner`), and reads them
back for everyone else: the records, the tables as DataFrames, the sweep as it ran. The records
are the truth; the tables are the sweep's runs as it was last run, rebuilt from them (`export`),
and made afresh from them, in memory, where the files are no longer what they were made of.
What the folder shows (summaries, claims, figures) is `resbench.results.Results`, built on it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from resbench.core.arguments import require_path
from resbench.core.atomic import write_text
from resbench.core.errors import ResbenchError
from resbench.core.names import shown
from resbench.store.ledger import ForceLedger
from resbench.store.lock import hold
from resbench.store.manifest import TABLES, Manifest, frames, write_tables
from resbench.store.record_format import Read, Scan, digest_of, read_notes, read_record
from resbench.train.provenance import git_commit
from resbench.train.run_result import MISSING, RESUMABLE

if TYPE_CHECKING:
    import pandas as pd

    from resbench.sweep.claims import Claim
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import Progress, RunResult

DEFAULT_ROOT = Path("results")
_Folder = TypeVar("_Folder", bound="ResultsFolder")


class ResultsFolder:
    """One sweep's results folder (see the module's docstring for what is where).

    `Results("results/quick")`, or `Results.open()` for the newest under results/; a runs.csv
    elsewhere is named by `runs_csv`, its curves.csv and layers.csv beside it.
    """

    def __init__(self, path: str | Path, runs_csv: str | Path | None = None) -> None:
        self.path: Path = require_path("path", path)  # type: ignore[assignment]
        self.runs_dir = self.path / "runs"
        self.runs_csv = require_path("runs_csv", runs_csv, optional=True) or self.path / "runs.csv"
        self.lock_path = self.path / ".lock"
        self.pid_path = self.path / ".lock.pid"
        self.force_path = self.path / ".force"
        self.notes: list[str] = []  # what reading the records said, one line each
        self._read: dict[str, Read] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @classmethod
    def open(
        cls: type[_Folder],
        ref: str | Path | None = None,
        root: str | Path = DEFAULT_ROOT,
        role: str = "results",
    ) -> _Folder:
        """The results `ref` names (a results folder or its runs.csv; `role` names it in
        errors), or without `ref` the most recently written `root/<sweep>/`. Reference results
        live one level deeper (`root/reference/<sweep>/`), so they are never picked by default.
        """
        path, where = require_path("ref", ref, optional=True), require_path("root", root)
        if path is not None:
            csv = path / "runs.csv" if path.is_dir() else path
            if not csv.is_file():
                raise ResbenchError(
                    f"{shown(csv)}: not found (the {role}: a runs.csv or its directory)"
                )
            return cls(csv.parent, csv)
        assert where is not None
        found = sorted(
            (p for p in where.glob("*/runs.csv") if p.parent.name != "reference"),
            key=lambda p: p.stat().st_mtime,
        )
        if not found:
            raise ResbenchError(
                f"no results under {root}/: run a sweep first (resbench run) or name a results dir"
            )
        return cls(found[-1].parent)

    # ---------------------------------------------------------------- one writer at a time
    def lock(self) -> AbstractContextManager[None]:
        """Hold the folder for this process; refuse, naming the holder, while another holds it
        (`resbench.store.lock`)."""
        return hold(self.path, self.lock_path, self.pid_path)

    # ---------------------------------------------------------------- writing
    def save(self, result: RunResult) -> Path:
        """Write `result`'s record atomically (a reader sees the old or the new, whole).

        The run's checkpoint goes with it (a recorded run is never resumed), but for a
        timed-out one, which --retry-failed resumes from it.
        """
        if "git" not in result.env and (commit := git_commit()):
            result.env["git"] = commit
        target = self.record_path(result.run_id)
        text = result.model_dump_json(indent=1)
        write_text(target, text)
        self._read[result.run_id] = Read(target, result, digest=digest_of(text.encode("utf-8")))
        if result.status not in RESUMABLE:
            self.checkpoint_path(result.run_id).unlink(missing_ok=True)
        return target

    def save_sweep(self, text: str) -> None:
        write_text(self.sweep_path, text)

    def record_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    # ---------------------------------------------------------------- runs in progress
    def checkpoint_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.ckpt"

    @property
    def jobs_dir(self) -> Path:
        """Where a cluster executor shares its work with its tasks (a filesystem they share)."""
        return self.path / ".slurm"

    def checkpointed(self, fn: Callable[..., RunResult]) -> Checkpointed:
        """`fn` called with this folder's checkpoint file for each run (picklable); the path is
        absolute, for processes that start elsewhere (a SLURM task, a Ray worker)."""
        return Checkpointed(fn, self.runs_dir.absolute())

    def discard_checkpoints(self, run_ids: Iterable[str]) -> None:
        """Forget the progress of `run_ids`, so that they start over (--force)."""
        for run_id in run_ids:
            self.checkpoint_path(run_id).unlink(missing_ok=True)

    def discard_stale_checkpoints(self, todo: set[str]) -> None:
        """Remove the checkpoints of runs that are not to be run (recorded ones): a stop that
        came between a record's write and its checkpoint's removal leaves such a file."""
        for path in self.runs_dir.glob("*.ckpt"):
            read = self._record(path.stem) if path.stem not in todo else None
            if read is not None and (read.result is None or read.result.status not in RESUMABLE):
                path.unlink(missing_ok=True)

    # ---------------------------------------------------------------- --force, resumable
    @property
    def ledger(self) -> ForceLedger:
        """The runs an interrupted --force has still to redo (`resbench.store.ledger`)."""
        return ForceLedger(self.force_path, self.record_path)

    # ---------------------------------------------------------------- reading records
    def scan(self, run_ids: Iterable[str]) -> Scan:
        """Read the records of `run_ids` (those that exist), once, and say what was found."""
        scan = Scan()
        migrated: Counter[int] = Counter()
        dropped: set[str] = set()
        n_dropped = 0
        unread: list[Read] = []
        for run_id in run_ids:
            read = self._record(run_id)
            if read is None:
                continue
            if read.result is not None:
                scan.results[run_id] = read.result
                if read.migrated_from is not None:
                    migrated[read.migrated_from] += 1
                dropped.update(read.dropped)
                n_dropped += bool(read.dropped)
            elif read.problem == "newer":
                scan.kept.append(run_id)
            else:
                scan.redo.append(run_id)
                unread.append(read)
        scan.notes += read_notes(
            migrated, dropped, n_dropped, len(scan.kept), unread, self.unread_dir
        )
        return scan

    def records(self) -> list[RunResult]:
        """Every readable record in the folder (of runs of any sweep that wrote here)."""
        return list(self.scan(self._record_ids()).results.values())

    def statuses(self) -> dict[str, str]:
        """run_id -> status of every readable record here."""
        return {run_id: r.status for run_id, r in self.scan(self._record_ids()).results.items()}

    def _record_ids(self) -> list[str]:
        return sorted(p.stem for p in self.runs_dir.glob("*.json"))

    @property
    def unread_dir(self) -> Path:
        return self.runs_dir / ".unread"

    def set_aside(self, run_ids: Iterable[str]) -> None:
        """Move the records of `run_ids` to runs/.unread/ (they cannot be used; their runs are
        about to be redone): nothing that was written is lost, not even an earlier file set
        aside under the same name."""
        for run_id in run_ids:
            source = self.record_path(run_id)
            if source.exists() or source.is_symlink():
                self.unread_dir.mkdir(parents=True, exist_ok=True)
                os.rename(source, _free_name(self.unread_dir, source.name))
            self._read.pop(run_id, None)

    def _record(self, run_id: str) -> Read | None:
        if run_id not in self._read:
            path = self.record_path(run_id)
            if not path.exists():
                return None
            self._read[run_id] = read_record(path)
        return self._read[run_id]

    def todo(
        self, specs: list[RunSpec], force: bool = False, retry_failed: bool = False
    ) -> tuple[list[RunSpec], Scan]:
        """The specs a run must still do, and what their records said: unrecorded runs, runs
        whose record cannot be used, runs an interrupted --force has not redone yet; the
        failed ones too with `retry_failed`; every one with `force`."""
        scan = self.scan(s.run_id for s in specs)
        kept = set(scan.kept)  # of a newer format: neither rerun nor overwritten, even forced
        if force:
            return [s for s in specs if s.run_id not in kept], scan
        forced, problem = self.ledger.read()
        scan.notes += [problem] if problem else []
        if left := forced & {s.run_id for s in specs}:
            scan.notes.append(
                f"finishing an interrupted --force: {_n(len(left), 'run')} still to redo"
            )
        todo = []
        for spec in specs:
            result = scan.results.get(spec.run_id)
            if spec.run_id in kept:
                continue
            if (
                result is None
                or spec.run_id in forced
                or (retry_failed and result.status in MISSING)
            ):
                todo.append(spec)
        return todo, scan

    # ---------------------------------------------------------------- the tables
    def export(self, run_ids: Iterable[str] | None = None) -> list[Path]:
        """Make the tables from the records of `run_ids` (default: every record here), and
        tables.json, what they were made of (`resbench.store.manifest`); the files written,
        runs.csv first."""
        ids = list(run_ids) if run_ids is not None else self._record_ids()
        scan = self.scan(ids)
        results = [scan.results[r] for r in ids if r in scan.results]
        digests = {r: self._read[r].digest for r in ids if r in self._read}
        manifest = Manifest(scan.notes, set(self._record_ids()), ids=ids, digests=digests)
        written = write_tables(self.path, results, manifest)
        for name in ("runs", "_remade"):
            self.__dict__.pop(name, None)  # read afresh
        return written

    def table_paths(self) -> list[Path]:
        """The tables that exist: runs.csv, curves.csv, layers.csv."""
        paths = [self.runs_csv, *(self.runs_csv.with_name(n) for n in TABLES[1:])]
        return [p for p in paths if p.is_file()]

    @cached_property
    def _remade(self) -> tuple[dict[str, pd.DataFrame], str] | None:
        """The tables made afresh from their records, and a line saying why, when the files
        are not what tables.json says they were made of (cut short, edited, or older than
        their records); None when they are, or where that cannot be told."""
        manifest = Manifest.read(self.runs_csv.with_name("tables.json"))
        if manifest is None or manifest.ids is None or not self.runs_dir.is_dir():
            return None  # tables shared without their records are all there is
        if (changed := manifest.changed(self.runs_csv.parent, self.record_path)) is None:
            return None
        scan = self.scan(manifest.ids)
        results = [scan.results[r] for r in manifest.ids if r in scan.results]
        left_out = len(manifest.ids) - len(results)
        note = (
            f"{shown(self.runs_csv.parent)}: the tables are not what their records make "
            f"({changed}): made afresh from the records"
            + (f", {_n(left_out, 'record')} that cannot be used left out" if left_out else "")
            + "; `resbench run` writes them again"
        )
        return frames(results), note

    @cached_property
    def runs(self) -> pd.DataFrame:
        """runs.csv: a row per run of the sweep as last run."""
        from resbench.store.tables import read_runs

        remade = self._remade
        return remade[0]["runs.csv"] if remade else read_runs(self.runs_csv)

    @property
    def curves(self) -> pd.DataFrame:
        """curves.csv: a row per (run, step, split, metric)."""
        return self._table("curves.csv", "resbench run writes it beside runs.csv")

    @property
    def layers(self) -> pd.DataFrame:
        """layers.csv: a row per (run, step, layer, kind) of the runs' diagnostics."""
        return self._table(
            "layers.csv",
            "the runs recorded no diagnostics "
            "(set train.diagnostics: [grad_norms, activations] and run the sweep)",
        )

    def _table(self, name: str, hint: str) -> pd.DataFrame:
        from resbench.store.tables import read_table

        path = self.runs_csv.with_name(name)
        if (remade := self._remade) is None:
            return read_table(path, hint)
        if remade[0][name].empty and name == "layers.csv":
            raise ResbenchError(f"{shown(path)}: no such table ({hint})")
        return remade[0][name]

    def table_notes(self) -> list[str]:
        """What the tables are missing, one line each: records left out when they were made,
        records written since (from tables.json, which `export` writes beside them), and
        tables made afresh from their records because the files were not theirs."""
        manifest = Manifest.read(self.runs_csv.with_name("tables.json"))
        if manifest is None or manifest.records is None:
            return []  # tables made elsewhere or before tables.json: nothing to say of them
        remade = self._remade
        notes = [remade[1]] if remade else list(manifest.notes)
        if new := [r for r in self._record_ids() if r not in manifest.records]:
            notes.append(
                f"{_n(len(new), 'record')} written after the tables were made: not in them until "
                "`resbench run` (or Results.export) makes them again"
            )
        return notes

    # ---------------------------------------------------------------- the sweep
    @property
    def sweep_path(self) -> Path:
        return self.runs_csv.with_name("sweep.yaml")

    @property
    def sweep_text(self) -> str | None:
        """The sweep as it ran (overrides included), or None where it was not kept."""
        try:
            return self.sweep_path.read_text(encoding="utf-8")
        except OSError:
            return None

    @property
    def claims(self) -> list[Claim]:
        """The sweep's `expect:` claims (none without a sweep.yaml)."""
        from resbench.sweep.load import load_claims

        return load_claims(self.sweep_path) if self.sweep_path.is_file() else []


@dataclass(frozen=True)
class Checkpointed:
    """Calls `fn(spec, progress=..., checkpoint=<runs_dir>/<run_id>.ckpt)`.

    It carries a directory, not a `Results`, so that it pickles small and the training side
    learns one file path per run and nothing else about storage.
    """

    fn: Callable[..., RunResult]
    runs_dir: Path

    def __call__(self, spec: RunSpec, progress: Progress | None = None) -> RunResult:
        return self.fn(spec, progress=progress, checkpoint=self.runs_dir / f"{spec.run_id}.ckpt")


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or where that is taken `folder/<stem>.<n><suffix>` for the first n free."""
    path, n = folder / name, 1
    while path.exists() or path.is_symlink():
        path = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    return path


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
