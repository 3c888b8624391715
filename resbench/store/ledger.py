"""The --force ledger: the runs a --force must redo whatever their records say, kept in a file
until each is saved again, so that an interrupted --force resumes as forced.

A record written after the ledger is a run redone: the record itself says so (its file's time),
so no interrupt can come between the two. A run without a record is not forced: it is run
anyway. A ledger that cannot be read (not text, not a file, lines that are not run ids), or
whose time is in the future (no record could ever be newer), forces nothing it cannot name and
says so in one line; it ends with the next sweep run to its end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from resbench.core.atomic import write_text
from resbench.core.names import shown

_RUN_ID = re.compile(r"[0-9a-f]{12}")


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
        return self.read()[0]

    def read(self) -> tuple[set[str], str | None]:
        """The run ids a --force still has to redo, and a line saying what of the ledger could
        not be read, if anything."""
        if not self.path.exists() and not self.path.is_symlink():
            return set(), None
        try:
            if not self.path.is_file():
                raise IsADirectoryError(0, "not a file")
            began = self.path.stat().st_mtime_ns
            lines = self.path.read_bytes().decode("utf-8").split()
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else "not text"
            return set(), f"{shown(self.path)}: not a --force ledger ({why}): ignored"
        if began > time.time_ns():
            return (
                set(),
                f"{shown(self.path)}: a --force ledger whose time is in the future: ignored",
            )
        ids = {line for line in lines if _RUN_ID.fullmatch(line)}
        note = None
        if bad := len(lines) - len(ids):
            note = f"{shown(self.path)}: {bad} line(s) that are not run ids: ignored"
        todo = {r for r in ids if 0 < _mtime_ns(self.record_path(r)) <= began}
        return todo, note

    def end(self) -> None:
        """Forget a --force once nothing is left for it to redo (or it cannot say what)."""
        if self.path.is_file() and not self.forced():
            self.path.unlink(missing_ok=True)


def _mtime_ns(path: Path) -> int:
    """When `path` was last written (0 when it does not exist)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
