"""Every reader of what a user or a damaged folder hands resbench, under generated input: a sweep
file, a record, a runs table, tables.json, the --force ledger, a user family's declarations and
the names it gives. Whatever bytes come in, the result is a value (a sweep, a record's reading,
a table) or one `ResbenchError` line, never another exception.

Hypothesis draws the inputs: bytes and text at random, and valid files with one part replaced by
a random value (which reaches the checks behind the parser). The examples are derandomized and
their number fixed (the `resbench` profile, tests/conftest.py), so that CI runs the same ones in
about a minute; HYPOTHESIS_EXAMPLES raises the number for a longer search.
"""

from __future__ import annotations

import copy
import itertools
import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import ROOT, TINY_SWEEP
from hypothesis import given
from hypothesis import strategies as st

from resbench import ResbenchError
from resbench.core.names import escape_html, markup, path_name
from resbench.results import Results
from resbench.store.ledger import ForceLedger
from resbench.store.manifest import Manifest
from resbench.store.record_format import read_record
from resbench.store.tables import read_runs, runs_frame
from resbench.sweep.load import expand, load_sweep, parse_sweep

REFERENCE = ROOT / "results" / "reference" / "ci"
KEYS = [
    "name", "description", "dataset", "model", "train", "grid", "zip", "exclude", "include",
    "expect", "executor", "depth", "arch", "seed", "family", "width", "epochs", "lr", "claim",
    "min_gap", "where", "train.lr", "model.width", "shape", "classes", "options", "format",
    "run_id", "spec", "status", "curve", "step", "train_error", "seconds", "env",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["plain", "residual", "conv1d", "mnist1d", "synthetic", "ok", "inline"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)


def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON-like value that another value can take."""
    out = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            out += paths_of(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            out += paths_of(inner, (*prefix, i))
    return out


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return out


@st.composite
def mutations(draw: st.DrawFn, base: Any) -> Any:
    """`base` with one of its parts (or itself) replaced by a drawn value."""
    where = draw(st.sampled_from(paths_of(base)))
    return replaced(base, where, draw(VALUES))


def one_line(error: ResbenchError) -> None:
    assert "\n" not in str(error) and str(error), repr(error)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readers")


# --------------------------------------------------------------------------- sweep files

TINY = yaml.safe_load(TINY_SWEEP)


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_as_a_sweep_file_load_or_are_one_line(folder: Path, data: bytes) -> None:
    path = folder / "sweep.yaml"
    path.write_bytes(data)
    try:
        expand(load_sweep(path))
    except ResbenchError as e:
        one_line(e)


@given(mutations(TINY) | mutations({"expect": [{"claim": "degrades", "arch": "plain"}]}))
def test_a_sweep_with_any_part_replaced_loads_or_is_one_line(raw: Any) -> None:
    if isinstance(raw, dict) and "grid" not in raw and "expect" in raw:
        raw = {**TINY, **raw}  # the claims' mutations, in a whole sweep
    text = yaml.safe_dump(raw, allow_unicode=True)
    try:
        expand(parse_sweep(text, "s.yaml", max_runs=1000))
    except ResbenchError as e:
        one_line(e)


@given(st.dictionaries(st.text(max_size=20), VALUES, max_size=3))
def test_any_overrides_load_or_are_one_line(overrides: dict[str, Any]) -> None:
    try:
        expand(parse_sweep(TINY_SWEEP, "s.yaml", overrides, max_runs=1000))
    except ResbenchError as e:
        one_line(e)


# --------------------------------------------------------------------------- records


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    """A real record of the reference results."""
    return json.loads(next((REFERENCE / "runs").glob("*.json")).read_text())


def read_back(folder: Path, data: bytes, run_id: str) -> None:
    """A record's bytes read as `resbench run` and `report` would: a reading, and a table."""
    runs = folder / "res" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for old in runs.glob("*.json"):
        old.unlink()
    (runs / f"{run_id}.json").write_bytes(data)
    read = read_record(runs / f"{run_id}.json")
    assert (read.result is None) != (read.problem is None)
    assert "\n" not in read.why
    results = Results(folder / "res")
    scan = results.scan([run_id])
    assert all("\n" not in note for note in scan.notes)
    runs_frame(results.records())


@given(st.binary(max_size=400))
def test_any_bytes_as_a_record_are_read_or_set_aside(folder: Path, data: bytes) -> None:
    read_back(folder, data, "0123456789ab")


@given(st.data())
def test_a_record_with_any_part_replaced_is_read_or_set_aside(
    folder: Path, record: dict[str, Any], data: st.DataObject
) -> None:
    damaged = data.draw(mutations(record))
    text = json.dumps(damaged, allow_nan=True)
    read_back(folder, text.encode(), record["run_id"])


# --------------------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def runs_csv() -> str:
    return (REFERENCE / "runs.csv").read_text()


def read_table(folder: Path, text: bytes) -> None:
    path = folder / "table" / "runs.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text)
    try:
        runs = read_runs(path)
    except ResbenchError as e:
        one_line(e)
        return
    assert isinstance(runs, pd.DataFrame)


@given(st.binary(max_size=400))
def test_any_bytes_as_a_runs_table_are_a_table_or_one_line(folder: Path, data: bytes) -> None:
    read_table(folder, data)


@given(st.data())
def test_a_runs_table_cut_or_with_a_cell_replaced_is_a_table_or_one_line(
    folder: Path, runs_csv: str, data: st.DataObject
) -> None:
    lines = runs_csv.splitlines(keepends=True)[:4]
    text = "".join(lines)
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    else:
        row = data.draw(st.integers(1, len(lines) - 1))
        cells = lines[row].rstrip("\n").split(",")
        cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(
            st.text(max_size=10) | st.sampled_from(["inf", "nan", "-1", "1e400", "ok", '"'])
        )
        text = "".join([*lines[:row], ",".join(cells) + "\n", *lines[row + 1 :]])
    read_table(folder, text.encode("utf-8", "surrogatepass"))


@given(st.binary(max_size=300) | mutations({"notes": [], "records": [], "ids": [],
                                            "digests": {}, "tables": {}}).map(
    lambda v: json.dumps(v, allow_nan=True).encode()))  # fmt: skip
def test_any_tables_json_leaves_the_tables_readable_or_one_line(folder: Path, data: bytes) -> None:
    target = folder / "manifest"
    if not target.exists():
        import shutil

        shutil.copytree(REFERENCE, target)
    (target / "tables.json").write_bytes(data)
    Manifest.read(target / "tables.json")  # a manifest, or None: never an error
    results = Results(target)
    try:
        assert len(results.runs) == 32
        assert all("\n" not in n for n in results.table_notes())
    except ResbenchError as e:
        one_line(e)


# --------------------------------------------------------------------------- the --force ledger


@given(st.binary(max_size=300))
def test_any_ledger_forces_what_it_names_or_says_it_cannot_be_read(
    folder: Path, data: bytes
) -> None:
    path = folder / ".force"
    path.write_bytes(data)
    forced, note = ForceLedger(path, lambda r: folder / "none" / f"{r}.json").read()
    assert forced == set()  # no record exists: nothing to force
    assert note is None or "\n" not in note


# --------------------------------------------------------------------------- user families

_COUNTER = itertools.count()
DECLARED = st.one_of(
    VALUES,
    st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
    st.tuples(st.text(min_size=1, max_size=12)),
)


@given(archs=DECLARED, depths=DECLARED, options=DECLARED, grid_arch=st.text(max_size=12))
def test_a_user_family_declaring_anything_loads_or_is_one_line(
    folder: Path, archs: Any, depths: Any, options: Any, grid_arch: str
) -> None:
    module = f"prop_family_{next(_COUNTER)}"
    (folder / f"{module}.py").write_text(
        "def build(cfg, input_shape, num_classes):\n    raise AssertionError('never built')\n\n\n"
        f"build.archs = {archs!r}\nbuild.depths = {depths!r}\nbuild.options = {options!r}\n"
    )
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    arch = archs[0] if isinstance(archs, list | tuple) and archs else grid_arch
    raw = {**TINY, "model": {"family": f"{module}:build"},
           "grid": {"depth": [2], "arch": [arch], "seed": [0]}}  # fmt: skip
    try:
        expand(parse_sweep(yaml.safe_dump(raw, allow_unicode=True), "s.yaml"))
    except ResbenchError as e:
        one_line(e)


class _Text(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(f"<p title='{html}'>{html}</p>")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.attrs = attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@given(st.text(max_size=40))
def test_any_name_is_one_path_prints_as_itself_and_is_text_on_the_page(name: str) -> None:
    from rich.console import Console

    safe = path_name(name)
    assert safe and "/" not in safe and "\0" not in safe and not safe.startswith(".")
    assert len(safe.encode()) < 200 and (safe == name or path_name(safe) == safe)
    console = Console(record=True, width=400, color_system=None)
    printable = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if printable.isprintable():
        console.print(markup(name), highlight=False, end="")
        assert console.export_text() == printable
    parsed = _Text(escape_html(name))
    assert parsed.tags == ["p"] and "".join(parsed.text) == printable
    assert parsed.attrs == [("title", printable)]
