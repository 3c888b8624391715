"""torch.compile in sweeps: every run is compiled, or says it was not; none silently falls back."""

from __future__ import annotations

import functools
import re
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT, TINY_SWEEP

from resbench.executors.inline import InlineExecutor
from resbench.sweep.load import expand, parse_sweep
from resbench.sweep.schema import RunSpec
from resbench.train.run import TORCH_FLOOR, fail_on_recompile_limit, train_run

# Dynamo's recompile limit under its name in this torch (2.7 renamed cache_size_limit).
LIMIT = (
    "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
)


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
    with torch._dynamo.config.patch(**{LIMIT: 1}):
        result = train_run(r)
    assert result.status == "failed" and "recompile" in result.error.lower(), result.error


def test_an_uncompiled_run_records_no_compilation() -> None:
    (spec,) = expand(parse_sweep(TINY_SWEEP, "tiny", {"grid.depth": [8], "grid.seed": [0],
                                                      "grid.arch": ["plain"]}))  # fmt: skip
    assert train_run(spec).compiled is None


def test_the_flag_that_fails_a_run_is_found_under_either_of_its_names() -> None:
    assert fail_on_recompile_limit(torch._dynamo.config) == "fail_on_recompile_limit_hit"
    # torch 2.6's config, read from its wheel: the flag under its first name, and no other.
    torch_2_6 = SimpleNamespace(cache_size_limit=8, fail_on_cache_limit_hit=False)
    assert fail_on_recompile_limit(torch_2_6) == "fail_on_cache_limit_hit"


def test_pyproject_asks_for_a_torch_that_has_the_flag() -> None:
    # Releases before 2.6 have neither name (read from the 2.5.0 wheel): a compiled run there
    # could not be kept from going on uncompiled.
    floor = re.search(r'"torch>=([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert floor is not None
    assert tuple(int(p) for p in floor.group(1).split(".")) >= TORCH_FLOOR
