"""The README is a screen: its quick start is what CI runs, its depth table is the committed
reference's, and it names every command once. Its code blocks, and the docs', are checked by
tests/test_docs.py."""

from __future__ import annotations

import re

import pytest
import typer.main
from docblocks import ROOT, blocks, run_python

from resbench.cli import app

README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start() -> list[str]:
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", README, re.S)
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


def test_the_readme_fits_a_screen_of_12_kb() -> None:
    assert len(README.encode("utf-8")) <= 12_000


def test_the_python_example_gives_the_readmes_depth_table(monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = [b for b in blocks(ROOT / "README.md") if b.kind == "python"]
    assert len([line for line in example.body.splitlines() if line]) == 3
    monkeypatch.chdir(ROOT)  # where a reader of the README stands
    means = run_python(example.body, str(example))
    cell = r"\**([\d.]+) ± [\d.]+\**"  # mean ± std, bold or not
    rows = re.findall(rf"^\| (\d+) \| {cell} \| {cell} \|$", README, re.M)
    assert [int(depth) for depth, _, _ in rows] == list(means.index)
    for depth, plain, residual in rows:
        assert f"{means.loc[int(depth), 'plain']:.3f}" == plain
        assert f"{means.loc[int(depth), 'residual']:.3f}" == residual


def test_every_command_has_a_line_here_and_a_section_in_the_docs() -> None:
    names = set(typer.main.get_command(app).commands)
    listed = re.findall(r"^\| `resbench (\w+)", README, re.M)
    assert sorted(listed) == sorted(names)
    reference = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    assert sorted(re.findall(r"^## `resbench (\w+)", reference, re.M)) == sorted(names)
