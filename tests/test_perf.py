"""Speed figures: FLOPs per example, achieved GFLOP/s and MFU in every record and report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_SWEEP, checkout_env
from typer.testing import CliRunner

from resbench.cli import app
from resbench.models import profile
from resbench.results import Results
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec, TrainConfig
from resbench.train import peak, perf
from resbench.train import run as train
from resbench.train.run import train_run
from resbench.train.run_result import RunResult


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache directory, so the peak probe starts from nothing."""
    monkeypatch.setenv("RESBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tiny(**overrides) -> RunSpec:
    return expand(parse_sweep(TINY_SWEEP, "tiny", overrides))[0]


def test_a_run_records_flops_gflops_and_mfu(cache: Path) -> None:
    spec = tiny()
    r = train_run(spec)
    assert r.status == "ok"
    assert r.flops_per_sample == profile(spec.model, (1, 16), 4)[1] > 0
    assert math.isclose(r.gflops, 3 * r.flops_per_sample * r.samples_per_s / 1e9)
    assert 0 < r.mfu < 1.5


def test_the_peak_probe_runs_once_then_comes_from_the_cache(cache: Path) -> None:
    cpu = torch.device("cpu")
    first = peak.peak_gflops(cpu, "fp32")
    path = peak.peak_path()
    written = path.stat().st_mtime_ns
    assert first > 0 and json.loads(path.read_text()) == {peak.device_key(cpu, "fp32"): first}
    assert peak.peak_gflops(cpu, "fp32") == first
    assert path.stat().st_mtime_ns == written  # not measured, not rewritten


def test_the_peak_is_kept_per_precision(cache: Path) -> None:
    cpu = torch.device("cpu")
    peak.peak_gflops(cpu, "fp32")
    peak.peak_gflops(cpu, "bf16")
    keys = json.loads(peak.peak_path().read_text())
    assert {k.split("|")[2] for k in keys} == {"fp32", "bf16"}


def test_the_driver_measures_missing_peaks_before_runs_and_starts_nothing_when_cached(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peak.prepare("cpu", 1, ["fp32", "bf16"])  # in a process of its own: the driver has no torch
    cpu = peak.cpu_model()
    wanted = {peak.key(cpu, 1, "fp32"), peak.key(cpu, 1, "bf16")}
    assert set(json.loads(peak.peak_path().read_text())) == wanted

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("a probe process started although every peak was cached")

    monkeypatch.setattr(peak.subprocess, "run", started)
    peak.prepare("cpu", 1, ["fp32"])


def test_a_probe_that_runs_out_of_time_is_no_error(cache: Path) -> None:
    # The probe process cannot even import torch in 10 ms: it is stopped, and runs probe later.
    peak.prepare("cpu", 1, ["fp32"], timeout=0.01)
    assert peak.known() == {}


def test_peaks_written_by_processes_at_once_are_all_kept(cache: Path) -> None:
    # Each process adds its own peaks one by one, as workers on one machine may at once: an
    # unlocked read, change and write loses the peaks the other wrote in between.
    code = (
        "import sys\nfrom resbench.train import peak\n"
        "for i in range(150):\n    peak.remember(f'{sys.argv[1]}-{i}', float(i))"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", code, who], env=checkout_env()) for who in "ab"
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    kept = json.loads(peak.peak_path().read_text())
    assert len(kept) == 2 * 150, f"{2 * 150 - len(kept)} peaks lost"


def test_a_run_faster_than_the_cached_peak_raises_it(cache: Path) -> None:
    peak_key = peak.device_key(torch.device("cpu"), "fp32")
    peak.remember(peak_key, 1e-6)  # as if probed on a very busy machine
    r = train_run(tiny())
    raised = json.loads(peak.peak_path().read_text())[peak_key]
    assert r.mfu is not None and r.mfu <= 1 and raised >= r.gflops > 1e-6


def test_figures_leave_the_random_streams_alone(cache: Path) -> None:
    spec = tiny()
    before = torch.get_rng_state()
    perf.flops_per_sample(spec.model, (1, 16), 4)
    peak.peak_gflops(torch.device("cpu"), "fp32")
    assert torch.equal(torch.get_rng_state(), before)


def test_a_run_is_never_lost_to_its_speed_figures(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cannot_count(*args: object) -> int:
        raise RuntimeError("no FLOP counter for this model")

    monkeypatch.setattr(perf, "flops_per_sample", cannot_count)
    r = train_run(tiny())
    assert r.status == "ok" and r.train_error is not None
    assert r.flops_per_sample is None and r.gflops is None and r.mfu is None


def test_the_figures_change_no_trained_number(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same spec trained with the figures computed (probe included) and without them.
    spec = tiny(**{"train.epochs": 3})
    with_figures = train_run(spec)
    monkeypatch.setattr(perf, "flops_per_sample", lambda *args: 0)
    monkeypatch.setattr(perf, "figures", lambda *args: (None, None))
    without = train_run(spec)
    assert without.mfu is None and with_figures.mfu is not None
    assert with_figures.train_error == without.train_error
    assert with_figures.train_loss == without.train_loss
    assert [p.model_dump() for p in with_figures.curve] == [p.model_dump() for p in without.curve]


def test_records_written_before_the_figures_still_load(tmp_path: Path, cache: Path) -> None:
    r = train_run(tiny())
    record = r.model_dump(mode="json")
    for key in ("flops_per_sample", "gflops", "mfu"):
        del record[key]
    store = Results(tmp_path / "old")
    store.runs_dir.mkdir(parents=True)
    (store.runs_dir / f"{r.run_id}.json").write_text(json.dumps(record))
    (loaded,) = store.records()
    assert isinstance(loaded, RunResult) and loaded.mfu is None
    runs_csv = store.export()[0]
    assert Results.open(runs_csv).runs["mfu"].isna().all()


def test_report_shows_samples_per_s_and_mfu(tmp_path: Path, cache: Path) -> None:
    store = Results(tmp_path / "tiny")
    for spec in expand(parse_sweep(TINY_SWEEP, "tiny", {"grid.seed": [0]})):
        store.save(train_run(spec))
    runs_csv = store.export()[0]
    assert Results.open(runs_csv).runs["mfu"].between(0, 1.5, inclusive="neither").all()
    for metric in ("mfu", "samples_per_s"):
        result = CliRunner().invoke(app, ["report", str(runs_csv), "--metric", metric])
        assert result.exit_code == 0, result.output
        assert f"{metric} by depth" in result.output


def test_report_rejects_a_text_column_as_metric(tmp_path: Path, cache: Path) -> None:
    store = Results(tmp_path / "tiny")
    store.save(train_run(tiny()))
    runs_csv = store.export()[0]
    result = CliRunner().invoke(app, ["report", str(runs_csv), "--metric", "device"])
    assert result.exit_code == 2
    assert "unknown metric 'device'" in result.output and "mfu" in result.output


@pytest.mark.parametrize("nesterov", [False, True])
def test_foreach_sgd_trains_exactly_as_the_per_parameter_loop(
    cache: Path, monkeypatch: pytest.MonkeyPatch, nesterov: bool
) -> None:
    spec = tiny(**{"train.epochs": 3, "train.weight_decay": 1e-3, "train.nesterov": nesterov})
    fast = train_run(spec)
    plain_sgd = train.make_optimizer

    def per_parameter(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
        optimizer = plain_sgd(model, cfg)
        assert optimizer.defaults["foreach"] is True  # what resbench trains with
        optimizer.defaults["foreach"] = False
        for group in optimizer.param_groups:
            group["foreach"] = False
        return optimizer

    monkeypatch.setattr(train, "make_optimizer", per_parameter)
    slow = train_run(spec)
    assert fast.train_loss == slow.train_loss and fast.train_error == slow.train_error
    assert [p.model_dump() for p in fast.curve] == [p.model_dump() for p in slow.curve]
