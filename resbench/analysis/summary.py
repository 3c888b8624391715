"""Statistics over seeds per (depth, arch): what `report`, `plot` and `check` summarise.

A sweep that varies more than depth, arch and seed (batch norm, say, or the family) has
variants: the spec columns that take several values within one (depth, arch). Summaries are
per variant, depth and arch; a variant's runs are never pooled with another's.

Means are over the runs that ended `ok`. Runs that diverged or failed are counted beside the
mean ("diverged 1/3"), never averaged in and never dropped silently. Everything here is data
(pandas frames and dicts); `resbench.views.text` turns it into tables and text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from resbench.analysis.variants import by_variant, variant_columns
from resbench.core.errors import ResbenchError
from resbench.sweep.claims import METRICS
from resbench.sweep.fields import truthy
from resbench.train.run_result import STATUSES

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_METRICS = ("train_error", "test_error")
RATIO_COLUMNS = ["depth", "arch", "n", "diverged", "n_init", "init", "n_end", "end"]


def summarize(runs: pd.DataFrame, metric: str = "train_error") -> pd.DataFrame:
    """Per variant, depth and arch: run counts, and mean, std, min, max of `metric` over the ok
    runs; the variant columns come first, when the sweep has variants."""
    import pandas as pd

    variants = variant_columns(runs)
    if not variants:
        return _summarize(runs, metric)
    frames = []
    for values, group in by_variant(runs, variants):
        summary = _summarize(group, metric)
        for i, (column, value) in enumerate(values.items()):
            summary.insert(i, column, value)
        frames.append(summary)
    return pd.concat(frames, ignore_index=True)


def _summarize(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (depth, arch): run counts, and mean, std, min, max of `metric` over the ok runs.

    `worse` marks the degradation: worse than a shallower net of the same arch beyond the noise
    over seeds, as `resbench.analysis.judging.worse` decides it for `check` too.
    """
    import pandas as pd

    require_metric(runs, metric)
    rows = []
    for (depth, arch), group in runs.groupby(["depth", "arch"], sort=True):
        rows.append({"depth": int(depth), "arch": arch, **seed_stats(group, metric)})
    summary = pd.DataFrame(rows, columns=["depth", "arch", *SEED_STATS])
    summary["worse"] = _worse_than_shallower(runs, metric, summary)
    return summary


# seed_stats' keys: `split` says where the seeds fall into two humps, where the mean describes
# no seed and the median and interquartile mean are the figures to read.
SEED_STATS = (
    "n", "n_ok", "diverged", "failed", "mean", "std", "min", "max", "median", "iqm", "split",
)  # fmt: skip


def seed_stats(group: pd.DataFrame, metric: str) -> dict[str, Any]:
    """Of one group's runs: counts by how they ended, and `metric`'s mean, std, min, max,
    median and interquartile mean over the ok ones (a diverged or failed run is counted, never
    averaged in), and whether they split (`resbench.analysis.effects.split`)."""
    from resbench.analysis.effects import iqm, split

    ok = group[group["status"] == "ok"][metric].dropna()
    diverged = int((group["status"] == "diverged").sum())
    return {
        "n": len(group),
        "n_ok": len(ok),
        "diverged": diverged,
        "failed": len(group) - len(ok) - diverged,
        "mean": ok.mean() if len(ok) else math.nan,
        "std": ok.std(ddof=1) if len(ok) > 1 else math.nan,
        "min": ok.min() if len(ok) else math.nan,
        "max": ok.max() if len(ok) else math.nan,
        "median": ok.median() if len(ok) else math.nan,
        "iqm": iqm(ok.to_numpy()),
        "split": split(ok.to_numpy()),
    }


