"""The findings' blocks docs/reference_numbers.py writes: each a function of
`results/reference/` returning the markdown of one marked block (`BLOCKS`, by name)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from reference_format import (
    blocks_of,
    cell,
    checked,
    claims_table,
    factor,
    interval,
    keep,
    log2_rate,
    rate,
    report,
    results,
    seeds_table,
    table,
)

from resbench.views.text import check_summary

# --------------------------------------------------------------------------- the presets


def presets() -> str:
    """Per reference: its runs, seeds, tested claims and what `resbench check` says now."""
    rows = []
    names = ("quick", "ci", "mlp", "gradients", "remedies", "remedies-lr", "transfer")
    for name in (*names, "transformers", "transformers-lr", "why"):
        status = report(name)["status"]
        runs = results(name).runs
        outcomes = checked(name) if results(name).claims else []
        tested = sum("(Holm, " in o.note for o in outcomes)
        summary = check_summary(outcomes).split(" · ")[0] if outcomes else "no claims"
        rows.append(
            [
                f"`{name}`",
                f"{status['runs']} ({status['diverged']} diverged)",
                str(runs["seed"].nunique()),
                str(tested),
                summary,
            ]
        )
    head = ["reference", "runs", "seeds", "claims tested", "`resbench check` now"]
    return table(head, rows)


# --------------------------------------------------------------------------- quick (README)


def quick_depth() -> str:
    summary = results("quick").summary("train_error")
    means = summary.pivot(index="depth", columns="arch", values="mean")
    stds = summary.pivot(index="depth", columns="arch", values="std")
    rows = [
        [str(d), *(f"{means.loc[d, a]:.3f} ± {stds.loc[d, a]:.3f}" for a in ("plain", "residual"))]
        for d in means.index
    ]
    return table(["depth", "plain", "residual"], rows, right=3)


# --------------------------------------------------------------------------- gradients


def ratio(mine: pd.DataFrame, depth: int, at: str) -> str:
    """One cell of the gradient ratios: the geometric mean (n), or the runs that diverged."""
    if depth not in mine.index:
        return "—"
    n, diverged = int(mine.loc[depth, "n_" + at]), int(mine.loc[depth, "diverged"])
    if n:
        return f"{factor(mine.loc[depth, at])} ({n})"
    return f"—, diverged {diverged}/{int(mine.loc[depth, 'n'])}" if diverged else "— (0)"


def variant_title(columns: list[str], values: tuple) -> str:
    """'family conv1d, batch_norm True, lr 0.1'."""
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return ", ".join(f"{c.split('.')[-1]} {v}" for c, v in zip(columns, shown, strict=True))


def gradient_ratios(name: str) -> Callable[[], str]:
    """First ÷ last layer's gradient norm, at initialisation and at the end, per variant."""

    def block() -> str:
        ratios = results(name).layer_ratios()
        variants = [c for c in ratios.columns if "." in c or c == "family"]
        depths = sorted(ratios["depth"].unique())
        out = []
        for values, group in ratios.groupby(variants, sort=True):
            rows = []
            for arch, mine in group.groupby("arch", sort=False):
                mine = mine.set_index("depth")
                for at in ("init", "end"):
                    cells = [ratio(mine, d, at) for d in depths]
                    rows.append([arch if at == "init" else "", at, *cells])
            title = variant_title(variants, values if isinstance(values, tuple) else (values,))
            out += [f"*{title}*", "", table(["arch", "at", *map(str, depths)], rows), ""]
        return "\n".join(out).rstrip()

    return block


# --------------------------------------------------------------------------- remedies

REMEDY_ROWS = [  # (arch, batch norm, init): the pages' order
    *((a, True, "he") for a in ("plain", "residual", "preact", "highway")),
    *((a, False, "he") for a in ("plain", "residual", "preact", "highway")),
    *((a, False, "he") for a in ("fixup", "skipinit", "rezero")),
    ("plain", False, "delta_orthogonal"),
]


