"""How a sweep's problems are worded: one line that names the field path and the value.

Validation happens in two places (pydantic's schema, and the axes and expansion of
`resbench.sweep.load`); both raise `Invalid(path, problem)`, and the loader adds the file's name,
and the `-s` override at fault if there is one, before it becomes a `SweepError`.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from resbench.models.config import ModelSection
from resbench.sweep.schema import GRID_ALIASES, ExecutorSection, Sweep, TrainConfig
from resbench.sweep.seed_budget import SeedBudget

# Discriminated unions add the tag to error locations; these are the claims'.
CLAIM_TAGS = ("degrades", "holds", "beats")
# The registry's own errors about `dataset.name` (resbench.data.registry.validate).
DATASET_NAME_ERRORS = ("dataset_name_missing", "dataset_name_unknown", "dataset_plugin")


class Invalid(Exception):
    """A problem at a field path, before the source is known."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def describe(error: ValidationError) -> tuple[str, str]:
    """The first validation error as (field path, 'problem (got value)')."""
    err = error.errors()[0]
    loc = [str(part) for part in err["loc"] if part not in CLAIM_TAGS]
    path = ".".join(loc)
    msg, kind = err["msg"], err["type"]
    if kind == "extra_forbidden":
        return path, f"unknown key{_valid_keys(loc)}"
    if kind == "missing":
        return path, "required"
    if kind in DATASET_NAME_ERRORS:
        return f"{path}.name", msg
    if kind == "dataset_plugin_options":
        return f"{path}.options", msg
    msg = msg.removeprefix("Value error, ")
    value = err.get("input")
    # Section-level problems carry the whole section as input: the message says enough.
    got = "" if isinstance(value, dict) else f" (got {value!r})"
    return path, f"{msg}{got}"


def related(path: str, key: str) -> bool:
    """Whether a problem at `path` may come from an override of `key` (either holds the other)."""
    return path == key or path.startswith(f"{key}.") or key.startswith(f"{path}.")


def _valid_keys(loc: list[str]) -> str:
    """' (valid: a, b, c)' for the section that holds the unknown key at `loc`."""
    sections: dict[str, type[BaseModel]] = {
        "": Sweep,
        "model": ModelSection,
        "train": TrainConfig,
        "executor": ExecutorSection,
        "seeds": SeedBudget,
    }
    cls = sections.get(".".join(loc[:-1]))
    if cls is None:
        return ""
    hint = (
        " (depth, arch and seed are swept: put them in grid: or zip:)"
        if loc[-1] in GRID_ALIASES
        else ""
    )
    return f"{hint} (valid: {', '.join(cls.model_fields)})"
