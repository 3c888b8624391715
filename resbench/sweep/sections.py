"""One section of a sweep file read alone, the rest unread: what a results folder's sweep.yaml
says of its claims or its seeds needs no dataset and no user code (which may not be importable
where results are read)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from resbench.sweep.messages import describe
from resbench.sweep.schema import SweepError

T = TypeVar("T")


def read_section(path: Path, key: str, validate: Callable[[Any], T], what: str) -> T:
    """`validate` of the `key:` section of the sweep file at `path` (None where it has none);
    an unreadable file or an invalid section is one SweepError line naming `what` or the key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise SweepError(f"{path}: cannot read its {what} ({type(e).__name__})") from None
    try:
        return validate(raw.get(key) if isinstance(raw, dict) else None)
    except ValidationError as e:
        where, problem = describe(e)
        raise SweepError(f"{path}: {key}.{where}: {problem}") from None
