"""The command line through Typer's CliRunner: run, resume, errors, presets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_SWEEP, checkout_env, lock_holder
from typer.testing import CliRunner, Result

from resbench.cli import app

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_run_writes_records_and_tidy_csvs(tiny_sweep_file: Path, tmp_path: Path) -> None:
    result = run("run", str(tiny_sweep_file), "--out", str(tmp_path / "res"))
    assert result.exit_code == 0, result.output
    assert "8 to run" in result.output
    assert "on #0 cpu" in result.output  # the default executor: local worker processes
    root = tmp_path / "res" / "tiny"
    assert len(list((root / "runs").glob("*.json"))) == 8
    runs = pd.read_csv(root / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) == {"ok"}
    assert set(zip(runs["arch"], runs["depth"], strict=True)) == {
        (a, d) for a in ("plain", "residual") for d in (8, 14)
    }
    assert (root / "curves.csv").is_file() and (root / "sweep.yaml").is_file()
    assert "train_error by depth" in result.output  # the closing table


def test_rerun_skips_recorded_runs_and_force_reruns(tiny_sweep_file: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "res")
    assert run("run", str(tiny_sweep_file), "--out", out, "--executor", "inline").exit_code == 0
    record = next((tmp_path / "res" / "tiny" / "runs").glob("*.json"))
    before = record.stat().st_mtime_ns
    again = run("run", str(tiny_sweep_file), "--out", out, "--executor", "inline")
    assert again.exit_code == 0 and "8 recorded, 0 to run" in again.output
    assert record.stat().st_mtime_ns == before
    forced = run("run", str(tiny_sweep_file), "--out", out, "--force", "--executor", "inline")
    assert forced.exit_code == 0 and "8 to run" in forced.output
    assert record.stat().st_mtime_ns != before


def test_a_new_grid_value_runs_only_the_new_runs(tiny_sweep_file: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "res")
    inline = ("--executor", "inline")
    assert run("run", str(tiny_sweep_file), "--out", out, *inline).exit_code == 0
    tiny_sweep_file.write_text(
        tiny_sweep_file.read_text().replace("seed: [0, 1]", "seed: [0, 1, 2]")
    )
    more = run("run", str(tiny_sweep_file), "--out", out, *inline)
    assert more.exit_code == 0 and "12 runs, 8 recorded, 4 to run" in more.output
    assert len(pd.read_csv(tmp_path / "res" / "tiny" / "runs.csv")) == 12


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    # conv1d on 3D images fails; the grid still records every run. (A built-in dataset of
    # images is refused at load; a user's, whose shape only loading tells, is not.)
    cubes = "import torch\n\ndef load():\n    x, y = torch.zeros(8, 1, 4, 4), torch.arange(8) % 4\n"
    (tmp_path / "cubes.py").write_text(cubes + "    return x, y, x, y\n")
    text = tiny_sweep_file.read_text().replace(
        "{name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}",
        "{name: 'cubes:load'}",
    )
    tiny_sweep_file.write_text(text)
    result = run("run", str(tiny_sweep_file), "--out", str(tmp_path / "res"))
    assert result.exit_code == 1
    assert "8 run(s) failed" in result.output and "--retry-failed" in result.output
    runs = pd.read_csv(tmp_path / "res" / "tiny" / "runs.csv")
    assert set(runs["status"]) == {"failed"} and runs["error"].str.contains("conv1d").all()


def test_bad_sweep_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ntrain: {epochs: 1, optimizer: sgdd}\n"
        "grid: {depth: [8], arch: [plain], seed: [0]}\n"
    )
    result = run("run", str(bad), "--out", str(tmp_path))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml" in lines[0] and "train.optimizer" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (TINY_SWEEP.encode("utf-16"), "UTF-16 byte-order mark"),  # what some editors save
        (bytes(range(256)) * 4, "not UTF-8 text"),  # not text at all
    ],
    ids=["utf-16", "binary"],
)
def test_a_sweep_that_is_not_utf8_text_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes, says: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    result = run("run", str(bad), "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml" in lines[0] and says in lines[0], lines


def test_a_sweep_saved_with_a_utf8_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(TINY_SWEEP.encode("utf-8-sig"))
    result = run("run", str(path), "--out", str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output


def test_missing_sweep_file_is_exit_2(tmp_path: Path) -> None:
    result = run("run", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "no such sweep file" in result.output


def test_sweeps_lists_the_presets() -> None:
    from resbench.sweep.load import preset_names

    result = run("sweeps")
    assert result.exit_code == 0
    # A row's first cell, not a word anywhere: "ci" is also in "cifar10-paper".
    listed = re.findall(r"^ (\S+) ", result.output, flags=re.MULTILINE)
    assert listed == ["preset", *preset_names()]
    assert {"quick", "ci", "mlp"} <= set(listed)


def test_help_does_not_import_torch() -> None:
    # How fast --help is belongs to benchmarks/startup.py: a timing here would flake.
    code = "import sys; from resbench.cli import app; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env=checkout_env())
    out = subprocess.run(
        [sys.executable, "-m", "resbench", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=checkout_env(),
    )
    assert "run" in out.stdout


def test_device_override_is_applied(tiny_sweep_file: Path, tmp_path: Path) -> None:
    # The sweep asks for a GPU: only the flag brings its runs to the CPU (without it they fail
    # where there is none, and run on the GPU where there is one).
    tiny_sweep_file.write_text(TINY_SWEEP.replace("device: cpu", "device: cuda"))
    args = [str(tiny_sweep_file), "--out", str(tmp_path), "--executor", "inline"]
    result = run("run", *args, "--device", "cpu")
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(tmp_path / "tiny" / "runs.csv")
    assert set(runs["status"]) == {"ok"} and runs["device"].str.startswith("cpu").all()
    assert set(runs["train.device"]) == {"cpu"}  # the spec as the records keep it


def test_the_sweeps_executor_section_is_used_and_flags_override_it(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    tiny_sweep_file.write_text(tiny_sweep_file.read_text() + "executor: {name: inline}\n")
    result = run("run", str(tiny_sweep_file), "--out", str(tmp_path), "--force")
    assert result.exit_code == 0 and "on #0 inline" in result.output
    bad = run("run", str(tiny_sweep_file), "--out", str(tmp_path), "--workers", "0")
    assert bad.exit_code == 2 and "--workers" in bad.output


def test_a_second_run_on_the_same_results_is_refused(tiny_sweep_file: Path, tmp_path: Path) -> None:
    holder = lock_holder(tmp_path / "tiny")
    try:
        result = run("run", str(tiny_sweep_file), "--out", str(tmp_path))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"pid {holder.pid}" in lines[0]
    assert not (tmp_path / "tiny" / "runs").exists()  # nothing ran
