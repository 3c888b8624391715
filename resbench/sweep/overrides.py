"""The command line's overrides of a sweep (`-s KEY=VALUE`, `run(overrides=...)`): where each
dotted key goes in the sweep's mapping, and which override an error of the sweep comes from."""

from __future__ import annotations

from typing import Any

import yaml

from resbench.sweep.messages import related
from resbench.sweep.schema import SweepError, split_key

# The sections that say which runs there are: an override of one may leave a claim no runs.
_RUNS_KEYS = ("grid", "zip", "exclude", "include")


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Set each dotted key of `overrides` in the sweep's `raw` mapping to its value."""
    for key, value in overrides.items():
        _override(raw, key, value)


def _override(raw: dict[str, Any], key: str, value: Any) -> None:
    """Under `grid.` the rest of the key is one swept key (`grid.train.warmup` is the grid's
    `train.warmup`), written as the grid spells the same field (`grid.model.depth` sets
    `depth`); elsewhere each dot goes one section down."""
    section, _, swept = key.partition(".")
    if section == "grid" and swept:
        grid = raw.setdefault("grid", {})
        if not isinstance(grid, dict):
            raise SweepError(f"-s {key}: grid is not a section that can be overridden")
        field = ".".join(split_key(swept))
        same = (k for k in grid if isinstance(k, str) and ".".join(split_key(k)) == field)
        grid[next(same, swept)] = value
        return
    *parents, leaf = split_key(key)
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SweepError(f"-s {key}: {part} is not a section that can be overridden")
    node[leaf] = value


def blame(path: str, overrides: dict[str, Any]) -> str:
    """' (from -s KEY=VALUE)' when the problem at `path` may come from an override; for a claim
    left without runs by an override of the runs, that one and how to leave the claims out."""
    if key := next((k for k in overrides if related(path, k)), None):
        return f" (from -s {key}={shown_yaml(overrides[key])})"
    narrowed = next((k for k in overrides if k.split(".")[0] in _RUNS_KEYS), None)
    if narrowed and path.startswith("expect"):
        return (
            f" (the runs narrowed by -s {narrowed}={shown_yaml(overrides[narrowed])}; "
            "-s expect=[] leaves the claims out)"
        )
    return ""


def shown_yaml(value: Any) -> str:
    """`value` as one line of YAML, as it would be written after `-s KEY=`."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True)
    return text.strip().removesuffix("\n...")