def remedy_label(arch: str, init: str) -> str:
    return "plain, delta-orthogonal, tanh" if init == "delta_orthogonal" else arch


def remedies_errors(name: str, best_over: str | None) -> Callable[[], str]:
    """Train error per arch, batch norm and depth (at each one's best rate with `best_over`)."""

    def block() -> str:
        rep = report(name, best_over)
        summary = rep["metrics"]["train_error"]
        edges = None if best_over is None else rep["best_values"]
        depths = sorted(summary["depth"].unique())
        rows = []
        for arch, bn, init in REMEDY_ROWS:
            mine = keep(summary, arch=arch, **{"model.batch_norm": bn, "model.init": init})
            cells = []
            for d in depths:
                row = mine[mine["depth"] == d].iloc[0]
                shown = cell(row)
                if edges is not None:
                    at = {"model.batch_norm": bn, "model.init": init}
                    best = keep(edges, arch=arch, depth=d, **at).iloc[0]
                    shown += f" @ {row['chosen']:g}{' ◂' if best['at_edge'] else ''}"
                cells.append(shown)
            rows.append([remedy_label(arch, init), "yes" if bn else "no", *cells])
        return table(["arch", "batch norm", *map(str, depths)], rows)

    return block


def remedies_lr_edges() -> str:
    """How many of the best rates sit at an end of the grid, and at which depths."""
    rep = report("remedies-lr", "train.lr")
    best = rep["best_values"]
    top = rep["landscape"].groupby("model.batch_norm")["train.lr"].max()
    at_top = best[best["at_edge"] & (best["train.lr"] == best["model.batch_norm"].map(top))]
    depths = sorted(best["depth"].unique())
    per_depth = ", ".join(str(int((at_top["depth"] == d).sum())) for d in depths)
    return (
        f"{int(best['at_edge'].sum())} of the {len(best)} choices sit at an end of the grid (◂), "
        f"{len(at_top)} of them at its largest rate (at {', '.join(map(str, depths))} layers: "
        f"{per_depth}), where a higher rate might do better still."
    )


def remedies_lr_rates() -> str:
    """Train error at every rate of the grid, per arch, batch norm and depth (3 seeds)."""
    summary = results("remedies-lr").summary("train_error")
    out = []
    for bn in (True, False):
        mine = summary[summary["model.batch_norm"] == bn]
        rates = sorted(mine["train.lr"].unique())
        rows = []
        for arch, row_bn, init in REMEDY_ROWS:
            if row_bn != bn:
                continue
            for d in sorted(mine["depth"].unique()):
                at = keep(mine, arch=arch, depth=d, **{"model.init": init}).set_index("train.lr")
                rows.append([remedy_label(arch, init), str(d), *(cell(at.loc[r]) for r in rates)])
        head = ["arch", "depth", *(f"lr {r:g}" for r in rates)]
        title = f"*{'with' if bn else 'without'} batch norm*"
        out += [title, "", table(head, rows, right=len(rates)), ""]
    return "\n".join(out).rstrip()


def remedies_lr_residual_rate() -> str:
    """The residual net with batch norm: its best rate per depth, and its drift."""
    rep = report("remedies-lr", "train.lr")
    where = {"arch": "residual", "model.batch_norm": True}
    best = keep(rep["best_values"], **where).set_index("depth")
    rows = [
        [
            str(d),
            str(int(best.loc[d, "blocks"])),
            f"{best.loc[d, 'train.lr']:g}{' ◂' if best.loc[d, 'at_edge'] else ''}",
            f"{best.loc[d, 'optimum']:.3g}",
        ]
        for d in best.index
    ]
    drift = keep(rep["drift"], **where).iloc[0]
    line = (
        f"Its drift against log2 L: {interval(drift['drift'], drift['low'], drift['high'])}, "
        f"over {int(drift['n_seeds'])} seeds that both choose the rates and report them."
    )
    head = ["depth", "blocks L", "best rate on the grid", "interpolated"]
    return table(head, rows, right=4) + "\n\n" + line


