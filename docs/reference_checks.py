"""The blocks of docs/statistics.md, docs/ci.md and docs/results.md that docs/reference_numbers.py
writes: what `resbench check` says of each reference now, the sentences the estimators
restated (benchmarks/sentences.py), and the `ci` reference's seeds."""

from __future__ import annotations

import importlib.util
import io
import subprocess
from collections.abc import Callable

import pandas as pd
from reference_format import ROOT, checked, keep, results, table

from resbench.views.text import check_summary

# `resbench check` on each reference with the code before Holm and the three verdicts
# (git b122f7a), which judged each claim alone: what the code printed then, kept as it was.
BEFORE = {
    "ci": "check passed: 3 passed, 0 failed, 0 inconclusive",
    "quick": "check passed: 4 passed, 0 failed, 0 inconclusive",
    "mlp": "check passed: 3 passed, 0 failed, 0 inconclusive",
    "transfer": "check passed: 11 passed, 0 failed, 0 inconclusive",
    "remedies": "check passed: 15 passed, 0 failed, 0 inconclusive",
    "remedies-lr": "check passed: 15 passed, 0 failed, 0 inconclusive",
    "transformers": "check passed: 9 passed, 0 failed, 0 inconclusive",
}
XEON_CI = "9a8131c"  # the commit whose results/reference/ci was made on an Intel Xeon


def reference_checks() -> str:
    rows = []
    for name, before in BEFORE.items():
        verdicts = check_summary(checked(name)).split(" · ")[0]
        rows.append([f"`{name}`", verdicts, before])
    return table(["results", "verdicts now", "before (one claim at a time)"], rows, right=0)


def sentences_module():  # a script, loaded by its path
    path = ROOT / "benchmarks" / "sentences.py"
    spec = importlib.util.spec_from_file_location("sentences", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def rows_table(head: list[str], rows: list[dict], keys: list[str]) -> str:
    return table(head, [[r[k] for k in keys] for r in rows], right=0)


def sentences() -> str:
    """benchmarks/sentences.py's table: each sentence, its old figure and its figure now."""
    module = sentences_module()
    rows = module.transfer_rows() + module.remedies_lr_rows()
    head = ["sentence", "old figure", "new figure", "n"]
    return rows_table(head, rows, ["sentence", "old", "new", "n"])


def splits() -> str:
    """benchmarks/sentences.py's groups whose seeds split."""
    rows = sentences_module().split_rows()
    return rows_table(["group", "mean ± std", "now", "n"], rows, ["sentence", "old", "new", "n"])


def ci_reference() -> str:
    """The `ci` reference's groups: mean ± std, median, IQM, range, n."""
    summary = results("ci").summary("train_error")
    rows = [
        [
            f"{r.arch}-{r.depth}",
            f"{r['mean']:.3f} ± {r['std']:.3f}",
            f"{r['median']:.3f}",
            f"{r['iqm']:.3f}",
            f"{r['min']:.3f}–{r['max']:.3f}",
            "yes" if r["split"] else "no",
            str(r["n_ok"]),
        ]
        for _, r in summary.iterrows()
    ]
    head = ["group (train error)", "mean ± std", "median", "IQM", "range", "split", "n"]
    return table(head, rows, right=6)


def ci_other_cpu() -> str:
    """Seeds 0-2 of each `ci` group on the Intel Xeon (git 9a8131c) and in the reference now."""
    shown = subprocess.run(
        ["git", "show", f"{XEON_CI}:results/reference/ci/runs.csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    xeon = pd.read_csv(io.StringIO(shown))
    now = results("ci").runs
    rows = []
    for arch, depth in (("plain", 8), ("plain", 56), ("residual", 8), ("residual", 56)):
        cells = []
        for runs in (xeon, now):
            mine = keep(runs, arch=arch, depth=depth).sort_values("seed")
            mine = mine[mine["seed"].isin([0, 1, 2])]
            cells.append(", ".join(f"{v:.3f}" for v in mine["train_error"]))
        rows.append([f"{arch}-{depth}", *cells])
    head = [
        "group (train error)",
        f"Intel Xeon (`git show {XEON_CI}:results/reference/ci/runs.csv`)",
        "AMD EPYC (`results/reference/ci`)",
    ]
    return table(head, rows, right=0)


BLOCKS: dict[str, Callable[[], str]] = {
    "statistics-checks": reference_checks,
    "statistics-sentences": sentences,
    "statistics-splits": splits,
    "ci-reference": ci_reference,
    "ci-other-cpu": ci_other_cpu,
}
