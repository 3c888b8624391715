"""One sweep's results folder: the only code that knows its layout, and what it shows.

    results/<sweep>/sweep.yaml          the sweep as last run (its claims are what `check` tests)
    results/<sweep>/runs/<run_id>.json  a record per finished run, written atomically
    results/<sweep>/runs/<run_id>.ckpt  a run in progress, to resume from (gone once recorded)
    results/<sweep>/runs/.unread/       records that could not be read, moved aside before their
                                        runs were redone
    results/<sweep>/runs.csv, curves.csv, layers.csv   the tables, derived from the records
    results/<sweep>/tables.json         what the tables were made of: the records left out, why
    results/<sweep>/.force              a --force in progress: the runs it redoes (a record
                                        written after it is a run redone)
    results/<sweep>/.lock, .lock.pid    held by the one `resbench run` writing here (an OS lock:
                                        freed when its process ends, however it ends)
    results/<sweep>/.slurm/             the slurm executor's work shared with its tasks
                                        (`resbench.executors.slurm_board`)

`Results` writes records and tables for the runner (`resbench.runner`), and reads them back
for everyone else: the tables as DataFrames, summaries, the claims' checks, the figures.
The records are the truth; the tables are the sweep's runs as it was last run, rebuilt from
them (`export`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench import ResbenchError
from resbench.atomic import write_text
from resbench.provenance import git_commit
from resbench.records import Read, read_record
from resbench.result import MISSING, RECORD_FORMAT, RESUMABLE

if TYPE_CHECKING:
    import pandas as pd

    from resbench.claims import Claim
    from resbench.judging import Outcome
    from resbench.result import Progress, RunResult
    from resbench.spec import RunSpec

DEFAULT_ROOT = Path("results")


class StoreLocked(ResbenchError):
    """Another live process is writing to the results directory."""


@dataclass
class Scan:
    """The records of some runs, as read: usable results, and one line per kind of problem."""

    results: dict[str, RunResult] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # run ids of newer-format records
    redo: list[str] = field(default_factory=list)  # run ids whose record cannot be used
    notes: list[str] = field(default_factory=list)


class Results:
    """One sweep's results folder (see the module's docstring for what is where).

    `Results("results/quick")`, or `Results.open()` for the newest under results/; a runs.csv
    elsewhere is named by `runs_csv`, its curves.csv and layers.csv beside it.
    """

    def __init__(self, path: str | Path, runs_csv: str | Path | None = None) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.runs_csv = Path(runs_csv) if runs_csv is not None else self.path / "runs.csv"
        self.lock_path = self.path / ".lock"
        self.pid_path = self.path / ".lock.pid"
        self.force_path = self.path / ".force"
        self.notes: list[str] = []  # what reading the records said, one line each
        self._read: dict[str, Read] = {}

    def __repr__(self) -> str:
        return f"Results({str(self.path)!r})"

    @classmethod
    def open(
        cls, ref: str | Path | None = None, root: str | Path = DEFAULT_ROOT, role: str = "results"
    ) -> Results:
        """The results `ref` names (a results folder or its runs.csv; `role` names it in
        errors), or without `ref` the most recently written `root/<sweep>/`. Reference results
        live one level deeper (`root/reference/<sweep>/`), so they are never picked by default.
        """
        if ref is not None:
            path = Path(ref)
            csv = path / "runs.csv" if path.is_dir() else path
            if not csv.is_file():
                raise ResbenchError(f"{csv}: not found (the {role}: a runs.csv or its directory)")
            return cls(csv.parent, csv)
        found = sorted(
            (p for p in Path(root).glob("*/runs.csv") if p.parent.name != "reference"),
            key=lambda p: p.stat().st_mtime,
        )
        if not found:
            raise ResbenchError(
                f"no results under {root}/: run a sweep first (resbench run) or name a results dir"
            )
        return cls(found[-1].parent)

    # ---------------------------------------------------------------- one writer at a time
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for this process; refuse, naming the holder, while another holds it.

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

    # ---------------------------------------------------------------- writing
    def save(self, result: RunResult) -> Path:
        """Write `result`'s record atomically (a reader sees the old or the new, whole).

        The run's checkpoint goes with it (a recorded run is never resumed), but for a
        timed-out one, which --retry-failed resumes from it.
        """
        if "git" not in result.env and (commit := git_commit()):
            result.env["git"] = commit
        target = self.record_path(result.run_id)
        write_text(target, result.model_dump_json(indent=1))
        self._read[result.run_id] = Read(target, result)
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
    def begin_force(self, run_ids: Iterable[str]) -> None:
        """Note that `run_ids` must be redone whatever their records say, until each is saved
        again: an interrupted --force resumes as forced. A record written after this note is
        a run redone: the record itself says so, so no interrupt can come between the two."""
        write_text(self.force_path, "".join(f"{r}\n" for r in run_ids))

    def forced(self) -> set[str]:
        """The run ids a --force still has to redo (none when no --force is in progress)."""
        try:
            began = self.force_path.stat().st_mtime_ns
            todo = set(self.force_path.read_text(encoding="utf-8").split())
        except OSError:
            return set()
        return {r for r in todo if _mtime_ns(self.record_path(r)) <= began}

    def end_force(self) -> None:
        """Forget a --force once nothing is left for it to redo."""
        if self.force_path.exists() and not self.forced():
            self.force_path.unlink(missing_ok=True)

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
        if migrated:
            formats = " and ".join(f"{v}" for v in sorted(migrated))
            n = sum(migrated.values())
            scan.notes.append(
                f"{_n(n, 'record')} of an older format ({formats}) migrated to format "
                f"{RECORD_FORMAT} as read (the files are left as they are)"
            )
        if dropped:
            scan.notes.append(
                f"{_n(n_dropped, 'record')} with fields this resbench does not know "
                f"({', '.join(sorted(dropped))}): read without them"
            )
        if scan.kept:
            scan.notes.append(
                f"{_n(len(scan.kept), 'record')} of a newer format than this resbench reads "
                f"({RECORD_FORMAT}): kept as they are, not rerun, left out of the tables; "
                "a newer resbench reads them"
            )
        if unread:
            first = unread[0]
            scan.notes.append(
                f"{_n(len(unread), 'record')} that cannot be used ({first.path.name}: "
                f"{first.why}): {'its run is' if len(unread) == 1 else 'their runs are'} redone, "
                f"the old files moved to {self.unread_dir}"
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
        """Move the records of `run_ids` to runs/.unread/ (they cannot be read; their runs are
        about to be redone): nothing that was written is lost."""
        for run_id in run_ids:
            source = self.record_path(run_id)
            if source.exists():
                self.unread_dir.mkdir(parents=True, exist_ok=True)
                os.replace(source, self.unread_dir / source.name)
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
        if force:
            return list(specs), scan
        forced = self.forced()
        if left := forced & {s.run_id for s in specs}:
            scan.notes.append(
                f"finishing an interrupted --force: {_n(len(left), 'run')} still to redo"
            )
        kept = set(scan.kept)
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
        """Rebuild the tables from the records of `run_ids` (default: every record here); the
        files written, runs.csv first.
        layers.csv only when some run recorded diagnostics (else an older one is removed:
        derived, it must not outlive its records). tables.json says what was left out."""
        from resbench.tables import curves_frame, layers_frame, runs_frame

        ids = list(run_ids) if run_ids is not None else self._record_ids()
        scan = self.scan(ids)
        results = [scan.results[r] for r in ids if r in scan.results]
        written = [self.path / "runs.csv", self.path / "curves.csv"]
        write_text(written[0], runs_frame(results).to_csv(index=False))
        write_text(written[1], curves_frame(results).to_csv(index=False))
        layers_path = self.path / "layers.csv"
        if any(r.layers for r in results):
            write_text(layers_path, layers_frame(results).to_csv(index=False))
            written.append(layers_path)
        else:
            layers_path.unlink(missing_ok=True)
        # The records there were, by name: one that appears later is not in these tables (file
        # times would not tell: a clone or a copy sets them anew).
        manifest = {
            "runs": len(ids),
            "rows": len(results),
            "notes": scan.notes,
            "records": self._record_ids(),
        }
        write_text(self.path / "tables.json", json.dumps(manifest, indent=1) + "\n")
        self.__dict__.pop("runs", None)  # read afresh
        return written

    def table_paths(self) -> list[Path]:
        """The tables that exist: runs.csv, curves.csv, layers.csv."""
        names = ("runs.csv", "curves.csv", "layers.csv")
        paths = [self.runs_csv, *(self.runs_csv.with_name(n) for n in names[1:])]
        return [p for p in paths if p.is_file()]

    @cached_property
    def runs(self) -> pd.DataFrame:
        """runs.csv: a row per run of the sweep as last run."""
        from resbench.tables import read_runs

        return read_runs(self.runs_csv)

    @property
    def curves(self) -> pd.DataFrame:
        """curves.csv: a row per (run, step, split, metric)."""
        from resbench.tables import read_table

        return read_table(
            self.runs_csv.with_name("curves.csv"), "resbench run writes it beside runs.csv"
        )

    @property
    def layers(self) -> pd.DataFrame:
        """layers.csv: a row per (run, step, layer, kind) of the runs' diagnostics."""
        from resbench.tables import read_table

        return read_table(
            self.runs_csv.with_name("layers.csv"),
            "the runs recorded no diagnostics "
            "(set train.diagnostics: [grad_norms, activations] and run the sweep)",
        )

    def table_notes(self) -> list[str]:
        """What the tables are missing, one line each: records left out when they were made,
        and records written since (from tables.json, which `export` writes beside them)."""
        try:
            made = json.loads(self.runs_csv.with_name("tables.json").read_text(encoding="utf-8"))
            notes = [str(note) for note in made["notes"]]
            known = set(made["records"])
        except (OSError, ValueError, KeyError, TypeError):
            return []  # tables made elsewhere or before tables.json: nothing to say of them
        if new := [r for r in self._record_ids() if r not in known]:
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
        from resbench.sweep import load_claims

        return load_claims(self.sweep_path) if self.sweep_path.is_file() else []

    # ---------------------------------------------------------------- what it shows
    def report(
        self,
        metrics: Iterable[str] | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
        reach_tolerance: float | None = None,
    ) -> dict[str, Any]:
        """Everything `resbench report` shows, as data: header, notes, status counts, and a
        summary per metric (mean ± std over seeds per variant, depth and arch); the depth each
        arch reaches (train error within `reach_tolerance` of its best depth's). With
        `best_over` (a swept key, e.g. train.lr), every summary at each arch's best value of it
        by the lowest mean `best_by`, and the selection, landscape, best values and drift."""
        from resbench.axes import DEFAULT_TOLERANCE, axes_report
        from resbench.summary import DEFAULT_METRICS, code_notes

        tolerance = DEFAULT_TOLERANCE if reach_tolerance is None else reach_tolerance
        chosen = tuple(metrics or DEFAULT_METRICS)
        data = axes_report(self.runs, chosen, best_over, best_by, tolerance)
        data.setdefault("notes", code_notes(self.runs))
        return data

    def summary(self, metric: str = "train_error") -> pd.DataFrame:
        """Per variant, depth and arch: run counts and the metric's mean, std, min, max."""
        from resbench.summary import summarize

        return summarize(self.runs, metric)

    def layer_ratios(self) -> pd.DataFrame:
        """Per variant, depth and arch: first ÷ last weight layer's gradient norm, at
        initialisation and at the end (geometric mean over seeds)."""
        from resbench.summary import layer_ratios

        return layer_ratios(self.layers, self.runs)

    def check(
        self,
        baseline: Results | str | Path | None = None,
        tolerance: float | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> list[Outcome]:
        """The sweep's claims over its seeds (those naming no `best_over:` of their own at each
        arch's best value of `best_over`, when given), and with `baseline` (reference results),
        regression against them; `resbench.check.all_passed` says whether all passed, and
        `outcomes_frame` makes them a table."""
        from resbench.baseline import DEFAULT_TOLERANCE
        from resbench.check import check

        reference = None
        if baseline is not None:
            if not isinstance(baseline, Results):
                baseline = Results.open(baseline, role="baseline")
            reference = baseline.runs
        return check(
            self.runs,
            self.claims,
            reference,
            DEFAULT_TOLERANCE if tolerance is None else tolerance,
            best_over,
            best_by,
        )

    def best_of(self, key: str, by: str = "train_loss") -> pd.DataFrame:
        """The runs of each arch, depth and variant at its best value of the swept `key` (the
        lowest mean `by`; chosen on half the seeds from 4 on)."""
        from resbench.axes import best_of

        return best_of(self.runs, key, by)

    def _shown(self, best_over: str | None, best_by: str) -> pd.DataFrame:
        return self.runs if best_over is None else self.best_of(best_over, best_by)

    def html(
        self,
        out: str | Path | None = None,
        metrics: Iterable[str] | None = None,
        baseline: Results | str | Path | None = None,
        tolerance: float | None = None,
        outcomes: list[Outcome] | None = None,
        notes: Iterable[str] = (),
    ) -> Path:
        """One self-contained HTML page of everything here (default report.html beside
        runs.csv): figures, tables, the claims' verdicts (`outcomes`, or judged now, with
        `baseline` when given), the runs that went wrong, and where they were made; `notes`,
        lines to show at the top besides what the tables lack."""
        from resbench.baseline import machine_note
        from resbench.page import write_page

        notes = [*self.table_notes(), *notes]
        if outcomes is None and (self.claims or baseline is not None):
            if baseline is not None and not isinstance(baseline, Results):
                baseline = Results.open(baseline, role="baseline")
            outcomes = self.check(baseline, tolerance)
            if baseline is not None and (machine := machine_note(self.runs, baseline.runs)):
                notes.append(machine)
        path = out or self.runs_csv.with_name("report.html")
        return write_page(self, path, metrics, outcomes, notes)

    def tensorboard(self, out: str | Path) -> Path:
        """TensorBoard event files under `out`: a run each, its curves as scalars and its spec
        as hyper-parameters (needs the tensorboard package)."""
        from resbench.tensorboard import export_tensorboard

        curves_csv = self.runs_csv.with_name("curves.csv")
        return export_tensorboard(self.runs, self.curves if curves_csv.is_file() else None, out)

    def plot_depth(
        self,
        out: str | Path | None = None,
        metric: str = "train_error",
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> Path:
        """The final metric against depth, a line per arch, a panel per variant (PNG); with
        `best_over`, each arch at its best value of that swept key."""
        from resbench.plot import plot_depth

        out = out or self.runs_csv.with_name("depth.png")
        return plot_depth(self._shown(best_over, best_by), out, metric)

    def plot_curves(
        self,
        out: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> Path:
        """The training curves, a panel per arch and variant (PNG)."""
        from resbench.plot import plot_curves

        curves = self.curves
        out = out or self.runs_csv.with_name("curves.png")
        return plot_curves(curves, self._shown(best_over, best_by), out)

    def plot_layers(
        self,
        out: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> Path:
        """Gradient norm against layer, at initialisation and at the end (PNG)."""
        from resbench.plot import plot_layers

        layers = self.layers
        out = out or self.runs_csv.with_name("layers.png")
        return plot_layers(layers, self._shown(best_over, best_by), out)

    def plot_landscape(
        self, key: str = "train.lr", by: str = "train_loss", out: str | Path | None = None
    ) -> Path:
        """The depth-μP papers' figure: `by` against the swept `key` (log axis), a line per
        depth, a panel per arch and variant, each depth's best value starred (PNG)."""
        from resbench.plot import plot_landscape

        return plot_landscape(self.runs, key, by, out or self.runs_csv.with_name("landscape.png"))


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


def lock_holder(path: Path) -> int | None:
    """The pid written in the file at `path`; None when there is none to read."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _mtime_ns(path: Path) -> int:
    """When `path` was last written (0 when it does not exist)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
