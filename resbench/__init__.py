"""resbench: measure the depth-degradation effect of plain vs residual networks."""

__version__ = "0.1.0"


class ResbenchError(Exception):
    """An error in the user's input, reported as one line (exit code 2), never a traceback."""
