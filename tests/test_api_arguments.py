"""The Python API at the door: an argument of the wrong kind is one `ResbenchError` line that
names it, before anything is read, written or run; and a `ResbenchError` is one line in IPython
and Jupyter as on the command line, its traceback a flag (RESBENCH_TRACEBACK=1) or %tb away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TINY_SWEEP, checkout_env

import resbench
from resbench import ResbenchError, Results

REFERENCE = ROOT / "results" / "reference" / "ci"


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SWEEP)
    return path


def refused(call, name: str) -> str:
    with pytest.raises(ResbenchError) as e:
        call()
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{name}: "), message
    return message


@pytest.mark.parametrize(
    ("name", "arguments", "said"),
    [
        ("sweep", {"sweep": {"name": "x"}}, "got the dict {'name': 'x'}"),
        ("overrides", {"overrides": "train.epochs=1"}, "got the str 'train.epochs=1'"),
        ("overrides", {"overrides": {1: 2}}, "a mapping of names to values"),
        ("executor", {"executor": "inline"}, 'e.g. {"workers": 2}'),
        ("executor.workers", {"executor": {"workers": -1}}, "greater than 0 (got -1)"),
        ("max_runs", {"max_runs": "10"}, "a whole number of at least 1"),
        ("max_runs", {"max_runs": 0}, "got the int 0"),
        ("out", {"out": 123}, "a path (a str or a pathlib.Path)"),
        ("force", {"force": "yes"}, "True or False"),
        ("data_dir", {"data_dir": 3.5}, "a path"),
        ("on_event", {"on_event": "print"}, "a function that takes an event"),
        ("progress", {"progress": 1}, "True, False or None"),
    ],
)
def test_run_names_the_argument_that_is_wrong_before_anything_is_written(
    sweep: Path, tmp_path: Path, name: str, arguments: dict, said: str
) -> None:
    given = {"sweep": sweep, "out": tmp_path / "res", **arguments}
    assert said in refused(lambda: resbench.run(**given), name)
    assert not (tmp_path / "res").exists()


def test_load_sweep_and_expand_name_the_argument_that_is_wrong(sweep: Path) -> None:
    refused(lambda: resbench.load_sweep({"name": "x"}), "ref")
    refused(lambda: resbench.load_sweep(sweep, overrides="train.epochs=1"), "overrides")
    refused(lambda: resbench.expand("quick"), "sweep")


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("path", lambda: Results(None)),
        ("path", lambda: Results(42)),
        ("runs_csv", lambda: Results(REFERENCE, runs_csv=["runs.csv"])),
        ("ref", lambda: Results.open(3)),
        ("metric", lambda: Results(REFERENCE).summary(["train_error"])),
        ("metrics", lambda: Results(REFERENCE).report("train_error")),
        ("reach_tolerance", lambda: Results(REFERENCE).report(reach_tolerance="0.1")),
        ("tolerance", lambda: Results(REFERENCE).check(tolerance="x")),
        ("tolerance", lambda: Results(REFERENCE).check(tolerance=-1)),
        ("baseline", lambda: Results(REFERENCE).check(baseline=7)),
        ("best_over", lambda: Results(REFERENCE).check(best_over=1)),
        ("key", lambda: Results(REFERENCE).best_of(None)),
        ("by", lambda: Results(REFERENCE).best_of("train.lr", by=3)),
        ("out", lambda: Results(REFERENCE).plot_depth(out=5)),
        ("metric", lambda: Results(REFERENCE).plot_depth(metric=None)),
        ("out", lambda: Results(REFERENCE).tensorboard(None)),
        ("notes", lambda: Results(REFERENCE).html(notes="a line")),
        ("outcomes", lambda: Results(REFERENCE).html(outcomes="PASS")),
    ],
)
def test_results_names_the_argument_that_is_wrong(name: str, call) -> None:
    before = sorted(REFERENCE.iterdir())
    refused(call, name)
    assert sorted(REFERENCE.iterdir()) == before  # nothing written beside the reference


def test_what_is_right_still_works() -> None:
    found = Results(str(REFERENCE))
    assert len(found.summary("train_error")) and found.report(["train_error"])["metrics"]
    assert found.check(baseline=REFERENCE, tolerance=0.05)


# --------------------------------------------------------------------------- IPython, Jupyter

BAD_CALL = 'resbench.run("quick", overrides="train.epochs=1")'
ONE_LINE = "ResbenchError: overrides: a mapping of names to values"


def kernel_outputs(cells: list[str], **env: str) -> list[list[dict]]:
    """The outputs of `cells`, run in a real Jupyter kernel (errors allowed)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with pytest.MonkeyPatch.context() as patch:
        for key, value in checkout_env(**env).items():
            patch.setenv(key, value)
        nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300,
                                allow_errors=True).execute()  # fmt: skip
    return [cell.outputs for cell in notebook.cells]


def error_lines(outputs: list[dict]) -> list[str]:
    (error,) = [o for o in outputs if o["output_type"] == "error"]
    return [line for text in error["traceback"] for line in text.splitlines() if line.strip()]


def test_a_resbench_error_is_one_line_in_jupyter_and_its_traceback_is_there_with_tb() -> None:
    _, bad, tb = kernel_outputs(["import resbench", BAD_CALL, "%tb"])
    (line,) = error_lines(bad)
    assert line.startswith(ONE_LINE), line
    shown = "".join(o.get("text", "") for o in tb) + "".join(
        "\n".join(o.get("traceback", [])) for o in tb
    )
    assert "Traceback" in shown and "require_mapping" in shown


def test_resbench_traceback_shows_the_traceback_in_jupyter() -> None:
    _, bad = kernel_outputs(["import resbench", BAD_CALL], RESBENCH_TRACEBACK="1")
    lines = error_lines(bad)
    assert len(lines) > 5 and "require_mapping" in "\n".join(lines)


def test_a_resbench_error_is_one_line_in_ipython_in_a_terminal() -> None:
    pytest.importorskip("IPython")
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c",
         f"import resbench; {BAD_CALL}"],
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    lines = [x for x in (done.stdout + done.stderr).splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(ONE_LINE), lines


def test_the_command_line_shows_the_traceback_with_resbench_traceback(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "resbench", "run", "quick", "-s", "train.epochs"]
    plain = subprocess.run(args, env=checkout_env(), capture_output=True, text=True)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1
    loud = subprocess.run(
        args, env=checkout_env(RESBENCH_TRACEBACK="1"), capture_output=True, text=True
    )
    assert loud.returncode == 2 and "Traceback" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == plain.stderr.strip()
