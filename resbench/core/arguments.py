"""The Python API's arguments, checked at the door: a wrong one is one `ResbenchError` line that
names it, says what it must be, and shows what it was, before anything is read, written or run.

    run(..., overrides="train.epochs=1")
    ResbenchError: overrides: a mapping of dotted keys to values, e.g. {"train.epochs": 5};
    got the str 'train.epochs=1'
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from resbench.core.errors import ResbenchError


def require_path(name: str, value: Any, optional: bool = False) -> Path | None:
    """`value` as a Path: a str or an os.PathLike (None too when `optional`)."""
    if value is None and optional:
        return None
    if (isinstance(value, str) and value) or isinstance(value, os.PathLike):
        return Path(value)
    raise _wrong(name, "a path (a str or a pathlib.Path)" + _or_none(optional), value)


def require_text(name: str, value: Any, example: str, optional: bool = False) -> str | None:
    """`value`, a str that is not empty (None too when `optional`); `example` shows one."""
    if value is None and optional:
        return None
    if isinstance(value, str) and value:
        return value
    raise _wrong(name, f"a name, e.g. {example!r}" + _or_none(optional), value)


def require_texts(name: str, value: Any, example: str) -> list[str] | None:
    """`value`: None, or a list (any iterable but a str) of names."""
    if value is None:
        return None
    if not isinstance(value, str | bytes | Mapping) and isinstance(value, Iterable):
        items = list(value)
        if all(isinstance(item, str) and item for item in items):
            return items
    raise _wrong(name, f"a list of names, e.g. [{example!r}], or None", value)


def require_flag(name: str, value: Any) -> bool:
    """`value`, True or False (not 1, not "yes")."""
    if isinstance(value, bool):
        return value
    raise _wrong(name, "True or False", value)


def require_flag_or_none(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _wrong(name, "True, False or None", value)


def require_count(name: str, value: Any, minimum: int = 1, optional: bool = False) -> int | None:
    """`value`, an int of at least `minimum` (not a bool, not a str; None too when
    `optional`)."""
    if value is None and optional:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise _wrong(name, f"a whole number of at least {minimum}" + _or_none(optional), value)


def require_number(
    name: str, value: Any, minimum: float = 0.0, optional: bool = False
) -> float | None:
    """`value`, a finite number of at least `minimum` (None too when `optional`)."""
    if value is None and optional:
        return None
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    ):
        return float(value)
    raise _wrong(name, f"a number of at least {minimum:g}" + _or_none(optional), value)


def require_mapping(name: str, value: Any, example: str) -> dict[str, Any]:
    """`value`: None (empty), or a mapping whose keys are names; `example` shows one."""
    if value is None:
        return {}
    if isinstance(value, Mapping) and all(isinstance(k, str) and k for k in value):
        return dict(value)
    raise _wrong(name, f"a mapping of names to values, e.g. {example}, or None", value)


def require_callable(name: str, value: Any) -> Callable[..., Any] | None:
    if value is None or callable(value):
        return value
    raise _wrong(name, "a function that takes an event, or None", value)


def require_instance(name: str, value: Any, kinds: type | tuple[type, ...], what: str) -> Any:
    """`value`, an instance of `kinds`, which `what` names for the user."""
    if isinstance(value, kinds):
        return value
    raise _wrong(name, what, value)


def _wrong(name: str, what: str, value: Any) -> ResbenchError:
    return ResbenchError(f"{name}: {what}; got {_shown(value)}")


def _shown(value: Any) -> str:
    if value is None:
        return "None"
    text = repr(value)
    text = text if len(text) <= 60 else f"{text[:56]}…"
    return f"the {type(value).__name__} {text}"


def _or_none(optional: bool) -> str:
    return ", or None" if optional else ""
