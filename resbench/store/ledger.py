"""The --force ledger: the runs a --force must redo whatever their records say, kept in a file
until each is saved again, so that an interrupted --force resumes as forced.

A record written after the ledger is a run redone: the record itself says so (its file's time),
so no interrupt can come between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from resbench.core.atomic import write_text


@dataclass(frozen=True)
class ForceLedger:
    """The ledger at `path`; `record_path(run_id)` names a run's record."""

    path: Path
    record_path: Callable[[str], Path]

    def begin(self, run_ids: Iterable[str]) -> None:
        """Note that `run_ids` must be redone, until each is saved again."""
        write_text(self.path, "".join(f"{r}\n" for r in run_ids))

    def forced(self) -> set[str]:
        """The run ids a --force still has to redo (none when no --force is in progress)."""
        try:
            began = self.path.stat().st_mtime_ns
            todo = set(self.path.read_text(encoding="utf-8").split())
        except OSError:
            return set()
        return {r for r in todo if _mtime_ns(self.record_path(r)) <= began}

    def end(self) -> None:
        """Forget a --force once nothing is left for it to redo."""
        if self.path.exists() and not self.forced():
            self.path.unlink(missing_ok=True)


def _mtime_ns(path: Path) -> int:
    """When `path` was last written (0 when it does not exist)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
