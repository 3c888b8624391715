"""The worked example, examples/dense-vs-residual.yaml: a user's family (depthlab.nets, arch
`dense`) and dataset (depthlab.data) beside the built-in plain and residual nets, through local
workers and Ray, then `report` and `check` — shrunk to a few seconds of training."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, checkout_env, ray_worker_path
from typer.testing import CliRunner

from resbench.cli import app

EXAMPLE = ROOT / "examples" / "dense-vs-residual.yaml"
SHRUNK = [
    *("-s", "dataset.options={n: 320, length: 64, classes: 8, noise: 1.5}"),
    *("-s", "train.epochs=2", "-s", "train.warmup=1"),
    *("-s", "grid.depth=[8,56]", "-s", "grid.seed=[0,1]"),
]


def resbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command, from a folder that is not the example's: its code is found beside the
    sweep file, not in the current directory (nor on PYTHONPATH: only this checkout is)."""
    command = [sys.executable, "-m", "resbench", *args]
    return subprocess.run(command, cwd=cwd, env=checkout_env(), capture_output=True, text=True)


def records(results: Path) -> dict[str, dict]:
    return {
        r["run_id"]: r
        for r in (json.loads(p.read_text()) for p in (results / "runs").glob("*.json"))
    }


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shrunk example, run by two local worker processes: its results folder."""
    out = tmp_path_factory.mktemp("local")
    ran = resbench("run", str(EXAMPLE), "--out", str(out), "--workers", "2", *SHRUNK, cwd=out)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return out / "dense-vs-residual"


def test_the_example_trains_its_family_beside_the_built_in_archs(local: Path) -> None:
    runs = records(local)
    assert len(runs) == 12 and {r["status"] for r in runs.values()} == {"ok"}
    by_arch = {(r["spec"]["model"]["arch"], r["spec"]["model"]["family"]) for r in runs.values()}
    assert by_arch == {
        ("plain", "conv1d"),
        ("residual", "conv1d"),
        ("dense", "depthlab.nets:build"),
    }
    dense = next(r for r in runs.values() if r["spec"]["model"]["arch"] == "dense")
    assert dense["spec"]["model"]["version"].startswith("source:")
    assert dense["spec"]["dataset"]["version"].startswith("source:")


def test_report_and_check_treat_the_users_arch_like_any_other(local: Path) -> None:
    import pandas as pd

    table = CliRunner().invoke(app, ["report", str(local), "--format", "csv"])
    assert table.exit_code == 0, table.output
    dense = [line for line in table.output.splitlines() if ",dense," in line]
    assert len(dense) >= 2  # a row at each depth
    runs = pd.read_csv(local / "runs.csv")
    assert sorted(runs["arch"].unique()) == ["dense", "plain", "residual"]
    # Checked where the user's code cannot be imported: the claims need only the results.
    checked = resbench("check", str(local), cwd=local)
    # Two seeds of one epoch may or may not bear the claims out; either way they are judged.
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr
    assert "dense beats plain at 56" in checked.stdout


def test_ray_workers_find_the_code_beside_the_sweep_and_agree_with_local(
    local: Path, tmp_path: Path
) -> None:
    ran = resbench(
        "run", str(EXAMPLE), "--out", str(tmp_path), "--executor", "ray", *SHRUNK, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    on_ray, here = records(tmp_path / "dense-vs-residual"), records(local)
    assert on_ray.keys() == here.keys()
    for run_id, record in on_ray.items():  # one thread per run either way: the same numbers
        assert record["train_error"] == here[run_id]["train_error"], run_id


def test_code_shipped_as_rays_working_dir_reaches_the_workers(tmp_path: Path) -> None:
    # As `ray job submit --working-dir .` does: the job's folder is each worker's code.
    import ray

    job = tmp_path / "job"
    shutil.copytree(ROOT / "examples", job, ignore=shutil.ignore_patterns("__pycache__"))
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        logging_level="warning",
        runtime_env={"working_dir": str(job), "env_vars": {"PYTHONPATH": ray_worker_path()}},
    )
    try:
        out = tmp_path / "out"
        sweep = job / "dense-vs-residual.yaml"
        args = ["run", str(sweep), "--out", str(out), "--executor", "ray", *SHRUNK]
        ran = CliRunner().invoke(app, [*args, "-s", "grid.depth=[8]", "-s", "grid.seed=[0]"])
        assert ran.exit_code == 0, ran.output
        runs = records(out / "dense-vs-residual")
        assert len(runs) == 3 and {r["status"] for r in runs.values()} == {"ok"}
        pids = {r["env"]["pid"] for r in runs.values()}
        assert os.getpid() not in pids  # trained by Ray's workers
    finally:
        ray.shutdown()
