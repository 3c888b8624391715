"""The house's layers (pyproject.toml's import-linter contracts) hold, and an import against
them is caught: a lower layer importing a higher one, even under TYPE_CHECKING."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the package under `tree`, with its pyproject.toml's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache"]
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def copy_of_the_package(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "resbench", tree / "resbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_package_keeps_its_layers() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The store may not know how results are shown, not even for a type.
        (
            "store/folder.py",
            "if TYPE_CHECKING:\n    from resbench.views.page import build_page\n",
            "resbench.store is not allowed to import resbench.views",
        ),
        # Training knows nothing of storage.
        ("train/run.py", "import resbench.store.tables\n", "resbench.train is not allowed"),
        # The driver's layers never import torch themselves.
        ("analysis/stats.py", "import torch\n", "resbench.analysis is not allowed to import torch"),
    ],
)
def test_an_import_against_the_layers_fails_the_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    tree = copy_of_the_package(tmp_path)
    path = tree / "resbench" / module
    text = path.read_text()
    cut = text.index("\n\n", text.index("from __future__ import annotations")) + 2
    path.write_text(text[:cut] + "from typing import TYPE_CHECKING\n" + line + text[cut:])
    done = lint(tree)
    assert done.returncode != 0
    assert broken in done.stdout, done.stdout
