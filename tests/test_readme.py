"""The README's quick start is what CI runs, and it names only real presets and commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has no quick start block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands() -> None:
    install_and_run, install_and_test = quick_start()
    assert install_and_run.startswith("pip install") and install_and_run.endswith("resbench run")
    assert install_and_test.startswith("pip install") and "pytest" in install_and_test


def test_ci_runs_the_readmes_test_command() -> None:
    _, install_and_test = quick_start()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in ci


def test_the_docs_sweep_reference_is_a_valid_sweep() -> None:
    from resbench.sweep.load import expand, parse_sweep

    page = (ROOT / "docs" / "sweeps.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block, "docs/sweeps.md has no sweep reference"
    specs = expand(parse_sweep(block.group(1), "docs/sweeps.md"))
    # zip (4 depth/lr pairs) x arch 2 x seed 3 x weight decay 2, minus 3 excluded, plus 1.
    assert len(specs) == 4 * 2 * 3 * 2 - 3 + 1
