"""docs/api.md's worked example, run as a notebook in a real Jupyter kernel: every `python`
block in order, as a reader would paste them. Its code must run, and what it shows must be
there: the live progress view, the tables, the figures, the checks."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_the_worked_example_runs_in_a_jupyter_kernel(tmp_path: Path, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for key, value in checkout_env().items():
        monkeypatch.setenv(key, value)
    cells = doc_cells()
    assert len(cells) >= 6
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=900, resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error

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
