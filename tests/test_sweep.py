"""The sweep schema: every bad input is one line naming file, field and value; expansion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_SWEEP, checkout_env

from resbench.sweep.load import expand, load_sweep, parse_sweep, preset_names
from resbench.sweep.schema import SweepError


def error_of(text: str) -> str:
    with pytest.raises(SweepError) as e:
        parse_sweep(text, "s.yaml")
    message = str(e.value)
    assert "\n" not in message and message.startswith("s.yaml")
    return message


def with_line(old: str, new: str) -> str:
    assert old in TINY_SWEEP
    return TINY_SWEEP.replace(old, new)


def test_tiny_sweep_expands_to_the_grid_product() -> None:
    specs = expand(parse_sweep(TINY_SWEEP))
    assert len(specs) == 2 * 2 * 2
    assert {(s.model.depth, s.model.arch, s.seed) for s in specs} == {
        (d, a, s) for d in (8, 14) for a in ("plain", "residual") for s in (0, 1)
    }


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_expands(name: str) -> None:
    specs = expand(load_sweep(name))
    assert specs and len({s.run_id for s in specs}) == len(specs)
    archs = {s.model.arch for s in specs}
    # Each measures the plain net against at least one with a shortcut (residual, a remedy, a
    # transformer's), but transfer: residual nets with and without depth-μP's branch
    # multiplier, which plain nets have no branch for.
    if name == "transfer":
        assert archs == {"residual"}
    else:
        assert "plain" in archs and len(archs) >= 2


def test_presets_include_quick_ci_and_mlp() -> None:
    assert {"quick", "ci", "mlp"} <= set(preset_names())


def test_yaml_syntax_error_names_line() -> None:
    message = error_of("name: x\ngrid: [1, 2\n")
    assert "YAML syntax error" in message and "s.yaml:" in message


def test_unknown_top_level_key_lists_valid_keys() -> None:
    message = error_of(TINY_SWEEP + "epochs: 3\n")
    assert "epochs: unknown key" in message and "valid: name" in message


def test_unknown_train_key_names_its_path() -> None:
    message = error_of(with_line("lr: 0.05", "lr: 0.05, lrr: 1"))
    assert "train.lrr: unknown key" in message and "momentum" in message


def test_depth_in_model_section_points_to_grid() -> None:
    message = error_of(with_line("width: 4}", "width: 4, depth: 20}"))
    assert "model.depth: unknown key" in message and "grid" in message


def test_wrong_type_names_field_and_value() -> None:
    message = error_of(with_line("lr: 0.05", "lr: fast"))
    assert "train.lr" in message and "'fast'" in message


def test_bad_choice_lists_the_valid_ones() -> None:
    message = error_of(with_line("lr: 0.05", "lr: 0.05, optimizer: sgdd"))
    assert "train.optimizer" in message and "'sgdd'" in message and "'adamw'" in message


def test_unbuildable_depth_is_reported_at_the_grid_key() -> None:
    message = error_of(with_line("depth: [8, 14]", "depth: [8, 10]"))
    assert "grid.depth" in message and "6n+2" in message and "(got 10)" in message


def test_unknown_dataset_lists_the_registry() -> None:
    message = error_of(with_line("name: synthetic,", "name: cifar1000,"))
    assert "dataset.name" in message and "cifar1000" in message and "mnist1d" in message


def test_unknown_dataset_option_is_rejected() -> None:
    message = error_of(with_line("classes: 4", "classes: 4, colour: red"))
    assert "dataset.colour: unknown key" in message


def test_empty_grid_list_is_refused() -> None:
    message = error_of(with_line("seed: [0, 1]", "seed: []"))
    assert "grid.seed: empty list" in message


def test_missing_grid_key_is_refused() -> None:
    message = error_of(with_line("  seed: [0, 1]\n", ""))
    assert "grid.seed: required" in message


def test_grid_value_of_wrong_type_is_reported_at_the_grid_key() -> None:
    message = error_of(TINY_SWEEP + "  train.batch_size: [16, big]\n")
    assert "grid.train.batch_size" in message and "'big'" in message


def test_grid_key_outside_the_sections_is_refused() -> None:
    message = error_of(TINY_SWEEP + "  colour: [red]\n")
    assert "grid.colour: unknown key" in message


def test_epochs_and_steps_together_are_refused() -> None:
    message = error_of(with_line("epochs: 2,", "epochs: 2, steps: 10,"))
    assert "exactly one of train.epochs or train.steps" in message


def test_missing_file_names_it_and_the_presets() -> None:
    with pytest.raises(SweepError, match=r"nope\.yaml: no such sweep file.*quick"):
        load_sweep("nope.yaml")


def test_zero_init_residual_needs_batch_norm() -> None:
    message = error_of(
        with_line("width: 4}", "width: 4, batch_norm: false, zero_init_residual: true}")
    )
    assert "model.zero_init_residual" in message and "batch_norm" in message


def test_exclude_drops_matching_points_and_include_adds() -> None:
    text = TINY_SWEEP + (
        "exclude:\n  - {arch: plain, depth: 14}\n"
        "include:\n  - {arch: residual, depth: 20, seed: 5}\n"
    )
    specs = expand(parse_sweep(text))
    points = {(s.model.depth, s.model.arch, s.seed) for s in specs}
    assert len(specs) == 8 - 2 + 1
    assert (14, "plain", 0) not in points and (20, "residual", 5) in points


def test_exclude_with_an_unknown_key_is_refused() -> None:
    message = error_of(TINY_SWEEP + "exclude:\n  - {colour: red}\n")
    assert "exclude[0].colour" in message


def test_excluding_everything_is_an_empty_grid() -> None:
    message = error_of(TINY_SWEEP + "exclude:\n  - {seed: [0, 1]}\n")
    assert "no runs left" in message


def test_any_field_can_be_swept() -> None:
    specs = expand(parse_sweep(TINY_SWEEP + "  train.lr: [0.1, 0.01]\n  model.width: [4, 8]\n"))
    assert len(specs) == 8 * 4
    assert {s.train.lr for s in specs} == {0.1, 0.01} and {s.model.width for s in specs} == {4, 8}


def test_run_id_is_stable_and_depends_on_what_is_computed() -> None:
    a = expand(parse_sweep(TINY_SWEEP))
    b = expand(parse_sweep(TINY_SWEEP))
    assert [s.run_id for s in a] == [s.run_id for s in b]
    assert len({s.run_id for s in a}) == len(a)
    # Where it runs and which sweep holds it do not change what it computes.
    elsewhere = expand(
        parse_sweep(TINY_SWEEP.replace("name: tiny", "name: other"), "x", {"train.device": "auto"})
    )
    assert [s.run_id for s in elsewhere] == [s.run_id for s in a]
    # What it computes does.
    changed = expand(parse_sweep(with_line("lr: 0.05", "lr: 0.06")))
    assert not {s.run_id for s in changed} & {s.run_id for s in a}


def test_run_id_is_the_same_in_another_process() -> None:
    """The hash must not depend on the process (e.g. Python's randomised str hash)."""
    import subprocess
    import sys

    code = (
        "from conftest import TINY_SWEEP; from resbench.sweep.load import expand, parse_sweep;"
        "print(expand(parse_sweep(TINY_SWEEP))[0].run_id)"
    )
    env = checkout_env(PYTHONHASHSEED="123")
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expand(parse_sweep(TINY_SWEEP))[0].run_id


def test_overrides_replace_file_values() -> None:
    sweep = parse_sweep(TINY_SWEEP, "s.yaml", {"train.epochs": 5, "grid.seed": [7]})
    specs = expand(sweep)
    assert {s.train.epochs for s in specs} == {5} and {s.seed for s in specs} == {7}


def test_specs_are_frozen() -> None:
    spec = expand(parse_sweep(TINY_SWEEP))[0]
    with pytest.raises(Exception, match="frozen"):
        spec.seed = 3  # type: ignore[misc]


def test_load_sweep_reads_files(tiny_sweep_file: Path) -> None:
    assert load_sweep(tiny_sweep_file).name == "tiny"


def test_the_reference_results_name_is_reserved() -> None:
    message = error_of(TINY_SWEEP.replace("name: tiny", "name: reference"))
    assert "name: 'reference' is reserved" in message


def test_a_swept_dotted_key_is_narrowed_by_an_override_of_the_grid() -> None:
    swept = TINY_SWEEP.replace("grid:\n", "grid:\n  train.lr: [0.1, 0.01]\n")
    assert len(expand(parse_sweep(swept))) == 16
    narrowed = expand(parse_sweep(swept, "s.yaml", {"grid.train.lr": [0.01]}))
    assert len(narrowed) == 8 and {s.train.lr for s in narrowed} == {0.01}
    # The grid's own spelling of a field is the one set, not a second axis of it.
    deeper = parse_sweep(swept, "s.yaml", {"grid.model.depth": [14]})
    assert deeper.grid["depth"] == [14] and "model.depth" not in deeper.grid
    assert {s.model.depth for s in expand(deeper)} == {14} and len(expand(deeper)) == 8


def test_the_transformers_preset_is_narrowed_on_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "resbench", "run", "transformers", "--dry-run", "--format",
         "json", "-s", "grid.train.warmup=[0]", "-s", "grid.seed=[0]"],
        env=checkout_env(), capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    # Its claims name runs with warm-up: the error says so, and how to leave them out.
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "expect[2].where: no run of the sweep has {train.warmup: 1}" in result.stderr
    assert "narrowed by -s grid.train.warmup=[0]; -s expect=[] leaves" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "resbench", "run", "transformers", "--dry-run", "--format",
         "json", "-s", "grid.train.warmup=[0]", "-s", "grid.seed=[0]", "-s", "expect=[]"],
        env=checkout_env(), capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    assert len(runs) == 3 * 7 and {r["train.warmup"] for r in runs} == {0}