def _worse_than_shallower(runs: pd.DataFrame, metric: str, summary: pd.DataFrame) -> list[bool]:
    """Per row: `resbench.analysis.judging.worse` than the best shallower net of the same arch?"""
    from resbench.analysis.judging import groups, worse_than_shallower

    worse = worse_than_shallower(groups(runs, metric))
    keys = zip(summary["arch"], summary["depth"], strict=True)
    return [worse.get((str(arch), int(depth)), False) for arch, depth in keys]


def require_metric(runs: pd.DataFrame, metric: str) -> None:
    """Raise a one-line error unless `metric` is a numeric result column of `runs`."""
    from pandas.api.types import is_numeric_dtype

    def numeric(column: str) -> bool:  # all missing (no ok run) counts: it shows as a dash
        return column in runs and (is_numeric_dtype(runs[column]) or runs[column].isna().all())

    valid = [c for c in METRICS if numeric(c)]
    if not numeric(metric):
        raise ResbenchError(f"unknown metric {metric!r} (valid: {', '.join(valid)})")


def describe(runs: pd.DataFrame) -> dict[str, str]:
    """What was measured, from the runs themselves: sweep, dataset, family, options that matter."""
    out: dict[str, str] = {}
    for key in ("sweep", "dataset", "family", "width"):
        if key in runs:
            out[key] = _values(runs[key])
    if "model.batch_norm" in runs:
        out["batch_norm"] = _values(runs["model.batch_norm"].map(truthy))
    if "model.shortcut" in runs:
        out["shortcut"] = _values(runs["model.shortcut"])
    if "model.zero_init_residual" in runs and runs["model.zero_init_residual"].map(truthy).any():
        out["zero_init_residual"] = _values(runs["model.zero_init_residual"].map(truthy))
    for key, usual in (("block", "basic"), ("init", "he"), ("activation", "relu")):
        column = runs.get(f"model.{key}")
        if column is not None and (column.dropna() != usual).any():
            out[key] = _values(column)
    for unit in ("epochs", "steps"):
        column = runs.get(f"train.{unit}")
        if column is not None and column.notna().any():
            out[unit] = _values(column.dropna().astype(int))
    return out


def status_counts(runs: pd.DataFrame) -> dict[str, Any]:
    """Runs by status (ok, diverged, failed always; oom, killed, timeout when present) and
    compute time."""
    counts = runs["status"].value_counts()
    out: dict[str, Any] = {"runs": len(runs)}
    for status in STATUSES:  # ok, diverged and failed always; the others when present
        if status in ("ok", "diverged", "failed") or counts.get(status, 0):
            out[status] = int(counts.get(status, 0))
    other = len(runs) - sum(v for k, v in out.items() if k != "runs")
    if other:
        out["other"] = other
    out["seconds"] = float(runs["seconds"].sum()) if "seconds" in runs else math.nan
    return out


def report_data(runs: pd.DataFrame, metrics: tuple[str, ...] = DEFAULT_METRICS) -> dict[str, Any]:
    """Everything a report shows, as plain data (the JSON format, and the source of the others):
    per metric the summaries, and `effects`, how often each arch beats the first over seed
    pairs at each depth (`improvements`)."""
    if runs.empty:
        raise ResbenchError("no runs to report: the runs table is empty")
    for metric in metrics:
        require_metric(runs, metric)
    return {
        "header": describe(runs),
        "notes": code_notes(runs),
        "status": status_counts(runs),
        "metrics": {m: summarize(runs, m) for m in metrics},
        "effects": {m: improvements(runs, m) for m in metrics},
    }


EFFECT_COLUMNS = ["depth", "arch", "than", "n", "n_than", "p_better", "low", "high"]


