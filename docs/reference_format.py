"""What docs/reference_numbers.py's blocks share: the reference results (each read and judged
once), a cell of mean ± std as the report writes it, markdown tables, the claims' verdicts."""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resbench.results import Results

if TYPE_CHECKING:
    from resbench.analysis.judging import Judgement

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "results" / "reference"


@cache
def results(name: str) -> Results:
    return Results(REFERENCE / name)


@cache
def report(
    name: str, best_over: str | None = None, metrics: tuple[str, ...] = ("train_error",)
) -> dict[str, Any]:
    """`Results.report`, as `resbench report` shows it (`--best-over`, `--best-by train_loss`)."""
    return results(name).report(list(metrics), best_over=best_over)


@cache
def checked(name: str) -> list[Judgement]:
    """What `resbench check results/reference/NAME` judges."""
    return results(name).check()


def table(head: list[str], rows: list[list[str]], right: int | None = None) -> str:
    """A markdown table whose last `right` columns are right-aligned (by default, from the first
    whose header is a depth on)."""
    if right is None:
        depths = [i for i, h in enumerate(head) if h.removesuffix(" blocks").isdigit()]
        right = len(head) - depths[0] if depths else 0
    align = ["---"] * (len(head) - right) + ["---:"] * right
    lines = [f"| {' | '.join(head)} |", f"|{'|'.join(align)}|"]
    lines += ["| " + " | ".join(c.replace("|", r"\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def keep(frame: pd.DataFrame, **where: Any) -> pd.DataFrame:
    """The rows of `frame` whose columns hold these values (compared as text: a CSV's booleans
    and numbers read back either way)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column].astype(str) == str(value)
    return frame[mask]


def cell(row: pd.Series) -> str:
    """Mean ± std over the ok seeds, as `resbench report` writes it: (n) where runs are missing,
    ▲ worse than a shallower net beyond the noise, the runs that diverged or failed named, and
    the median where the seeds split in two."""
    n, ok = int(row["n"]), int(row["n_ok"])
    shown = f"{row['mean']:.3f} ± {row['std']:.3f}" if ok else "—"
    if ok and ok < n:
        shown += f" (n {ok})"
    if row.get("split", False):
        shown += f", split: median {row['median']:.3f}"
    if row.get("worse", False):
        shown += " ▲"
    for status in ("diverged", "failed"):
        if int(row[status]):
            shown += f", {status} {int(row[status])}/{n}"
    return shown


def factor(value: float) -> str:
    """A ratio: 3 significant digits, or a·10^k where it is very small or large."""
    if value is None or not math.isfinite(value):
        return "—"
    if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e3):
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}·10^{int(exponent)}"
    return f"{value:.3g}"


def interval(value: float, low: float, high: float, digits: int = 2) -> str:
    if not math.isfinite(low):
        return f"{value:+.{digits}f} (no interval)"
    return f"{value:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def rate(value: float) -> str:
    """A learning rate on a factor-2 grid: 2^-7."""
    return f"2^{round(math.log2(value))}"


def log2_rate(row: pd.Series) -> str:
    """log2 of the interpolated best rate with its 95% interval; ◂ at the grid's edge."""
    if not row["trainable"]:
        return "— (no trainable rate)"
    shown = f"{math.log2(row['optimum']):.2f}"
    if math.isfinite(row["optimum_low"]):
        shown += f" [{math.log2(row['optimum_low']):.2f}, {math.log2(row['optimum_high']):.2f}]"
    return shown + (" ◂" if row["at_edge"] else "")


def blocks_of(depth: int) -> str:
    return f"{depth} blocks"


def chance_bound(name: str, where: dict[str, str], depth: int, lr: float) -> float:
    """The upper end of the 95% t interval of the mean train loss over every seed at one rate:
    the drift's "clearly better than chance" (resbench.analysis.landscape)."""
    from scipy.stats import t

    runs = keep(results(name).runs, depth=depth, **where)
    losses = runs[runs["train.lr"] == lr]["train_loss"]
    n = len(losses)
    return losses.mean() + t.ppf(0.975, n - 1) * losses.std(ddof=1) / math.sqrt(n)


# --------------------------------------------------------------------------- claims


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else ""


def claim_row(number: int, o: Judgement) -> list[str]:
    numbers = ""
    if o.diff is not None and o.interval is not None:
        level = f"{100 * o.interval.level:.1f}".removesuffix(".0")
        numbers = f"{o.diff:+.3f} [{o.interval.low:+.3f}, {o.interval.high:+.3f}] ({level}%)"
    if len(o.groups) == 2 and all(g.n for g in o.groups):
        n = f"{o.groups[0].n}, {o.groups[1].n}"
    else:
        n = found(r"\(n (\d+ seeds)\)", o.note)
    wins = found(r"P\([^)]*\) ([\d.]+ \[[\d.]+, [\d.]+\])", o.note)
    decide = found(r"about (\d+ seeds a group) would likely decide it", o.note)
    if "a claim before it was not shown" in o.note:
        decide = "; ".join(x for x in (decide, "an earlier claim undecided (Holm)") if x)
    return [str(number), o.text, o.verdict, numbers, n, wins or "", decide]


def claims_table(name: str) -> str:
    """`resbench check results/reference/NAME`, a row per verdict, its last line below."""
    outcomes = checked(name)
    head = ["#", "claim", "verdict", "difference [interval] (level)", "n", "P(A < B)", "to decide"]
    rows = [claim_row(i, o) for i, o in enumerate(outcomes, 1)]
    from resbench.views.text import check_summary

    verdicts, _, family = check_summary(outcomes).partition(" · ")
    line = f"`resbench check results/reference/{name}`: **{verdicts}**"
    return table(head, rows, right=0) + f"\n\n{line}{'; ' + family if family else ''}."


def seeds_table(name: str, groups: list[tuple[str, int, dict[str, Any]]]) -> str:
    """Each seed's train error in a few groups the text quotes (diverged: the run diverged)."""
    runs = results(name).runs
    rows = []
    for arch, depth, where in groups:
        mine = keep(runs, arch=arch, depth=depth, **where).sort_values("seed")
        pairs = zip(mine["train_error"], mine["status"], strict=True)
        values = [f"{v:.3f}" if s == "ok" else s for v, s in pairs]
        label = ", ".join(
            [f"{arch}-{depth}", *(f"{k.split('.')[-1]} {v}" for k, v in where.items())]
        )
        rows.append([label, ", ".join(map(str, mine["seed"])), ", ".join(values)])
    return table(["group", "seeds", "train error of each"], rows, right=0)
