"""torch.compile in sweeps: every run is compiled, or says it was not; none silently falls back."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import TINY_SWEEP

from resbench.executors.inline import InlineExecutor
from resbench.spec import RunSpec
from resbench.sweep import expand, parse_sweep
from resbench.train import train_run


@pytest.fixture
def eager_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.compile with Dynamo's `eager` backend: the same capture, guards, caches and
    recompile limit as inductor (what these tests are about), without inductor's C++ code
    generation, which takes half a minute a model on a CPU (test_recipe compiles one for real).
    """
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))


def compiled_specs(**overrides: object) -> list[RunSpec]:
    axes = {"grid.depth": [8, 14, 20], "grid.seed": [0], "train.compile": True}
    return expand(parse_sweep(TINY_SWEEP, "tiny", {**axes, **overrides}))


def test_many_compiled_runs_in_one_process_are_each_compiled(eager_backend: None) -> None:
    # Six models, train and eval modes, two batch shapes: once more than Dynamo's limit of 8
    # variants when they all went through one compiled entry.
    specs = compiled_specs()
    results = list(InlineExecutor().map(train_run, specs))
    assert len(results) == 6
    assert all(r.status == "ok" and r.compiled is True for r in results), [
        (r.spec.label(), r.status, r.compiled, r.error) for r in results
    ]


def test_a_run_that_hits_the_recompile_limit_fails_rather_than_run_uncompiled(
    eager_backend: None,
) -> None:
    # A limit of one variant: train mode compiles, eval mode at the first curve point is a
    # second variant. Dynamo would warn and go on uncompiled; the run must say it failed.
    (r,) = compiled_specs(**{"grid.depth": [8], "grid.arch": ["plain"]})
    with torch._dynamo.config.patch(recompile_limit=1):
        result = train_run(r)
    assert result.status == "failed" and "recompile" in result.error.lower(), result.error


def test_an_uncompiled_run_records_no_compilation() -> None:
    (spec,) = expand(parse_sweep(TINY_SWEEP, "tiny", {"grid.depth": [8], "grid.seed": [0],
                                                      "grid.arch": ["plain"]}))  # fmt: skip
    assert train_run(spec).compiled is None
