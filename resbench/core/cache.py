"""Where resbench keeps what it can make again: generated datasets, downloads, device peaks."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "RESBENCH_CACHE"


def cache_dir() -> Path:
    """$RESBENCH_CACHE, else resbench/ in the user's cache directory."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "resbench"
