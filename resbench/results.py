"""`Results`: a results folder and what it shows, the library's front door to recorded runs.

`resbench.store.folder.ResultsFolder` owns the folder (records, tables, lock); `Results` adds
what `report`, `plot`, `check` and `export` show of it: summaries over seeds, the claims'
verdicts, figures, the HTML page and TensorBoard event files. `resbench.run` returns one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resbench.core.arguments import (
    require_instance,
    require_number,
    require_path,
    require_text,
    require_texts,
)
from resbench.core.atomic import writing
from resbench.store.folder import DEFAULT_ROOT, ResultsFolder
from resbench.store.lock import StoreLocked
from resbench.sweep.defaults import BASELINE_TOLERANCE, BEST_BY

if TYPE_CHECKING:
    import pandas as pd

    from resbench.analysis.judging import Judgement
    from resbench.sweep.seed_budget import SeedBudget

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
        best_by: str = BEST_BY,
        reach_tolerance: float | None = None,
    ) -> dict[str, Any]:
        """Everything `resbench report` shows, as data: header, notes, status counts, and a
        summary per metric (mean ± std over seeds per variant, depth and arch); the depth each
        arch reaches (train error within `reach_tolerance` of its best depth's). With
        `best_over` (a swept key, e.g. train.lr), every summary at each arch's best value of it
        by the lowest mean `best_by`, and the selection, landscape, best values and drift."""
        from resbench.analysis.best_of import axes_report

        metrics = require_texts("metrics", metrics, "train_error")
        best_over, best_by = _best(best_over, best_by)
        reach = require_number("reach_tolerance", reach_tolerance, optional=True)
        return axes_report(self.runs, metrics, best_over, best_by, reach)

    def summary(self, metric: str = "train_error") -> pd.DataFrame:
        """Per variant, depth and arch: run counts and the metric's mean, std, min, max."""
        from resbench.analysis.summary import summarize

        return summarize(self.runs, require_text("metric", metric, "train_error"))

    def layer_ratios(self) -> pd.DataFrame:
        """Per variant, depth and arch: first ÷ last weight layer's gradient norm, at
        initialisation and at the end (geometric mean over seeds)."""
        from resbench.analysis.summary import layer_ratios

        return layer_ratios(self.layers, self.runs)

    def signal(self) -> pd.DataFrame:
        """`signal` as layers.csv has it (each layer's signal_rms, sample_cosine, and a
        transformer's token_cosine and token_spread, at step 0 and every curve point), with each
        run's variant columns beside it."""
        from resbench.analysis.why import SIGNAL, diagnostic

        return diagnostic(self.layers, self.runs, SIGNAL)

    def jacobian(self) -> pd.DataFrame:
        """`jacobian`: each layer's singular-value summary at initialisation, with variants."""
        from resbench.analysis.why import JACOBIAN, diagnostic

        return diagnostic(self.layers, self.runs, JACOBIAN)

    def gradient_correlation(self) -> pd.DataFrame:
        """`grad_correlation`: each layer's, at initialisation, with variants."""
        from resbench.analysis.why import diagnostic

        return diagnostic(self.layers, self.runs, ("grad_correlation",))

    def lesions(self) -> pd.DataFrame:
        """Per variant, arch, depth and block removed: the mean test error without that block
        over seeds, the intact nets' beside it (`lesions`)."""
        from resbench.analysis.why import lesion_table

        return lesion_table(self.layers, self.runs)

    def loss_slices(self) -> pd.DataFrame:
        """`loss_slice` and `loss_surface` points: the training loss at x = α (and y = β) along
        filter-normalised directions around each run's trained weights, with variants."""
        from resbench.analysis.why import diagnostic

        return diagnostic(self.layers, self.runs, ("loss_slice", "loss_surface"))

    def why(self) -> pd.DataFrame:
        """Per variant, arch and depth, over seeds: the last block's similarity between inputs
        (and tokens), Jacobian spectrum and gradient correlation at initialisation; the intact
        error and what removing a block adds to it after training (docs/why.md)."""
        from resbench.analysis.why import why_summary

        return why_summary(self.layers, self.runs)

    def why_tables(self) -> dict[str, pd.DataFrame]:
        """What `report --layers` and the page show of why depth fails, the tables the runs
        recorded by name: `signal` (the last block's, at initialisation and at the end),
        `spectrum` (its Jacobian and gradient correlation at initialisation), `trained` (what
        removing a block adds to the error), `lesions` (the error without each block) and
        `slices` (the loss slices' shape); empty when none was."""
        from resbench.analysis.why_report import why_report

        return why_report(self.layers, self.runs)

    def check(
        self,
        baseline: Results | str | Path | None = None,
        tolerance: float | None = None,
        best_over: str | None = None,
        best_by: str = BEST_BY,
    ) -> list[Judgement]:
        """The sweep's claims over its seeds (those naming no `best_over:` of their own at each
        arch's best value of `best_over`, when given), and with `baseline` (reference results),
        regression against them; `resbench.analysis.verdicts.all_passed` says whether all passed,
        and `outcomes_frame` makes them a table."""
        from resbench.analysis.verdicts import check

        tolerance = require_number("tolerance", tolerance, optional=True)
        best_over, best_by = _best(best_over, best_by)
        reference = None
        if (baseline := _baseline(baseline)) is not None:
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
            BASELINE_TOLERANCE if tolerance is None else tolerance,
            best_over,
            best_by,
        )

    @property
    def seed_budget(self) -> SeedBudget | None:
        """The sweep's `seeds:` budget (None without one, or without a sweep.yaml)."""
        from resbench.sweep.budget import load_budget

        return load_budget(self.sweep_path) if self.sweep_path.is_file() else None

    def best_of(self, key: str, by: str = BEST_BY) -> pd.DataFrame:
        """The runs of each arch, depth and variant at its best value of the swept `key` (the
        lowest mean `by`; chosen on half the seeds from 4 on)."""
        from resbench.analysis.best_of import best_of

        return best_of(self.runs, *_best(key, by, ("key", "by")))

    def _shown(self, best_over: str | None, best_by: str) -> pd.DataFrame:
        best_over, best_by = _best(best_over, best_by)
        return self.runs if best_over is None else self.best_of(best_over, best_by)

    def html(
        self,
        out: str | Path | None = None,
        metrics: Iterable[str] | None = None,
        baseline: Results | str | Path | None = None,
        tolerance: float | None = None,
        outcomes: list[Judgement] | None = None,
        notes: Iterable[str] = (),
    ) -> Path:
        """One self-contained HTML page of everything here (default report.html beside
        runs.csv): figures, tables, the claims' verdicts (`outcomes`, or judged now, with
        `baseline` when given), the runs that went wrong, and where they were made; `notes`,
        lines to show at the top besides what the tables lack."""
        from resbench.analysis.baseline import machine_note
        from resbench.views.page import write_page

        out = require_path("out", out, optional=True)
        metrics = require_texts("metrics", metrics, "train_error")
        baseline = _baseline(baseline)
        tolerance = require_number("tolerance", tolerance, optional=True)
        require_instance("outcomes", outcomes, (list, type(None)), "a list of Judgements")
        notes = [*self.table_notes(), *(require_texts("notes", notes, "a line") or [])]
        if outcomes is None and (self.claims or baseline is not None):
            outcomes = self.check(baseline, tolerance)
            if baseline is not None and (machine := machine_note(self.runs, baseline.runs)):
                notes.append(machine)
        path = out or self.runs_csv.with_name("report.html")
        return write_page(self, path, metrics, outcomes, notes)

    def tensorboard(self, out: str | Path) -> Path:
        """TensorBoard event files under `out`: a run each, its curves as scalars and its spec
        as hyper-parameters, and its diagnostics of why depth fails under `why/` where recorded
        (needs the tensorboard package)."""
        from resbench.views.tensorboard import export_tensorboard

        out = require_path("out", out)  # type: ignore[assignment]
        curves_csv = self.runs_csv.with_name("curves.csv")
        layers = self.layers if self.runs_csv.with_name("layers.csv").is_file() else None
        runs, curves = self.runs, self.curves if curves_csv.is_file() else None
        with writing(out):
            return export_tensorboard(runs, curves, out, layers)

    def plot_depth(
        self,
        out: str | Path | None = None,
        metric: str = "train_error",
        best_over: str | None = None,
        best_by: str = BEST_BY,
    ) -> Path:
        """The final metric against depth, a line per arch, a panel per variant (PNG); with
        `best_over`, each arch at its best value of that swept key."""
        from resbench.views.png import plot_depth

        out = require_path("out", out, optional=True) or self.runs_csv.with_name("depth.png")
        metric = require_text("metric", metric, "train_error")  # type: ignore[assignment]
        shown = self._shown(best_over, best_by)
        with writing(out):
            return plot_depth(shown, out, metric)

    def plot_curves(
        self,
        out: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = BEST_BY,
    ) -> Path:
        """The training curves, a panel per arch and variant (PNG)."""
        from resbench.views.png import plot_curves

        out = require_path("out", out, optional=True) or self.runs_csv.with_name("curves.png")
        curves, shown = self.curves, self._shown(best_over, best_by)
        with writing(out):
            return plot_curves(curves, shown, out)

    def plot_layers(
        self,
        out: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = BEST_BY,
    ) -> Path:
        """Gradient norm against layer, at initialisation and at the end (PNG)."""
        from resbench.views.png import plot_layers

        out = require_path("out", out, optional=True) or self.runs_csv.with_name("layers.png")
        layers, shown = self.layers, self._shown(best_over, best_by)
        with writing(out):
            return plot_layers(layers, shown, out)

    def plot_why(
        self,
        folder: str | Path | None = None,
        best_over: str | None = None,
        best_by: str = BEST_BY,
    ) -> list[Path]:
        """Why depth fails: a PNG per diagnostic the runs recorded, `why-<name>.png` in `folder`
        (default beside runs.csv): the signal, Jacobian and gradient correlation per layer,
        the lesions, the loss slice and surface (docs/why.md)."""
        from resbench.views.png import plot_why

        folder = require_path("folder", folder, optional=True) or self.runs_csv.parent
        layers, shown = self.layers, self._shown(best_over, best_by)
        with writing(folder):
            return plot_why(layers, shown, folder)

    def plot_landscape(
        self, key: str = "train.lr", by: str = BEST_BY, out: str | Path | None = None
    ) -> Path:
        """The depth-μP papers' figure: `by` against the swept `key` (log axis), a line per
        depth, a panel per arch and variant, each depth's best value starred (PNG)."""
        from resbench.views.png import plot_landscape

        key, by = _best(key, by, ("key", "by"))
        out = require_path("out", out, optional=True) or self.runs_csv.with_name("landscape.png")
        runs = self.runs
        with writing(out):
            return plot_landscape(runs, key, by, out)


def _best(over: Any, by: Any, names: tuple[str, str] = ("best_over", "best_by")) -> tuple[Any, str]:
    """A swept key to take each arch's best value of (None: none, but for `key`), and the
    metric whose lowest mean decides it, checked."""
    key = require_text(names[0], over, "train.lr", optional=names[0] == "best_over")
    return key, require_text(names[1], by, BEST_BY)  # type: ignore[return-value]


def _baseline(baseline: Any) -> Results | None:
    """Reference results: a Results, a results folder or its runs.csv, or None."""
    if baseline is None or isinstance(baseline, Results):
        return baseline
    require_path("baseline", baseline)
    return Results.open(baseline, role="baseline")
