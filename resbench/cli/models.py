"""`resbench models`: the parameters and FLOPs of a family's networks, without training one."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from resbench import ResbenchError
from resbench.cli.app import user_errors


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"


def models(
    family: Annotated[str, typer.Argument(help="The family: mlp, conv1d or cifar.")],
    depths: Annotated[
        Optional[str],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Comma-separated depths (default: the family's usual ones)."),
    ] = None,
    arch: Annotated[str, typer.Option(help="Comma-separated: plain, residual.")] = "plain,residual",
    width: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=1, help="First stage's channels, or the mlp's width (default 16)."),
    ] = None,
    shortcut: Annotated[str, typer.Option(help="A (zero-pad) or B (1x1 projection).")] = "A",
    classes: Annotated[int, typer.Option(min=2, help="Outputs of the classifier.")] = 10,
    output: Annotated[
        TableFormat, typer.Option("--format", help="A table to read, or CSV to process.")
    ] = TableFormat.table,
) -> None:
    """Print each network's parameters and forward FLOPs per example (multiply-add = 2).

    FLOPs are counted on one example of the family's natural data: cifar (3, 32, 32),
    conv1d (1, 40), mlp (40,).

    Examples:

        resbench models cifar --depths 20,32,44,56,110,1202

        resbench models cifar --depths 56 --arch residual --shortcut B --classes 100

        resbench models conv1d --format csv > conv1d.csv
    """
    from resbench.families import FAMILIES
    from resbench.models import size_table

    with user_errors():
        if depths is None:  # an unknown family gets no depths, and size_table names it
            depth_list = list(FAMILIES[family].examples) if family in FAMILIES else []
        else:
            depth_list = _int_list("--depths", depths)
        archs = [a.strip() for a in arch.split(",") if a.strip()]
        rows = size_table(family, depth_list, archs, width, shortcut, classes)
    if output is TableFormat.csv:
        typer.echo("depth,arch,params,flops")
        for r in rows:
            typer.echo(f"{r['depth']},{r['arch']},{r['params']},{r['flops']}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("depth", "arch", "params", "FLOPs", title=f"{family} nets", box=None)
    for r in rows:
        params, flops = int(r["params"]), int(r["flops"])
        table.add_row(
            str(r["depth"]), str(r["arch"]), f"{params:,} ({params / 1e6:.2f}M)", _si(flops)
        )
    Console().print(table)


def _int_list(option: str, text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ResbenchError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ResbenchError(f"{option}: give at least one value")
    return values


def _si(n: int) -> str:
    """2 decimals of the largest unit that fits: 81.10M, 5.66G."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
