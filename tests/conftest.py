"""Shared fixtures: a private dataset cache and tiny sweeps that train in well under a second."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def checkout_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that must import resbench from this checkout.

    An installed resbench (an editable install of another checkout, say) would otherwise win.
    """
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def ray_worker_path() -> str:
    """The PYTHONPATH of Ray workers: this checkout, and the tests' own run functions."""
    return checkout_env()["PYTHONPATH"] + os.pathsep + str(Path(__file__).parent)


def start_local_ray(**resources: float) -> None:
    """A local Ray with `resources` (num_cpus=, num_gpus=: Ray counts, it does not check),
    whose workers import this checkout and the tests' own run functions (faults.py)."""
    import ray

    ray.init(
        address="local",  # a Ray of its own, never one already running on this machine
        **resources,
        include_dashboard=False,
        logging_level="warning",
        runtime_env={"env_vars": {"PYTHONPATH": ray_worker_path()}},
    )


def lock_holder(results: Path) -> subprocess.Popen:
    """Another process holding the lock of the results directory `results`, until killed."""
    code = (
        "import sys, time; from resbench.results import Results\n"
        "with Results(sys.argv[1]).lock():\n    print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(results)], stdout=subprocess.PIPE, text=True,
        env=checkout_env(),
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.fixture(autouse=True)
def _registries_as_they_were():
    """User families (and their archs) registered by a test are forgotten after it, so tests
    that enumerate the registry see the same families in any order."""
    from resbench.models import registry

    families, archs = dict(registry._FAMILIES), dict(registry._ARCHS)
    yield
    for saved, live in ((families, registry._FAMILIES), (archs, registry._ARCHS)):
        live.clear()
        live.update(saved)


def pytest_configure(config: pytest.Config) -> None:
    # The property tests (tests/test_readers.py): the same examples every run, a fixed number
    # of them (HYPOTHESIS_EXAMPLES for more), and no database left in the checkout.
    hypothesis = pytest.importorskip("hypothesis")
    hypothesis.settings.register_profile(
        "resbench",
        max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    hypothesis.settings.load_profile("resbench")
    # Generated datasets go to a private cache unless the caller chose one.
    os.environ.setdefault("RESBENCH_CACHE", tempfile.mkdtemp(prefix="resbench-cache-"))
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)  # small nets: one thread is fastest and deterministic


TINY_SWEEP = """\
name: tiny
description: a tiny synthetic sweep for tests
dataset: {name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}
model: {family: conv1d, width: 4}
train: {epochs: 2, batch_size: 16, lr: 0.05, eval_every: 2, device: cpu}
grid:
  depth: [8, 14]
  arch: [plain, residual]
  seed: [0, 1]
"""


@pytest.fixture
def tiny_sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SWEEP)
    return path


def make_runs(groups: dict[tuple[str, int], list], **columns: object):
    """A hand-made runs table: (arch, depth) -> one entry per seed.

    An entry is a train error (the run ended ok; its test error is 0.02 higher) or a status
    with no result ("diverged", "failed"). `columns` add or replace columns in every row.
    """
    import pandas as pd

    rows = []
    for (arch, depth), entries in groups.items():
        for seed, entry in enumerate(entries):
            ok = not isinstance(entry, str)
            rows.append(
                {
                    "run_id": f"{arch}-{depth}-{seed}",
                    "sweep": "hand",
                    "dataset": "mnist1d",
                    "family": "conv1d",
                    "arch": arch,
                    "depth": depth,
                    "width": 8,
                    "seed": seed,
                    "model.batch_norm": True,
                    "model.shortcut": "A",
                    "model.zero_init_residual": False,
                    "train.epochs": 10,
                    "status": "ok" if ok else entry,
                    "train_error": entry if ok else None,
                    "test_error": entry + 0.02 if ok else None,
                    "train_loss": entry * 2 if ok else None,
                    "seconds": 1.5,
                    **columns,
                }
            )
    return pd.DataFrame(rows)


# The paper's picture: plain nets degrade with depth, residual nets keep improving.
PAPER = {
    ("plain", 8): [0.010, 0.012, 0.008],
    ("plain", 20): [0.050, 0.060, 0.070],
    ("plain", 56): [0.700, 0.750, 0.800],
    ("residual", 8): [0.010, 0.012, 0.009],
    ("residual", 20): [0.006, 0.008, 0.007],
    ("residual", 56): [0.005, 0.007, 0.006],
}
# A negative control: shortcuts disabled in both arms, so both degrade alike.
BOTH_DEGRADE = {
    **{k: v for k, v in PAPER.items() if k[0] == "plain"},
    ("residual", 8): [0.011, 0.009, 0.010],
    ("residual", 20): [0.055, 0.065, 0.060],
    ("residual", 56): [0.720, 0.780, 0.740],
}
# The claims of the quick preset, on a sweep file that check reads beside runs.csv.
CLAIMS = """\
expect:
  - {claim: degrades, arch: plain, min_gap: 0.2}
  - {claim: holds, arch: residual, tolerance: 0.02}
  - {claim: beats, arch: residual, than: plain, depths: [56], min_gap: 0.2}
"""


def write_results(root: Path, runs, claims: str | None = CLAIMS) -> Path:
    """A results directory holding `runs` as runs.csv, and a sweep.yaml with `claims`."""
    root.mkdir(parents=True, exist_ok=True)
    runs.to_csv(root / "runs.csv", index=False)
    if claims is not None:
        (root / "sweep.yaml").write_text(TINY_SWEEP + claims)
    return root


def assert_same_as_inline(results: list, specs: list) -> dict:
    """Results of another executor are those of the inline executor, bit for bit, with one
    torch thread each; returns the inline results by run id."""
    from resbench.executors.inline import InlineExecutor
    from resbench.train.run import train_run

    inline = {r.run_id: r for r in InlineExecutor().map(train_run, specs)}
    assert sorted(r.run_id for r in results) == sorted(inline)
    for r in results:
        assert r.status == "ok" and r.attempts == 1
        assert r.train_error == inline[r.run_id].train_error
        assert r.train_loss == inline[r.run_id].train_loss
        assert r.curve == inline[r.run_id].curve
        assert r.env["threads"] == "1"  # threads_per_run, set where the run executes
    return inline
