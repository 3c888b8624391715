"""The tidy tables of a sweep: built from run records, written as CSV, read back as frames.

runs.csv    one row per run: identity columns, every other spec field (dotted), the results
curves.csv  one row per (run, step, split, metric)
layers.csv  one row per (run, step, layer, kind) of `train.diagnostics`

The records are the truth; these are derived from them and can always be rebuilt.
"""

from __future__ import annotations

import csv as csv_format
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.errors import ResbenchError
from resbench.core.names import shown
from resbench.store.numbers import row_problem

if TYPE_CHECKING:
    import pandas as pd

    from resbench.train.run_result import RunResult

RUN_COLUMNS = [
    "run_id", "sweep", "dataset", "family", "arch", "depth", "width", "seed",
]  # fmt: skip
RESULT_COLUMNS = [
    "status", "train_error", "test_error", "train_loss", "test_loss", "epochs", "steps",
    "params", "seconds", "train_seconds", "eval_seconds", "startup_seconds", "samples_per_s",
    "flops_per_sample", "gflops", "mfu", "compiled", "device",
]  # fmt: skip
# Where a run was made, from its record's env: the same spec gives the same numbers only on the
# same CPU model (or GPU), thread count (in `device`) and torch build.
MACHINE_COLUMNS = ["cpu_model", "gpu", "torch"]
# The code that made a run: resbench's version and a hash of its built-in model and training
# code (resbench.train.provenance.code_identity); empty for records made before they were recorded.
CODE_COLUMNS = ["resbench", "code"]
CURVE_COLUMNS = ["run_id", "arch", "depth", "seed", "step", "epoch", "split", "metric", "value"]
LAYER_COLUMNS = ["run_id", "arch", "depth", "seed", "step", "layer", "kind", "value"]
# A point's coordinates (a loss slice's position), after LAYER_COLUMNS when some point has them.
COORDINATE_COLUMNS = ["x", "y"]
# Spec fields shown by their short identity column instead, and that column.
SHOWN = {
    "dataset.name": "dataset",
    "model.family": "family",
    "model.arch": "arch",
    "model.depth": "depth",
    "model.width": "width",
}


def runs_frame(results: list[RunResult]) -> pd.DataFrame:
    """One row per run: identity columns, every other spec field (dotted), then the results."""
    import pandas as pd

    rows = []
    for r in results:
        s = r.spec
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "sweep": s.sweep,
            "dataset": s.dataset.name,
            "family": s.model.family,
            "arch": s.model.arch,
            "depth": s.model.depth,
            "width": s.model.width,
            "seed": s.seed,
        }
        for key, value in _flatten(s.model_dump(mode="json", exclude={"sweep", "seed"})).items():
            if key not in SHOWN:
                row[key] = json.dumps(value) if isinstance(value, list) else value
        for key in RESULT_COLUMNS:
            row[key] = getattr(r, key)
        for key in [*MACHINE_COLUMNS, *CODE_COLUMNS]:
            row[key] = r.env.get(key)
        row["error"] = r.error
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(
            columns=[*RUN_COLUMNS, *RESULT_COLUMNS, *MACHINE_COLUMNS, *CODE_COLUMNS, "error"]
        )
    return frame


def curves_frame(results: list[RunResult]) -> pd.DataFrame:
    """Long form: one row per (run, step, split, metric)."""
    import pandas as pd

    rows = []
    for r in results:
        key = (r.run_id, r.spec.model.arch, r.spec.model.depth, r.spec.seed)
        for p in r.curve:
            for split in ("train", "test"):
                for metric in ("loss", "error"):
                    value = getattr(p, f"{split}_{metric}")
                    rows.append((*key, p.step, p.epoch, split, metric, value))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def layers_frame(results: list[RunResult]) -> pd.DataFrame:
    """Long form: one row per (run, step, layer, kind) of the runs' diagnostics."""
    import pandas as pd

    rows = []
    for r in results:
        key = (r.run_id, r.spec.model.arch, r.spec.model.depth, r.spec.seed)
        rows += [(*key, p.step, p.layer, p.kind, p.value, p.x, p.y) for p in r.layers]
    frame = pd.DataFrame(rows, columns=[*LAYER_COLUMNS, *COORDINATE_COLUMNS])
    if frame[COORDINATE_COLUMNS].isna().all().all():
        return frame[LAYER_COLUMNS]  # the columns tables had before points had coordinates
    return frame


def column_of(key: str) -> str:
    """The runs.csv column of a sweep's key: 'model.batch_norm' -> itself, 'model.width' ->
    'width' (an identity column), 'depth' -> 'depth'."""
    from resbench.sweep.schema import split_key

    dotted = ".".join(split_key(key))
    return SHOWN.get(dotted, dotted)


def read_runs(csv: Path) -> pd.DataFrame:
    """A runs table, read back whole or not at all: one-line errors for a missing or unreadable
    file, and for one with a row that no run can have made (cut short, a status that is not
    one, a number no run records: `resbench.store.numbers`)."""
    runs = read_table(csv, "run the sweep first: resbench run")
    if missing := [c for c in ("arch", "depth", "seed", "status") if c not in runs.columns]:
        raise ResbenchError(f"{shown(csv)}: not a runs table (no column {', '.join(missing)})")
    if problem := _row_problem(csv, runs):
        raise ResbenchError(
            f"{shown(csv)}: {problem}: not read (a table cut short or edited; `resbench run` "
            "makes it again from the records)"
        )
    return runs


def _row_problem(csv: Path, runs: pd.DataFrame) -> str | None:
    """The first row of `runs` (read from `csv`) that no run can have made, and why."""
    from resbench.train.run_result import STATUSES

    text = csv.read_bytes().decode("utf-8", "replace")
    widths = [len(row) for row in csv_format.reader(io.StringIO(text, newline="")) if row]
    for i, width in enumerate(widths[1:], start=1):
        if width != widths[0]:
            return f"row {i} has {width} of the header's {widths[0]} fields"
    for i, row in enumerate(runs.to_dict("records"), start=1):
        if row["status"] not in STATUSES:
            return f"row {i}: status {row['status']!r} is not a run's status"
        if problem := row_problem(row):
            return f"row {i}: {problem}"
    return None


def read_table(csv: Path, hint: str) -> pd.DataFrame:
    """A table of a results folder, read back; `hint` says how to get it when it is missing."""
    import pandas as pd

    if not csv.is_file():
        raise ResbenchError(f"{shown(csv)}: no such file ({hint})")
    try:
        return pd.read_csv(csv)
    except (OSError, ValueError, csv_format.Error) as e:  # pandas' parser errors are ValueErrors
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ResbenchError(f"{shown(csv)}: not a readable table ({shown(why)[:200]})") from None


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
