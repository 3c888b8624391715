"""The why tables (`resbench.analysis.why_report`) as text: for a terminal (rich), GitHub
markdown and the page alike from one set of rows, and as records for CSV and JSON.

A table per kind and variant: the last block's signal at initialisation → at the end; its
Jacobian spectrum and gradient correlation at initialisation; after training, what removing a
block adds to the error and the loss slices' shape; and per depth the error without each
block, a row per block and a column per arch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resbench.analysis.summary import arch_order
from resbench.analysis.variants import by_variant, summary_variants
from resbench.views.labels import variant_title

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

ARROW = " → "
SIGNAL_COLUMNS = (  # (kind, header)
    ("signal_rms", "activation rms"),
    ("sample_cosine", "cosine between inputs"),
    ("token_cosine", "token cosine"),
    ("token_spread", "token spread"),
)
SPECTRUM_COLUMNS = (
    ("jacobian_sv_rms", "σ rms"),
    ("jacobian_sv_max", "σ max"),
    ("jacobian_sv_median", "σ median"),
    ("jacobian_sv_min", "σ min"),
    ("grad_correlation", "grad corr."),
)
TRAINED_COLUMNS = (
    ("intact_error", "test error"),
    ("lesion_median", "median +"),
    ("lesion_mean", "mean +"),
    ("lesion_max", "largest +"),
)
SLICES_COLUMNS = (
    ("slice_roughness", "roughness"),
    ("slice_nonconvex", "non-convex"),
    ("slice_rise", "rise"),
    ("surface_roughness", "2D roughness"),
    ("surface_nonconvex", "2D non-convex"),
)
COLUMNS = {
    "signal": SIGNAL_COLUMNS,
    "spectrum": SPECTRUM_COLUMNS,
    "trained": TRAINED_COLUMNS,
    "slices": SLICES_COLUMNS,
}
TITLES = {
    "signal": "the last block's signal, at initialisation → at the end",
    "spectrum": "at initialisation: the last block's Jacobian σ and gradient correlation",
    "trained": "after training: the test error, and what removing one block adds to it",
    "slices": "after training: the shape of the loss around the trained weights",
    "lesions": "test error without each block",
}
LEGENDS = {
    "signal": "mean over seeds (n: at initialisation → the runs that ended ok); rms a "
    "geometric mean · cosine near 1: the net maps every input alike · token spread near 0: "
    "a transformer's tokens collapsed to one (Schoenholz et al. 2017; Dong et al. 2021)",
    "spectrum": "singular values of the input–output Jacobian, geometric mean over seeds (n); "
    "isometry is every σ near 1 (Pennington et al. 2017) · correlation of the input gradients "
    "of neighbouring inputs (grad corr.): near 0 they are shattered (Balduzzi et al. 2017)",
    "trained": "mean over the seeds with lesions (n) of each run's median, mean and largest "
    "increase over its blocks: small where a net is an ensemble of shallow paths, as residual "
    "nets are (Veit et al. 2016)",
    "slices": "mean over seeds (n) along a filter-normalised direction (2D: two) · roughness: "
    "total variation over a bowl's, 1 for a smooth bowl · non-convex: share of points bending "
    "down, 0 for a bowl · rise: the ends' loss over the centre's (Li et al. 2018)",
    "lesions": "mean test error over seeds with the block replaced by its shortcut (Veit et "
    "al. 2016); —: not measured (a plain block that changes shape)",
}


@dataclass
class WhyTable:
    """One table: its kind ('signal', ...), title, the variant it is of, header and rows."""

    kind: str
    title: str
    variant: dict[str, Any]
    header: list[str]
    rows: list[list[str]]


def number(value: Any) -> str:
    """3 significant digits; '—' for a missing value."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(v) else f"{v:.3g}"


def why_tables(report: dict[str, pd.DataFrame]) -> list[WhyTable]:
    """Every table of `report`, in the order the kinds are listed in TITLES."""
    out: list[WhyTable] = []
    for kind in TITLES:
        if kind not in report:
            continue
        frame = report[kind]
        for values, group in by_variant(frame, summary_variants(frame)):
            if kind == "lesions":
                out += _lesion_tables(values, group)
            else:
                out.append(_table(kind, values, group))
    return out


def _ordered(group: pd.DataFrame) -> list[pd.Series]:
    """The rows by arch (the registry's order), then depth."""
    archs = {a: i for i, a in enumerate(arch_order(group["arch"]))}
    ordered = group.assign(_arch=group["arch"].map(archs)).sort_values(["_arch", "depth"])
    return [r for _, r in ordered.iterrows()]


