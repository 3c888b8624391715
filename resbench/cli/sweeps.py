"""`resbench sweeps`, `schema` and `init`: the presets, the sweep file's schema, a starter sweep."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from resbench import ResbenchError
from resbench.cli.app import user_errors
from resbench.core.atomic import write_text
from resbench.core.names import shown


def sweeps() -> None:
    """List the preset sweeps that ship with resbench; run one with `resbench run NAME`."""
    import yaml
    from rich.console import Console
    from rich.table import Table

    from resbench.sweep.load import preset_names, preset_path

    table = Table("preset", "description", box=None)
    for name in preset_names():
        try:
            raw = yaml.safe_load(preset_path(name).read_text()) or {}
            description = str(raw.get("description", ""))
        except yaml.YAMLError:
            description = "(unreadable)"
        table.add_row(name, description)
    Console().print(table)


def schema(
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", "-o", help="Write to this file instead of standard output."),
    ] = None,
) -> None:
    """Print the JSON Schema of sweep files, for editors that complete and check YAML.

    With the YAML language server (VS Code's YAML extension, and others), a first line
    `# yaml-language-server: $schema=sweep.schema.json` in a sweep file points at it.

    Examples:

        resbench schema -o sweep.schema.json
    """
    from resbench.sweep.load import schema_json

    text = schema_json()
    if out is None:
        typer.echo(text, nl=False)
    else:
        with user_errors():
            write_text(out, text)
        typer.echo(f"wrote {shown(out)}", err=True)


def init(
    name: Annotated[str, typer.Argument(help="The sweep's name; writes NAME.yaml.")] = "my-sweep",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter sweep, NAME.yaml (and sweep.schema.json beside it), to edit.

    Examples:

        resbench init depth-lr && resbench run depth-lr.yaml --dry-run
    """
    from resbench.sweep.load import starter_sweep
    from resbench.sweep.schema import SWEEP_NAME

    with user_errors():
        path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
        if not re.fullmatch(SWEEP_NAME, path.stem):
            raise ResbenchError(
                f"{shown(name)}: not a sweep's name (letters, digits, '.', '_', '-', from a "
                "letter or a digit), e.g. depth-lr"
            )
        if path.exists() and not force:
            raise ResbenchError(f"{path}: exists; choose another name or pass --force")
        write_text(path, starter_sweep(path.stem))
        schema_path = path.parent / "sweep.schema.json"
        if not schema_path.exists():
            from resbench.sweep.load import schema_json

            write_text(schema_path, schema_json())
    typer.echo(f"wrote {shown(path)}; try: resbench run {shown(path)} --dry-run")
