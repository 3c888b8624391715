"""Checkpoints of a run in progress: one file per run, written atomically, loaded without code.

`train_run` saves its whole loop state every `train.checkpoint_every` steps to a path its caller
chooses, and resumes from that file when it is given it again. The state is tensors, numbers,
strings and lists only, so it loads with `weights_only=True`: a checkpoint cannot run code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save(path: Path, state: dict[str, Any]) -> None:
    """Write `state` to `path` so that a reader sees the previous checkpoint or this one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: Path, run_id: str) -> dict[str, Any] | None:
    """The state saved at `path` for `run_id`; None when there is none that fits."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a checkpoint only saves time: one that cannot be read means starting over
        return None
    if not isinstance(state, dict) or state.get("run_id") != run_id:
        return None
    return state
