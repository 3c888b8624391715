"""docs/why.md's numbers are the committed results': every table row that examples/why_tables.py
prints from results/reference/why is on the page, as printed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, checkout_env

RESULTS = ROOT / "results" / "reference" / "why"


@pytest.mark.skipif(not (RESULTS / "runs.csv").is_file(), reason="no reference results")
def test_every_table_row_of_the_why_page_is_printed_from_the_reference_results() -> None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "why_tables.py")],
        env=checkout_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line for line in printed.splitlines() if line.startswith("| ")]
    assert len(rows) > 40
    page = (ROOT / "docs" / "why.md").read_text(encoding="utf-8")
    missing = [row for row in rows if row not in page]
    assert not missing, f"docs/why.md lacks {len(missing)} rows, first: {missing[0]}"
