"""The report page in a real browser: what a person sees when they open it.

Headless Chromium (Debian's `chromium` package; `.ci/run` installs it) opens the page of a
real sweep run here, and of two committed references, and the tests assert what shows: no
console errors, nothing fetched, every figure drawn with the series its data has, the tables'
numbers those of `report --format json`, an arch hidden from every figure, a value on hover,
a log axis, and the page still drawn with scripts off. A screenshot of each page goes to
$RESBENCH_ARTIFACTS (default artifacts/ at the checkout's root), where CI keeps them.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from browser import Browser, find_chromium
from conftest import ROOT, TINY_SWEEP
from typer.testing import CliRunner

from resbench.analysis.variants import by_variant, summary_variants, variant_columns
from resbench.cli import app
from resbench.results import Results
from resbench.views.labels import variant_title

runner = CliRunner()
CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on PATH (Debian: apt-get install chromium; or set $CHROMIUM)",
)
ARTIFACTS = Path(os.environ.get("RESBENCH_ARTIFACTS", ROOT / "artifacts"))
REFERENCES = ["remedies", "quick"]  # many archs, diverged runs, claims; gradient norms
VISIBLE = "getComputedStyle(e).display !== 'none' && e.getBoundingClientRect().width > 0"


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sweep, run here: records, curves and gradient norms per layer."""
    root = tmp_path_factory.mktemp("browser")
    sweep = root / "tiny.yaml"
    text = TINY_SWEEP.replace("device: cpu}", "device: cpu, diagnostics: [grad_norms]}")
    sweep.write_text(text + "expect:\n  - {claim: holds, arch: residual, tolerance: 0.5}\n")
    run = runner.invoke(app, ["run", str(sweep), "-o", str(root), "--executor", "inline"])
    assert run.exit_code == 0, run.output
    return root / "tiny"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM) as b:
        yield b


def page_of(results: Path, out: Path) -> Path:
    """The page, made by the command a user types."""
    made = runner.invoke(app, ["report", str(results), "--format", "html", "-o", str(out)])
    assert made.exit_code == 0, made.output
    return out


def opened(browser: Browser, page: Path) -> Browser:
    browser.events.clear()
    browser.call("Emulation.setScriptExecutionDisabled", value=False)
    browser.open(page)
    return browser


