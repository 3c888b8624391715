"""One rule for names that become paths or markup, held for every writer and printer: a user
family whose archs are a path out of the folder, console markup that breaks and markup that
styles, and HTML that would run, in a sweep whose description and claims say them too. Run,
reported, checked, drawn, exported and opened in a browser as a user would, each shows every
name as it is, writes nothing outside the folder named, and runs nothing it was given.

`resbench.core.names` is the rule: `path_name` (files), `markup` (the console), `escape_html`
(the page). The page's tests fail with `escape_html` replaced by the identity."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import Browser, find_chromium
from conftest import checkout_env

from resbench.core.names import escape_html, markup, path_name, shown

ARCHS = [
    "../../escaped",  # a folder out of the folder named
    "[/bogus]",  # console markup that rich refuses (MarkupError)
    "[bold]fail",  # console markup that rich would turn into a style, hiding the brackets
    '<img src=x onerror="window.pwned=1">',  # HTML that runs, in text and in attributes
    "</title><script>window.pwned=2</script>",  # out of an SVG <title>, then a script
]
DESCRIPTION = "<script>window.pwned=3</script> [/bogus] [bold]loud"
FAMILY = """
from torch import nn


def build(cfg, input_shape, num_classes):
    layers = [nn.Flatten(), nn.Linear(input_shape[0] * input_shape[1], 8), nn.ReLU()]
    for _ in range(cfg.depth - 2):
        layers += [nn.Linear(8, 8), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(8, num_classes))


build.archs = {archs!r}
"""
SWEEP = """\
name: hostile
description: {description}
dataset: {{name: synthetic, shape: [1, 16], classes: 4, n_train: 64, n_test: 32}}
model: {{family: 'hostilenets:build'}}
train: {{epochs: 1, batch_size: 16, lr: 0.05, device: cpu}}
grid:
  depth: [2, 3]
  arch: {archs}
  seed: [0, 1]
expect:
  - {{claim: holds, arch: {first}, tolerance: 0.5}}
  - {{claim: beats, arch: {second}, than: {third}, depths: [3], min_gap: 0.0}}
"""


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "resbench", *map(str, args)],
        env=checkout_env(COLUMNS="300"),  # wide enough that no table cuts a name
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def printed(result: subprocess.CompletedProcess, codes: tuple[int, ...] = (0,)) -> str:
    """What a command printed, having ended as it should, without a traceback."""
    output = result.stdout + result.stderr
    assert result.returncode in codes, output
    assert "Traceback" not in output and "MarkupError" not in output, output
    return output


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder holding the family and its sweep, run there; and what the run printed."""
    root = tmp_path_factory.mktemp("hostile") / "work"
    root.mkdir()
    (root / "hostilenets.py").write_text(FAMILY.format(archs=tuple(ARCHS)))
    quoted = [json.dumps(a) for a in ARCHS]
    (root / "hostile.yaml").write_text(
        SWEEP.format(
            description=json.dumps(DESCRIPTION),
            archs="[" + ", ".join(quoted) + "]",
            first=quoted[1],
            second=quoted[2],
            third=quoted[3],
        )
    )
    run = cli("run", "hostile.yaml", "--out", "out", "--executor", "inline", cwd=root)
    return root, printed(run)


def outside(root: Path) -> list[Path]:
    """What was written beside the work folder: nothing, if every writer kept to it."""
    return [p for p in root.parent.iterdir() if p.name != root.name]


# --------------------------------------------------------------------------- the rule itself


def test_a_name_that_is_one_already_is_kept_and_any_other_becomes_one_of_its_own() -> None:
    assert path_name("plain-56-seed2-1a2b3c4d5e6f") == "plain-56-seed2-1a2b3c4d5e6f"
    made = {path_name(a) for a in [*ARCHS, "..", ".", "", "NUL", "a/b", "a_b", "caf\udce9"]}
    assert len(made) == 12  # unique, each
    for name in made:
        assert "/" not in name and not name.startswith(".") and 0 < len(name) < 140
    assert path_name("x" * 400) != path_name("x" * 401)