def reach(name: str, best_over: str | None) -> Callable[[], str]:
    """The depth each arch reaches (the report's last table)."""

    def block() -> str:
        frame = report(name, best_over)["reach"]["table"]
        rows = []
        for arch, bn, init in REMEDY_ROWS:
            r = keep(frame, arch=arch, **{"model.batch_norm": bn, "model.init": init}).iloc[0]
            rows.append(
                [
                    remedy_label(arch, init),
                    "yes" if bn else "no",
                    f"{r['best_depth']} ({r['best']:.3f})",
                    f"{r['reach']} ({r['reach_mean']:.3f})",
                ]
            )
        return table(["arch", "batch norm", "best depth", "reaches"], rows)

    return block


# --------------------------------------------------------------------------- transfer

TRANSFER_ROWS = [(init, mult) for init in ("lecun", "he") for mult in ("none", "inv_sqrt_depth")]
BRANCHES = {"none": "a + F(a)", "inv_sqrt_depth": "a + F(a)/√L"}


def transfer_optima() -> str:
    rep = report("transfer", "train.lr")
    best, drift = rep["best_values"], rep["drift"]
    depths = sorted(best["depth"].unique())
    rows = []
    for init, mult in TRANSFER_ROWS:
        where = {"model.init": init, "model.branch_multiplier": mult}
        mine = keep(best, **where).set_index("depth")
        cells = [log2_rate(mine.loc[d]) for d in depths]
        d = keep(drift, **where).iloc[0]
        rows.append([init, BRANCHES[mult], *cells, interval(d["drift"], d["low"], d["high"])])
    head = ["init", "branches", *map(str, depths), "drift against log2 L"]
    return table(head, rows)


def transfer_held_out() -> str:
    rep = report("transfer", "train.lr", ("train_loss", "train_error"))
    rows = []
    for metric, shown in (("train_loss", "loss"), ("train_error", "error")):
        summary = rep["metrics"][metric]
        depths = sorted(summary["depth"].unique())
        for init, mult in TRANSFER_ROWS:
            mine = keep(summary, **{"model.init": init, "model.branch_multiplier": mult})
            mine = mine.set_index("depth")
            cells = [f"{cell(mine.loc[d])} @ {rate(mine.loc[d, 'chosen'])}" for d in depths]
            rows.append([init, BRANCHES[mult], shown, *cells])
    return table(["init", "branches", "metric", *map(str, depths)], rows)


def transfer_chance() -> str:
    """He init, no multiplier: each depth's best mean loss against chance, by the drift's rule."""
    from reference_format import chance_bound

    rep = report("transfer", "train.lr")
    where = {"model.init": "he", "model.branch_multiplier": "none"}
    best = keep(rep["best_values"], **where).set_index("depth")
    rows = []
    for d in best.index:
        upper = chance_bound("transfer", where, d, best.loc[d, "train.lr"])
        rows.append(
            [
                str(d),
                rate(best.loc[d, "train.lr"]),
                f"{best.loc[d, 'score']:.3f}",
                f"{upper:.3f}",
                f"{best.loc[d, 'chance']:.3f}",
                "yes" if best.loc[d, "trainable"] else "no",
            ]
        )
    head = ["depth", "best rate", "mean loss", "95% upper bound", "chance", "trainable"]
    return table(head, rows, right=6)


# --------------------------------------------------------------------------- transformers


def transformers_errors() -> str:
    summary = results("transformers").summary("train_error")
    depths = sorted(summary["depth"].unique())
    rows = []
    for arch in ("postln", "preln", "deepnorm", "admin", "rezero", "tfixup", "plain"):
        for warmup in (0.0, 1.0):
            mine = keep(summary, arch=arch, **{"train.warmup": warmup}).set_index("depth")
            rows.append([arch, "yes" if warmup else "no", *(cell(mine.loc[d]) for d in depths)])
    return table(["arch", "warm-up", *(blocks_of(d) for d in depths)], rows)


