"""tables.json: what a results folder's tables were made of, so that a reader can tell whether
they still are what their records make.

    {"runs": 8, "rows": 8, "notes": [...],    the runs asked for, the rows made, what was said
     "records": [...],                         every record's id when the tables were made
     "ids": [...],                             the runs the tables are of, in order
     "digests": {run_id: digest},              of each of their records, as read
     "tables": {"runs.csv": digest, ...},      of each table, as written
     "digest": ...}                            of the rest of tables.json: one that is not
                                               whole says nothing of what the tables are of

The tables are derived: a table whose bytes are not the ones written (cut short, edited), or
whose records have changed since (a rerun stopped before the tables were made again), is not
read; the tables are made afresh from the records (`ResultsFolder`). Tables made before
tables.json had digests are read as they are, checked row by row (`tables.read_runs`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.atomic import write_text
from resbench.store.record_format import digest_of

if TYPE_CHECKING:
    import pandas as pd

    from resbench.train.run_result import RunResult

TABLES = ("runs.csv", "curves.csv", "layers.csv")


@dataclass
class Manifest:
    """What the tables beside tables.json were made of."""

    notes: list[str] = field(default_factory=list)
    records: set[str] | None = None  # None: not known
    rows: int | None = None
    ids: list[str] | None = None
    digests: dict[str, str] | None = None
    tables: dict[str, str] | None = None

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        """The manifest at `path`; None where there is none that can be read."""
        try:
            made = json.loads(path.read_bytes())
            manifest = cls(notes=[str(note) for note in made["notes"]])
            manifest.records = {str(r) for r in made["records"]}
            whole = made.pop("digest", None) == _self_digest(made)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        rows, ids, digests, tables = (made.get(k) for k in ("rows", "ids", "digests", "tables"))
        if isinstance(rows, int) and not isinstance(rows, bool):
            manifest.rows = rows
        # What the tables are of, only from a manifest that is as written: a damaged one could
        # name other runs than the tables' (and make them afresh from those).
        if whole and _strings(ids) and _mapping(digests) and _mapping(tables):
            manifest.ids, manifest.digests, manifest.tables = ids, digests, tables
        return manifest

    def text(self) -> str:
        made: dict[str, Any] = {
            "runs": len(self.ids or []),
            "rows": self.rows,
            "notes": self.notes,
            "records": sorted(self.records or ()),
            "ids": self.ids,
            "digests": self.digests,
            "tables": self.tables,
        }
        made["digest"] = _self_digest(made)
        return json.dumps(made, indent=1) + "\n"

    def changed(self, folder: Path, record_path: Callable[[str], Path]) -> str | None:
        """What is no longer what the tables in `folder` were made of (a table's bytes, or a
        record's), in a few words; None when nothing is, or when this manifest cannot tell."""
        if self.ids is None or self.digests is None or self.tables is None:
            return None
        for name in TABLES:
            if _digest(folder / name) != self.tables.get(name):
                return f"{name} is not the file written"
        for run_id in self.ids:
            if _digest(record_path(run_id)) != self.digests.get(run_id):
                return f"the record of {run_id} changed since"
        return None


def frames(results: list[RunResult]) -> dict[str, pd.DataFrame]:
    """The tables of `results`, by file name (layers.csv empty when no run recorded any)."""
    from resbench.store.tables import curves_frame, layers_frame, runs_frame

    return {
        "runs.csv": runs_frame(results),
        "curves.csv": curves_frame(results),
        "layers.csv": layers_frame(results),
    }


def write_tables(folder: Path, results: list[RunResult], manifest: Manifest) -> list[Path]:
    """Write the tables of `results` in `folder`, and `manifest` with their digests beside
    them (tables.json); the files written, runs.csv first. layers.csv only when some run
    recorded diagnostics (else an older one is removed: derived, it must not outlive its
    records)."""
    manifest.tables, written = {}, []
    for name, frame in frames(results).items():
        path = folder / name
        if name == "layers.csv" and frame.empty:
            path.unlink(missing_ok=True)
            continue
        text = frame.to_csv(index=False)
        write_text(path, text)
        manifest.tables[name] = digest_of(text.encode("utf-8"))
        written.append(path)
    manifest.rows = len(results)
    write_text(folder / "tables.json", manifest.text())
    return written


def _self_digest(made: dict[str, Any]) -> str:
    """The digest a manifest holds of the rest of itself."""
    return digest_of(json.dumps(made, sort_keys=True, separators=(",", ":")).encode())


def _digest(path: Path) -> str | None:
    try:
        return digest_of(path.read_bytes())
    except OSError:
        return None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
