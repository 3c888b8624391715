"""What numbers a run can record: the one rule for a record's numbers, and a runs table's.

A number is one a run can record when it is finite and within its field's range: errors from 0
to 1; losses not negative; counts, durations and rates not negative and below what any run
reaches (a thousand years of seconds, 10^15 of anything counted). Anything else is damage (an
edited or corrupted file), not a measurement: a record with such a number cannot be used (set
aside and its run redone, as a torn one is: `resbench.store.record_format`), and a runs table
with one is not read. A value the run did not record (None, an empty cell) is fine, but for an
ok run's train_error, which every run that ends ok measures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resbench.train.run_result import RunResult

YEARS_1000 = 1000 * 365.25 * 24 * 3600
COUNT_LIMIT = 1e15
ERROR = (0.0, 1.0)
LOSS = (0.0, math.inf)  # finite: a net on its way to diverging reaches 1e34 and more
AMOUNT = (0.0, COUNT_LIMIT)
DURATION = (0.0, YEARS_1000)
# A record's (and runs.csv's) numbers, by field, and their ranges.
RANGES: dict[str, tuple[float, float]] = {
    "train_error": ERROR,
    "test_error": ERROR,
    "train_loss": LOSS,
    "test_loss": LOSS,
    "epochs": AMOUNT,
    "steps": AMOUNT,
    "params": AMOUNT,
    "seconds": DURATION,
    "train_seconds": DURATION,
    "eval_seconds": DURATION,
    "startup_seconds": DURATION,
    "samples_per_s": AMOUNT,
    "flops_per_sample": AMOUNT,
    "gflops": AMOUNT,
    "mfu": AMOUNT,
    "warmup_steps": AMOUNT,
    "attempts": AMOUNT,
    "resumed_at": AMOUNT,
}
# A run that ended ok has measured its training set: an ok run without it is not one.
OK_WITHOUT_ERROR = "status ok without a train_error"
# A curve point's numbers; the learning rate may be any finite number.
CURVE_RANGES: dict[str, tuple[float, float]] = {
    "step": AMOUNT,
    "epoch": AMOUNT,
    "lr": (-math.inf, math.inf),
    "train_loss": LOSS,
    "train_error": ERROR,
    "test_loss": LOSS,
    "test_error": ERROR,
}


def problem_of(
    name: str,
    value: Any,
    ranges: Mapping[str, tuple[float, float]] = RANGES,
    empty_nan: bool = False,
) -> str | None:
    """Why `value` cannot be the field `name` of a run, or None when it can; with `empty_nan`
    (a table read by pandas) a NaN is an empty cell, a value not recorded."""
    if value is None or isinstance(value, bool) or name not in ranges:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return f"{name} {_short(value)} is not a number"
    if math.isnan(number) and empty_nan:
        return None
    low, high = ranges[name]
    if not (math.isfinite(number) and low <= number <= high):
        return f"{name} {_short(value)} is not a number a run can record"
    return None


def record_problem(result: RunResult) -> str | None:
    """Why `result` cannot be what a run recorded, or None when every number in it can be."""
    for name in RANGES:
        if problem := problem_of(name, getattr(result, name, None)):
            return problem
    if result.status == "ok" and result.train_error is None:
        return OK_WITHOUT_ERROR
    for i, point in enumerate(result.curve):
        for name in CURVE_RANGES:
            if problem := problem_of(name, getattr(point, name), CURVE_RANGES):
                return f"curve[{i}].{problem}"
    for i, layer in enumerate(result.layers):
        if layer.value is not None and not math.isfinite(layer.value):
            return f"layers[{i}].value {_short(layer.value)} is not a number a run can record"
    return None


def row_problem(row: Mapping[str, Any]) -> str | None:
    """Why a row of a runs table cannot be a run's, or None when every number in it can be."""
    if problem := next(
        (p for name in RANGES if (p := problem_of(name, row.get(name), empty_nan=True))), None
    ):
        return problem
    error = row.get("train_error")
    missing = error is None or (isinstance(error, float) and math.isnan(error))
    return OK_WITHOUT_ERROR if row.get("status") == "ok" and missing else None


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else f"{text[:20]}…({len(text)} characters)"
