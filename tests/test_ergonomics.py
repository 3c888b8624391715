"""Zipped axes, -s overrides, --dry-run, the JSON Schema and `resbench init`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import TINY_SWEEP
from typer.testing import CliRunner

from resbench.cli import app
from resbench.sweep.load import (
    expand,
    load_sweep,
    parse_sweep,
    preset_names,
    preset_path,
    schema_json,
)
from resbench.sweep.schema import SweepError

runner = CliRunner()
# Not about where runs execute: in-process, so no worker start-up per test.
INLINE = ("--executor", "inline")
ZIPPED = TINY_SWEEP.replace("  depth: [8, 14]\n", "") + (
    "zip:\n  - depth: [8, 14, 20]\n    train.lr: [0.1, 0.05, 0.01]\n"
)


def test_zip_pairs_values_and_multiplies_with_the_grid() -> None:
    specs = expand(parse_sweep(ZIPPED))
    assert len(specs) == 3 * 2 * 2  # zip rows x arch x seed
    assert {(s.model.depth, s.train.lr) for s in specs} == {(8, 0.1), (14, 0.05), (20, 0.01)}


def test_two_zip_groups_are_two_axes() -> None:
    text = ZIPPED + "  - train.batch_size: [16, 32]\n    train.epochs: [1, 2]\n"
    specs = expand(parse_sweep(text))
    assert len(specs) == 3 * 2 * 2 * 2
    assert {(s.train.batch_size, s.train.epochs) for s in specs} == {(16, 1), (32, 2)}


def test_unequal_zip_lists_are_refused() -> None:
    with pytest.raises(
        SweepError, match=r"zip\[0\]: lists of unequal length \(depth: 3, train.lr: 2\)"
    ):
        parse_sweep(ZIPPED.replace(", 0.01]", "]"), "s.yaml")


def test_a_key_in_grid_and_zip_is_refused() -> None:
    with pytest.raises(SweepError, match=r"zip\[0\].arch: already swept at grid.arch"):
        parse_sweep(
            ZIPPED.replace("    train.lr:", "    arch: [plain, plain, plain]\n    train.lr:")
        )


def test_bad_zip_value_is_reported_where_it_was_written() -> None:
    with pytest.raises(SweepError, match=r"zip\[0\].depth: conv1d depth must be 6n\+2.*got 21"):
        parse_sweep(ZIPPED.replace("14, 20]", "14, 21]"))


def test_exclude_can_name_zipped_keys() -> None:
    specs = expand(parse_sweep(ZIPPED + "exclude:\n  - {depth: 20, arch: plain}\n"))
    assert len(specs) == 12 - 2 and not any(
        s.model.depth == 20 and s.model.arch == "plain" for s in specs
    )


def test_overrides_are_typed_validated_and_named_in_errors() -> None:
    sweep = parse_sweep(TINY_SWEEP, "s.yaml", {"train.epochs": 5, "grid.depth": [8]})
    assert {s.train.epochs for s in expand(sweep)} == {5}
    with pytest.raises(SweepError, match=r"train.epochs: .*integer.*\(from -s train.epochs=abc\)"):
        parse_sweep(TINY_SWEEP, "s.yaml", {"train.epochs": "abc"})
    with pytest.raises(SweepError, match=r"grid.depth: .*6n\+2.*\(from -s grid.depth=\[8, 9\]\)"):
        parse_sweep(TINY_SWEEP, "s.yaml", {"grid.depth": [8, 9]})


def test_cli_overrides_parse_yaml_values(tiny_sweep_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["run", str(tiny_sweep_file), "--out", str(tmp_path), "-s", "grid.depth=[8]",
         "-s", "grid.seed=[3]", "-s", "train.epochs=1", "--executor", "inline"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 runs" in result.output
    saved = load_sweep(tmp_path / "tiny" / "sweep.yaml")  # the sweep as run, overrides in
    assert saved.grid["seed"] == [3] and saved.train.epochs == 1


def test_malformed_override_is_exit_2(tiny_sweep_file: Path) -> None:
    result = runner.invoke(app, ["run", str(tiny_sweep_file), "-s", "train.epochs"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.output


def test_dry_run_trains_nothing_and_marks_recorded_runs(
    tiny_sweep_file: Path, tmp_path: Path
) -> None:
    out = str(tmp_path)
    first = runner.invoke(
        app, ["run", str(tiny_sweep_file), "--out", out, "-s", "grid.seed=[0]", *INLINE]
    )
    assert first.exit_code == 0
    records = sorted((tmp_path / "tiny" / "runs").glob("*.json"))
    result = runner.invoke(
        app, ["run", str(tiny_sweep_file), "--out", out, "--dry-run", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 8 and set(rows[0]) == {"run_id", "depth", "arch", "seed", "recorded"}
    assert {r["recorded"] for r in rows if r["seed"] == 0} == {"ok"}
    assert {r["recorded"] for r in rows if r["seed"] == 1} == {None}
    assert sorted((tmp_path / "tiny" / "runs").glob("*.json")) == records  # nothing trained


def test_dry_run_table_shows_zipped_pairs(tmp_path: Path) -> None:
    path = tmp_path / "z.yaml"
    path.write_text(ZIPPED)
    result = runner.invoke(app, ["run", str(path), "--dry-run", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert "train.lr" in result.output and "0.05" in result.output and "12 runs" in result.output


def test_committed_schema_is_current() -> None:
    committed = (preset_path("quick").parent / "sweep.schema.json").read_text()
    assert committed == schema_json(), (
        "run: resbench schema -o resbench/sweep/presets/sweep.schema.json"
    )


@pytest.mark.parametrize("name", preset_names())
def test_schema_validates_every_preset(name: str) -> None:
    schema = json.loads(schema_json())
    text = preset_path(name).read_text()
    assert text.startswith("# yaml-language-server: $schema=sweep.schema.json")
    jsonschema.validate(yaml.safe_load(text), schema)


@pytest.mark.parametrize(
    "broken",
    [
        {"train": {"epochs": 1, "lrr": 0.1}},  # unknown key
        {"train": {"epochs": "many"}},  # wrong type
        {"model": {"family": "lstm"}},  # unknown choice
        {"dataset": {"name": "mnist1d", "colour": "red"}},  # unknown dataset option
    ],
)
def test_schema_rejects_malformed_sweeps(broken: dict) -> None:
    sweep = yaml.safe_load(preset_path("quick").read_text())
    sweep.update(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sweep, json.loads(schema_json()))


def test_schema_command_writes_the_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 0
    assert json.loads((tmp_path / "s.json").read_text())["title"] == "resbench sweep"


def test_init_writes_a_starter_that_loads_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "mine"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sweep.schema.json").is_file()
    sweep = load_sweep(tmp_path / "mine.yaml")
    assert sweep.name == "mine" and sweep.zip and sweep.expect
    small = ["-s", "zip=[]", "-s", "grid.depth=[8]", "-s", "grid.seed=[0]", "-s", "train.epochs=2"]
    run = runner.invoke(app, ["run", "mine.yaml", *small, *INLINE])
    assert run.exit_code == 0, run.output
    assert len(list((tmp_path / "results" / "mine" / "runs").glob("*.json"))) == 2
    again = runner.invoke(app, ["init", "mine"])
    assert again.exit_code == 2 and "exists" in again.output
