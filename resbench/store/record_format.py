"""Run records on disk, across releases: the format version, migration, and reading one back.

Every record says its format (`format`, an integer). Reading a record:

- of this format: validated as it is;
- of an older format (no `format` field: format 1): migrated step by step to this one, then
  validated; one that cannot be is *stale*: its run counts as not recorded and is redone;
- with fields this release does not know (a later release added them without a new format):
  read without them, and said so;
- of a newer format: *kept*, not read: its run is neither redone nor overwritten, and it is
  left out of the tables until a newer resbench reads it;
- that is not a record at all (not JSON, torn, not an object), or not the record its name
  says (its `run_id` is not its file's name, or, as written by this format, not its spec's
  hash), or with a number no run can record (`resbench.store.numbers`): *unreadable*, set
  aside and redone.

Nothing here imports torch, the model registry or a user's code: a record is read for its
structure only (`RunSpec`'s checks against the registry are for sweeps being loaded), so a
record of a user family that no longer imports still reads.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from resbench.core.strict import STORED
from resbench.store.numbers import record_problem
from resbench.train.run_result import RECORD_FORMAT

if TYPE_CHECKING:
    from resbench.train.run_result import RunResult

# Each takes a record of format n (a dict) to format n + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: lambda record: {**record, "format": 2},
    2: lambda record: {**record, "format": 3},  # only added what a format-2 record lacks
}

Problem = Literal["stale", "newer", "unreadable"]


@dataclass
class Read:
    """What reading one record file gave: the result, or why there is none."""

    path: Path
    result: RunResult | None = None
    problem: Problem | None = None
    why: str = ""  # the problem, in a few words
    migrated_from: int | None = None  # the format it was written in, when older
    dropped: list[str] = field(default_factory=list)  # unknown fields left out, dotted
    digest: str = ""  # of the file's bytes, as read: tables.json says which records made a table


def read_record(path: Path) -> Read:
    """The record at `path`, migrated to this format; see the module's docstring for the cases."""
    from pydantic import ValidationError

    from resbench.train.run_result import RunResult

    try:
        data = path.read_bytes()
        raw = json.loads(data)
    except (OSError, ValueError, RecursionError) as e:  # a UnicodeDecodeError is a ValueError
        return Read(path, problem="unreadable", why=_short(e))
    read = Read(path, digest=digest_of(data))
    if not isinstance(raw, dict):
        read.problem, read.why = "unreadable", f"a JSON {type(raw).__name__}, not a record"
        return read
    version = raw.get("format", 1)
    if not isinstance(version, int) or version < 1:
        read.problem, read.why = "unreadable", f"format {_short_repr(version)} is not a format"
        return read
    if version > RECORD_FORMAT:
        read.problem, read.why = "newer", f"format {version}"
        return read
    read.migrated_from = version if version < RECORD_FORMAT else None
    for step in range(version, RECORD_FORMAT):
        raw = MIGRATIONS[step](raw)
    for _ in range(8):  # each round drops the unknown fields pydantic names, then tries again
        try:
            result = RunResult.model_validate(raw, context=STORED)
        except ValidationError as e:
            unknown = [err["loc"] for err in e.errors() if err["type"] == "extra_forbidden"]
            if not unknown or len(unknown) < len(e.errors()):
                read.problem = "stale" if read.migrated_from else "unreadable"
                read.why = _first_error(e)
                return read
            for loc in unknown:
                _drop(raw, loc)
                read.dropped.append(".".join(str(part) for part in loc))
            continue
        if problem := _not_its_run(
            result, path, as_written=not read.dropped and not read.migrated_from
        ) or record_problem(result):
            read.problem, read.why = "unreadable", problem
        else:
            read.result = result
        return read
    read.problem, read.why = "unreadable", "too many unknown fields"
    return read


def _not_its_run(result: RunResult, path: Path, as_written: bool) -> str | None:
    """Why the record at `path` is not the record of the run its name says, if it is not: its
    run_id is another, or (a record read as it was written) its spec hashes to another. A
    record copied under another run's name would otherwise stand for a run never made."""
    if result.run_id != path.stem:
        return f"its run_id {result.run_id!r} is not its file's name"
    if as_written and result.spec.run_id != result.run_id:
        return f"its spec is run {result.spec.run_id}'s, not {result.run_id}'s"
    return None


def digest_of(data: bytes) -> str:
    """A short hash of a file's bytes: what tables.json keeps of each record and table."""
    return hashlib.sha256(data).hexdigest()[:16]


def _drop(raw: Any, loc: tuple[int | str, ...]) -> None:
    node = raw
    for part in loc[:-1]:
        node = node[part]
    node.pop(loc[-1], None)


def _first_error(e: Any) -> str:
    err = e.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "record"
    return f"{where}: {err['msg']}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}…"


def _short(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]


@dataclass
class Scan:
    """The records of some runs, as read: usable results, and one line per kind of problem."""

    results: dict[str, RunResult] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # run ids of newer-format records
    redo: list[str] = field(default_factory=list)  # run ids whose record cannot be used
    notes: list[str] = field(default_factory=list)


def read_notes(
    migrated: Counter[int],
    dropped: set[str],
    n_dropped: int,
    kept: int,
    unread: list[Read],
    unread_dir: Path,
) -> list[str]:
    """One line per kind of record that was not read as it is: migrated, read without unknown
    fields, kept (newer), set aside (unreadable)."""
    notes: list[str] = []
    if migrated:
        formats = " and ".join(f"{v}" for v in sorted(migrated))
        n = sum(migrated.values())
        notes.append(
            f"{_n(n, 'record')} of an older format ({formats}) migrated to format "
            f"{RECORD_FORMAT} as read (the files are left as they are)"
        )
    if dropped:
        notes.append(
            f"{_n(n_dropped, 'record')} with fields this resbench does not know "
            f"({', '.join(sorted(dropped))}): read without them"
        )
    if kept:
        notes.append(
            f"{_n(kept, 'record')} of a newer format than this resbench reads "
            f"({RECORD_FORMAT}): kept as they are, not rerun, left out of the tables; "
            "a newer resbench reads them"
        )
    if unread:
        first = unread[0]
        notes.append(
            f"{_n(len(unread), 'record')} that cannot be used ({first.path.name}: "
            f"{first.why}): {'its run is' if len(unread) == 1 else 'their runs are'} redone, "
            f"the old files moved to {unread_dir}"
        )
    return notes


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
