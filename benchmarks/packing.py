"""Many runs on one GPU: one sweep at several `--runs-per-gpu`, its summed samples/s and wall time.

    python benchmarks/packing.py                        # gpu-packing.yaml at 1, 2, 4, 8 per GPU
    python benchmarks/packing.py --packings 1,4 -s train.steps=300
    python benchmarks/packing.py --cpu --packings 1,2 -s train.steps=2 -s dataset.n_train=256

Each packing is a real `resbench run` in a fresh process, into a fresh results directory, of the
same sweep (default `benchmarks/gpu-packing.yaml`: eight ResNet-20 runs). Printed per packing:
`wall s`, the command's wall time (worker start-up included); `summed samples/s`, the mean run's
steady-state `samples_per_s` times the runs at once (the GPU's throughput while they share it);
`sweep samples/s`, every example the sweep trained on over the wall time; and each over the
first packing's. `--cpu` runs the same on the CPU with `--workers` in place of
`--runs-per-gpu` (to try the script without a GPU; the figures then say nothing about GPUs).
One JSON line per packing follows the table.
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

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default=str(ROOT / "benchmarks" / "gpu-packing.yaml"))
    parser.add_argument("--packings", default="1,2,4,8", help="runs per GPU, comma-separated")
    parser.add_argument("--cpu", action="store_true", help="on the CPU, --workers N instead")
    parser.add_argument("-s", "--set", action="append", default=[], help="passed to resbench run")
    args = parser.parse_args()

    rows = [measure(args, int(k)) for k in args.packings.split(",")]
    first = rows[0]
    print(
        f"{'per gpu':>7} {'runs':>4} {'wall s':>8} {'summed samples/s':>16} {'x':>5} "
        f"{'sweep samples/s':>15} {'x':>5}  statuses"
    )
    for r in rows:
        r["summed_vs_first"] = round(r["summed_samples_per_s"] / first["summed_samples_per_s"], 3)
        r["sweep_vs_first"] = round(r["sweep_samples_per_s"] / first["sweep_samples_per_s"], 3)
        print(
            f"{r['runs_per_gpu']:>7} {r['runs']:>4} {r['wall_s']:>8.1f} "
            f"{r['summed_samples_per_s']:>16.0f} {r['summed_vs_first']:>5.2f} "
            f"{r['sweep_samples_per_s']:>15.0f} {r['sweep_vs_first']:>5.2f}  {r['statuses']}"
        )
    for r in rows:
        print(json.dumps(r))


def measure(args: argparse.Namespace, k: int) -> dict:
    """Run the sweep with `k` runs sharing the GPU (or `k` CPU workers); its figures."""
    out = Path(tempfile.mkdtemp(prefix=f"resbench-packing-{k}-"))
    command = [sys.executable, "-m", "resbench", "run", args.sweep, "--out", str(out), "-q"]
    command += ["--workers", str(k), "--device", "cpu"] if args.cpu else ["--runs-per-gpu", str(k)]
    for item in args.set:
        command += ["-s", item]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: some run failed; its figures still count
        sys.exit(f"resbench run at {k} per GPU exited {done.returncode}")
    (csv,) = out.glob("*/runs.csv")
    runs = pd.read_csv(csv)
    shutil.rmtree(out)
    ok = runs[runs["status"] == "ok"]
    at_once = min(k, len(runs))
    return {
        "runs_per_gpu": k,
        "runs": len(runs),
        "wall_s": round(wall, 2),
        "summed_samples_per_s": round(float(ok["samples_per_s"].mean()) * at_once, 1),
        "sweep_samples_per_s": round(float((ok["steps"] * ok["train.batch_size"]).sum()) / wall, 1),
        "device": str(ok["device"].iloc[0]) if len(ok) else "",
        "statuses": runs["status"].value_counts().to_dict(),
    }


if __name__ == "__main__":
    main()
