"""The network families' depth rules: which depths each can be built at, in words for errors.

Kept apart from `resbench.models` (which builds the networks, with torch) because sweeps are
validated by the driver of a sweep, which never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """A family of networks: how depth is counted and which depths exist."""

    name: str
    rule: str  # the depth rule in words, for error messages
    is_valid_depth: Callable[[int], bool]
    examples: tuple[int, ...]
    input_shape: tuple[int, ...]  # one example of its natural data, for counting FLOPs


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("mlp", "an even number >= 4", lambda d: d >= 4 and d % 2 == 0, (4, 6, 8, 10), (40,)),
        Family(
            "conv1d",
            "6n+2 with n >= 1",
            lambda d: d >= 8 and (d - 2) % 6 == 0,
            (8, 14, 20, 26),
            (1, 40),
        ),
        Family(
            "cifar",
            "6n+2 with n >= 1",
            lambda d: d >= 8 and (d - 2) % 6 == 0,
            (20, 32, 44, 56, 110, 1202),
            (3, 32, 32),
        ),
    )
}


def depth_problem(family: str, depth: int) -> str | None:
    """Why `family` cannot be built at `depth`, or None when it can."""
    f = FAMILIES[family]
    if f.is_valid_depth(depth):
        return None
    shown = ", ".join(map(str, f.examples))
    return f"{family} depth must be {f.rule} ({shown}, ...)"
