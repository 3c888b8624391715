"""Wall time of one sweep with one worker and with every core, side by side.

    python benchmarks/sweep.py                   # the quick preset (minutes)
    python benchmarks/sweep.py --sweep ci        # another preset, or a sweep file
    python benchmarks/sweep.py --sweep ci --threads   # also: one worker using every core

Each configuration is a real `resbench run` in a fresh process, into its own temporary results
directory, after the dataset cache is warmed, so both start equally cold. Printed: a table and
one JSON line with, per configuration, the wall time, the sum of the runs' own time (training
loop plus final evaluation: `train_seconds + eval_seconds` of each record) and the
orchestration overhead = wall - sum(run time) / workers: the command's and the workers'
start-up, model building, handing out runs, records, CSVs, and slots left idle. It is also
given as a fraction of the wall time, and, stricter, counting the final evaluations as overhead
too (wall - sum(train_seconds) / workers). Then the speed-up, wall(1 worker) / wall(all
cores). `--threads` adds a third configuration, one worker whose runs each use every core, to
check that a process per core beats threads per run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Benchmark the checkout this file is in, whatever resbench is installed.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resbench import data  # noqa: E402
from resbench.executors.slots import usable_cores  # noqa: E402
from resbench.results import Results  # noqa: E402
from resbench.sweep.load import expand, load_sweep  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="quick", help="a preset name or a sweep file")
    parser.add_argument("--workers", type=int, default=usable_cores(), help="the parallel side")
    parser.add_argument("--keep", action="store_true", help="keep the results directories")
    parser.add_argument("--threads", action="store_true", help="add 1 worker x all-cores threads")
    args = parser.parse_args()

    sweep = load_sweep(args.sweep)
    specs = expand(sweep)
    for options in {s.dataset.model_dump_json(): s.dataset for s in specs}.values():
        data.load(options)  # generate and cache it now, outside either timing

    configs = [(1, 1), (args.workers, 1)] + ([(1, args.workers)] if args.threads else [])
    rows = [measure(args.sweep, sweep.name, w, t, args.keep) for w, t in configs]
    serial, parallel = rows[:2]
    speedup = serial["wall_s"] / parallel["wall_s"]

    print(f"{sweep.name}: {len(specs)} runs, {usable_cores()} cores")
    print(
        f"{'workers':>7} {'threads':>7} {'wall s':>9} {'sum train s':>12} {'sum eval s':>11} "
        f"{'overhead s':>11} {'overhead':>9} {'+ eval':>7} {'statuses'}"
    )
    for r in rows:
        print(
            f"{r['workers']:>7} {r['threads']:>7} {r['wall_s']:>9.1f} {r['train_s_sum']:>12.1f} "
            f"{r['eval_s_sum']:>11.1f} {r['overhead_s']:>11.1f} {r['overhead_fraction']:>9.1%} "
            f"{r['overhead_fraction_with_eval']:>7.1%} {r['statuses']}"
        )
    print(f"speed-up with {args.workers} workers: {speedup:.2f}x")
    summary = {
        "sweep": sweep.name,
        "runs": len(specs),
        "cores": usable_cores(),
        "configs": rows,
        "speedup": round(speedup, 3),
    }
    print(json.dumps(summary))


def measure(ref: str, name: str, workers: int, threads: int, keep: bool) -> dict:
    """Run the sweep `ref` with `workers` workers of `threads` threads each; its timings."""
    out = Path(tempfile.mkdtemp(prefix=f"resbench-bench-{workers}w{threads}t-"))
    command = [sys.executable, "-m", "resbench", "run", ref, "--out", str(out)]
    command += ["--workers", str(workers), "--threads-per-run", str(threads), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: some run failed, and the timing still counts
        sys.exit(f"resbench run exited {done.returncode}:\n{done.stderr}")
    runs = Results(out / name).runs
    train = float(runs["train_seconds"].sum())
    evaluation = float(runs["eval_seconds"].sum())
    if not keep:
        shutil.rmtree(out)
    overhead = wall - (train + evaluation) / workers
    return {
        "workers": workers,
        "threads": threads,
        "wall_s": round(wall, 2),
        "train_s_sum": round(train, 2),
        "eval_s_sum": round(evaluation, 2),
        "overhead_s": round(overhead, 2),
        "overhead_fraction": round(overhead / wall, 4),
        "overhead_fraction_with_eval": round((wall - train / workers) / wall, 4),
        "statuses": runs["status"].value_counts().to_dict(),
    }


if __name__ == "__main__":
    main()
