"""Start-up time of the command line: `resbench --help` and `resbench sweeps`, in fresh processes.

    python benchmarks/startup.py [--repeats 5]

Prints the median wall time of each command (and, as a floor, of a bare `python -c pass`) as a
table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "resbench --help": [sys.executable, "-m", "resbench", "--help"],
    "resbench sweeps": [sys.executable, "-m", "resbench", "sweeps"],
}


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):  # interleaved, so noise hits every command alike
        for name, cmd in COMMANDS.items():
            times[name].append(wall(cmd))
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, seconds in medians.items():
        print(f"{name:<18} {seconds:6.3f} s")
    print(json.dumps({"benchmark": "startup", "repeats": args.repeats, "median_s": medians}))


if __name__ == "__main__":
    main()
