"""The one error a user meets: `ResbenchError`, shown as one line (exit code 2)."""

from __future__ import annotations


class ResbenchError(Exception):
    """An error in the user's input, reported as one line (exit code 2), never a traceback."""
