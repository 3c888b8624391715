"""What durability costs: records written as `resbench.core.atomic.write_text` writes them (fsync
before the rename, then of the folder) against a temporary and a rename alone, side by side.

    python benchmarks/atomic_writes.py [--records 1000] [--dir DIR] [--record FILE.json]

Each record is a real one (the first of results/reference/quick/runs/ unless --record names
another); both ways write to a fresh folder under --dir (default: the system's temporary
folder; give one on the disk your results live on: fsync costs what that disk makes it cost),
in alternating blocks so that noise hits both alike. Prints the wall and CPU time per record and
in all, the ratio, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from resbench.core.atomic import write_text

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 50  # records per block; the two ways alternate block by block


def rename_only(path: Path, text: str) -> None:
    """The write without fsync: whole after a crash of the process, not of the machine."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(name, path)


WAYS: dict[str, Callable[[Path, str], None]] = {
    "rename only": rename_only,
    "fsync + rename + fsync folder": write_text,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    default = min((ROOT / "results" / "reference" / "quick" / "runs").glob("*.json"))
    parser.add_argument("--record", type=Path, default=default)
    args = parser.parse_args()
    text = args.record.read_text(encoding="utf-8")
    work = Path(tempfile.mkdtemp(prefix="atomic-writes-", dir=args.dir))
    wall = dict.fromkeys(WAYS, 0.0)
    cpu = dict.fromkeys(WAYS, 0.0)
    try:
        for start in range(0, args.records, BLOCK):
            for i, (name, write) in enumerate(WAYS.items()):
                folder = work / str(i)
                folder.mkdir(exist_ok=True)
                w0, c0 = time.perf_counter(), time.process_time()
                for n in range(start, min(start + BLOCK, args.records)):
                    write(folder / f"{n:06d}.json", text)
                wall[name] += time.perf_counter() - w0
                cpu[name] += time.process_time() - c0
    finally:
        shutil.rmtree(work)
    for name in WAYS:
        per = 1000 * wall[name] / args.records
        print(f"{name:<30} {wall[name]:7.3f} s wall, {cpu[name]:7.3f} s CPU, {per:7.3f} ms/record")
    ratio = wall["fsync + rename + fsync folder"] / wall["rename only"]
    print(f"durable / rename only: {ratio:.1f}x wall")
    row = {
        "benchmark": "atomic_writes",
        "records": args.records,
        "record_bytes": len(text.encode()),
        "dir": str(args.dir),
        "wall_s": wall,
        "cpu_s": cpu,
        "ratio": ratio,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3]
        if Path("/proc/loadavg").exists()
        else None,
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