def test_markup_and_html_show_any_text_as_it_is() -> None:
    from rich.console import Console

    console = Console(record=True, width=200)
    for name in ARCHS:
        console.print(markup(name), highlight=False)
    assert console.export_text().splitlines() == ARCHS
    assert escape_html('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert escape_html(0.5) == "0.5" and shown("caf\udce9") == "caf\\xe9"


# --------------------------------------------------------------------------- the printers


def test_run_prints_every_name_as_it_is(hostile: tuple[Path, str]) -> None:
    root, output = hostile
    for name in ARCHS:
        assert f"{name}-2 seed 0" in output
    assert outside(root) == []


@pytest.mark.parametrize(
    "args",
    [
        ["report", "out/hostile"],
        ["report", "out/hostile", "-f", "markdown"],
        ["check", "out/hostile"],
        ["run", "hostile.yaml", "--out", "out", "--dry-run"],
        ["models", "hostilenets:build", "--depths", "3", "--input-shape", "1,16"],
    ],
)
def test_each_printer_shows_every_name_as_it_is(hostile: tuple[Path, str], args: list) -> None:
    root, _ = hostile
    output = printed(cli(*args, cwd=root), codes=(0, 1))  # check: the claims may fail
    flat = " ".join(output.split())
    for name in ARCHS[1:4] if args[0] == "check" else ARCHS:  # check: its claims' archs
        assert name in flat, output


def test_report_csv_and_json_keep_the_names(hostile: tuple[Path, str]) -> None:
    import io

    import pandas as pd

    root, _ = hostile
    table = pd.read_csv(io.StringIO(printed(cli("report", "out/hostile", "-f", "csv", cwd=root))))
    assert set(table["arch"]) == set(ARCHS)
    data = json.loads(printed(cli("report", "out/hostile", "-f", "json", cwd=root)))
    archs = {r["arch"] for report in data for r in report["metrics"]["train_error"]}
    assert archs == set(ARCHS)


# --------------------------------------------------------------------------- the writers


def read_scalars(folder: Path) -> dict[str, int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: len(events.Scalars(tag)) for tag in events.Tags()["scalars"]}


def test_tensorboard_writes_every_run_inside_its_folder_once(hostile: tuple[Path, str]) -> None:
    pytest.importorskip("tensorboard")
    root, _ = hostile
    tb = root / "tb"
    printed(cli("export", "out/hostile", "--tensorboard", tb, cwd=root))
    folders = sorted(p.name for p in tb.iterdir())
    assert len(folders) == 20 and all(p.parent == tb for p in tb.iterdir())
    assert outside(root) == [] and not (root / "escaped").exists()
    first = {f: read_scalars(tb / f) for f in folders}
    printed(cli("export", "out/hostile", "--tensorboard", tb, cwd=root))
    assert sorted(p.name for p in tb.iterdir()) == folders
    assert {f: read_scalars(tb / f) for f in folders} == first  # each scalar once, not twice
    assert all(n == 1 for counts in first.values() for t, n in counts.items() if "final" in t)


def test_figures_are_written_where_named(hostile: tuple[Path, str]) -> None:
    root, _ = hostile
    printed(cli("plot", "out/hostile", cwd=root))
    assert {p.name for p in (root / "out" / "hostile").glob("*.png")} == {"depth.png",
                                                                          "curves.png"}  # fmt: skip
    assert outside(root) == []


# --------------------------------------------------------------------------- the page


class Parsed(HTMLParser):
    """A page's elements, attributes, text and SVG titles, as a browser's parser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.titles: list[str] = []
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in and self._in[-1] == "title":
            self.titles.append(data)


@pytest.fixture(scope="module")
def page(hostile: tuple[Path, str]) -> Path:
    root, _ = hostile
    printed(cli("report", "out/hostile", "-f", "html", "-o", "page.html", cwd=root))
    printed(cli("check", "out/hostile", "--html", "check.html", cwd=root), codes=(0, 1))
    return root / "page.html"


def test_no_name_reaches_the_page_as_markup(page: Path) -> None:
    for path in (page, page.with_name("check.html")):
        parsed = Parsed(path.read_text(encoding="utf-8"))
        assert parsed.tags.count("script") == 1  # the page's own
        assert "img" not in parsed.tags
        assert not [name for name, _ in parsed.attrs if name.startswith("on")]
        text = "".join(parsed.text)
        for name in [*ARCHS, DESCRIPTION]:
            assert name in text, name  # in the text, as written
        titles = " ".join(parsed.titles)
        for name in ARCHS:  # the hover texts of the figures' marks
            assert f"{name} " in titles or f"{name}-" in titles, name
        values = {value for name, value in parsed.attrs if name == "data-arch"}
        assert set(ARCHS) <= values  # attributes, whole


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on PATH")
def test_no_name_runs_in_the_browser_and_each_hides_its_series(page: Path) -> None:
    with Browser(find_chromium()) as browser:  # type: ignore[arg-type]
        browser.open(page)
        assert browser.evaluate("typeof window.pwned") == "undefined"
        assert browser.evaluate("document.querySelectorAll('script, img').length") == 1
        assert browser.errors() == []
        body = browser.evaluate("document.body.innerText")
        assert all(name in body for name in ARCHS)
        boxes = "[...document.querySelectorAll('nav.controls input[data-arch]')]"
        assert set(browser.evaluate(f"{boxes}.map(b => b.dataset.arch)")) == set(ARCHS)
        for name in ARCHS:
            browser.evaluate(f"{boxes}.find(b => b.dataset.arch === {json.dumps(name)}).click()")
            hidden = browser.evaluate(
                f"[...document.querySelectorAll('.chart [data-arch]')]"
                f".filter(e => e.dataset.arch === {json.dumps(name)})"
                f".every(e => e.classList.contains('off'))"
            )
            assert hidden, name
        assert browser.errors() == [] and browser.evaluate("typeof window.pwned") == "undefined"


# --------------------------------------------------------------------------- paths


def test_a_results_path_that_is_not_utf8_makes_a_page(hostile: tuple[Path, str]) -> None:
    root, _ = hostile
    odd = Path(root.parent, "caf\udce9")  # the bytes b"caf\xe9": Latin-1, not UTF-8
    subprocess.run(["cp", "-r", root / "out" / "hostile", odd], check=True)
    script = textwrap.dedent(
        f"""
        import os, sys
        from resbench.cli import main
        sys.argv = ["resbench", "report", os.fsdecode(bytes.fromhex("{bytes(odd).hex()}")),
                    "-f", "html"]
        main()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=checkout_env(), capture_output=True, text=True
    )
    output = printed(result)
    assert "caf\\xe9" in output  # the path, shown
    text = (odd / "report.html").read_text(encoding="utf-8")
    assert "caf\\xe9" in text
    subprocess.run(["rm", "-rf", odd], check=True)
