"""What depth does to each arch, at its best value of a swept key: per arch and variant, the
deepest net's metric minus the shallowest's, and minus the best shallower one's, each with its
95% Welch t interval over the held-out seeds, and the value chosen at each depth.

    python benchmarks/depth_effects.py results/reference/transformers-lr --best-over train.lr

The choice and the split of the seeds are `resbench.analysis.best_of`'s (chosen on the first
half of the seeds from 4 on, the figures from the rest); "holds", "degrades" and "improves"
are said only where the interval lies wholly beyond 0, else "neither shown". Prints a markdown
table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from resbench.analysis.choice import best_runs, choices, others, selection
from resbench.analysis.judging import groups
from resbench.analysis.stats import welch_interval
from resbench.analysis.variants import by_variant
from resbench.results import Results
from resbench.sweep.defaults import BEST_BY
from resbench.views.text import markdown_table


def effects(runs, key: str, by: str, metric: str) -> list[dict]:
    sel = selection(runs, key, by)
    chosen = choices(runs, sel)
    best = best_runs(runs, sel, chosen)
    variants = others(runs, sel.key)
    rows = []
    for values, part in by_variant(best, variants):
        picked = chosen
        for column, value in values.items():
            picked = picked[picked[column] == value]
        for arch, depth_groups in _by_arch(groups(part, metric)).items():
            depths = sorted(depth_groups)
            shallow, deep = depth_groups[depths[0]], depth_groups[depths[-1]]
            best_shallower = min((depth_groups[d] for d in depths[:-1]), key=lambda g: g.mean)
            rate = picked[picked["arch"] == arch].set_index("depth")[sel.key]
            row = {**{c.split(".")[-1]: v for c, v in values.items()}, "arch": arch}
            row |= {f"{metric} at {d}": round(depth_groups[d].mean, 3) for d in depths}
            row |= {f"{sel.key} at {d}": _plain(rate.get(d)) for d in depths}
            row["n"] = min(g.n for g in depth_groups.values())
            for name, other in (
                ("deepest − shallowest", shallow),
                ("deepest − best shallower", best_shallower),
            ):
                interval = welch_interval(deep.values, other.values)
                row[name] = [
                    round(interval.diff, 3),
                    round(interval.low, 3),
                    round(interval.high, 3),
                ]
            row["with depth"] = _word(row["deepest − shallowest"], row["deepest − best shallower"])
            rows.append(row)
    return rows


def _by_arch(by_key: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for (arch, depth), group in by_key.items():
        out.setdefault(arch, {})[depth] = group
    return out


def _word(to_shallowest: list[float], to_best: list[float]) -> str:
    """degrades: worse than the best shallower net; improves: better than the shallowest."""
    if to_best[1] > 0:
        return "degrades"
    if to_shallowest[2] < 0:
        return "improves"
    return "neither shown"


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--best-over", default="train.lr")
    parser.add_argument("--by", default=BEST_BY)
    parser.add_argument("--metric", default="train_error")
    args = parser.parse_args()
    runs = Results.open(args.results).runs
    rows = effects(runs, args.best_over, args.by, args.metric)
    columns = list(rows[0])
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    print("\n".join(markdown_table(columns, cells)))
    print(json.dumps({"results": str(args.results), "rows": rows}))


def _cell(value) -> str:
    if isinstance(value, list):
        return f"{value[0]:+.3f} [{value[1]:+.3f}, {value[2]:+.3f}]"
    return str(value)


if __name__ == "__main__":
    main()
