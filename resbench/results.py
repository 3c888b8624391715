"""`Results`: a results folder and what it shows, the library's front door to recorded runs.

`resbench.store.folder.ResultsFolder` owns the folder (records, tables, lock); `Results` adds
what `report`, `plot`, `check` and `export` show of it: summaries over seeds, the claims'
verdicts, figures, the HTML page and TensorBoard event files. `resbench.run` returns one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.store.folder import DEFAULT_ROOT, ResultsFolder, StoreLocked

if TYPE_CHECKING:
    import pandas as pd

    from resbench.analysis.judging import Outcome
    from resbench.sweep.schema import SeedBudget

__all__ = ["DEFAULT_ROOT", "Results", "StoreLocked"]


class Results(ResultsFolder):
    """One sweep's results folder and what it shows.

    `Results("results/quick")`, or `Results.open()` for the newest under results/; a runs.csv
    elsewhere is named by `runs_csv`, its curves.csv and layers.csv beside it.
    """

    def report(
        self,
        metrics: Iterable[str] | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
        reach_tolerance: float | None = None,
    ) -> dict[str, Any]:
        """Everything `resbench report` shows, as data: header, notes, status counts, and a
        summary per metric (mean ± std over seeds per variant, depth and arch); the depth each
        arch reaches (train error within `reach_tolerance` of its best depth's). With
        `best_over` (a swept key, e.g. train.lr), every summary at each arch's best value of it
        by the lowest mean `best_by`, and the selection, landscape, best values and drift."""
        from resbench.analysis.best_of import axes_report

        return axes_report(self.runs, metrics, best_over, best_by, reach_tolerance)

    def summary(self, metric: str = "train_error") -> pd.DataFrame:
        """Per variant, depth and arch: run counts and the metric's mean, std, min, max."""
        from resbench.analysis.summary import summarize

        return summarize(self.runs, metric)

    def layer_ratios(self) -> pd.DataFrame:
        """Per variant, depth and arch: first ÷ last weight layer's gradient norm, at
        initialisation and at the end (geometric mean over seeds)."""
        from resbench.analysis.summary import layer_ratios

        return layer_ratios(self.layers, self.runs)

    def check(
        self,
        baseline: Results | str | Path | None = None,
        tolerance: float | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> list[Outcome]:
        """The sweep's claims over its seeds (those naming no `best_over:` of their own at each
        arch's best value of `best_over`, when given), and with `baseline` (reference results),
        regression against them; `resbench.analysis.verdicts.all_passed` says whether all passed,
        and `outcomes_frame` makes them a table."""
        from resbench.analysis.baseline import DEFAULT_TOLERANCE
        from resbench.analysis.verdicts import check

        reference = None
        if baseline is not None:
            if not isinstance(baseline, Results):
                baseline = Results.open(baseline, role="baseline")
            reference = baseline.runs
        if (budget := self.seed_budget) is not None:
            # Judged as the runs were: by the sequential rule the rounds stopped on.
            from resbench.analysis import sequential
            from resbench.core.errors import ResbenchError

            if best_over is not None:
                raise ResbenchError("--best-over: the claims of a seed budget take no best value")
            return sequential.check(self.runs, self.claims, budget, reference, tolerance)
        return check(
            self.runs,
            self.claims,
            reference,
            DEFAULT_TOLERANCE if tolerance is None else tolerance,
            best_over,
            best_by,
        )

    @property
    def seed_budget(self) -> SeedBudget | None:
        """The sweep's `seeds:` budget (None without one, or without a sweep.yaml)."""
        from resbench.sweep.budget import load_budget

        return load_budget(self.sweep_path) if self.sweep_path.is_file() else None

    def best_of(self, key: str, by: str = "train_loss") -> pd.DataFrame:
        """The runs of each arch, depth and variant at its best value of the swept `key` (the
        lowest mean `by`; chosen on half the seeds from 4 on)."""
        from resbench.analysis.best_of import best_of

        return best_of(self.runs, key, by)

    def _shown(self, best_over: str | None, best_by: str) -> pd.DataFrame:
        return self.runs if best_over is None else self.best_of(best_over, best_by)

    def html(
        self,
        out: str | Path | None = None,
        metrics: Iterable[str] | None = None,
        baseline: Results | str | Path | None = None,
        tolerance: float | None = None,
        outcomes: list[Outcome] | None = None,
        notes: Iterable[str] = (),
    ) -> Path:
        """One self-contained HTML page of everything here (default report.html beside
        runs.csv): figures, tables, the claims' verdicts (`outcomes`, or judged now, with
        `baseline` when given), the runs that went wrong, and where they were made; `notes`,
        lines to show at the top besides what the tables lack."""
        from resbench.analysis.baseline import machine_note
        from resbench.views.page import write_page

        notes = [*self.table_notes(), *notes]
        if outcomes is None and (self.claims or baseline is not None):
            if baseline is not None and not isinstance(baseline, Results):
                baseline = Results.open(baseline, role="baseline")
            outcomes = self.check(baseline, tolerance)
            if baseline is not None and (machine := machine_note(self.runs, baseline.runs)):
                notes.append(machine)
        path = out or self.runs_csv.with_name("report.html")
        return write_page(self, path, metrics, outcomes, notes)

    def tensorboard(self, out: str | Path) -> Path:
        """TensorBoard event files under `out`: a run each, its curves as scalars and its spec
        as hyper-parameters (needs the tensorboard package)."""
        from resbench.views.tensorboard import export_tensorboard

        curves_csv = self.runs_csv.with_name("curves.csv")
        return export_tensorboard(self.runs, self.curves if curves_csv.is_file() else None, out)

    def plot_depth(
        self,
        out: str | Path | None = None,
        metric: str = "train_error",
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> Path:
        """The final metric against depth, a line per arch, a panel per variant (PNG); with
        `best_over`, each arch at its best value of that swept key."""
        from resbench.views.png import plot_depth

        out = out or self.runs_csv.with_name("depth.png")
        return plot_depth(self._shown(best_over, best_by), out, metric)

    def plot_curves(
        self,
        out: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> Path:
        """The training curves, a panel per arch and variant (PNG)."""
        from resbench.views.png import plot_curves

        curves = self.curves
        out = out or self.runs_csv.with_name("curves.png")
        return plot_curves(curves, self._shown(best_over, best_by), out)

    def plot_layers(
        self,
        out: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = "train_loss",
    ) -> Path:
        """Gradient norm against layer, at initialisation and at the end (PNG)."""
        from resbench.views.png import plot_layers

        layers = self.layers
        out = out or self.runs_csv.with_name("layers.png")
        return plot_layers(layers, self._shown(best_over, best_by), out)

    def plot_landscape(
        self, key: str = "train.lr", by: str = "train_loss", out: str | Path | None = None
    ) -> Path:
        """The depth-μP papers' figure: `by` against the swept `key` (log axis), a line per
        depth, a panel per arch and variant, each depth's best value starred (PNG)."""
        from resbench.views.png import plot_landscape

        return plot_landscape(self.runs, key, by, out or self.runs_csv.with_name("landscape.png"))
