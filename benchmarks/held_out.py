"""The held-out seeds of a best-of sweep, run only where they are read: at each arch, depth and
variant's chosen value.

`resbench.analysis.best_of` chooses a swept key's value (the learning rate, say) on the first
half of a sweep's seeds and reports the figures from the other half, at the chosen value only:
the held-out seeds' runs at the other values are never read. So a sweep can run its choosing
seeds over the whole grid first, and its held-out seeds at the chosen values alone. This prints
the sweep's `exclude:` entries that leave out the rest, from the runs of the choosing seeds:

    resbench run transformers-lr -s grid.seed=[0,1]          # the choosing seeds, every rate
    python benchmarks/held_out.py results/transformers-lr --key train.lr --seeds 2,3,4

The choice is best_of's own (`choices`, on the seeds the results hold, by the lowest mean
train_loss unless --by says otherwise), so the finished sweep, its choosing seeds being the
first half of all its seeds, chooses the same values again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from resbench.analysis.choice import Selection, choices, others
from resbench.results import Results
from resbench.store.tables import column_of
from resbench.sweep.defaults import BEST_BY


def excludes(runs, key: str, by: str, report: list[int]) -> list[dict]:
    """One exclude entry per arch, depth and variant: the values not chosen, at `report`."""
    column = column_of(key)
    seeds = tuple(sorted(int(s) for s in runs["seed"].unique()))
    if set(seeds) & set(report):
        sys.exit(f"the results already hold seeds {sorted(set(seeds) & set(report))}")
    chosen = choices(runs, Selection(column, by, seeds, seeds))
    values = sorted(runs[column].unique())
    out = []
    for row in chosen.to_dict("records"):
        if row[column] != row[column]:  # nothing could be chosen: the held-out seeds run it all
            continue
        entry = {k: _plain(row[k]) for k in [*others(runs, column), "arch", "depth"]}
        entry[key] = [_plain(v) for v in values if v != row[column]]
        entry["seed"] = report
        out.append(entry)
    return out


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--key", default="train.lr")
    parser.add_argument("--by", default=BEST_BY)
    parser.add_argument("--seeds", required=True, help="the held-out seeds, e.g. 2,3,4")
    args = parser.parse_args()
    runs = Results.open(args.results).runs
    report = [int(s) for s in args.seeds.split(",")]
    print("exclude:")
    for entry in excludes(runs, args.key, args.by, report):
        cells = ", ".join(f"{k}: {json.dumps(v)}" for k, v in entry.items())
        print(f"  - {{{cells}}}")


if __name__ == "__main__":
    main()
