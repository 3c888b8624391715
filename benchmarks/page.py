"""The report page's figures two ways, side by side: inline SVG (what `resbench.views.page` draws)
against the PNGs of `resbench plot` inlined as base64, on the same results.

For each way, in turn `--repeats` times (so that the machine's noise hits both alike): the
wall and CPU time to make the figures and the bytes they add to the page. SVG: the whole
page is written (`Results.html`: its figures, tables, the claims' check, provenance) and its
`<svg>` elements are measured in it. PNG: the figures of the same data `resbench plot` draws
(the depth figure per metric, the curves, the gradient norms and why depth fails where
recorded), base64-encoded; the page's bytes besides its SVGs are the same either way.

    python benchmarks/page.py                                  # results/reference/remedies
    python benchmarks/page.py results/reference/quick --repeats 5

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from resbench.analysis.summary import DEFAULT_METRICS
from resbench.results import Results


def timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def svg_way(results: Results, folder: Path) -> dict[str, float]:
    wall, cpu, path = timed(lambda: results.html(folder / "page.html"))
    page = path.read_bytes()
    svgs = sum(len(s) for s in re.findall(rb"<svg.*?</svg>", page, flags=re.S))
    return {"wall_s": wall, "cpu_s": cpu, "figure_bytes": svgs, "page_bytes": len(page)}


def png_way(results: Results, folder: Path) -> dict[str, float]:
    def draw() -> int:
        paths = [results.plot_depth(folder / f"depth-{m}.png", m) for m in DEFAULT_METRICS]
        paths.append(results.plot_curves(folder / "curves.png"))
        if results.runs_csv.with_name("layers.csv").is_file():
            paths.append(results.plot_layers(folder / "layers.png"))
            if set(results.layers["kind"]) - {"grad_norm", "activation_std"}:
                paths += results.plot_why(folder)  # the why section's figures
        return sum(len(base64.b64encode(p.read_bytes())) for p in paths)

    wall, cpu, size = timed(draw)
    return {"wall_s": wall, "cpu_s": cpu, "figure_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results/reference/remedies")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = Results.open(args.results)
    results.runs  # noqa: B018 - read once, outside the timings
    svg, png = [], []
    with tempfile.TemporaryDirectory() as folder:
        png_way(results, Path(folder))  # first imports (matplotlib, fonts) outside the timings
        svg_way(results, Path(folder))
        for _ in range(args.repeats):
            svg.append(svg_way(results, Path(folder)))
            png.append(png_way(results, Path(folder)))
    rest = svg[0]["page_bytes"] - svg[0]["figure_bytes"]
    row = {
        "results": str(results.path),
        "repeats": args.repeats,
        "svg_page_bytes": svg[0]["page_bytes"],
        "svg_figure_bytes": svg[0]["figure_bytes"],
        "png_figure_bytes": png[0]["figure_bytes"],
        "png_page_bytes": rest + png[0]["figure_bytes"],
        "svg_wall_s": statistics.median(r["wall_s"] for r in svg),
        "svg_cpu_s": statistics.median(r["cpu_s"] for r in svg),
        "png_wall_s": statistics.median(r["wall_s"] for r in png),
        "png_cpu_s": statistics.median(r["cpu_s"] for r in png),
    }
    print(f"{'way':<5}{'page bytes':>12}{'figures':>12}{'wall s':>9}{'cpu s':>8}")
    for way in ("svg", "png"):
        print(
            f"{way:<5}{row[f'{way}_page_bytes']:>12,}{row[f'{way}_figure_bytes']:>12,}"
            f"{row[f'{way}_wall_s']:>9.2f}{row[f'{way}_cpu_s']:>8.2f}"
        )
    print(json.dumps(row))


if __name__ == "__main__":
    main()
