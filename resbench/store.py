"""The results directory of one sweep: a JSON record per run, and tidy CSVs derived from them.

results/<sweep>/sweep.yaml          the sweep as last run (report and check read its claims)
results/<sweep>/runs/<run_id>.json  one record per finished run, written atomically
results/<sweep>/runs/<run_id>.ckpt  a run in progress, to resume from (gone once recorded)
results/<sweep>/runs.csv            one row per run          (rebuilt from the records)
results/<sweep>/curves.csv          one row per curve value  (rebuilt from the records)
results/<sweep>/.lock               the pid of the one `resbench run` writing here now
results/<sweep>/layers.csv          one row per diagnostic value, when runs recorded any
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench import ResbenchError

if TYPE_CHECKING:
    import pandas as pd

    from resbench.result import Progress, RunResult
    from resbench.sweep import RunSpec

# Statuses a rerun repeats with --retry-failed; ok and diverged are results, kept as they are.
RETRYABLE = {"failed", "oom", "killed"}
RUN_COLUMNS = [
    "run_id", "sweep", "dataset", "family", "arch", "depth", "width", "seed",
]  # fmt: skip
RESULT_COLUMNS = [
    "status", "train_error", "test_error", "train_loss", "test_loss", "epochs", "steps",
    "params", "seconds", "train_seconds", "eval_seconds", "samples_per_s", "flops_per_sample",
    "gflops", "mfu", "device",
]  # fmt: skip
CURVE_COLUMNS = ["run_id", "arch", "depth", "seed", "step", "epoch", "split", "metric", "value"]
LAYER_COLUMNS = ["run_id", "arch", "depth", "seed", "step", "layer", "kind", "value"]


class StoreLocked(ResbenchError):
    """Another live process is writing to the results directory."""


class Store:
    """One sweep's results directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.lock_path = self.path / ".lock"

    # ---- one writer at a time
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for this process; refuse while another live process holds it.

        A lock whose holder has died (a crash, a kill -9) is stale and taken over.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = lock_holder(self.lock_path)
                if holder is not None and holder != os.getpid() and _alive(holder):
                    raise StoreLocked(
                        f"{self.path}: in use by another resbench run (pid {holder}); "
                        "wait for it to finish or stop it"
                    ) from None
                # Stale. Two processes taking over the same stale lock at the same instant
                # could both succeed; a race that narrow is accepted to stay portable.
                self.lock_path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            break
        else:
            raise StoreLocked(f"{self.lock_path}: cannot take it; remove it if no run is active")
        try:
            yield
        finally:
            if lock_holder(self.lock_path) == os.getpid():
                self.lock_path.unlink(missing_ok=True)

    # ---- writing
    def save(self, result: RunResult) -> Path:
        """Write `result`'s record atomically (a reader sees the old or the new, whole).

        The run's checkpoint goes with it: a recorded run is never resumed.
        """
        if "git" not in result.env and (commit := git_commit()):
            result.env["git"] = commit
        target = self.runs_dir / f"{result.run_id}.json"
        _atomic_write(target, result.model_dump_json(indent=1))
        self.checkpoint_path(result.run_id).unlink(missing_ok=True)
        return target

    def save_sweep(self, text: str) -> None:
        _atomic_write(self.path / "sweep.yaml", text)

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
            s
            for s in specs
            if s.run_id not in done or (retry_failed and done[s.run_id] in RETRYABLE)
        ]

    # ---- derived tables
    def export(self, run_ids: Iterable[str] | None = None) -> tuple[Path, Path]:
        """Rebuild runs.csv and curves.csv from the records (of `run_ids`, when given), and
        layers.csv when any of them recorded diagnostics (else an older one is removed)."""
        results = self.results(run_ids)
        runs, curves = runs_frame(results), curves_frame(results)
        runs_path, curves_path = self.path / "runs.csv", self.path / "curves.csv"
        _atomic_write(runs_path, runs.to_csv(index=False))
        _atomic_write(curves_path, curves.to_csv(index=False))
        layers_path = self.path / "layers.csv"
        if any(r.layers for r in results):
            _atomic_write(layers_path, layers_frame(results).to_csv(index=False))
        else:
            layers_path.unlink(missing_ok=True)  # derived: it must not outlive its records
        return runs_path, curves_path


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
    """The pid written in the lock file at `path`; None when there is none to read."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def runs_frame(results: list[RunResult]) -> pd.DataFrame:
    """One row per run: identity columns, every other spec field (dotted), then the results."""
    import pandas as pd

    rows = []
    for r in results:
        s = r.spec
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "sweep": s.sweep,
            "dataset": s.dataset.name,
            "family": s.model.family,
            "arch": s.model.arch,
            "depth": s.model.depth,
            "width": s.model.width,
            "seed": s.seed,
        }
        shown = {"dataset.name", "model.family", "model.arch", "model.depth", "model.width"}
        for key, value in _flatten(s.model_dump(mode="json", exclude={"sweep", "seed"})).items():
            if key not in shown:
                row[key] = json.dumps(value) if isinstance(value, list) else value
        for key in RESULT_COLUMNS:
            row[key] = getattr(r, key)
        row["error"] = r.error
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*RUN_COLUMNS, *RESULT_COLUMNS, "error"])
    return frame


def curves_frame(results: list[RunResult]) -> pd.DataFrame:
    """Long form: one row per (run, step, split, metric)."""
    import pandas as pd

    rows = []
    for r in results:
        key = (r.run_id, r.spec.model.arch, r.spec.model.depth, r.spec.seed)
        for p in r.curve:
            for split in ("train", "test"):
                for metric in ("loss", "error"):
                    value = getattr(p, f"{split}_{metric}")
                    rows.append((*key, p.step, p.epoch, split, metric, value))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def layers_frame(results: list[RunResult]) -> pd.DataFrame:
    """Long form: one row per (run, step, layer, kind) of the runs' diagnostics."""
    import pandas as pd

    rows = []
    for r in results:
        key = (r.run_id, r.spec.model.arch, r.spec.model.depth, r.spec.seed)
        rows += [(*key, p.step, p.layer, p.kind, p.value) for p in r.layers]
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


