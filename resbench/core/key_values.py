"""KEY=VALUE items from the command line (`run -s`, `models --option`), each value read as YAML."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from resbench.core.errors import ResbenchError


def parse_key_values(items: Iterable[str], flag: str, example: str) -> dict[str, Any]:
    """['train.epochs=5', 'grid.depth=[8, 20]'] -> {'train.epochs': 5, 'grid.depth': [8, 20]}.

    `flag` and `example` (`-s`, `train.epochs=5`) word the one-line error of a bad item.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ResbenchError(f"{flag} {item}: expected KEY=VALUE, e.g. {flag} {example}")
        try:
            out[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ResbenchError(f"{flag} {item}: the value is not valid YAML") from None
    return out
