"""The command line: each command parses, calls the library, renders. Heavy imports are lazy.

`app.py` holds the Typer app, its entry point and the error convention; `options.py` the
options several commands share, `executor_flags.py` the execution flags of `run`; each other
module holds commands, registered here in the order `resbench --help` lists them.
"""

from resbench.cli import check, export, models, plot, report, run, sweeps
from resbench.cli.app import app, main, output_guarded

for command in (
    run.run,
    report.report,
    plot.plot,
    check.check,
    export.export,
    sweeps.sweeps,
    sweeps.schema,
    sweeps.init,
    models.models,
):
    app.command()(output_guarded(command))

__all__ = ["app", "main"]
