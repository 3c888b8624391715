"""resbench: measure the depth-degradation effect of plain vs residual networks.

From Python (a script, a notebook):

    import resbench
    results = resbench.run("quick", overrides={"grid.seed": [0, 1]})
    results.summary("train_error")      # mean ± std over seeds per depth and arch
    resbench.Results.open("results/quick").check()

`run`, `Results`, `load_sweep` and `expand` are imported on first use, so that `import
resbench` (and `resbench --help`) stay light. Bad input is a `ResbenchError`, shown as one line
in IPython and Jupyter too (set RESBENCH_TRACEBACK=1, or type %tb, for its traceback).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from resbench.core.errors import ResbenchError, one_line_in_ipython
from resbench.core.version import VERSION as __version__

# name -> the module it lives in, imported on first use
_LAZY = {
    "run": "resbench.runner",
    "Interrupted": "resbench.runner",
    "StorageFailed": "resbench.runner",
    "Results": "resbench.results",
    "load_sweep": "resbench.sweep.load",
    "expand": "resbench.sweep.load",
}

if TYPE_CHECKING:
    from resbench.results import Results
    from resbench.runner import Interrupted, StorageFailed, run
    from resbench.sweep.load import expand, load_sweep

__all__ = [
    "Interrupted",
    "ResbenchError",
    "Results",
    "StorageFailed",
    "__version__",
    "expand",
    "load_sweep",
    "run",
]


one_line_in_ipython()  # as on the command line: RESBENCH_TRACEBACK=1 (or %tb) for the rest


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'resbench' has no attribute {name!r}")