def _table(kind: str, values: dict[str, Any], group: pd.DataFrame) -> WhyTable:
    """A row per arch and depth of one variant: the arch named on its first row."""
    shown = [(k, h) for k, h in COLUMNS[kind] if _recorded(group, kind, k)]
    header = ["arch", "depth", "n", *(h for _, h in shown)]
    rows, last = [], None
    for r in _ordered(group):
        cells = [r["arch"] if r["arch"] != last else "", str(r["depth"]), _n(kind, r)]
        cells += [_cell(kind, r, k) for k, _ in shown]
        rows.append(cells)
        last = r["arch"]
    return WhyTable(kind, TITLES[kind], values, header, rows)


def _recorded(group: pd.DataFrame, kind: str, column: str) -> bool:
    """Whether any row of `group` has the column's value (at either moment for the signal)."""
    names = [f"{column}_init", f"{column}_end"] if kind == "signal" else [column]
    return any(n in group and group[n].notna().any() for n in names)


def _n(kind: str, r: pd.Series) -> str:
    if kind == "signal":
        init, end = int(r["n_init"]), int(r["n_end"])
        return str(init) if init == end else f"{init}{ARROW}{end}"
    if kind in ("trained", "slices"):
        names = ("n_trained",) if kind == "trained" else ("slice_n", "surface_n")
        counts = {int(r[c]) for c in names if c in r}
        return ", ".join(str(c) for c in sorted(counts))
    return str(int(r["n"]))


def _cell(kind: str, r: pd.Series, column: str) -> str:
    if kind == "signal":
        return f"{number(r.get(f'{column}_init'))}{ARROW}{number(r.get(f'{column}_end'))}"
    value = r.get(column)
    if column.startswith("lesion_") and number(value) != "—":
        return f"{float(value):+.3g}"
    return number(value)


def _lesion_tables(values: dict[str, Any], group: pd.DataFrame) -> list[WhyTable]:
    """Per depth: a row per block (the intact net first), a column per arch that has lesions."""
    out = []
    for depth, at in group.groupby("depth", sort=True):
        archs = arch_order(at["arch"])
        by_arch = {a: at[at["arch"] == a].set_index("block") for a in archs}
        blocks = sorted(set(at["block"]))
        rows = [["intact", *(number(by_arch[a]["intact_error"].iloc[0]) for a in archs)]]
        for b in blocks:
            cells = [number(by_arch[a]["lesion_error"].get(b)) for a in archs]
            rows.append([str(b), *cells])
        n = sorted({int(v) for v in at["n"]})
        title = f"{TITLES['lesions']} · depth {depth} · n {', '.join(map(str, n))}"
        out.append(WhyTable("lesions", title, values, ["block", *archs], rows))
    return out


# --------------------------------------------------------------------------- formats


def why_rich(tables: list[WhyTable]) -> list[RenderableType]:
    """The tables for a terminal, the variant in bold above each; the last table of each kind
    carries its legend."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from resbench.core.names import markup as escape

    out: list[RenderableType] = []
    for i, t in enumerate(tables):
        last = i == len(tables) - 1 or tables[i + 1].kind != t.kind
        caption = LEGENDS[t.kind] if last else ""
        # As wide as its title and legend allow: a table of few columns would wrap them.
        width = max(len(t.title), len(caption) // 2) + 4
        table = Table(title=escape(t.title), caption=escape(caption) or None, min_width=width)
        for j, name in enumerate(t.header):
            table.add_column(escape(name), justify="left" if j == 0 else "right")
        for row in t.rows:
            table.add_row(*(escape(c) for c in row))
        title = variant_title(t.variant)
        out.append(Group(Text(title, style="bold"), table) if title else table)
    return out


def why_markdown(tables: list[WhyTable]) -> list[str]:
    """The tables as GitHub markdown lines, each kind's legend after its last table."""
    from resbench.views.text import markdown_table

    lines: list[str] = []
    for i, t in enumerate(tables):
        lines += [f"**{t.title}** {variant_title(t.variant)}".rstrip(), ""]
        lines += [*markdown_table(t.header, t.rows), ""]
        if i == len(tables) - 1 or tables[i + 1].kind != t.kind:
            lines += [LEGENDS[t.kind], ""]
    return lines


def why_records(report: dict[str, pd.DataFrame], source: str) -> list[pd.DataFrame]:
    """Each table as numbers, the results folder and the table's name (`table`) first in every
    row: the CSV and JSON formats."""
    frames = []
    for kind, frame in report.items():
        frame = frame.copy()
        frame.insert(0, "table", kind)
        frame.insert(0, "results", source)
        frames.append(frame)
    return frames