def transformers_lr_errors() -> str:
    """Train error per arch, warm-up and depth at its best rate (chosen on seeds 0-1, reported
    on seeds 2-4), the rate after @, ◂ where it is an end of the grid."""
    rep = report("transformers-lr", "train.lr")
    summary, edges = rep["metrics"]["train_error"], rep["best_values"]
    depths = sorted(summary["depth"].unique())
    rows = []
    for arch in ("postln", "preln", "deepnorm", "admin", "rezero", "tfixup", "plain"):
        for warmup in (0.0, 1.0):
            at = {"train.warmup": warmup}
            cells = []
            for d in depths:
                row = keep(summary, arch=arch, depth=d, **at).iloc[0]
                best = keep(edges, arch=arch, depth=d, **at).iloc[0]
                cells.append(f"{cell(row)} @ {row['chosen']:g}{' ◂' if best['at_edge'] else ''}")
            rows.append([arch, "yes" if warmup else "no", *cells])
    return table(["arch", "warm-up", *(blocks_of(d) for d in depths)], rows)


# --------------------------------------------------------------------------- plugins


def plugins_errors() -> str:
    """The user family's sweep: train error and parameters per arch and depth."""
    summary = results("dense-vs-residual").summary("train_error")
    runs = results("dense-vs-residual").runs
    depths = sorted(summary["depth"].unique())
    errors, sizes = [], []
    for arch in ("plain", "residual", "dense"):
        mine = keep(summary, arch=arch).set_index("depth")
        errors.append([arch, *(cell(mine.loc[d]) for d in depths)])
        params = keep(runs, arch=arch).groupby("depth")["params"].first()
        sizes.append([arch, *(f"{params[d] / 1000:.1f}k" for d in depths)])
    head = ["arch", *map(str, depths)]
    return table(head, errors) + "\n\nParameters:\n\n" + table(head, sizes)


BLOCKS: dict[str, Callable[[], str]] = {
    "presets": presets,
    "quick-depth": quick_depth,
    "quick-claims": lambda: claims_table("quick"),
    "gradients-ratios": gradient_ratios("gradients"),
    "remedies-errors": remedies_errors("remedies", None),
    "remedies-seeds": lambda: seeds_table(
        "remedies",
        [
            ("residual", 110, {"model.batch_norm": True}),
            ("plain", 110, {"model.batch_norm": False, "model.init": "he"}),
            ("rezero", 110, {"model.batch_norm": False}),
        ],
    ),
    "remedies-claims": lambda: claims_table("remedies"),
    "remedies-lr-errors": remedies_errors("remedies-lr", "train.lr"),
    "remedies-lr-edges": remedies_lr_edges,
    "remedies-lr-rates": remedies_lr_rates,
    "remedies-lr-residual-rate": remedies_lr_residual_rate,
    "remedies-lr-reach": reach("remedies-lr", "train.lr"),
    "remedies-lr-claims": lambda: claims_table("remedies-lr"),
    "transfer-optima": transfer_optima,
    "transfer-held-out": transfer_held_out,
    "transfer-chance": transfer_chance,
    "transfer-claims": lambda: claims_table("transfer"),
    "transformers-errors": transformers_errors,
    "transformers-ratios": gradient_ratios("transformers"),
    "transformers-seeds": lambda: seeds_table(
        "transformers", [("deepnorm", 48, {"train.warmup": 0.0})]
    ),
    "transformers-claims": lambda: claims_table("transformers"),
    "transformers-lr-errors": transformers_lr_errors,
    "transformers-lr-claims": lambda: claims_table("transformers-lr"),
    "plugins-errors": plugins_errors,
    "plugins-claims": lambda: claims_table("dense-vs-residual"),
}
