"""Datasets by import path: user code beside the sweep file, its identity in the run id, and
every way it can be wrong said in one line or kept as a failed run."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resbench.cli import app
from resbench.sweep.load import expand, load_sweep
from resbench.sweep.schema import SweepError
from resbench.train.run import train_run

MODULE = '''
import torch

def load(n=48, classes=3, length=14):
    """Sequences whose label is which third of them holds a bump: learnable by a conv net."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, classes, (n,), generator=g)
    x = 0.1 * torch.randn(n, 1, length, generator=g)
    for i, label in enumerate(y.tolist()):
        start = label * length // classes
        x[i, 0, start:start + length // classes] += 1.0
    k = 3 * n // 4
    return x[:k], y[:k], x[k:], y[k:]

def mismatched(n=8):
    labels = torch.zeros(n - 1, dtype=torch.long)  # one short
    return torch.zeros(n, 1, 14), labels, torch.zeros(2, 1, 14), torch.zeros(2, dtype=torch.long)

def float_labels(n=48):
    """load's data with its labels as floats, as a regression target would be."""
    x_train, y_train, x_test, y_test = load(n)
    return x_train, y_train.float(), x_test, y_test.float()

not_callable = 3

def counted(calls, n=48):
    """load, noting each call in the file `calls`."""
    with open(calls, "a") as f:
        f.write("called ")
    return load(n)
'''

SWEEP = """
name: own-data
dataset: {{name: "{path}", options: {options}}}
model: {{family: conv1d, width: 4}}
train: {{epochs: 2, batch_size: 12, device: cpu}}
grid: {{depth: [8], arch: [plain, residual], seed: [0]}}
"""


@pytest.fixture
def own(tmp_path: Path):
    """A module of the user's beside a sweep file: write(path, options) -> the sweep file."""
    name = f"userdata_{uuid.uuid4().hex[:8]}"  # a fresh module each test: imports are cached
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE))

    def write(attr: str = "load", options: str = "{n: 48}") -> Path:
        sweep = tmp_path / "own.yaml"
        sweep.write_text(SWEEP.format(path=f"{name}:{attr}", options=options))
        return sweep

    write.module = name  # type: ignore[attr-defined]
    write.folder = tmp_path  # type: ignore[attr-defined]
    return write


def test_a_dataset_beside_the_sweep_file_trains_and_is_identified(own) -> None:
    specs = expand(load_sweep(own()))
    spec = specs[0]
    assert spec.dataset.name == f"{own.module}:load" and spec.dataset.options == {"n": 48}
    assert spec.dataset.version.startswith("source:")  # not installed: its source's hash
    result = train_run(spec)
    assert result.status == "ok", result.error
    assert result.train_error is not None and result.params > 0
    other = expand(load_sweep(own(options="{n: 60}")))[0]
    assert other.run_id != spec.run_id  # other options, another run


def test_editing_the_code_makes_new_runs(own) -> None:
    before = expand(load_sweep(own()))[0]
    module = own.folder / f"{own.module}.py"
    module.write_text(module.read_text() + "\n# a change\n")
    import sys

    del sys.modules[own.module]
    after = expand(load_sweep(own()))[0]
    assert before.dataset.version != after.dataset.version and before.run_id != after.run_id


@pytest.mark.parametrize(
    ("attr", "says"),
    [
        ("nothere", "has no 'nothere'"),
        ("not_callable", "is not callable (it is a int)"),
    ],
)
def test_a_bad_attribute_is_one_line_at_load(own, attr: str, says: str) -> None:
    with pytest.raises(SweepError, match=r"dataset\.name") as e:
        load_sweep(own(attr))
    assert says in str(e.value) and "\n" not in str(e.value)


def test_a_module_that_does_not_import_is_one_line_and_exit_2(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(SWEEP.format(path="no_such_module_here:load", options="{}"))
    result = CliRunner().invoke(app, ["run", str(sweep), "--out", str(tmp_path)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "dataset.name: cannot import no_such_module_here (ModuleNotFoundError" in line


def test_data_with_mismatched_shapes_fails_its_runs_with_the_reason(own) -> None:
    (spec, _) = expand(load_sweep(own("mismatched", "{}")))
    result = train_run(spec)
    assert result.status == "failed" and "do not match" in result.error
    assert "Traceback" in result.traceback


def test_float_labels_fail_their_runs_with_the_reason_not_cast_to_integers(own) -> None:
    (spec, _) = expand(load_sweep(own("float_labels", "{}")))
    result = train_run(spec)
    assert result.status == "failed", "float labels were taken as class indices"
    assert result.error.endswith("train labels are torch.float32: give integer labels")


def test_a_dataset_is_made_once_then_read_from_the_cache(own, tmp_path: Path) -> None:
    from resbench.data import load

    calls = tmp_path / "calls.txt"
    first = expand(load_sweep(own("counted", f"{{calls: '{calls}', n: 48}}")))[0]
    again = load(first.dataset)  # as a second worker, or a later sweep, would
    made = load(first.dataset)
    assert calls.read_text().count("called") == 1
    assert made.x_train.equal(again.x_train) and made.y_test.equal(again.y_test)
    other = expand(load_sweep(own("counted", f"{{calls: '{calls}', n: 40}}")))[0]
    load(other.dataset)  # other options: made anew
    assert calls.read_text().count("called") == 2


def test_code_in_the_current_folder_is_found_too(
    own, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "sweeps"
    elsewhere.mkdir()
    sweep = own().rename(elsewhere / "own.yaml")  # the module stays in tmp_path
    monkeypatch.chdir(own.folder)
    (spec, _) = expand(load_sweep(sweep))
    assert spec.dataset.name == f"{own.module}:load"


def test_an_option_the_dataset_does_not_take_is_one_line_at_load(own) -> None:
    with pytest.raises(SweepError) as e:
        load_sweep(own(options="{n: 48, clases: 3}"))
    message = str(e.value)
    assert f"dataset.options: {own.module}:load takes no option 'clases'" in message
    assert "(its options: n, classes, length)" in message and "\n" not in message


def test_swept_options_are_checked_like_the_sections(own) -> None:
    sweep = own()
    sweep.write_text(sweep.read_text() + "zip:\n  - {dataset.options: [{n: 48}, {clases: 3}]}\n")
    refused = r"zip\[0\]\.dataset\.options: .* takes no option 'clases'"
    with pytest.raises(SweepError, match=refused):
        load_sweep(sweep)
