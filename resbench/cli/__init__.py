"""The command line: each command parses, calls the library, renders. Heavy imports are lazy.

`app.py` holds the Typer app, its entry point and the error convention; each other module
holds commands, registered here in the order `resbench --help` lists them.
"""

from resbench.cli import models, results, run, sweeps
from resbench.cli.app import app, main

for command in (
    run.run,
    results.report,
    results.plot,
    results.check,
    results.export,
    sweeps.sweeps,
    sweeps.schema,
    sweeps.init,
    models.models,
):
    app.command()(command)

__all__ = ["app", "main"]
