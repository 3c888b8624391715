"""The figures of the README and the docs are the committed reference results': each marked
block is what docs/reference_numbers.py prints now, and each number of the findings' prose is a
figure of a block on its page, each verdict it cites the claims table's."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, checkout_env

GENERATOR = ROOT / "docs" / "reference_numbers.py"
# Pages whose prose states findings: their numbers must come from their blocks.
FINDINGS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs" / "findings").glob("*.md")),
    ROOT / "docs" / "plugins.md",
]
NUMBER = re.compile(r"(?<![\w.])[-−+]?\d+\.\d+(?:·10\^[-−]?\d+)?|(?<![\w.])\d·10\^[-−]?\d+")
# Not a result: a duration, a paragraph on what a reference took, a software version.
DURATION = re.compile(r"\d+(?:\.\d+)?(?=\s?(?:min|s|h)\b)")
NOT_RESULTS = ("wall time", "CPU time", "load average", "PyTorch", "Python ≥")
CITED = re.compile(
    r"\bclaims? (\d+(?:(?:, | and | to )\d+)*)(?:[, ][^:()]*)?: (PASS|FAIL|INCONCLUSIVE)"
)
COUNTS = re.compile(r"\d+ passed, \d+ failed, \d+ inconclusive")


def generator():  # the script, as a module
    spec = importlib.util.spec_from_file_location("reference_numbers", GENERATOR)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def numbers(text: str) -> list[str]:
    """The decimal numbers of `text`, signs as ASCII; 2^x counts as x."""
    return [n.replace("−", "-") for n in NUMBER.findall(text.replace("2^", ""))]


def shown_by(token: str, figures: list[str]) -> bool:
    """Whether `token` is one of `figures`, or one of them rounded to fewer digits; a sign, where
    the token has one, must agree."""
    if "·10^" in token:
        return token in figures
    digits = len(token.split(".")[1])
    value = float(token)
    for figure in figures:
        if "·10^" in figure or len(figure.split(".")[1]) < digits:
            continue
        shown = float(figure) if token[0] in "+-" else abs(float(figure))
        if abs(shown - (value if token[0] in "+-" else abs(value))) <= 0.5 * 10**-digits + 1e-9:
            return True
    return False


def prose(text: str) -> str:
    """A page without its generated blocks, code, comments, links' targets, durations, and the
    sentences that give a clock's reading or a software version."""
    text = generator().REGION.sub("", text)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->|`[^`]*`|\]\([^)]*\)", "", text, flags=re.S)
    sentences = re.split(r"(?<=[.;])\s+", text)
    kept = [t for t in sentences if not any(word in t for word in NOT_RESULTS)]
    return DURATION.sub("", " ".join(kept))


def unsupported(text: str) -> list[str]:
    """The numbers of a page's prose that no block of the page shows."""
    blocks = "\n".join(body for _, body in generator().regions(text))
    figures = numbers(blocks)
    return [n for n in numbers(prose(text)) if not shown_by(n, figures)]


def cited_verdicts(text: str) -> list[tuple[int, str]]:
    """(claim number, verdict) for each verdict the prose cites: "claims 2 to 4: PASS"."""
    out = []
    for numbers_said, verdict in CITED.findall(prose(text)):
        parts = re.split(r", | and ", numbers_said)
        for part in parts:
            low, _, high = part.partition(" to ")
            out += [(n, verdict) for n in range(int(low), int(high or low) + 1)]
    return out


def claims_of(text: str) -> dict[int, str]:
    """The verdict of each row of the page's claims table."""
    rows = re.findall(r"^\| (\d+) \| (?:[^|\\]|\\.)+ \| (PASS|FAIL|INCONCLUSIVE) \|", text, re.M)
    return {int(n): verdict for n, verdict in rows}


def test_every_block_of_the_pages_is_what_the_generator_prints_from_the_references() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        env=checkout_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_block_is_on_a_page_and_every_marked_block_has_a_generator() -> None:
    module = generator()  # it puts docs/ on the path
    import reference_blocks
    import reference_checks

    known = set(reference_blocks.BLOCKS) | set(reference_checks.BLOCKS)
    marked = {n for page in module.pages() for n, _ in module.regions(page.read_text("utf-8"))}
    assert marked == known


def test_a_changed_figure_in_a_block_is_found_stale() -> None:
    module = generator()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (body,) = [b for n, b in module.regions(readme) if n == "quick-depth"]
    printed = {"quick-depth": body, "quick-claims": ""}.get
    assert "quick-depth" not in module.stale(readme, printed)
    changed = readme.replace(body, body.replace("0.711", "0.712"))
    assert changed != readme and "quick-depth" in module.stale(changed, printed)


@pytest.mark.parametrize("page", FINDINGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_number_of_a_findings_page_is_a_figure_of_its_blocks(page: Path) -> None:
    missing = unsupported(page.read_text(encoding="utf-8"))
    assert not missing, f"{page.name}: numbers no block of the page shows: {missing}"


@pytest.mark.parametrize("page", FINDINGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_verdict_a_findings_page_cites_is_its_claims_tables(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    table = claims_of(text)
    wrong = [(n, v, table.get(n)) for n, v in cited_verdicts(text) if table.get(n) != v]
    assert not wrong, f"{page.name}: (claim, cited, in its table): {wrong}"
    blocks = "\n".join(body for _, body in generator().regions(text))
    stale = [c for c in COUNTS.findall(prose(text)) if c not in blocks]
    assert not stale, f"{page.name}: counts of verdicts no block shows: {stale}"


def test_the_prose_rules_fail_a_number_or_a_verdict_the_blocks_do_not_show() -> None:
    page = (
        "<!-- generated by: python docs/reference_numbers.py x -->\n"
        "| 1 | plain degrades | INCONCLUSIVE | +0.796 [+0.444, +1.149] |\n<!-- end -->\n\n"
        "It degrades by 0.80 [+0.444, 1.15] (claim 1: INCONCLUSIVE), not 0.81 (claim 1: PASS)"
        " in 2.5 min.\n\nIt took 21.5 min of wall time at a load average of 4.4.\n"
    )
    assert unsupported(page) == ["0.81"]
    assert cited_verdicts(page) == [(1, "INCONCLUSIVE"), (1, "PASS")]
    assert claims_of(page) == {1: "INCONCLUSIVE"}


def test_the_check_commands_help_states_the_rule_the_code_applies() -> None:
    from resbench.analysis.decision import CLAIMS_ALPHA
    from resbench.cli.check import check

    said = " ".join((check.__doc__ or "").split())
    assert f"{100 * CLAIMS_ALPHA:g}% chance at most" in said and "Holm" in said
    for verdict in ("PASS", "FAIL", "INCONCLUSIVE"):
        assert f"{verdict}:" in said
    assert "Exit 0: every verdict PASS; 1: any FAIL or INCONCLUSIVE; 2: bad input; 3:" in said