@pytest.fixture(params=["tiny", *REFERENCES])
def page(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    """(the results, their page)."""
    name = request.param
    results = (
        request.getfixturevalue("tiny_results")
        if name == "tiny"
        else ROOT / "results" / "reference" / name
    )
    return results, page_of(results, tmp_path / f"{name}.html")


# --------------------------------------------------------------------------- what a person sees


def test_the_page_opens_offline_without_errors_and_fetches_nothing(
    browser: Browser, page: tuple[Path, Path]
) -> None:
    results, path = page
    b = opened(browser, path)
    assert b.errors() == []
    assert b.requests() == [path.resolve().as_uri()]  # the page itself, nothing else
    assert b.evaluate("document.querySelectorAll('figure.chart').length") > 0
    name = results.name
    b.screenshot(ARTIFACTS / f"report-{name}.png", full_page=True)
    assert (ARTIFACTS / f"report-{name}.png").stat().st_size > 10_000


def test_every_figure_is_drawn_with_the_series_its_data_has(
    browser: Browser, page: tuple[Path, Path]
) -> None:
    results, path = page
    b = opened(browser, path)
    drawn = figures_drawn(b)
    expected = expected_series(Results(results))
    assert drawn == expected
    # Each series shown has ink on the screen: a path or dot with a size.
    empty = b.evaluate(
        "[...document.querySelectorAll('figure.chart .series')]"
        f".filter(e => {VISIBLE}).filter(e => [...e.children]"
        ".every(c => c.getBBox().width === 0 && c.getBBox().height === 0)).length"
    )
    assert empty == 0


def test_the_tables_show_the_numbers_of_report_json(
    browser: Browser, page: tuple[Path, Path]
) -> None:
    results, path = page
    b = opened(browser, path)
    shown = tables_shown(b)
    made = runner.invoke(app, ["report", str(results), "--format", "json"])
    assert made.exit_code == 0, made.output
    (report,) = json.loads(made.output)
    checked = 0
    for metric, rows in report["metrics"].items():
        for row in rows:
            variant = variant_title({k: row[k] for k in summary_variants(pd.DataFrame([row]))})
            caption = f"{metric} by depth · mean ± std (n) {variant}".rstrip()
            text = shown[caption][(row["arch"], str(row["depth"]))]
            assert text.startswith(cell_text(row)), (caption, row, text)
            assert ("▲" in text) == bool(row["worse"])
            checked += 1
    assert checked == sum(len(rows) for rows in report["metrics"].values())


def test_an_arch_hidden_leaves_every_figure_and_comes_back(
    browser: Browser, page: tuple[Path, Path]
) -> None:
    _, path = page
    b = opened(browser, path)
    before = figures_drawn(b)
    b.click("nav.controls input[data-arch='plain']")
    after = figures_drawn(b)
    for key, series in before.items():
        assert "plain" not in after.get(key, {}), key
        assert {k: v for k, v in series.items() if k != "plain"} == after.get(key, {})
    b.click("nav.controls input[data-arch='plain']")
    assert figures_drawn(b) == before


def test_a_point_says_its_value_and_seeds_on_hover(
    browser: Browser, page: tuple[Path, Path]
) -> None:
    results, path = page
    b = opened(browser, path)
    # A mean of residual nets that no other mark covers, as a person would pick one to hover.
    series = "figure[data-metric='train_error'] g[data-y='linear'] .series[data-arch='residual']"
    b.evaluate(
        f"[...document.querySelectorAll(\"{series} circle[r='4']\")].find(c => {{"
        "  c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect();"
        "  return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === c;"
        "}).id = 'hovered'"
    )
    b.hover("#hovered")
    assert b.evaluate("document.getElementById('tip').hidden") is False
    said = b.evaluate("document.getElementById('tip').textContent")
    match = re.match(r"residual · (\d+) layers: (\d\.\d{3})", said)
    assert match, said
    runs = Results(results).runs
    depth, mean = int(match[1]), float(match[2])
    at = runs[(runs["arch"] == "residual") & (runs["depth"] == depth) & (runs["status"] == "ok")]
    seeds = dict(re.findall(r"seed (\d+) (\d\.\d{3})", said))
    # the first variant's runs at that depth: each seed named with its value
    assert seeds and all(
        any(abs(v - float(value)) < 5e-4 for v in at[at["seed"] == int(seed)]["train_error"])
        for seed, value in seeds.items()
    )
    assert any(
        abs(at.groupby(variant_columns(runs) or ["arch"])["train_error"].mean() - mean) < 5e-4
    )


def test_the_log_switch_redraws_the_y_axis(browser: Browser, page: tuple[Path, Path]) -> None:
    _, path = page
    b = opened(browser, path)
    shown = "[...document.querySelectorAll('#depth g[data-y=\"{}\"]')].filter(e => {}).length"
    linear = b.evaluate(shown.format("linear", VISIBLE))
    assert linear > 0 and b.evaluate(shown.format("log", VISIBLE)) == 0
    b.click("#depth input[data-switch='y'][value='log']")
    assert b.evaluate(shown.format("linear", VISIBLE)) == 0
    assert b.evaluate(shown.format("log", VISIBLE)) == linear


def test_with_scripts_off_every_figure_and_table_still_shows(
    browser: Browser, page: tuple[Path, Path]
) -> None:
    results, path = page
    browser.events.clear()
    browser.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        browser.open(path)
        # Both metrics' figures show (no switch to pick one), each as drawn with scripts on.
        both = ("train_error", "test_error")
        assert figures_drawn(browser) == expected_series(Results(results), both)
        assert browser.evaluate("document.querySelector('nav.controls').hidden") is True
        assert browser.evaluate("document.querySelectorAll('#tables table').length") > 0
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", value=False)


def test_report_html_with_no_results_named_writes_the_newest_page(
    browser: Browser, tiny_results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after `resbench run quick`: `resbench report --format html` pages the newest results.
    monkeypatch.chdir(tmp_path)
    Path("results").mkdir()
    made = runner.invoke(app, ["report", "--format", "html"], catch_exceptions=False)
    assert made.exit_code == 2  # no results/ here yet: said in one line
    Path("results/tiny").symlink_to(tiny_results)
    made = runner.invoke(app, ["report", "--format", "html"])
    assert made.exit_code == 0, made.output
    page = tiny_results / "report.html"
    assert f"wrote {Path('results/tiny/report.html')}" in made.output
    b = opened(browser, page)
    assert b.errors() == [] and b.evaluate("document.title") == "resbench report: tiny"


# --------------------------------------------------------------------------- reading the page


def figures_drawn(b: Browser) -> dict[str, dict[str, int]]:
    """Per figure (section and caption) and panel (arch, or '' for one panel): the series shown
    on the linear axes (what is on the screen), as {panel: count}."""
    return b.evaluate(
        "(() => { const out = {};"
        "for (const f of document.querySelectorAll('figure.chart')) {"
        f"  if (!((e) => {VISIBLE})(f)) continue;"
        "  const key = f.closest('section').id + ' | ' + (f.dataset.metric || '') + ' | ' +"
        "    (f.querySelector('figcaption')?.textContent || '');"
        "  const panels = {};"
        "  for (const p of f.querySelectorAll('.panel')) {"
        f"    if (!((e) => {VISIBLE})(p)) continue;"
        "    const svg = p.querySelector('svg');"
        "    const axes = svg.querySelector('g[data-y=\"linear\"]') || svg;"
        "    const shown = [...axes.querySelectorAll(':scope > .series')]"
        f"      .filter((e) => {VISIBLE});"
        "    for (const s of shown) {"
        "      const name = p.dataset.arch || s.dataset.arch;"
        "      panels[name] = (panels[name] || 0) + 1; } }"
        "  out[key] = panels; }"
        "return out; })()"
    )


def expected_series(
    results: Results, metrics: tuple[str, ...] = ("train_error",)
) -> dict[str, dict[str, int]]:
    """What `figures_drawn` must find, from the tables themselves: per variant, a depth figure
    per metric shown (the switch shows one; with scripts off, all) with a series per arch that
    has ok runs; curves and gradient norms with a panel per arch and a series per depth that
    has them."""
    runs = results.runs
    ok = runs[runs["status"] == "ok"]
    out: dict[str, dict[str, int]] = {}
    variants = by_variant(runs, variant_columns(runs))
    for values, group in variants:
        caption = variant_title(values)
        for metric in metrics:
            good = ok[ok["run_id"].isin(group["run_id"]) & ok[metric].notna()]
            out[f"depth | {metric} | {caption}"] = {a: 1 for a in set(good["arch"])}
        curves = results.curves
        errors = curves[(curves["metric"] == "error") & curves["run_id"].isin(ok["run_id"])]
        mine = errors[errors["run_id"].isin(group["run_id"])]
        # a series per depth that has curves, in the panel of its arch
        drawn = mine.groupby("arch")["depth"].nunique().to_dict()
        out[f"curves |  | {caption}"] = drawn
        if results.runs_csv.with_name("layers.csv").is_file():
            layers = results.layers
            grads = layers[(layers["kind"] == "grad_norm") & (layers["value"] > 0)]
            mine = grads[grads["run_id"].isin(group["run_id"])]
            if not mine.empty:
                out[f"layers |  | {caption}"] = mine.groupby("arch")["depth"].nunique().to_dict()
    return out


def tables_shown(b: Browser) -> dict[str, dict[tuple[str, str], str]]:
    """Per table (its caption): (arch, depth) -> the cell's text, read from the screen."""
    tables = b.evaluate(
        "[...document.querySelectorAll('#tables .table')].map(t => ({"
        "  caption: t.querySelector('.caption').innerText,"
        "  head: [...t.querySelectorAll('thead th')].map(c => c.innerText),"
        "  rows: [...t.querySelectorAll('tbody tr')].map(r =>"
        "    [...r.children].map(c => c.innerText.replace(/\\n/g, ' · ')))}))"
    )
    out: dict[str, dict[tuple[str, str], str]] = {}
    for t in tables:
        cells = {}
        by_arch = t["head"][0] == "arch"
        for row in t["rows"]:
            for name, text in zip(t["head"][1:], row[1:], strict=True):
                if name == "res − plain":
                    continue
                cells[(row[0], name) if by_arch else (name, row[0])] = text
        out[t["caption"]] = cells
    return out


def cell_text(row: dict) -> str:
    """What report's cell shows first: 'mean ± std (n)', or '—' with no ok run."""
    if row["n_ok"] == 0:
        return "—"
    if row["std"] is None or (isinstance(row["std"], float) and math.isnan(row["std"])):
        return f"{row['mean']:.3f} ({row['n_ok']})"
    return f"{row['mean']:.3f} ± {row['std']:.3f} ({row['n_ok']})"


def test_expected_series_reads_the_variants_as_the_report_does() -> None:
    # The remedies reference: three variants, eight archs in the one without delta-orthogonal.
    expected = expected_series(Results(ROOT / "results" / "reference" / "remedies"))
    depth = {k: v for k, v in expected.items() if k.startswith("depth | train_error")}
    assert len(depth) == 3
    assert max(len(v) for v in depth.values()) == 7


# --------------------------------------------------------------------------- why depth fails


@pytest.fixture(scope="module")
def why_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the results of a real sweep with every diagnostic of why depth fails, their page)."""
    from test_why_views import run_why_sweep

    root = tmp_path_factory.mktemp("why")
    results = run_why_sweep(root)
    return results, page_of(results, root / "why.html")


def why_drawn(b: Browser) -> dict[str, dict[str, int]]:
    """Per figure of the why section (its id): per panel shown, the series on the screen."""
    return b.evaluate(
        "(() => { const out = {};"
        "for (const f of document.querySelectorAll('#why figure.chart')) {"
        "  const panels = {};"
        "  for (const p of f.querySelectorAll('.panel')) {"
        f"    if (!((e) => {VISIBLE})(p)) continue;"
        "    const svg = p.querySelector('svg');"
        "    const axes = svg.querySelector('g[data-y=\"linear\"]') || svg;"
        "    panels[p.dataset.panel] = [...axes.querySelectorAll(':scope > .series')]"
        f"      .filter((e) => {VISIBLE}).length; }}"
        "  out[f.id] = panels; }"
        "return out; })()"
    )


def why_expected(results: Path, hidden: str = "") -> dict[str, dict[str, int]]:
    """What `why_drawn` must find: the builders' figures, a series per depth (and per contour
    level and the star) in each panel, but the panels of the `hidden` arch."""
    from resbench.views.figures.diagnostics import why_figures

    found = Results(results)
    out = {}
    for figure in why_figures(found.layers, found.runs).values():
        for i, group in enumerate(figure.groups):
            panels = {p.key: len(p.series) for p in group.panels if p.keys["arch"] != hidden}
            out[f"{figure.key}-{i}"] = panels
    return out


def test_the_why_section_shows_every_figure_and_table_the_runs_recorded(
    browser: Browser, why_page: tuple[Path, Path]
) -> None:
    results, path = why_page
    b = opened(browser, path)
    assert b.errors() == [] and b.requests() == [path.resolve().as_uri()]
    assert b.evaluate(f"(e => {VISIBLE})(document.getElementById('why'))")
    parts = b.evaluate("[...document.querySelectorAll('#why h3')].map(h => h.textContent)")
    assert len(parts) == 4 and parts[0].startswith("The signal")
    expected = why_expected(results)
    # 8 figures, each with a group of convnets and one of transformers, but the token spread
    assert len(expected) == 15 and "why-tokens-0" in expected
    assert why_drawn(b) == expected
    captions = b.evaluate(
        "[...document.querySelectorAll('#why .table .caption')].map(c => c.textContent)"
    )
    assert any(c.startswith("test error without each block · depth 14") for c in captions)
    assert sum(c.startswith("the last block's signal") for c in captions) == 2  # per family
    b.screenshot(ARTIFACTS / "report-why.png", full_page=True)


def test_an_arch_hidden_leaves_the_why_figures_and_comes_back(
    browser: Browser, why_page: tuple[Path, Path]
) -> None:
    results, path = why_page
    b = opened(browser, path)
    b.click("nav.controls input[data-arch='plain']")
    assert why_drawn(b) == why_expected(results, hidden="plain")
    b.click("nav.controls input[data-arch='plain']")
    assert why_drawn(b) == why_expected(results)


def test_with_scripts_off_the_why_section_still_shows(
    browser: Browser, why_page: tuple[Path, Path]
) -> None:
    results, path = why_page
    browser.events.clear()
    browser.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        browser.open(path)
        assert why_drawn(browser) == why_expected(results)
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", value=False)
