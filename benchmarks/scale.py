"""Sweeps of many tiny runs through each executor: what orchestration costs per run, and the
driver's memory as runs finish.

    python benchmarks/scale.py --runs 1000 --run-seconds 1    # one-second runs (about 30 min)
    python benchmarks/scale.py --runs 10000 --steps 2          # the shortest runs there are
    python benchmarks/scale.py --runs 200 --steps 2 --executors local,ray
    eval "$(python tests/slurm_cluster.py up /tmp/slurm)"    # a one-node SLURM, as root
    python benchmarks/scale.py --runs 100 --run-seconds 1 --executors local,ray,slurm

Each executor runs the same sweep through a real `resbench run` in a fresh process, into a
fresh results directory: N runs of a conv1d-8 net of width 4 on synthetic data (64 examples),
differing only in their seed, each `--steps` steps long (or as many as make `--run-seconds`,
timed once here first). Per executor it prints:

- `ideal s`: the runs' own time (each record's `seconds`: the whole call where it executed,
  model, data, training, final evaluation) summed and divided by the executor's slots (inline
  1; local, a local Ray and a one-node SLURM, one per core): the wall time with free
  orchestration;
- `overhead`: wall - ideal, over ideal (Ray Tune's figure, 10,000 one-second trials on 16 CPUs
  in 715 s against 625 s ideal, is 14%); `per run ms`: that wall time over N, times the slots:
  what each run costs its slot beyond its own time; `steady ms`: the same from the first run's
  start to the last record, without the start and the end; `start s`: from the command to the
  first run's start; `end s`: from the last record to the command's exit (the CSVs);
- the driver's resident memory (the `resbench run` process, read from /proc) when 10% and
  when all but the last of the runs had finished, and its slope in MB per 1,000 finished runs
  over that stretch: memory that grew with finished runs would show there.

The runs' own time is read from their records, so a machine slowed by other work inflates both
wall and ideal alike, not the overhead; that the driver takes CPU from the runs shows in
`run s` (mean run seconds) against the CPU seconds of the same run here (`alone s`). One JSON
line per executor is printed as each finishes, then the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

# Benchmark the checkout this file is in, whatever resbench is installed.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resbench.executors.slots import usable_cores  # noqa: E402

SWEEP = {
    "name": "scale",
    "description": "N tiny runs that differ in their seed only",
    "dataset": {"name": "synthetic", "shape": [1, 16], "classes": 4, "n_train": 64, "n_test": 32},
    "model": {"family": "conv1d", "width": 4},
    "train": {"steps": 2, "batch_size": 16, "lr": 0.05, "device": "cpu"},
    "grid": {"depth": [8], "arch": ["residual"], "seed": [0]},
}
SAMPLE_SECONDS = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="N, the sweep's runs")
    parser.add_argument("--steps", type=int, default=2, help="training steps per run")
    parser.add_argument("--run-seconds", type=float, help="instead: steps making runs this long")
    parser.add_argument("--executors", default="inline,local,ray", help="comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the results directories")
    args = parser.parse_args()

    steps = calibrate(args.run_seconds) if args.run_seconds else args.steps
    alone = time_alone(steps)
    sweep = sweep_file(args.runs, steps)
    rows = []
    for name in args.executors.split(","):
        rows.append({"runs": args.runs, "steps": steps, "alone_s": round(alone, 4)})
        rows[-1] |= measure(sweep, name, args.runs, args.keep)
        print(json.dumps(rows[-1]), flush=True)  # each as it comes: a long sweep may be cut short
    print(f"{args.runs} runs of {steps} steps ({alone:.3f} s each alone), {usable_cores()} cores")
    print(
        f"{'executor':>8} {'slots':>5} {'wall s':>8} {'ideal s':>8} {'overhead':>8} "
        f"{'per run ms':>10} {'steady ms':>9} {'start s':>7} {'end s':>6} {'run s':>6} "
        f"{'MB @10%':>8} {'MB @end':>8} {'MB/1k runs':>10}"
    )
    for r in rows:
        print(
            f"{r['executor']:>8} {r['slots']:>5} {r['wall_s']:>8.1f} {r['ideal_s']:>8.1f} "
            f"{r['overhead']:>8.1%} {r['per_run_ms']:>10.1f} {r['steady_ms']:>9.1f} "
            f"{r['start_s']:>7.1f} "
            f"{r['end_s']:>6.1f} {r['run_s_mean']:>6.3f} {r['rss_mb_10pct']:>8.0f} "
            f"{r['rss_mb_end']:>8.0f} {r['rss_mb_per_1000_runs']:>10.2f}"
        )


def sweep_file(runs: int, steps: int) -> Path:
    sweep = {**SWEEP, "train": {**SWEEP["train"], "steps": steps, "eval_every": steps}}
    sweep["grid"] = {**SWEEP["grid"], "seed": list(range(runs))}
    path = Path(tempfile.mkdtemp(prefix="resbench-scale-")) / "scale.yaml"
    path.write_text(yaml.safe_dump(sweep, default_flow_style=None, width=1 << 20))
    return path


def time_alone(steps: int, repeats: int = 3) -> float:
    """The CPU seconds of a run of `steps` steps here, one thread: the least of `repeats`, after
    a warm-up run (imports, the FLOP count and the peak probe happen once per process). CPU
    time, not wall time: other work on the machine would stretch the wall clock, and the run
    length chosen from it."""
    import torch

    from resbench.sweep.load import expand, parse_sweep
    from resbench.train.run import train_run

    torch.set_num_threads(1)  # as the executors' runs have it
    text = yaml.safe_dump({**SWEEP, "train": {**SWEEP["train"], "steps": steps}})
    (spec,) = expand(parse_sweep(text))
    train_run(spec)
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        train_run(spec)
        times.append(time.process_time() - t0)
    return min(times)


def calibrate(seconds: float) -> int:
    """The steps that make a run last `seconds` of one core here, from runs of 20 and 220."""
    short, long = time_alone(20), time_alone(220)
    per_step = (long - short) / 200
    return max(1, round((seconds - (short - 20 * per_step)) / per_step))


def measure(sweep: Path, executor: str, runs: int, keep: bool) -> dict:
    """Run `sweep` through `executor` in a fresh `resbench run`; its timings and memory."""
    out = Path(tempfile.mkdtemp(prefix=f"resbench-scale-{executor}-"))
    runs_dir = out / "scale" / "runs"
    command = [sys.executable, "-m", "resbench", "run", str(sweep), "--out", str(out), "-q"]
    command += ["--executor", executor, "--max-runs", str(max(runs, 1))]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    driver = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    samples: list[tuple[float, int]] = []  # (resident MB, runs recorded then)
    watcher = threading.Thread(target=watch, args=(driver, runs_dir, samples), daemon=True)
    watcher.start()
    code = driver.wait()
    wall = time.time() - t0
    watcher.join()
    if code not in (0, 1):
        sys.exit(f"resbench run --executor {executor} exited {code}")
    records = [(p.stat().st_mtime, json.loads(p.read_text())) for p in runs_dir.glob("*.json")]
    if not keep:
        shutil.rmtree(out)
    slots = 1 if executor == "inline" else usable_cores()
    run_s = sum(r["seconds"] for _, r in records)
    ideal = run_s / slots
    first_start = min(mtime - r["seconds"] for mtime, r in records)
    last_end = max(mtime for mtime, _ in records)
    return {
        "executor": executor,
        "slots": slots,
        "recorded": len(records),
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "overhead": round((wall - ideal) / ideal, 4),
        "per_run_ms": round((wall - ideal) * slots / runs * 1000, 2),
        "steady_ms": round((last_end - first_start - ideal) * slots / runs * 1000, 2),
        "start_s": round(first_start - t0, 2),
        "end_s": round(t0 + wall - last_end, 2),
        "run_s_mean": round(run_s / len(records), 4),
        **memory(samples, runs),
    }


def watch(driver: subprocess.Popen, runs_dir: Path, samples: list[tuple[float, int]]) -> None:
    """Sample the driver's resident memory, and the records written so far, until it exits."""
    status = Path(f"/proc/{driver.pid}/status")
    while driver.poll() is None:
        try:
            rss = next(
                int(line.split()[1]) / 1024
                for line in status.read_text().splitlines()
                if line.startswith("VmRSS:")
            )
            done = sum(1 for e in os.scandir(runs_dir) if e.name.endswith(".json"))
        except (OSError, StopIteration):
            done, rss = 0, 0.0  # not started yet, or just exited
        if rss:
            samples.append((rss, done))
        time.sleep(SAMPLE_SECONDS)


def memory(samples: list[tuple[float, int]], runs: int) -> dict:
    """The driver's memory at 10% of the runs finished and at the last sample before the last
    run finished, and the least-squares slope between, in MB per 1,000 finished runs."""
    during = [(rss, done) for rss, done in samples if runs // 10 <= done < runs]
    if len(during) < 2:
        return {"rss_mb_10pct": float("nan"), "rss_mb_end": float("nan"),
                "rss_mb_per_1000_runs": float("nan"), "samples": len(during)}  # fmt: skip
    n = len(during)
    mx = sum(d for _, d in during) / n
    my = sum(r for r, _ in during) / n
    sxx = sum((d - mx) ** 2 for _, d in during)
    slope = sum((d - mx) * (r - my) for r, d in during) / sxx if sxx else 0.0
    return {
        "rss_mb_10pct": round(during[0][0], 1),
        "rss_mb_end": round(during[-1][0], 1),
        "rss_mb_per_1000_runs": round(slope * 1000, 3),
        "samples": n,
    }


if __name__ == "__main__":
    main()
