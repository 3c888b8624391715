"""docs/api.md's worked example, run as a notebook in a real Jupyter kernel: every `python`
block in order, as a reader would paste them. Its code must run, and what it shows must be
there: the live progress view, the tables, the figures, the checks. And the same blocks as a
script, run with `python`, as a reader would too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import checkout_env

ROOT = Path(__file__).resolve().parents[1]
WIDGET = "application/vnd.jupyter.widget-view+json"


def doc_cells() -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def outputs_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        for mime in ("text/plain", "text/html"):
            value = out.get("data", {}).get(mime, "")
            parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """Every `python` block of docs/api.md, run in order in a real Jupyter kernel, in a folder
    of its own: the notebook as run, and that folder."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    folder = tmp_path_factory.mktemp("notebook")
    cells = doc_cells()
    assert len(cells) >= 6
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with pytest.MonkeyPatch.context() as env:
        for key, value in checkout_env().items():
            env.setenv(key, value)
        client = nbclient.NotebookClient(
            notebook, kernel_name="python3", timeout=900, resources={"metadata": {"path": folder}}
        )
        client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook, folder


def test_the_worked_example_runs_in_a_jupyter_kernel(worked: tuple[Any, Path]) -> None:
    notebook, tmp_path = worked
    run, runs, summary, depth, curves, check, reopened = notebook.cells
    mimes = [m for out in run.outputs for m in out.get("data", {})]
    assert WIDGET in mimes, run.outputs  # the live view, as ipywidgets shows it
    assert "Results(" in outputs_text(run)
    assert "train_error" in outputs_text(runs) and "residual" in outputs_text(runs)
    assert "<table" in outputs_text(summary)
    for figure in (depth, curves):
        assert any("image/png" in out.get("data", {}) for out in figure.outputs)
    assert (tmp_path / "depth.png").stat().st_size > 10_000
    assert "passed" in outputs_text(check) and "verdict" in outputs_text(check)
    assert "'runs': 8" in outputs_text(reopened)


def test_the_worked_example_runs_as_a_script_as_it_is(
    worked: tuple[Any, Path], tmp_path: Path
) -> None:
    """The same blocks pasted into example.py, without an `if __name__ == "__main__":` guard,
    and run with `python example.py`: the local executor's workers must not run the script
    again (they did, met the folder's lock, and every run ended killed). Two runs are left to
    do, so that workers start."""
    _, notebook_folder = worked
    shutil.copytree(notebook_folder / "results", tmp_path / "results")
    records = sorted((tmp_path / "results" / "quick" / "runs").glob("*.json"))
    for record in records[:2]:
        record.unlink()
    (tmp_path / "example.py").write_text("\n".join(doc_cells()), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=checkout_env(MPLBACKEND="Agg"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == 1, done.stdout  # the check's line, printed once
    for record in records[:2]:
        assert json.loads(record.read_text())["status"] == "ok"  # made again, by a worker
    assert (tmp_path / "curves.png").stat().st_size > 10_000
