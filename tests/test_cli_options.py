"""The command line's shared declarations: `run`'s execution flags, each the executor section's
field it names, and the one KEY=VALUE parser of `run -s` and `models --option`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from resbench import ResbenchError
from resbench.cli import app
from resbench.cli.executor_flags import FLAGS, flag_of, with_executor_flags
from resbench.core.key_values import parse_key_values
from resbench.sweep.schema import ExecutorSection

# A value for each flag that differs from the section's default.
GIVEN = {
    "name": ("slurm", "slurm"),
    "workers": ("3", 3),
    "runs_per_gpu": ("2", 2),
    "threads_per_run": ("4", 4),
    "retries": ("0", 0),
    "address": ("auto", "auto"),
    "num_cpus": ("2", 2.0),
    "num_gpus": ("0.5", 0.5),
    "partition": ("gpu", "gpu"),
    "time": ("2:00:00", "2:00:00"),
    "keep_jobs": (None, True),  # a switch: given, it turns the field on
}


def given_flags(*args: str) -> dict[str, Any]:
    """What a command wrapped by `with_executor_flags` receives from these arguments."""
    seen: dict[str, Any] = {}

    def probe(executor_flags: dict[str, Any] | None = None) -> None:
        seen.update(executor_flags or {})

    probe_app = typer.Typer()
    probe_app.command()(with_executor_flags(probe))
    result = CliRunner().invoke(probe_app, list(args))
    assert result.exit_code == 0, result.output
    return seen


def test_every_flag_sets_the_executor_field_it_is_named_after() -> None:
    assert set(GIVEN) == set(FLAGS) and set(FLAGS) <= set(ExecutorSection.model_fields)
    args = []
    for field, (text, _) in GIVEN.items():
        args += [flag_of(field)] + ([text] if text is not None else [])
    section = ExecutorSection().override(**given_flags(*args))
    assert {field: getattr(section, field) for field in GIVEN} == {
        field: value for field, (_, value) in GIVEN.items()
    }


def test_flags_left_out_leave_the_sweeps_values() -> None:
    assert given_flags() == {}
    assert given_flags("--workers", "2") == {"workers": 2}
    section = ExecutorSection(keep_jobs=True, workers=5).override(**given_flags("--retries", "3"))
    assert (section.keep_jobs, section.workers, section.retries) == (True, 5, 3)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--workers", "0"),
        ("--runs-per-gpu", "0"),
        ("--threads-per-run", "0"),
        ("--retries", "-1"),
        ("--num-cpus", "0"),
        ("--num-gpus", "-1"),
        ("--time", "1:xx"),
    ],
)
def test_a_bad_flag_value_is_one_line_naming_the_flag(
    flag: str, value: str, tiny_sweep_file: Path
) -> None:
    result = CliRunner().invoke(app, ["run", str(tiny_sweep_file), flag, value, "--dry-run"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag}: "), lines


def test_the_execution_flags_keep_their_help_panel() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    panel = result.output.split("Execution (overrides the sweep's executor: section)")[1]
    for field in FLAGS:
        assert flag_of(field) in panel
    assert "--device" in panel and "--dry-run" not in panel


def test_key_values_are_read_as_yaml() -> None:
    parsed = parse_key_values(["train.epochs=5", "grid.depth=[8, 20]", "x= a=b"], "-s", "k=v")
    assert parsed == {"train.epochs": 5, "grid.depth": [8, 20], "x": "a=b"}


@pytest.mark.parametrize(
    ("item", "problem"),
    [("train.epochs", "expected KEY=VALUE"), ("=5", "expected KEY=VALUE"), ("a=[1", "YAML")],
)
def test_a_bad_key_value_names_its_flag(item: str, problem: str) -> None:
    for flag in ("-s", "--option"):
        with pytest.raises(ResbenchError, match=rf"^{flag} \S+: .*{problem}"):
            parse_key_values([item], flag, "heads=4")


def test_models_option_and_run_set_share_the_parser(tiny_sweep_file: Path) -> None:
    models = CliRunner().invoke(app, ["models", "transformer", "--depths", "2", "-o", "heads"])
    run = CliRunner().invoke(app, ["run", str(tiny_sweep_file), "-s", "train.epochs"])
    assert models.exit_code == run.exit_code == 2
    assert "--option heads: expected KEY=VALUE, e.g. --option heads=4" in models.output
    assert "-s train.epochs: expected KEY=VALUE, e.g. -s train.epochs=5" in run.output
