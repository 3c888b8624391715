"""`resbench models`: the parameters and FLOPs of a family's networks, without training one."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Optional

import typer

from resbench import ResbenchError
from resbench.cli.app import user_errors
from resbench.core.names import markup


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"


Family = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Argument(
        help="The family: mlp, conv1d, cifar, an installed plugin's, or module:callable. "
        "Without it: every family, with its depths and archs.",
        show_default=False,
    ),
]
Depths = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help="Comma-separated depths (default: the family's usual ones)."),
]
Archs = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="Comma-separated archs: plain, residual, preact, highway, fixup, skipinit, "
        "rezero; the transformer's postln, preln, deepnorm, admin, rezero, tfixup, plain "
        "(default: every arch of the family).",
        show_default=False,
    ),
]
Width = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        min=1,
        help="First stage's channels, the mlp's width, or the transformer's d_model (default 16).",
    ),
]
Shortcut = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="A (zero-pad), a sweep's default, or B (1x1 projection), as He et al. 2016's "
        "bottleneck nets have.",
        show_default=False,
    ),
]
Block = Annotated[
    str, typer.Option(help="basic, or bottleneck (conv1d, cifar: 1-3-1, depth 9n+2).")
]
BatchNorm = Annotated[
    Optional[bool],  # noqa: UP045
    typer.Option(
        "--batch-norm/--no-batch-norm",
        help="Default: with batch norm, but for archs that take none (fixup).",
        show_default=False,
    ),
]
ModelOptions = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--option",
        "-o",
        help="A model.options setting, KEY=VALUE (YAML), repeatable: the transformer's "
        "heads, mlp_ratio, layer_norm; a user family's own.",
        show_default=False,
    ),
]
Classes = Annotated[int, typer.Option(min=2, help="Outputs of the classifier.")]
InputShape = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="One example's shape, comma-separated (default: the family's natural data).",
        show_default=False,
    ),
]
Format = Annotated[
    TableFormat, typer.Option("--format", help="A table to read, or CSV to process.")
]


def models(
    family: Family = None,
    depths: Depths = None,
    arch: Archs = None,
    width: Width = None,
    shortcut: Shortcut = None,
    block: Block = "basic",
    batch_norm: BatchNorm = None,
    option: ModelOptions = None,
    classes: Classes = 10,
    input_shape: InputShape = None,
    output: Format = TableFormat.table,
) -> None:
    """Print each network's parameters and forward FLOPs per example (multiply-add = 2).

    `weights` counts the weight layers' parameters alone, batch norms and scalars aside, as
    He et al. 2016 count their pre-activation nets. FLOPs are counted on one example of the
    family's natural data: cifar (3, 32, 32), conv1d (1, 40), mlp (40,), transformer (1, 40):
    40 tokens, attention counted. A transformer's depth is its number of blocks.

    Examples:

        resbench models cifar --depths 20,32,44,56,110,1202 --arch plain,residual

        resbench models cifar --arch preact --depths 164,1001 --block bottleneck --shortcut B

        resbench models cifar --depths 56 --arch residual --shortcut B --classes 100

        resbench models conv1d --no-batch-norm --format csv > conv1d.csv

        resbench models transformer --arch deepnorm --depths 6,48 -o heads=4 --width 32

        resbench models                     # the families: built-in, installed, by path

        resbench models my_pkg.nets:build --depths 8,20 --input-shape 1,40
    """
    from pathlib import Path

    from resbench.core.key_values import parse_key_values
    from resbench.core.plugins import search_here
    from resbench.models import registry, size_table
    from resbench.models.config import ModelConfig

    search_here(Path.cwd())  # where a family given by import path is looked for, too
    if family is None:
        _families()
        return
    with user_errors():
        known = registry.family_problem(family) is None  # registers a user family
        if depths is None:  # an unknown family gets no depths, and size_table names it
            rules = registry.get_family(family).depths if known else {}
            depth_list = list(rules[block].examples) if block in rules else []
        else:
            depth_list = _int_list("--depths", depths)
        if arch is None:
            archs = list(registry.get_family(family).archs) if known else []
        else:
            archs = [a.strip() for a in arch.split(",") if a.strip()]
        shortcut = shortcut or ModelConfig.model_fields["shortcut"].default  # a sweep's
        options = {"shortcut": shortcut, "block": block, "batch_norm": batch_norm}
        options |= {"width": width} if width else {}
        options |= {"options": parse_key_values(option, "--option", "heads=4")} if option else {}
        shape = tuple(_int_list("--input-shape", input_shape)) if input_shape else None
        rows = size_table(family, depth_list, archs, options, classes, shape)
    if output is TableFormat.csv:
        typer.echo("depth,arch,batch_norm,params,weights,flops")
        for r in rows:
            typer.echo(
                f"{r['depth']},{r['arch']},{str(r['batch_norm']).lower()},"
                f"{r['params']},{r['weights']},{r['flops']}"
            )
        return
    title = f"{family} nets, {block} blocks, shortcut {shortcut}"
    if family == "transformer":  # one kind of block, no shortcut to choose; a depth is N blocks
        title = f"{family} nets: depth = blocks (self-attention + MLP)"
    _print_sizes(rows, title)


def _print_sizes(rows: list[dict[str, Any]], title: str) -> None:
    """`size_table`'s rows as a table to read: counts with their millions, FLOPs in SI units."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "depth", "arch", "BN", "params", "weights", "FLOPs", title=markup(title), box=None
    )
    for r in rows:
        table.add_row(
            markup(r["depth"]),
            markup(r["arch"]),
            "yes" if r["batch_norm"] else "no",
            _count(r["params"]),
            _count(r["weights"]),
            _si(r["flops"]),
        )
    Console().print(table)


def _families() -> None:
    """Every family a sweep can name: the built-in ones, then installed plugins'."""
    from rich.console import Console
    from rich.table import Table

    from resbench.core.plugins import FAMILIES, entry_points
    from resbench.models import registry

    table = Table("family", "depths", "archs", "from", title="families", box=None)
    for name in registry.family_names():
        f = registry.get_family(name)
        depths = "; ".join(f"{kind}: {rule.rule}" for kind, rule in f.depths.items())
        built = f.build if f.user else "resbench"
        table.add_row(*map(markup, (name, depths, ", ".join(f.archs), built)))
    for name, path in entry_points(FAMILIES).items():
        if name not in registry.family_names():
            table.add_row(markup(name), "(see its package)", "", markup(f"plugin {path}"))
    table.caption = "or any module:callable (docs/plugins.md)"
    Console().print(table)


def _int_list(option: str, text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ResbenchError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ResbenchError(f"{option}: give at least one value")
    return values


def _count(n: int) -> str:
    """10,328,602 (10.33M); below 0.1M three decimals would round to nothing: 269,722 (0.27M)."""
    return f"{n:,} ({n / 1e6:.2f}M)"


def _si(n: int) -> str:
    """2 decimals of the largest unit that fits: 81.10M, 5.66G."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
