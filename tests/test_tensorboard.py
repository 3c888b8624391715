"""`resbench export --tensorboard`: event files that TensorBoard's own reader reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from resbench.cli import app
from resbench.results import Results
from resbench.views.tensorboard import run_name

pytest.importorskip("tensorboard", reason='the optional extra: pip install "resbench[tensorboard]"')
runner = CliRunner()
CI = ROOT / "results" / "reference" / "ci"


def read_back(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def test_export_round_trips_every_runs_curves_and_spec(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import plugin_data_pb2

    result = runner.invoke(app, ["export", str(CI), "--tensorboard", str(tmp_path)])
    assert result.exit_code == 0, result.output
    found = Results(CI)
    runs, curves = found.runs, found.curves
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        run_name(r) for _, r in runs.iterrows()
    )
    for _, run in runs.iterrows():
        events = read_back(tmp_path / run_name(run))
        mine = curves[curves["run_id"] == run["run_id"]]
        for (metric, split), points in mine.groupby(["metric", "split"]):
            scalars = events.Scalars(f"{metric}/{split}")
            assert [s.step for s in scalars] == sorted(points["step"])
            expected = points.sort_values("step")["value"].tolist()
            assert [s.value for s in scalars] == pytest.approx(expected, rel=1e-6)
        assert events.Scalars("final/train_error")[-1].value == pytest.approx(run["train_error"])
        content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
        assert hparams["arch"].string_value == run["arch"]
        assert hparams["depth"].number_value == run["depth"]
        assert hparams["seed"].number_value == run["seed"]
        assert hparams["train.lr"].number_value == pytest.approx(run["train.lr"])
        assert hparams["model.batch_norm"].bool_value == bool(run["model.batch_norm"])
        assert hparams["status"].string_value == run["status"]
        assert "train.steps" not in hparams  # not set (the run counts epochs): left out


def test_the_experiment_names_its_metrics_for_the_hparams_view(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import plugin_data_pb2

    Results(CI).tensorboard(tmp_path)
    first = next(tmp_path.iterdir())
    content = read_back(first).PluginTagToContent("hparams")["_hparams_/experiment"]
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    tags = {m.name.tag for m in experiment.metric_infos}
    assert {"final/train_error", "final/test_error"} <= tags


def test_export_without_results_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "none"), "--tensorboard", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and len(result.output.splitlines()) == 1