def improvements(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per variant and depth, for each arch but the first (in `arch_order`: plain where there
    is one): P(its metric < the first arch's) over seed pairs, ties half, with its 95% interval
    (`resbench.analysis.effects`); a diverged run counts as error 1.0, a group with runs missing
    or under two seeds gets no row."""
    import pandas as pd

    from resbench.analysis.effects import improvement
    from resbench.analysis.judging import groups

    variants = variant_columns(runs)
    rows = []
    for values, group in by_variant(runs, variants):
        by_key = groups(group, metric)
        archs = arch_order({a for a, _ in by_key})
        for (arch, depth), g in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            than = by_key.get((archs[0], depth))
            if arch == archs[0] or than is None or g.problem() or than.problem():
                continue
            if g.n < 2 or than.n < 2:
                continue
            found = improvement(g.values, than.values)
            low, high = found.interval()
            rows.append(
                {**values, "depth": depth, "arch": arch, "than": archs[0], "n": g.n}
                | {"n_than": than.n, "p_better": found.point, "low": low, "high": high}
            )
    return pd.DataFrame(rows, columns=[*variants, *EFFECT_COLUMNS])


def code_notes(runs: pd.DataFrame) -> list[str]:
    """A line when the runs were made by different code (resbench's version, or the hash of its
    built-in model and training code): a difference in the table may be the code's."""
    notes = []
    for column, what in (("resbench", "resbench versions"), ("code", "code versions")):
        if column not in runs:
            continue
        counts = runs[column].astype(object).fillna("unrecorded").astype(str).value_counts()
        if len(counts) > 1:
            shown = ", ".join(f"{value} ({n} runs)" for value, n in counts.items())
            notes.append(f"the runs were made by {len(counts)} {what}: {shown}")
    return notes


def layer_ratios(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, depth and arch: the first weight layer's gradient norm over the last's, at
    initialisation (step 0) and at the end (each run's last measured step after step 0).

    A ratio is a factor, so seeds are averaged geometrically (the mean of log ratios): one seed
    at 100 and one at 0.01 make 1, not 50. A run whose ratio is missing, zero or not finite
    there (it diverged, say) is left out of that mean and of its n; `diverged` counts the runs
    that diverged.
    """
    import numpy as np
    import pandas as pd

    grads = layers[layers["kind"] == "grad_norm"]
    if grads.empty:
        raise ResbenchError("no gradient norms recorded (train.diagnostics: [grad_norms])")
    last_layer = grads.groupby("run_id")["layer"].transform("max")
    first = grads[grads["layer"] == 0].set_index(["run_id", "step"])["value"]
    last = grads[grads["layer"] == last_layer].set_index(["run_id", "step"])["value"]
    ratio = (first / last).reset_index(name="ratio")
    ratio["log"] = np.log10(ratio["ratio"].where(ratio["ratio"] > 0))
    ratio["log"] = ratio["log"].where(np.isfinite(ratio["log"]))
    last_step = ratio.groupby("run_id")["step"].transform("max")
    at = {
        "init": ratio[ratio["step"] == 0],
        "end": ratio[(ratio["step"] == last_step) & (last_step > 0)],
    }
    variants = variant_columns(runs)
    keys = [*variants, "depth", "arch"]
    out = runs[["run_id", *keys, "status"]].drop_duplicates("run_id")
    for name, frame in at.items():
        out = out.merge(frame[["run_id", "log"]].rename(columns={"log": name}), how="left")
    rows = []
    for key, group in out.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key, strict=True))
        row["n"], row["diverged"] = len(group), int((group["status"] == "diverged").sum())
        for name in at:
            logs = group[name].dropna()
            row[f"n_{name}"] = len(logs)
            row[name] = 10 ** logs.mean() if len(logs) else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[*variants, *RATIO_COLUMNS])


def _values(column: pd.Series) -> str:
    """A column's distinct values, '8' or '8, 16' when it was swept."""
    return ", ".join(str(v) for v in sorted(set(column.dropna()), key=str))


def arch_order(archs: Iterable[str]) -> list[str]:
    """The distinct archs in the order tables and figures show them: the registry's (plain,
    residual, then the remedies), then any it does not know, by name."""
    from resbench.models.registry import arch_names

    present = set(archs)
    first = [a for a in arch_names() if a in present]
    return first + sorted(present - set(first))
