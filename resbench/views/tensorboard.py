"""A sweep's results as TensorBoard event files, for those who compare runs there.

Each run becomes a TensorBoard run (a folder named by arch, depth, seed and run id): its curves
as scalars (`error/train`, `error/test`, `loss/train`, `loss/test` against step) and its spec as
hyper-parameters, with the final train and test error as their metrics, so that the HParams view
tables and filters the sweep; where the runs recorded them, the diagnostics of why depth fails
under `why/` (`resbench.views.tensorboard_why`). Written with torch's `SummaryWriter` and
tensorboard's hyper-parameter summaries: the optional extra `pip install "resbench[tensorboard]"`.
An export into a folder that holds one already replaces each run's events.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.errors import ResbenchError
from resbench.core.names import path_name
from resbench.views.tensorboard_why import why_scalars

if TYPE_CHECKING:
    import pandas as pd

FINAL_METRICS = ("train_error", "test_error", "train_loss", "test_loss")
# runs.csv columns that are not the spec: what a run produced, and where it ran.
NOT_SPEC = {"run_id", "sweep"}


def run_name(run: pd.Series) -> str:
    """The run's folder: 'plain-56-seed2-1a2b3c4d5e6f' (arch, depth, seed, then the id), one
    folder's name whatever the arch or a table's cells say (`resbench.core.names.path_name`)."""
    return path_name(f"{run['arch']}-{run['depth']}-seed{run['seed']}-{run['run_id']}")


def hyperparameters(run: pd.Series, spec_columns: list[str]) -> dict[str, bool | int | float | str]:
    """The run's spec as TensorBoard hyper-parameters (missing values left out) and its status."""
    out: dict[str, bool | int | float | str] = {}
    for column in [*spec_columns, "status"]:
        value = run.get(column)
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out[column] = value if isinstance(value, bool | int | float | str) else str(value)
    return out


def spec_columns(runs: pd.DataFrame) -> list[str]:
    """The runs table's spec columns: identity columns and every dotted spec field."""
    from resbench.store.tables import RUN_COLUMNS

    return [c for c in runs.columns if c not in NOT_SPEC and (c in RUN_COLUMNS or "." in c)]


def export_tensorboard(
    runs: pd.DataFrame,
    curves: pd.DataFrame | None,
    out: str | Path,
    layers: pd.DataFrame | None = None,
) -> Path:
    """Write a TensorBoard run per row of `runs` under `out`, with `layers`' diagnostics of
    why depth fails where given (`resbench.views.tensorboard_why`); returns `out`."""
    try:
        from tensorboard.plugins.hparams import summary_v2
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ResbenchError(
            "the tensorboard export needs the tensorboard package: "
            'pip install "resbench[tensorboard]"'
        ) from None
    if runs.empty:
        raise ResbenchError("nothing to export: the runs table is empty")
    out = Path(out)
    columns = spec_columns(runs)
    by_run = dict(tuple(curves.groupby("run_id"))) if curves is not None else {}
    why = dict(tuple(layers.groupby("run_id"))) if layers is not None else {}
    every = [hyperparameters(run, columns) for _, run in runs.iterrows()]
    params = [summary_v2.HParam(name, _domain(summary_v2, every, name)) for name in _names(every)]
    for (_, run), values in zip(runs.iterrows(), every, strict=True):
        final = {f"final/{m}": float(run[m]) for m in FINAL_METRICS if m in run and _finite(run[m])}
        folder = out / run_name(run)
        # An export again replaces the run's events: TensorBoard would show both, each twice.
        for old in folder.glob("events.out.tfevents.*"):
            old.unlink()
        with _writer_errors_once(), SummaryWriter(log_dir=str(folder)) as writer:
            points = by_run.get(run["run_id"])
            if points is not None:
                for p in points.sort_values("step").itertuples():
                    if _finite(p.value):
                        writer.add_scalar(f"{p.metric}/{p.split}", float(p.value), int(p.step))
            if (diagnostics := why.get(run["run_id"])) is not None:
                for tag, value, step in why_scalars(diagnostics):
                    writer.add_scalar(tag, value, step)
            # In the run's own folder (SummaryWriter.add_hparams would make a folder of its
            # own), so that the HParams view joins them with the run's curves; by tensorboard's
            # own writer of them, which keeps a bool a bool (torch's makes it a number).
            config = summary_v2.hparams_config_pb(
                hparams=params, metrics=[summary_v2.Metric(f"final/{m}") for m in FINAL_METRICS]
            )
            writer.file_writer.add_summary(config)
            writer.file_writer.add_summary(summary_v2.hparams_pb(values, trial_id=run["run_id"]))
            step = int(run["steps"]) if _finite(run.get("steps")) else 0
            for tag, value in final.items():
                writer.add_scalar(tag, value, step)
    return out


@contextmanager
def _writer_errors_once() -> Iterator[None]:
    """tensorboard's writer thread hands its error (a full disk) to the writer, which raises
    it here: the thread's own report of it would print it a second time, as a traceback."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if not isinstance(args.exc_value, OSError):
            previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


def _names(every: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(name for values in every for name in values))


def _domain(summary_v2: Any, every: list[dict[str, Any]], name: str) -> Any:
    """The values `name` takes over the sweep, as the HParams view's filter offers them; none
    where they mix types."""
    values = sorted({v[name] for v in every if name in v}, key=str)
    kinds = {bool if isinstance(v, bool) else float if isinstance(v, int | float) else str
             for v in values}  # fmt: skip
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    return summary_v2.Discrete([kind(v) for v in values])


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
