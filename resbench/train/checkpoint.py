"""Checkpoints of a run in progress: one file per run, written atomically, loaded without code.

`train_run` saves its whole loop state every `train.checkpoint_every` steps to a path its caller
chooses, and resumes from that file when it is given it again. The state is tensors, numbers,
strings and lists only, so it loads with `weights_only=True`: a checkpoint cannot run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from resbench.core.atomic import replacing

FORMAT = 2  # the layout of the saved state: a checkpoint of another layout is not resumed


def save(path: Path, run_id: str, state: dict[str, Any]) -> None:
    """Save `state`, the loop of run `run_id`, so that a reader sees the previous checkpoint or
    this one, whole."""
    with replacing(path) as tmp:
        torch.save({"run_id": run_id, "format": FORMAT, "loop": state}, tmp)


def load(path: Path, run_id: str) -> dict[str, Any] | None:
    """The loop state saved at `path` for `run_id`; None when there is none that fits."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a checkpoint only saves time: one that cannot be read means starting over
        return None
    if not isinstance(saved, dict) or saved.get("run_id") != run_id:
        return None
    if saved.get("format") != FORMAT:
        return None
    return saved["loop"]