def load_runs(path: str | Path) -> pd.DataFrame:
    """runs.csv of a results directory (or the CSV itself) as a DataFrame."""
    import pandas as pd

    path = Path(path)
    csv = path / "runs.csv" if path.is_dir() else path
    if not csv.is_file():
        raise ResbenchError(f"{csv}: no such file (run the sweep first: resbench run)")
    try:
        runs = pd.read_csv(csv)
    except (OSError, ValueError) as e:  # pandas' parser and empty-data errors are ValueErrors
        raise ResbenchError(f"{csv}: not a readable runs table ({e})") from None
    if missing := [c for c in ("arch", "depth", "seed", "status") if c not in runs.columns]:
        raise ResbenchError(f"{csv}: not a runs table (no column {', '.join(missing)})")
    return runs


def find_results(
    ref: str | Path | None = None, root: str | Path = "results", role: str = "results"
) -> Path:
    """The runs.csv that `ref` names (a results directory or the CSV itself); `role` names it
    in errors.

    Without `ref`: the most recently written `root/<sweep>/runs.csv`. Reference results live
    one level deeper (`root/reference/<sweep>/`), so they are never picked by default.
    """
    if ref is not None:
        path = Path(ref)
        csv = path / "runs.csv" if path.is_dir() else path
        if not csv.is_file():
            raise ResbenchError(f"{csv}: not found (the {role}: a runs.csv or its directory)")
        return csv
    found = sorted(
        (p for p in Path(root).glob("*/runs.csv") if p.parent.name != "reference"),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        raise ResbenchError(
            f"no results under {root}/: run a sweep first (resbench run) or name a results dir"
        )
    return found[-1]


def load_curves(runs_csv: str | Path) -> pd.DataFrame:
    """curves.csv beside `runs_csv`, as a DataFrame."""
    import pandas as pd

    csv = Path(runs_csv).with_name("curves.csv")
    if not csv.is_file():
        raise ResbenchError(f"{csv}: no such file (resbench run writes it beside runs.csv)")
    return pd.read_csv(csv)


def load_layers(runs_csv: str | Path) -> pd.DataFrame:
    """layers.csv beside `runs_csv`, as a DataFrame."""
    import pandas as pd

    csv = Path(runs_csv).with_name("layers.csv")
    if not csv.is_file():
        raise ResbenchError(
            f"{csv}: no such file; the runs recorded no diagnostics "
            "(set train.diagnostics: [grad_norms, activations] and run the sweep)"
        )
    return pd.read_csv(csv)


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the resbench checkout in use, when it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        # mkstemp makes owner-only files; results are for everyone the umask allows.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
