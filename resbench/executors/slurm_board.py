"""The work a SLURM sweep shares with its tasks, as files on a filesystem they share.

    <results>/.slurm/<session>/      one driver's runs (one `map` call of the slurm executor)
        session.json                 what every task needs: torch threads, time limit (s)
        fn.pkl                       the function each run is called with, pickled once
        items/<n>.pkl                an attempt at a run: run id, attempt number, spec (driver)
        claims/<n>                   the task that took item n: "<task> <count> <node> <time>"
                                     (a task, by an atomic link: one task per item)
        results/<n>.json             the attempt's RunResult (the task, written atomically)
        seen/<task>                  a task started and could read this folder
        arrays                       the session's job arrays, one job id a line (driver)
        logs/<job>_<index>.out       each task's output

The driver adds items and reads claims and results; a task takes the first unclaimed item,
runs it, writes its result and takes the next, until none is left (`slurm_task`). Nothing
here imports torch, and nothing is ever rewritten in place: each file is made whole once.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.atomic import write_text

if TYPE_CHECKING:
    from resbench.sweep.schema import RunSpec
    from resbench.train.run_result import RunResult


@dataclass(frozen=True)
class Claim:
    """Which task took an item: `count` says it was that task's how-many-th (from 1)."""

    task: str  # "<array job>_<index>"
    count: int
    node: str
    at: float  # when, as time.time()


@dataclass(frozen=True)
class Item:
    """An attempt at a run, as the driver wrote it for the tasks."""

    name: str
    run_id: str
    attempt: int
    spec: RunSpec


class Session:
    """One session's folder (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items_dir = path / "items"
        self.claims_dir = path / "claims"
        self.results_dir = path / "results"
        self.seen_dir = path / "seen"
        self.logs_dir = path / "logs"
        self.arrays_path = path / "arrays"

    @classmethod
    def create(cls, root: Path, fn: Any, threads: int, time_limit: int) -> Session:
        """A new session under `root`, named by when and by which process it was made."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        session = cls(root.resolve() / name)
        for folder in (session.items_dir, session.claims_dir, session.results_dir,
                       session.seen_dir, session.logs_dir):  # fmt: skip
            folder.mkdir(parents=True, exist_ok=True)
        (session.path / "fn.pkl").write_bytes(pickle.dumps(fn))
        config = {"threads": threads, "time_limit": time_limit}
        write_text(session.path / "session.json", json.dumps(config) + "\n")
        return session

    @classmethod
    def all(cls, root: Path) -> list[Session]:
        """The sessions left under `root` by earlier drivers, oldest first."""
        if not root.is_dir():
            return []
        return [cls(p) for p in sorted(root.iterdir()) if (p / "session.json").is_file()]

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    # ---------------------------------------------------------------- the driver's side
    def add(self, name: str, spec: RunSpec, attempt: int) -> None:
        item = {"run_id": spec.run_id, "attempt": attempt, "spec": spec}
        _write_bytes(self.items_dir / f"{name}.pkl", pickle.dumps(item))

    def items(self) -> list[Item]:
        """Every item of the session, in the order they were added."""
        found = []
        for path in sorted(self.items_dir.glob("*.pkl")):
            raw = pickle.loads(path.read_bytes())
            found.append(Item(path.stem, raw["run_id"], raw["attempt"], raw["spec"]))
        return found

    def add_array(self, job: str) -> None:
        with self.arrays_path.open("a", encoding="utf-8") as f:
            f.write(job + "\n")

    def arrays(self) -> list[str]:
        try:
            return self.arrays_path.read_text(encoding="utf-8").split()
        except OSError:
            return []

    def claims(self, known: dict[str, Claim] | None = None) -> dict[str, Claim]:
        """Item name -> the claim on it, for every claimed item; only the claims not in `known`
        are read (a claim never changes), and `known` is updated with them."""
        found = {} if known is None else known
        for path in self.claims_dir.iterdir():
            if path.name.startswith(".") or path.name in found:
                continue  # a claim being made, or one read before
            task, count, node, at = path.read_text(encoding="utf-8").split()
            found[path.name] = Claim(task, int(count), node, float(at))
        return found

    def finished(self) -> set[str]:
        """The items whose result is written."""
        return {p.stem for p in self.results_dir.glob("*.json")}

    def result(self, name: str, spec: RunSpec) -> RunResult:
        """The result a task wrote for item `name`, an attempt at `spec`."""
        from resbench.core.strict import STORED
        from resbench.train.run_result import RunResult

        text = (self.results_dir / f"{name}.json").read_text(encoding="utf-8")
        result = RunResult.model_validate_json(text, context=STORED)
        result.spec = spec  # the very spec asked for (the task's copy is equal)
        return result

    def seen(self) -> set[str]:
        return {p.name for p in self.seen_dir.iterdir()}

    def log(self, task: str) -> Path:
        return self.logs_dir / f"{task}.out"

    # ---------------------------------------------------------------- a task's side
    def config(self) -> dict[str, Any]:
        return json.loads((self.path / "session.json").read_text(encoding="utf-8"))

    def fn(self) -> Any:
        return pickle.loads((self.path / "fn.pkl").read_bytes())

    def mark_seen(self, task: str) -> None:
        (self.seen_dir / task).touch()

    def held_by(self, task: str) -> list[str]:
        """The items `task` claimed and has no result for, in the order it took them: after a
        requeue, the run it was on when SLURM stopped it."""
        done = self.finished()
        mine = [(c.count, name) for name, c in self.claims().items() if c.task == task]
        return [name for _, name in sorted(mine) if name not in done]

    def claim_next(self, task: str, count: int, node: str) -> str | None:
        """Take the first item nobody has taken; None when none is left.

        The claim is written whole to a file of its own, then linked to its name: a link fails
        when the name exists, on NFS as on local disks, so two tasks never take one item.
        """
        taken = {p.name for p in self.claims_dir.iterdir()}
        for path in sorted(self.items_dir.glob("*.pkl")):
            name = path.stem
            if name in taken:
                continue
            draft = self.claims_dir / f".{name}.{task}"
            draft.write_text(f"{task} {count} {node} {time.time():.3f}\n", encoding="utf-8")
            try:
                os.link(draft, self.claims_dir / name)
                return name
            except FileExistsError:
                continue
            finally:
                draft.unlink(missing_ok=True)
        return None

    def item(self, name: str) -> Item:
        raw = pickle.loads((self.items_dir / f"{name}.pkl").read_bytes())
        return Item(name, raw["run_id"], raw["attempt"], raw["spec"])

    def write_result(self, name: str, result: RunResult) -> None:
        write_text(self.results_dir / f"{name}.json", result.model_dump_json())


def _write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole: a reader sees no file, or all of it."""
    from resbench.core.atomic import replacing

    with replacing(path) as tmp:
        Path(tmp).write_bytes(data)
