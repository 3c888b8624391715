"""User code in a sweep: families and datasets named by import path or by installed entry point.

A sweep may name `model.family: "my_pkg.nets:build"` or `dataset.name: "my_pkg.data:load"`: a
module and a callable in it. Installed packages may give such callables short names through the
entry-point groups `resbench.families` and `resbench.datasets`. Either way the code is imported
when the sweep is loaded (so a bad path is one line before anything trains) and again where
runs execute. Loading user code runs that code; YAML itself still never executes anything.

Where the code is looked for: the installed packages, the folder of the sweep file, and the
current directory: both appended to `sys.path` when a sweep file is loaded (after the installed
packages, so a user's `yaml.py` never shadows PyYAML), and so inherited by local worker
processes. Workers that start afresh on this machine (a local Ray's, SLURM's tasks) are told them
in `RESBENCH_SEARCH_PATH` and append them in turn; Ray workers elsewhere need the code installed,
or shipped with the job (`runtime_env`'s `working_dir`: docs/plugins.md).

A plugin's identity joins the run id: its import path, its options, and its version, the
version of the installed package that provides it or, for code that is not installed, a hash of
its module's source, so two different models never share a record.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from resbench.core.errors import ResbenchError

# The entry-point groups through which installed packages name their callables.
FAMILIES = "resbench.families"
DATASETS = "resbench.datasets"
_SEARCHED: list[str] = []  # the folders search_here put on sys.path, for workers elsewhere
SEARCH_PATH = "RESBENCH_SEARCH_PATH"  # how those folders reach a worker that starts afresh


class PluginError(ResbenchError):
    """User code that cannot be used, in one line."""


def is_path(name: str) -> bool:
    """Whether `name` is an import path, `module:callable`, rather than a registered name."""
    return ":" in name


def is_plugin(name: str, group: str) -> bool:
    """Whether `name` stands for user code: an import path, or an installed plugin of `group`."""
    return is_path(name) or name in entry_points(group)


def import_path(name: str, group: str) -> str:
    """The import path `name` stands for: itself, or that of the installed plugin of `group`."""
    return name if is_path(name) else entry_points(group)[name]


def search_here(*folders: str | Path) -> None:
    """Let import paths find code in `folders` (the sweep file's folder, the current one): after
    everything already on sys.path, so that a user's `yaml.py` never shadows PyYAML, in this
    process or in the workers it starts."""
    for folder in folders:
        entry = str(Path(folder).resolve())
        if entry not in sys.path:
            sys.path.append(entry)
        if entry not in _SEARCHED:
            _SEARCHED.append(entry)


def worker_env() -> dict[str, str]:
    """The environment that tells a worker process which does not inherit sys.path (Ray's,
    SLURM's) where this sweep's code is: read back by `resolve` there."""
    return {SEARCH_PATH: os.pathsep.join(_SEARCHED)} if _SEARCHED else {}


@functools.cache  # once a process: its environment was set when it started
def _search_inherited() -> None:
    search_here(*(f for f in os.environ.get(SEARCH_PATH, "").split(os.pathsep) if f))


def resolve(path: str) -> Any:
    """The callable at `path` (`module:name`, the name may be dotted); PluginError if none."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise PluginError(f"{path!r} is not an import path: give module:callable")
    _search_inherited()
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # whatever the module raises on import is the user's one line
        raise PluginError(f"cannot import {module_name} ({type(e).__name__}: {e})") from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise PluginError(f"{module_name} has no {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise PluginError(f"{path} is not callable (it is a {type(target).__name__})")
    return target


def options_problem(path: str, function: Any, options: dict[str, Any]) -> str | None:
    """Why `function` (the callable at `path`) cannot be called with `options` as keyword
    arguments, or None when it can (or its signature cannot be read)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    takes = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    if not open_ended and (unknown := [k for k in options if k not in takes]):
        shown = ", ".join(takes) or "none"
        return f"{path} takes no option {unknown[0]!r} (its options: {shown})"
    try:
        signature.bind(**options)
    except TypeError as e:
        return f"{path}: {e}"
    return None


def identity(path: str) -> str:
    """What version of the code at `path` a run used: its package's version when it is
    installed, else `source:` and a hash of its module's file (any edit makes new runs)."""
    module_name = path.partition(":")[0]
    top = module_name.split(".")[0]
    for dist in _providers().get(top, []):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    try:
        source = Path(inspect.getfile(module)).read_bytes()
    except (OSError, TypeError):
        return "unknown"
    return "source:" + hashlib.sha256(source).hexdigest()[:12]


@functools.cache
def entry_points(group: str) -> dict[str, str]:
    """Installed plugins of `group`: short name -> import path (read once per process)."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=group)}


@functools.cache
def _providers() -> dict[str, list[str]]:
    # Which installed distributions provide each top-level module: reading every installed
    # package's metadata takes a fifth of a second, and a sweep asks once per user-code run.
    return dict(importlib.metadata.packages_distributions())


def forget_installed() -> None:
    """Read installed packages afresh on next use (after installing one in this process)."""
    entry_points.cache_clear()
    _providers.cache_clear()
